"""Chapter 1's run list (paper 000): Table 1 (the frozen-feature baseline, the fully supervised network, the
noise-aware model) in both label settings, the scarce-label table (MutexMatch against the supervised network on
the same labelled faces), the ablations. The only place chapter 1's run names are made (``run_name``).

Protocol 2 (cpu and smoke): the noise-aware model and MutexMatch train on the common recipe (``baseline.runs``:
SGD one-cycle, label smoothing 0.1 in their cross-entropies, flip TTA, dropout 0.5, selection on FER+ Valid) and
add only the method. The noise-aware model trains E epochs on all the training labels, its first W = 10 plain
cross-entropy (the warm-up: it selects and weights from its own predictions only after them); MutexMatch trains
in the scarce-label setting for chapter 0's scarce-label budget (the same steps and labelled batch as the
supervised network on the same faces, chapter 0's run), its dynamic threshold starting after the first third of
its epochs (W's share). The fully supervised rows are chapter 0's runs (read from there). The frozen-feature
baseline keeps its own recipe (the organisers' baseline in spirit). The gpu profile keeps the papers' recipes.
"""
from __future__ import annotations

from ...baseline import runs as ch0
from ...profiles import backbone, check_profile, data_for, overrides
from ...tasks import check_profiles

NOTEBOOK = "01_abaw5_expression"
WARMUP_EPOCHS = 10     # W of the noise-aware model (of E = 30): plain CE before any selection or weighting


def _equal(epochs, steps, batch, **extra):
    return dict(epochs=epochs, steps_per_epoch=steps, batch_size=batch, **extra)


