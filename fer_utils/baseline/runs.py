"""Chapter 0's run list: the common recipe trained on clean (majority) and on single-annotator labels at
Protocol 2's reference budget E, and at 14 epochs on majority labels (the time-to-accuracy record); and the
common recipe itself per profile (``common_recipe``), which every chapter's single-network baseline reads."""
from __future__ import annotations

from ..profiles import backbone, check_profile, data_for, overrides
from ..tasks import check_profiles
from .task import SupervisedRecipe

NOTEBOOK = "00_data"

# Recipe overrides per profile (checked against SupervisedRecipe at import). cpu: the recipe chosen on FER+ Valid
# by benchmarks/time_to_accuracy.py; its epochs are Protocol 2's reference budget E, chosen on FER+ Valid from
# the stored budget sweep (results/benchmarks/budget-sweep-*-cpu.json) by reference_budget.choose_reference_budget
# (chapter 0 shows the sweep and checks that this value is the rule's choice).
REFERENCE_EPOCHS = 30
TIME_TO_ACCURACY_EPOCHS = 14   # the 14-epoch record: >= 78% FER+ Test accuracy in <= 5 training minutes
PROFILES = check_profiles({
    "smoke": {"supervised": dict(task="supervised", train=dict(epochs=2, batch_size=32, steps_per_epoch=3, lr=5e-4,
                                                               weight_decay=1e-4))},
    "cpu":   {"supervised": dict(task="supervised", label_smoothing=0.1,
                                 train=dict(epochs=REFERENCE_EPOCHS, batch_size=128, optimizer="sgd", lr=0.1,
                                            momentum=0.9,
                                            schedule="onecycle", weight_decay=5e-4, flip_tta=True))},
    "gpu":   {"supervised": dict(task="supervised", train=dict(epochs=30, batch_size=256, lr=5e-4, weight_decay=1e-4,
                                                               compile=True))},
}, NOTEBOOK)
SEEDS = {"smoke": [0], "cpu": [0, 1, 2], "gpu": [0, 1, 2]}
LABELS = ("majority", "single_annotator")
# Protocol 2's second noise setting (the single-annotator gap at E stayed under 0.05 macro F1): labels drawn from
# FER+'s measured single-annotator transition matrix at a 40% rate (labels.crowd_matrix_noise), the CIFAR-N
# pairing of human label noise with synthetic noise of the same structure; 3 seeds at E beside the 3 + 3.
CROWD_MATRIX = "crowd_matrix:0.4"
# Protocol 2's scarce-label setting: 10% (3 seeds) and 25% (1 seed) of each class labelled (majority labels), every
# row of a semi-supervised comparison for the same steps and labelled batch: the steps the common recipe needs on
# the 10% to plateau on FER+ Valid, measured by benchmarks/scarce_plateau.py. The sweep (results/benchmarks/
# scarce-plateau-cpu.json) had not plateaued at its longest budget, 200 passes of 22 steps (Valid macro F1 0.457
# at 2,200 steps, 0.514 at 4,400), so the book takes that longest measured budget, 4,400 steps, and says so; its
# runs evaluate every 88 steps (50 evaluations).
SCARCE_FRACTIONS = (0.1, 0.25)
SCARCE_STEPS = 4400
SCARCE_EVAL_STEPS = 88


def common_recipe(profile: str) -> dict:
    """The book's common supervised recipe of a profile: its recipe overrides (train block, label smoothing),
    the profile's data and backbone, and chapter 0's seeds."""
    o = {"label_smoothing": SupervisedRecipe.label_smoothing, **overrides(PROFILES, profile, "supervised")}
    return {**o, "profile": profile, "data": data_for(profile), "arch": backbone(profile), "seeds": SEEDS[profile]}


def common_overrides(profile: str) -> dict:
    """What every method's run takes from the common recipe (Protocol 2): the cpu profile's train block
    (optimiser, one-cycle schedule, batch, weak augmentation, flip TTA, selection on FER+ Valid macro F1, the
    reference budget E), label smoothing and classifier dropout; a method adds only what makes it the method.
    smoke: the same recipe for a few steps of small batches (so CI runs the cpu code path). The gpu profile
    trains the papers' own recipes, so it has none."""
    if check_profile(profile) == "gpu":
        raise ValueError("the gpu profile trains each paper's own recipe; common_overrides is for smoke and cpu")
    o = overrides(PROFILES, "cpu", "supervised")
    o.pop("task")
    o["dropout"] = SupervisedRecipe.dropout
    if profile == "smoke":
        o["train"] = {**o["train"], "epochs": 2, "batch_size": 16, "steps_per_epoch": 2}
    return o


