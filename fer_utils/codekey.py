"""Code keys: which code a run executes, and its hash.

A run is keyed by its config and by the code its task executes: the task's module and every fer_utils module
it imports, transitively (``task_files``), hashed as ASTs without docstrings (comments never reach the AST).
Rewording a docstring or editing a module the task never imports (a figure, another method's loss) keeps the
key; any change of code the task runs changes it (``runs.run_key``).
"""
from __future__ import annotations

import ast
import hashlib
import inspect
from pathlib import Path

from .paths import PACKAGE_DIR
from .tasks import TASKS


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _module_file(parts: list[str], package_dir: Path) -> Path | None:
    """The file of module fer_utils.<parts> (a module file or a package's __init__.py), or None."""
    base = package_dir.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _imported_files(path: Path, package_dir: Path) -> set[Path]:
    """The fer_utils files that ``path`` imports directly, resolved by name: ``from ..losses import x``
    follows ``losses/x.py`` if x is a submodule, else the submodule that ``losses/__init__.py`` takes x
    from (so a package's __init__ does not drag in every module it re-exports)."""
    tree = ast.parse(path.read_text())
    here = list(path.relative_to(package_dir).parent.parts) if path.is_relative_to(package_dir) else []
    found: set[Path] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == package_dir.name:
                    f = _module_file(alias.name.split(".")[1:], package_dir)
                    found |= {f} if f else set()
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = here[:len(here) - node.level + 1] if node.level > 1 else list(here)
            mod = base + (node.module.split(".") if node.module else [])
        elif node.module and node.module.split(".")[0] == package_dir.name:
            mod = node.module.split(".")[1:]
        else:
            continue                                    # a third-party import
        target = _module_file(mod, package_dir)
        if target is None:
            continue
        if target.name != "__init__.py":
            found.add(target)
            continue
        found.add(target)                               # the package's own definitions (see _hash_source)
        reexports = _init_reexports(target, package_dir)
        for alias in node.names:
            sub = _module_file(mod + [alias.name], package_dir)
            if sub is not None:
                found.add(sub)
            elif alias.name in reexports:
                found.add(reexports[alias.name])
    return found


def _init_reexports(init: Path, package_dir: Path) -> dict[str, Path]:
    """{name: file} for the names a package's __init__.py imports from its own submodules."""
    out = {}
    pkg = list(init.relative_to(package_dir).parent.parts)
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            f = _module_file(pkg + node.module.split("."), package_dir)
            if f is not None:
                out.update({a.asname or a.name: f for a in node.names})
    return out


def module_closure(path, package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """``path`` and every fer_utils module it imports, transitively: the code a task executes."""
    path = Path(path).resolve()
    package_dir = Path(package_dir).resolve()
    seen, todo = set(), [path]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        if f.name == "__init__.py" and f != path:
            continue                                    # its re-exports were resolved by the importer
        todo.extend(_imported_files(f, package_dir) - seen)
    return sorted(seen)


def _hash_source(path: Path) -> str:
    """The AST of a module without docstrings (comments never reach the AST); for a package __init__, only
    its own definitions (its imports are followed by name, not hashed)."""
    tree = _strip_docstrings(ast.parse(path.read_text()))
    if path.name == "__init__.py":
        tree.body = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
    return ast.dump(tree)


_HASHES: dict[tuple, str] = {}  # memo: (path, mtime, size) of every file -> hash; an edit changes the key


def code_hash(files=None, package_dir: Path = PACKAGE_DIR) -> str:
    """Hash of the code in ``files`` (default: every fer_utils module) as ASTs without docstrings."""
    package_dir = Path(package_dir).resolve()
    files = sorted(Path(f).resolve() for f in files) if files is not None else sorted(package_dir.rglob("*.py"))
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    if stamp not in _HASHES:
        h = hashlib.sha256()
        for path in files:
            inside = path.is_relative_to(package_dir)
            h.update(str(path.relative_to(package_dir) if inside else path.name).encode())
            h.update(_hash_source(path).encode())
        _HASHES[stamp] = h.hexdigest()
    return _HASHES[stamp]


_CLOSURES: dict[tuple, list[Path]] = {}  # memo: (task, package stamp) -> task_files; an edit changes the stamp


def _package_stamp(package_dir: Path) -> tuple:
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(package_dir.rglob("*.py")))


def task_files(task: str, package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The files a task executes: its module in fer_utils/tasks and what it imports, transitively."""
    key = (task, _package_stamp(Path(package_dir).resolve()))
    if key not in _CLOSURES:
        _CLOSURES[key] = _task_files(task, package_dir)
    return _CLOSURES[key]


def _task_files(task: str, package_dir: Path) -> list[Path]:
    if task not in TASKS:
        raise ValueError(f"config task={task!r}: expected one of {', '.join(TASKS)}")
    fn, package_dir = TASKS[task], Path(package_dir).resolve()
    if fn.__module__.split(".")[0] == package_dir.name:
        source = _module_file(fn.__module__.split(".")[1:], package_dir)
    else:  # a task registered from outside the package (a reader's own, or a test's)
        source = Path(inspect.getsourcefile(fn))
    return module_closure(source, package_dir)


def task_code_hash(task: str, package_dir: Path = PACKAGE_DIR) -> str:
    """The code key of a task: a change to a module the task does not import leaves it unchanged."""
    return code_hash(task_files(task, package_dir), package_dir)
