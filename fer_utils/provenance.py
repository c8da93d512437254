"""Provenance: what a measurement ran on (device, CPU capability, threads, torch, git commit). Every run's
provenance.json and every benchmark record under results/benchmarks start with ``machine_record``."""
from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

import torch

from .paths import PROJECT_DIR


def git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "fer_utils"], cwd=PROJECT_DIR,
                               capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("FER_GIT_COMMIT", "unknown")


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def machine_record() -> dict:
    """What a measurement ran on: device, CPU capability, threads, torch and the git commit (the run
    provenance and every benchmark record start with it)."""
    return {"device": device_name(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "torch": torch.__version__, "commit": git_commit()}


def write_record(path, record: dict) -> Path:
    """Write a benchmark record as JSON (creating its folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path
