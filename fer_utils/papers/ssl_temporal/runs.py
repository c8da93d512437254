"""Chapter 3's run list (paper 002): Table 1 in Protocol 2's scarce-label setting (the supervised baseline and
teacher/student on the same labelled faces, for the same steps and sampler; the unlabelled pool with and
without CK+48, the paper's "more data") and the ablations. The only place chapter 3's run names are made
(``run_name``).

Protocol 2 (cpu and smoke): 10% of each class labelled (majority labels, chapter 0's draw: the same faces as
chapter 0's ``resnet18-majority-10pct``), the common recipe (``baseline.runs.scarce_overrides``: SGD one-cycle,
label smoothing 0.1 on the labelled CE terms, flip TTA, selection on FER+ Valid, SCARCE_STEPS steps of 128
labelled faces), plus what makes it the method: a class-balanced labelled sampler (the paper's debiasing; the
supervised baseline here gets it too, so the rows differ only in the teacher/student), mu = 1 unlabelled face
per labelled one (method notes B-002.4: "if memory-bound, use mu = 1 and report it"; here compute-bound: a step
already costs about 4.7 supervised steps), and a warm start: both networks train on the labelled faces alone for
the first third of the steps (Protocol 2's warm-up), then Eq. 1-6 for the rest. The student is not fine-tuned on
the labelled faces afterwards (Face2Exp does; paper 002 does not say so, and it would give the student labelled
passes the baseline does not get). The gpu profile keeps the paper's recipe (SGD lr 0.01, cosine, mu = 3).
"""
from __future__ import annotations

from ...baseline import runs as ch0
from ...profiles import backbone, check_profile, data_for, overrides
from ...tasks import check_profiles

NOTEBOOK = "03_ssl_temporal"
FRACTION = ch0.SCARCE_FRACTIONS[0]      # 10% of each class labelled
WARMUP_FRACTION = 1 / 3                 # Protocol 2's warm start: the first third of the steps on labels alone


def _protocol2(profile: str) -> dict:
    o = ch0.scarce_overrides(profile)
    o["train"] = {**o["train"], "sampler": "balanced", "mu": 1}
    return dict(task="ssl_temporal", labels="majority", labelled_fraction=FRACTION, student_lr=o["train"]["lr"],
                warmup_fraction=WARMUP_FRACTION, unlabelled="ferplus+ckplus", **o)


_SGD = dict(sampler="balanced", optimizer="sgd", lr=1e-2, weight_decay=5e-4)
_GPU = dict(task="ssl_temporal", labels="majority", labelled_fraction=FRACTION, student_lr=1e-2,
            unlabelled="ferplus+ckplus", train=dict(_SGD, epochs=20, batch_size=64, steps_per_epoch=100, mu=3))


def _rows(spatial: dict, clips: dict, temporal: dict) -> dict:
    """"spatial": the spatial phase only; "temporal": the spatial phase, then the temporal phase on clips."""
    return {"spatial": spatial, "temporal": dict(spatial, clips=clips, temporal=temporal)}


PROFILES = check_profiles({
    "smoke": _rows(_protocol2("smoke"), dict(n_train=4, n_valid=3, n_test=3, length=48, mean_segment=12),
                   dict(epochs=2, steps_per_epoch=2, batch_size=4, window=16, stride=8, train_stride=8)),
    "cpu":   _rows(_protocol2("cpu"), dict(), dict(epochs=10, steps_per_epoch=50)),
    "gpu":   _rows(_GPU, dict(), dict(epochs=20, steps_per_epoch=100)),
}, NOTEBOOK)
# seeds: the headline rows (baseline and teacher/student); the ablations train the first seed only
CHAPTER = {"smoke": dict(seeds=[0]), "cpu": dict(seeds=[0, 1, 2]), "gpu": dict(seeds=[0, 1, 2])}
ROWS = ("baseline", "ssl")
ABLATIONS = ("ferplus-pool", "no-feedback", "no-balance", "no-debiasing")


def budget(profile: str) -> dict:
    """This profile's chapter knobs and recipe overrides (what the chapter's prose quotes)."""
    check_profile(profile)
    return {"data": data_for(profile), **CHAPTER[profile], **overrides(PROFILES, profile, "temporal")}


def run_name(row: str, ablation: str | None = None) -> str:
    """A chapter-3 run name: ``row`` one of ROWS at the chapter's labelled fraction ("ssl-10pct"), with an
    ablation of ABLATIONS ("ssl-10pct-no-feedback")."""
    if row not in ROWS:
        raise KeyError(f"chapter 3 has no row {row!r} (its rows: {', '.join(ROWS)})")
    if ablation is not None and ablation not in ABLATIONS:
        raise KeyError(f"chapter 3 has no ablation {ablation!r} (its ablations: {', '.join(ABLATIONS)})")
    return f"{row}-{round(100 * FRACTION)}pct" + (f"-{ablation}" if ablation else "")


def chapter_runs(profile: str) -> list[dict]:
    """03_ssl_temporal: the supervised baseline and teacher/student (followed by the temporal phase on the
    stand-in clips) on the same 10% of labelled faces, 3 seeds each; one seed each of the ablations: the pool
    without CK+48 (Table 1's "more data" question), feedback off, class-balanced sampling off, both off."""
    r = CHAPTER[check_profile(profile)]

    def cfg(kind, name, seed, **over):
        return {**overrides(PROFILES, profile, kind), "notebook": NOTEBOOK, "name": name, "profile": profile,
                "data": data_for(profile), "arch": backbone(profile), "seed": seed, **over}

    runs = []
    for seed in r["seeds"]:
        runs.append(cfg("spatial", run_name("baseline"), seed, method="supervised"))
        runs.append(cfg("temporal", run_name("ssl"), seed))
    seed = r["seeds"][0]
    plain = {**overrides(PROFILES, profile, "spatial")["train"], "sampler": "plain"}
    runs += [cfg("spatial", run_name("ssl", "ferplus-pool"), seed, unlabelled="ferplus"),
             cfg("spatial", run_name("ssl", "no-feedback"), seed, feedback=False),
             cfg("spatial", run_name("ssl", "no-balance"), seed, train=plain),
             cfg("spatial", run_name("ssl", "no-debiasing"), seed, feedback=False, train=plain)]
    return runs
