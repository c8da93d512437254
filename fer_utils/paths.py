"""Where things are: the package, the project, the bundled sample, results/ and the cache folder. The one
place that reads ``$FER_CACHE_DIR`` (the data root, ``$FER_DATA_ROOT``, is resolved in data.io)."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
SAMPLE_ROOT = PACKAGE_DIR / "sample_data"
RESULTS_DIR = PROJECT_DIR / "results"


def cache_dir() -> Path:
    """$FER_CACHE_DIR, default ~/.cache/fer_utils: decoded splits and smoke-profile runs."""
    return Path(os.environ.get("FER_CACHE_DIR", Path.home() / ".cache" / "fer_utils"))