def _protocol2(profile: str) -> dict:
    """The cpu / smoke overrides of the noise-aware model and MutexMatch on the common recipe."""
    full, scarce = ch0.common_overrides(profile), ch0.scarce_overrides(profile)
    epochs = full["train"]["epochs"]
    w = min(WARMUP_EPOCHS, epochs - 1)
    return {"noise_aware": dict(full, task="noise_aware", warmup_epochs=w,
                                train=dict(full["train"], views=("weak", "flipped_strong"))),
            "mutexmatch": dict(scarce, task="mutexmatch", train=dict(scarce["train"], mu=2),
                               dat_warmup_epochs=max(1, scarce["train"]["epochs"] // 3))}


_TINY = dict(epochs=2, batch_size=8, steps_per_epoch=1, lr=5e-4, weight_decay=1e-4)
PROFILES = check_profiles({
    "smoke": {"frozen_baseline": dict(task="frozen_baseline", train=_TINY, pretrain=dict(_TINY, epochs=1)),
              **_protocol2("smoke")},
    "cpu":   {"frozen_baseline": dict(task="frozen_baseline", train=_equal(8, 100, 64, lr=1e-3, weight_decay=1e-4),
                                      pretrain=dict(epochs=30, batch_size=64, lr=1e-3, weight_decay=1e-4)),
              **_protocol2("cpu")},
    "gpu":   {"frozen_baseline": dict(task="frozen_baseline",
                                      train=_equal(20, 100, 128, lr=1e-3, weight_decay=1e-4, compile=True),
                                      pretrain=dict(epochs=40, batch_size=128, lr=1e-3, weight_decay=1e-4,
                                                    compile=True)),
              "supervised": dict(task="supervised", train=_equal(20, 100, 128, lr=5e-4, weight_decay=1e-4, compile=True)),
              "mutexmatch": dict(task="mutexmatch", train=_equal(20, 100, 128, mu=3, lr=5e-4, weight_decay=1e-4,
                                                                 compile=True)),
              "noise_aware": dict(task="noise_aware", train=_equal(20, 100, 128, lr=1e-4, weight_decay=1e-4,
                                                                   compile=True))},
}, NOTEBOOK)
# Chapter knobs: seeds; the scarce-label fractions (chapter 0's) and the first fraction's seeds.
CHAPTER = {"smoke": dict(seeds=[0], majority_seeds=[0], fractions=list(ch0.SCARCE_FRACTIONS)),
           "cpu": dict(seeds=[0, 1, 2], majority_seeds=[0], fractions=list(ch0.SCARCE_FRACTIONS)),
           "gpu": dict(seeds=[0, 1, 2], majority_seeds=[0, 1, 2], fractions=[0.1, 0.25])}
ROWS = {"frozen_baseline": "baseline", "supervised": "supervised", "mutexmatch": "mutexmatch",
        "noise_aware": "noise-aware"}


def budget(profile: str) -> dict:
    """This profile's chapter knobs and recipe overrides (what the chapter's prose quotes)."""
    check_profile(profile)
    return {"data": data_for(profile), **CHAPTER[profile],
            "recipes": {k: overrides(PROFILES, profile, k) for k in PROFILES[profile]}}


def supervised_run(setting: str, profile: str) -> tuple[str, str]:
    """(notebook, run name) of the fully supervised row: chapter 0's common-recipe run on the cpu and smoke
    profiles (``setting``: "single_annotator", "majority" or a scarce-label "10pct" / "25pct"), this chapter's
    own run under the paper's recipe on the gpu profile."""
    if check_profile(profile) == "gpu":
        return NOTEBOOK, run_name("supervised", setting)
    if setting.endswith("pct"):
        return ch0.NOTEBOOK, ch0.scarce_name(int(setting[:-3]) / 100)
    return ch0.NOTEBOOK, ch0.run_name(setting)


def run_name(row: str, setting: str) -> str:
    """A chapter-1 run name: ``row`` one of ROWS' keys (a task), ``setting`` the labels ("single_annotator",
    "majority", "symmetric:0.2"), a scarce-label percentage ("10pct") or an ablation suffix."""
    if row not in ROWS:
        raise KeyError(f"chapter 1 has no row {row!r} (its rows: {', '.join(ROWS)})")
    setting = setting.replace("symmetric:", "sym")
    return f"{ROWS[row]}-{setting}"


def chapter_runs(profile: str) -> list[dict]:
    """01_abaw5_expression. cpu (Protocol 2): the noise-aware model at E on single-annotator labels (3 seeds)
    and majority labels (1 seed), its no-consistency ablation (1 seed); the frozen-feature baseline likewise;
    MutexMatch + DAT at 10% of each class (3 seeds) and 25% (1 seed) with the fixed-threshold ablation (1 seed),
    all at chapter 0's scarce-label budget. The supervised rows are chapter 0's. Dropped: MutexMatch with all
    the labels (its pool would be FER+'s 181 faces without a majority label) and the synthetic-noise sweep
    (chapter 0's second noise setting replaces it). gpu: the paper's recipes with its own supervised rows."""
    r = CHAPTER[check_profile(profile)]
    gpu = profile == "gpu"

    def cfg(row, setting, seed, labels, **over):
        o = overrides(PROFILES, profile, row)
        return {**o, "notebook": NOTEBOOK, "name": run_name(row, setting), "profile": profile, "data": data_for(profile),
                "arch": backbone(profile), "labels": labels, "seed": seed, **over}

    runs = []
    for labels in ("single_annotator", "majority"):
        for seed in (r["majority_seeds"] if labels == "majority" else r["seeds"]):
            runs.append(cfg("frozen_baseline", labels, seed, labels))
            if gpu:
                runs.append(cfg("supervised", labels, seed, labels))
            runs.append(cfg("noise_aware", labels, seed, labels, save_train_alpha=seed == r["seeds"][0]))
    for frac in r["fractions"]:                                         # scarce labels (majority labels)
        pct = f"{round(100 * frac)}pct"
        for seed in (r["seeds"] if frac == r["fractions"][0] else r["seeds"][:1]):
            if gpu:
                runs.append(cfg("supervised", pct, seed, "majority", labelled_fraction=frac))
            runs.append(cfg("mutexmatch", pct, seed, "majority", labelled_fraction=frac))
    seed, frac = r["seeds"][0], r["fractions"][0]
    pct = f"{round(100 * frac)}pct"
    runs += [cfg("mutexmatch", f"{pct}-fixed", seed, "majority", threshold=0.95, labelled_fraction=frac),
             cfg("noise_aware", "no-consistency", seed, "single_annotator", consistency_weight=0.0)]
    return runs
