"""Chapter 4's run list (paper 003): Table I on CK+ (10 subject-independent folds) and on FER+, Table II (CK+ as
the unlabelled source), Table III (every run also scores the other dataset), the cleaner protocol (FER+'s own
unlabelled pool) and plain one-hot training. The only place chapter 4's run names are made (``run_name``)."""
from __future__ import annotations

from ...profiles import backbone, check_profile, data_for, overrides
from ...tasks import check_profiles

NOTEBOOK = "04_self_training"

# Recipe overrides per profile and dataset (checked against SelfTrainingRecipe at import): Adam at a constant lr
# as in the paper (5e-4, the book's from-scratch rate, for the paper's 1e-4 with a pretrained VGG), weak view
# (flip + shift) for the paper's zoom/flip/shift/rotation, the first init_epochs for the initial model and one
# self-training round per later epoch. smoke: a low tau and a larger replacement so that rounds select on the
# sample. cpu, FER+: a fifth of the gpu epochs; 2 initial epochs so that the weight trigger (T + 1 = 4 rounds)
# can fire at the end of epoch 4 and act on epoch 5 (with 3 it could fire only after the last epoch).
_TINY = dict(epochs=2, batch_size=8, steps_per_epoch=1, lr=5e-4, weight_decay=1e-4, schedule="none")
_SMOKE = dict(tau=0.2, replace=0.1, window=1)
PROFILES = check_profiles({
    "smoke": {"ferplus": dict(task="self_training", dataset="ferplus", init_epochs=1, train=_TINY, **_SMOKE),
              "ckplus": dict(task="self_training", dataset="ckplus", init_epochs=1, train=_TINY, **_SMOKE)},
    "cpu":   {"ferplus": dict(task="self_training", dataset="ferplus", init_epochs=2,
                              train=dict(epochs=6, batch_size=128, lr=5e-4, weight_decay=1e-4, schedule="none")),
              "ckplus": dict(task="self_training", dataset="ckplus", init_epochs=3,
                             train=dict(epochs=30, batch_size=32, lr=5e-4, weight_decay=1e-4, schedule="none"))},
    "gpu":   {"ferplus": dict(task="self_training", dataset="ferplus", init_epochs=15,
                              train=dict(epochs=30, batch_size=128, lr=5e-4, weight_decay=1e-4, schedule="none",
                                         compile=True)),
              "ckplus": dict(task="self_training", dataset="ckplus", init_epochs=15,
                             train=dict(epochs=30, batch_size=32, lr=5e-4, weight_decay=1e-4, schedule="none"))},
}, NOTEBOOK)
CHAPTER = {"smoke": dict(seeds=[0], folds=[0]), "cpu": dict(seeds=[0, 1, 2], folds=list(range(10))),
           "gpu": dict(seeds=[0, 1, 2], folds=list(range(10)))}
ST_SW = {"none": (False, False), "st": (True, False), "sw": (False, True), "st_sw": (True, True)}
PROTOCOLS = ("ckplus", "ferplus", "ferplus-pool", "ferplus-majority", "ferplus-ckplus")


def budget(profile: str) -> dict:
    """This profile's chapter knobs, each dataset's train block and initial epochs (what the prose quotes)."""
    check_profile(profile)
    per = {d: overrides(PROFILES, profile, d) for d in ("ferplus", "ckplus")}
    return {"data": data_for(profile), **CHAPTER[profile], **{d: per[d]["train"] for d in per},
            "init_epochs": {d: per[d]["init_epochs"] for d in per}}


def run_name(protocol: str, switches: str) -> str:
    """A chapter-4 run name: the protocol (PROTOCOLS) and the ST/SW switches (ST_SW's keys), or "ferplus-plain"
    (one-hot CE) for ``run_name("ferplus", "plain")``."""
    if protocol not in PROTOCOLS:
        raise KeyError(f"chapter 4 has no protocol {protocol!r} (its protocols: {', '.join(PROTOCOLS)})")
    if switches not in ST_SW and (protocol, switches) != ("ferplus", "plain"):
        raise KeyError(f"chapter 4 has no switches {switches!r} (expected one of {', '.join(ST_SW)})")
    return f"{protocol}-{switches}"


def chapter_runs(profile: str) -> list[dict]:
    """04_self_training: Table I on CK+ (10 subject-independent folds, seed 0) and on FER+ (single-annotator
    labels, 3 seeds; unlabelled = FER+ Test as the paper, and the unlabelled FER+ train pool, ST only with
    one seed), the main rows also on majority labels; Table II (CK+ as the unlabelled source); Table III (every
    run also scores the other dataset); plain one-hot training as the reference for the vote-distribution test."""
    r = CHAPTER[check_profile(profile)]
    smoke = profile == "smoke"

    def cfg(protocol, switches, seed, dataset="ferplus", **over):
        st, sw = ST_SW["none" if switches == "plain" else switches]
        return {**overrides(PROFILES, profile, dataset), "notebook": NOTEBOOK, "name": run_name(protocol, switches),
                "profile": profile, "data": data_for(profile), "arch": backbone(profile), "seed": seed, "st": st,
                "sw": sw, "cross_eval": True, **over}

    runs = []
    for fold in r["folds"]:                                         # Table I, CK+
        for key in ST_SW:
            runs.append(cfg("ckplus", key, 0, dataset="ckplus", fold=fold))
    for seed in r["seeds"]:                                         # Table I, FER+ (the paper's protocol)
        for key in (("none", "st_sw") if smoke else ST_SW):         # (smoke: CK+ runs every switch)
            runs.append(cfg("ferplus", key, seed, save_train_weights=seed == 0 and key in ("sw", "st_sw")))
        if smoke:
            continue
        for key in (("st", "st_sw") if seed == r["seeds"][0] else ("st_sw",)):  # the cleaner protocol:
            runs.append(cfg("ferplus-pool", key, seed, unlabelled="ferplus_pool"))  # FER+'s unlabelled pool
        runs.append(cfg("ferplus-ckplus", "st_sw", seed, unlabelled="ckplus"))   # Table II
        for key in ("none", "st_sw"):                               # the main rows on clean labels
            runs.append(cfg("ferplus-majority", key, seed, labels="majority"))
        runs.append(cfg("ferplus", "plain", seed, eps=0.0))         # one-hot CE: the vote-distribution reference
    if smoke:
        runs += [cfg("ferplus-pool", "st_sw", 0, unlabelled="ferplus_pool"),
                 cfg("ferplus-ckplus", "st_sw", 0, unlabelled="ckplus"),
                 cfg("ferplus", "plain", 0, eps=0.0)]
    return runs
