"""Chapter 4's run list (paper 003): Table I on CK+ (10 subject-independent folds) and on FER+, Table II (CK+ as
the unlabelled source), Table III (every run also scores the other dataset). The only place chapter 4's run names
are made (``run_name``).

Protocol 2 (cpu and smoke), FER+: every run trains on the common recipe (``baseline.runs.common_overrides``: SGD
one-cycle, E epochs, flip TTA, selection on FER+ Valid, dropout 0.5) with Eq. 2's smoothing at eps = 0.0875,
which is the common recipe's label smoothing 0.1 over 8 classes (1 - eps = 0.9125 on the label, 0.0125
elsewhere); what paper 003 adds is the method: after W = ``WARMUP_EPOCHS`` epochs of that cross-entropy (its
"initial model"), one self-training round per epoch (ST: successive labels and confident pool faces; SW: the
weights when X_val's loss rises). The unlabelled pool is FER+ train itself, every face with its label hidden
(FixMatch's convention): the honest pool, since FER+ Test is scored; the paper's transductive Test pool is a
one-seed side row. The "none" rows switch ST and SW off on the same split and budget: the common recipe on this
chapter's 90% / 10% (X_val) split. CK+ keeps the paper's recipe (Adam at a constant lr) and its folds.
"""
from __future__ import annotations

from ...baseline import runs as ch0
from ...profiles import backbone, check_profile, data_for, overrides
from ...tasks import check_profiles

NOTEBOOK = "04_self_training"

WARMUP_EPOCHS = 10     # W: the initial model's epochs before the first round (cpu and smoke: of E = 30)
EPS_COMMON = 0.0875    # Eq. 2's eps equal to the common recipe's label smoothing 0.1 over 8 classes


def _protocol2(profile: str) -> dict:
    """A FER+ run's overrides on the common recipe (cpu, smoke)."""
    o = ch0.common_overrides(profile)
    train = o["train"]
    return dict(task="self_training", dataset="ferplus", dropout=o["dropout"], eps=EPS_COMMON, train=train,
                init_epochs=min(WARMUP_EPOCHS, train["epochs"] - 1), unlabelled="ferplus_train")


# Recipe overrides per profile and dataset (checked against SelfTrainingRecipe at import). FER+ on cpu and smoke:
# Protocol 2 (above); smoke adds a low tau and a larger replacement so that rounds select on the sample. CK+ and
# the gpu profile: the paper's recipe, Adam at a constant lr (5e-4, the book's from-scratch rate, for the paper's
# 1e-4 with a pretrained VGG), weak view (flip + shift) for its zoom/flip/shift/rotation.
_TINY = dict(epochs=2, batch_size=8, steps_per_epoch=1, lr=5e-4, weight_decay=1e-4, schedule="none")
_SMOKE = dict(tau=0.2, replace=0.1, window=1)
PROFILES = check_profiles({
    "smoke": {"ferplus": dict(_protocol2("smoke"), **_SMOKE),
              "ckplus": dict(task="self_training", dataset="ckplus", init_epochs=1, train=_TINY, **_SMOKE)},
    "cpu":   {"ferplus": _protocol2("cpu"),
              "ckplus": dict(task="self_training", dataset="ckplus", init_epochs=3,
                             train=dict(epochs=30, batch_size=32, lr=5e-4, weight_decay=1e-4, schedule="none"))},
    "gpu":   {"ferplus": dict(task="self_training", dataset="ferplus", init_epochs=15, unlabelled="ferplus_train",
                              train=dict(epochs=30, batch_size=128, lr=5e-4, weight_decay=1e-4, schedule="none",
                                         compile=True)),
              "ckplus": dict(task="self_training", dataset="ckplus", init_epochs=15,
                             train=dict(epochs=30, batch_size=32, lr=5e-4, weight_decay=1e-4, schedule="none"))},
}, NOTEBOOK)
CHAPTER = {"smoke": dict(seeds=[0], folds=[0]), "cpu": dict(seeds=[0, 1, 2], folds=list(range(10))),
           "gpu": dict(seeds=[0, 1, 2], folds=list(range(10)))}
ST_SW = {"none": (False, False), "st": (True, False), "sw": (False, True), "st_sw": (True, True)}
# ferplus: the main rows (pool = FER+ train); ferplus-test: the paper's transductive pool (FER+ Test);
# ferplus-ckplus: CK+48 as the pool (Table II); ferplus-majority: clean labels
PROTOCOLS = ("ckplus", "ferplus", "ferplus-test", "ferplus-ckplus", "ferplus-majority")


def budget(profile: str) -> dict:
    """This profile's chapter knobs, each dataset's train block and initial epochs (what the prose quotes)."""
    check_profile(profile)
    per = {d: overrides(PROFILES, profile, d) for d in ("ferplus", "ckplus")}
    return {"data": data_for(profile), **CHAPTER[profile], **{d: per[d]["train"] for d in per},
            "init_epochs": {d: per[d]["init_epochs"] for d in per}}


def run_name(protocol: str, switches: str) -> str:
    """A chapter-4 run name: the protocol (PROTOCOLS) and the ST/SW switches (ST_SW's keys)."""
    if protocol not in PROTOCOLS:
        raise KeyError(f"chapter 4 has no protocol {protocol!r} (its protocols: {', '.join(PROTOCOLS)})")
    if switches not in ST_SW:
        raise KeyError(f"chapter 4 has no switches {switches!r} (expected one of {', '.join(ST_SW)})")
    return f"{protocol}-{switches}"


def chapter_runs(profile: str) -> list[dict]:
    """04_self_training: Table I on CK+ (10 subject-independent folds, seed 0, every switch) and on FER+
    (single-annotator labels, pool = FER+ train, every switch, 3 seeds); one seed each of ST + SW with the
    paper's transductive FER+ Test pool, with CK+48 as the pool (Table II) and on majority labels; every run
    also scores the other dataset (Table III). smoke: seed 0 and fold 0 of the same list."""
    r = CHAPTER[check_profile(profile)]

    def cfg(protocol, switches, seed, dataset="ferplus", **over):
        st, sw = ST_SW[switches]
        return {**overrides(PROFILES, profile, dataset), "notebook": NOTEBOOK, "name": run_name(protocol, switches),
                "profile": profile, "data": data_for(profile), "arch": backbone(profile), "seed": seed, "st": st,
                "sw": sw, "cross_eval": True, **over}

    runs = []
    for fold in r["folds"]:                                         # Table I, CK+
        for key in ST_SW:
            runs.append(cfg("ckplus", key, 0, dataset="ckplus", fold=fold))
    for seed in r["seeds"]:                                         # Table I, FER+ (pool = FER+ train)
        for key in ST_SW:
            runs.append(cfg("ferplus", key, seed, save_train_weights=seed == r["seeds"][0] and key in ("sw", "st_sw")))
    first = r["seeds"][0]
    runs.append(cfg("ferplus-test", "st_sw", first, unlabelled="ferplus_test"))   # the paper's transductive pool
    runs.append(cfg("ferplus-ckplus", "st_sw", first, unlabelled="ckplus"))       # Table II
    runs.append(cfg("ferplus-majority", "st_sw", first, labels="majority"))        # clean labels
    return runs
