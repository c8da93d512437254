"""The three profiles a run can be trained under, and what every paper's run list shares about them.

* ``smoke`` — the bundled sample, a few steps (CI); never stored under results/.
* ``cpu``   — **the book's reference results**: the real FER+ / CK+ data, the compact backbone ``CPU_ARCH``
  (a ResNet-18 of width 16 with a stride-2 stem, chosen from ``benchmarks/backbone_sweep.py``), budgets sized
  for a 2-core CPU. Stored under results/ and committed.
* ``gpu``   — the paper-scale recipes (full-width ResNet-18 and the papers' other backbones) for readers
  with a GPU; stored under results/ beside the cpu runs, labelled by profile.

A paper's per-profile recipe overrides live in its ``runs.py`` (``PROFILES``: {profile: {task: overrides}}),
checked against the task's recipe dataclass when the module is imported (``tasks.check_profiles``).
"""
from __future__ import annotations

import copy

PROFILES = ("smoke", "cpu", "gpu")
CPU_ARCH = "resnet18_w16_s2"   # 0.70 M parameters; about 1,300 training images/s on 2 cores in bf16


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"profile={profile!r}: expected one of {', '.join(PROFILES)}")
    return profile


def data_for(profile: str) -> str:
    """The bundled sample on the smoke profile, the real data elsewhere."""
    return "sample" if check_profile(profile) == "smoke" else "full"


def backbone(profile: str, gpu_arch: str = "resnet18") -> str:
    """The backbone of a profile: the compact CPU_ARCH on the cpu and smoke profiles (so that CI exercises
    the cpu code path), ``gpu_arch`` (the paper-scale network) on the gpu profile."""
    return gpu_arch if check_profile(profile) == "gpu" else CPU_ARCH


def overrides(table: dict, profile: str, task: str) -> dict:
    """A copy of ``table[profile][task]``: the recipe overrides of one task on one profile."""
    check_profile(profile)
    if task not in table[profile]:
        raise KeyError(f"no {profile}-profile overrides for task {task!r} (they hold {', '.join(table[profile])})")
    return copy.deepcopy(table[profile][task])

