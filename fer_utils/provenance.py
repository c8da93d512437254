"""Provenance: what a measurement ran on (device, CPU capability, threads, torch, git commit). Every run's
provenance.json and every benchmark record under results/benchmarks start with ``machine_record``."""
from __future__ import annotations

import functools
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


@functools.cache
def cpu_has_bf16() -> bool:
    """True on x86 CPUs with native bf16 arithmetic (AVX512-BF16 or AMX-BF16) under a torch build that
    dispatches AVX512 kernels (``torch.backends.cpu.get_cpu_capability()``); elsewhere bf16 autocast on the
    CPU is emulated and slower than fp32."""
    if not torch.backends.cpu.get_cpu_capability().startswith("AVX512"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def cpu_kind() -> str:
    """The CPU kind the book's timings depend on: torch's dispatch capability and whether bf16 is native,
    e.g. "AVX512 with native bf16", "AVX512, no bf16", "AVX2, no bf16"."""
    cap = torch.backends.cpu.get_cpu_capability()
    return f"{cap} with native bf16" if cpu_has_bf16() else f"{cap}, no bf16"


def machine_record() -> dict:
    """What a measurement ran on: device, CPU capability and kind, threads, torch and the git commit (the run
    provenance and every benchmark record start with it)."""
    return {"device": device_name(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu_kind": cpu_kind(), "threads": torch.get_num_threads(), "torch": torch.__version__,
            "commit": git_commit()}


def write_record(path, record: dict) -> Path:
    """Write a benchmark record as JSON (creating its folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path
