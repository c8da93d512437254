"""Typed configs: a dataclass's field values checked against its annotations, so that a wrong type in a run
config (a string lr, 2.5 epochs) fails at config time with the field's name, before any data is loaded."""
from __future__ import annotations

import dataclasses
import functools
import types
import typing


@functools.cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _ok(value, hint) -> bool:
    origin = typing.get_origin(hint)
    if hint is typing.Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (tuple, list):
        args = typing.get_args(hint)
        if not isinstance(value, (tuple, list)):
            return False
        item = args[0] if args else typing.Any
        return all(_ok(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if dataclasses.is_dataclass(hint):
        return isinstance(value, hint)
    return True     # a type this checker does not know: left to the dataclass's own checks


def _name(hint) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def check_types(obj, where: str) -> None:
    """Raise a ValueError naming ``where`` and the field whose value does not match its annotation."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is None and f.default is None:    # an optional block or knob left out (its default is None)
            continue
        if not _ok(value, hints[f.name]):
            raise ValueError(f"{where}: {f.name}={value!r} ({type(value).__name__}): expected {_name(hints[f.name])}")


def check_range(where: str, name: str, value, lo=None, hi=None, lo_open: bool = False, hi_open: bool = False) -> None:
    """Raise a ValueError naming the field when ``value`` is outside [lo, hi] (open ends as asked)."""
    if value is None:
        return
    bad = ((lo is not None and (value < lo or (lo_open and value == lo)))
           or (hi is not None and (value > hi or (hi_open and value == hi))))
    if bad:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ValueError(f"{where}: {name}={value!r}: expected a value in {left}{lo if lo is not None else '-inf'}, "
                         f"{hi if hi is not None else 'inf'}{right}")


def check_choice(where: str, name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{where}: {name}={value!r}: expected one of {', '.join(map(repr, choices))}")
