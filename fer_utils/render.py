"""Execute a chapter from the stored runs, as the committed book shows it:

    python -m fer_utils.render notebooks/00_data.ipynb            # profile cpu, train nothing
    python -m fer_utils.render notebooks/0*.ipynb --profile gpu

Runs papermill in place (``profile`` as given, ``train_missing=False``: a chapter renders what is stored
under results/ and trains nothing), then tags papermill's injected parameters cell ``remove-cell`` so the
site shows the reader one parameters cell; the chapter's first code cell prints the values it ran with.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import papermill

from .profiles import PROFILES


def hide_injected_parameters(path) -> int:
    """Tag the injected-parameters cell(s) of an executed notebook ``remove-cell`` (returns how many) and
    keep papermill's record of the notebook's path relative to the project (no machine paths)."""
    path = Path(path)
    nb = json.loads(path.read_text())
    record = nb.get("metadata", {}).get("papermill", {})
    for key in ("input_path", "output_path"):
        if key in record:
            record[key] = f"notebooks/{path.name}"
    n = 0
    for cell in nb["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
            n += 1
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return n


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
        papermill.execute_notebook(str(path), str(path), parameters={"profile": args.profile, "train_missing": False},
                                   cwd=str(path.parent), progress_bar=False)
        hide_injected_parameters(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