def scarce_overrides(profile: str) -> dict:
    """``common_overrides`` with the scarce-label budget: SCARCE_STEPS optimiser steps of the common batch, as
    SCARCE_STEPS // SCARCE_EVAL_STEPS epochs of SCARCE_EVAL_STEPS steps (the one-cycle schedule spans them all).
    smoke: a few steps."""
    o = common_overrides(profile)
    steps = (2, 2) if profile == "smoke" else (SCARCE_STEPS // SCARCE_EVAL_STEPS, SCARCE_EVAL_STEPS)
    o["train"] = {**o["train"], "epochs": steps[0], "steps_per_epoch": steps[1]}
    return o


def scarce_name(fraction: float) -> str:
    """Chapter 0's scarce-label reference run: the common recipe on ``fraction`` of each class's labels."""
    if fraction not in SCARCE_FRACTIONS:
        raise KeyError(f"chapter 0's scarce-label fractions are {SCARCE_FRACTIONS}, not {fraction}")
    return f"resnet18-majority-{round(100 * fraction)}pct"


def run_name(labels: str, epochs: int | None = None) -> str:
    """Chapter 0's run on ``labels`` (majority, single_annotator or ``CROWD_MATRIX``) at the profile's budget,
    or at ``epochs`` (the time-to-accuracy record, ``TIME_TO_ACCURACY_EPOCHS`` on majority labels)."""
    if labels == CROWD_MATRIX:
        return "resnet18-crowd_matrix40"
    if labels not in LABELS:
        raise KeyError(f"chapter 0 trains on {', '.join(LABELS + (CROWD_MATRIX,))}, not {labels!r}")
    if epochs is not None and (labels, epochs) != ("majority", TIME_TO_ACCURACY_EPOCHS):
        raise KeyError(f"chapter 0's only other budget is {TIME_TO_ACCURACY_EPOCHS} epochs on majority labels")
    return f"resnet18-{labels}" + (f"-{epochs}ep" if epochs is not None else "")


def chapter_runs(profile: str) -> list[dict]:
    """00_data: the supervised baseline trained on clean (majority) and on single-annotator labels (3 + 3
    seeds at the profile's budget) and on the second noise setting (``CROWD_MATRIX``, 3 seeds); on the cpu
    profile also the 14-epoch time-to-accuracy record (3 seeds), when the reference budget differs from it; and
    (cpu, smoke) the scarce-label reference: 10% (3 seeds) and 25% (1 seed) of each class at SCARCE_STEPS."""
    check_profile(profile)
    base = common_recipe(profile)
    seeds = base.pop("seeds")
    runs = [{**base, "notebook": NOTEBOOK, "name": run_name(labels), "labels": labels, "seed": seed}
            for labels in LABELS + (CROWD_MATRIX,) for seed in seeds]
    if profile == "cpu" and base["train"]["epochs"] != TIME_TO_ACCURACY_EPOCHS:
        fast = {**base["train"], "epochs": TIME_TO_ACCURACY_EPOCHS}
        runs += [{**base, "train": fast, "notebook": NOTEBOOK, "labels": "majority", "seed": seed,
                  "name": run_name("majority", TIME_TO_ACCURACY_EPOCHS)} for seed in seeds]
    if profile != "gpu":   # the scarce-label reference (the semi-supervised chapters read it): 3 seeds at 10%, 1 at 25%
        scarce = {**base, **scarce_overrides(profile)}
        for frac in SCARCE_FRACTIONS:
            runs += [{**scarce, "notebook": NOTEBOOK, "name": scarce_name(frac), "labels": "majority",
                      "labelled_fraction": frac, "seed": seed} for seed in (seeds if frac == SCARCE_FRACTIONS[0]
                                                                             else seeds[:1])]
    return runs
