"""Chapter 0's run list: the common recipe trained on clean (majority) and on single-annotator labels, and the
common recipe itself per profile (``common_recipe``), which every chapter's single-network baseline reads."""
from __future__ import annotations

from ..profiles import backbone, check_profile, data_for, overrides
from ..tasks import check_profiles
from .task import SupervisedRecipe

NOTEBOOK = "00_data"

# Recipe overrides per profile (checked against SupervisedRecipe at import). cpu: the recipe chosen on FER+ Valid
# by benchmarks/time_to_accuracy.py, and its epochs by the same benchmark's epoch sweep (12 -> 14: +0.8 points of
# Valid accuracy, within 5 training minutes; ch. 0).
PROFILES = check_profiles({
    "smoke": {"supervised": dict(task="supervised", train=dict(epochs=2, batch_size=32, steps_per_epoch=3, lr=5e-4,
                                                               weight_decay=1e-4))},
    "cpu":   {"supervised": dict(task="supervised", label_smoothing=0.1,
                                 train=dict(epochs=14, batch_size=128, optimizer="sgd", lr=0.1, momentum=0.9,
                                            schedule="onecycle", weight_decay=5e-4, flip_tta=True))},
    "gpu":   {"supervised": dict(task="supervised", train=dict(epochs=30, batch_size=256, lr=5e-4, weight_decay=1e-4,
                                                               compile=True))},
}, NOTEBOOK)
SEEDS = {"smoke": [0], "cpu": [0, 1, 2], "gpu": [0, 1, 2]}
LABELS = ("majority", "single_annotator")


def common_recipe(profile: str) -> dict:
    """The book's common supervised recipe of a profile: its recipe overrides (train block, label smoothing),
    the profile's data and backbone, and chapter 0's seeds."""
    o = {"label_smoothing": SupervisedRecipe.label_smoothing, **overrides(PROFILES, profile, "supervised")}
    return {**o, "profile": profile, "data": data_for(profile), "arch": backbone(profile), "seeds": SEEDS[profile]}


def run_name(labels: str) -> str:
    """Chapter 0's run on ``labels`` (majority or single_annotator)."""
    if labels not in LABELS:
        raise KeyError(f"chapter 0 trains on {', '.join(LABELS)}, not {labels!r}")
    return f"resnet18-{labels}"


def chapter_runs(profile: str) -> list[dict]:
    """00_data: the supervised baseline trained on clean (majority) and on single-annotator labels."""
    check_profile(profile)
    base = common_recipe(profile)
    seeds = base.pop("seeds")
    return [{**base, "notebook": NOTEBOOK, "name": run_name(labels), "labels": labels, "seed": seed}
            for labels in LABELS for seed in seeds]
