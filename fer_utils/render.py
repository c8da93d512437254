"""Execute a chapter from the stored runs, as the committed book shows it:

    python -m fer_utils.render notebooks/00_data.ipynb            # profile cpu, train nothing
    python -m fer_utils.render notebooks/0*.ipynb --profile gpu

Runs papermill in place (``profile`` as given, ``train_missing=False``: a chapter renders what is stored
under results/ and trains nothing), then tags papermill's injected parameters cell ``remove-cell`` and writes
the injected values into the visible parameters cell, so the site shows one parameters cell holding the
values the chapter was executed with. A render that changes nothing but timestamps leaves the file as it was
(a clean ``git status``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import papermill

from .profiles import PROFILES

_ASSIGN = re.compile(r"^(?P<name>[A-Za-z_]\w*)(?P<eq>\s*=\s*)(?P<value>[^#\n]*?)(?P<rest>\s*(#.*)?)$")


def show_executed_values(parameters_source: str, injected_source: str) -> str:
    """The visible parameters cell with each value papermill injected in place of its default (its comments
    kept), so that the page shows what the chapter ran with."""
    injected = {m["name"]: m["value"].strip() for line in injected_source.splitlines() if (m := _ASSIGN.match(line))}
    out = []
    for line in parameters_source.splitlines():
        m = _ASSIGN.match(line)
        if m and m["name"] in injected and m["value"].strip() != injected[m["name"]]:
            value, rest = injected[m["name"]], m["rest"]
            comment = rest.lstrip()
            if comment:   # keep the comment in its column (at least one space after the value)
                width = len(m["value"]) + len(rest) - len(comment)
                rest = " " * max(1, width - len(value)) + comment
            line = f"{m['name']}{m['eq']}{value}{rest}"
        out.append(line)
    return "\n".join(out) + ("\n" if parameters_source.endswith("\n") else "")


def hide_injected_parameters(path) -> int:
    """Tag the injected-parameters cell(s) of an executed notebook ``remove-cell`` (returns how many), show
    the injected values in the visible parameters cell, and keep papermill's record of the notebook's path
    relative to the project (no machine paths)."""
    path = Path(path)
    nb = json.loads(path.read_text())
    record = nb.get("metadata", {}).get("papermill", {})
    for key in ("input_path", "output_path"):
        if key in record:
            record[key] = f"notebooks/{path.name}"
    n, injected = 0, ""
    for cell in nb["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags:
            injected += "".join(cell["source"]) + "\n"
            if "remove-cell" not in tags:
                tags.append("remove-cell")
                n += 1
    for cell in nb["cells"]:
        if "parameters" in cell["metadata"].get("tags", []) and injected:
            cell["source"] = show_executed_values("".join(cell["source"]), injected).splitlines(keepends=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return n


_VOLATILE = ("duration", "start_time", "end_time", "exception", "status")


def _stable(nb: dict) -> str:
    """A notebook without what changes at every execution (papermill's timings, execution timestamps)."""
    nb = json.loads(json.dumps(nb))
    nb.get("metadata", {}).get("papermill", {}).clear()
    for cell in nb["cells"]:
        meta = cell.get("metadata", {})
        for key in _VOLATILE:
            meta.get("papermill", {}).pop(key, None)
        meta.pop("execution", None)
    return json.dumps(nb, sort_keys=True)


def keep_if_unchanged(path, before: str) -> bool:
    """Restore the notebook's previous text when the render changed only timestamps; True if restored."""
    path = Path(path)
    if before and _stable(json.loads(before)) == _stable(json.loads(path.read_text())):
        path.write_text(before)
        return True
    return False


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--profile", choices=[p for p in PROFILES if p != "smoke"], default="cpu")
    args = ap.parse_args(argv)
    # the kernel inherits the environment: a non-interactive MPLBACKEND (e.g. Agg, as CI sets) would keep
    # the inline backend from embedding the figures in the committed notebook
    os.environ.pop("MPLBACKEND", None)
    for nb in args.notebooks:
        path = Path(nb).resolve()
        print(f"== {path.name} ({args.profile})", flush=True)
        before = path.read_text()
        papermill.execute_notebook(str(path), str(path), parameters={"profile": args.profile, "train_missing": False},
                                   cwd=str(path.parent), progress_bar=False)
        hide_injected_parameters(path)
        if keep_if_unchanged(path, before):
            print(f"   {path.name}: nothing changed but timestamps; left as it was", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
