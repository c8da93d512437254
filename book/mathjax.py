"""Put MathJax into the book itself, so that its equations render without internet.

    python book/mathjax.py          # before `jupyter-book build .` (CI runs it)

Installs the npm package ``mathjax`` (version 3, from the npm registry) into ``.mathjax/`` and copies its
``es5`` build to ``_static/mathjax/`` (git-ignored), which ``_config.yml`` names as ``mathjax_path``. Does
nothing when ``_static/mathjax/tex-chtml.js`` is already there.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
VERSION = "3"
TARGET = TOP / "_static" / "mathjax"


def main() -> int:
    if (TARGET / "tex-chtml.js").is_file():
        print(f"MathJax already in {TARGET.relative_to(TOP)}")
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("error: npm (Node.js) is needed to fetch MathJax from the npm registry; without it the book's "
              "equations show as raw TeX", file=sys.stderr)
        return 2
    prefix = TOP / ".mathjax"
    subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", f"mathjax@{VERSION}"],
                   check=True)
    source = prefix / "node_modules" / "mathjax" / "es5"
    shutil.copytree(source, TARGET)
    print(f"MathJax {VERSION} copied to {TARGET.relative_to(TOP)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
