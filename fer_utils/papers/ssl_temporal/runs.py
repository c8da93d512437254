"""Chapter 3's run list (paper 002): Table 1 (the baseline; teacher/student with FER+'s unlabelled faces; with
CK+ added as "more data", followed by the temporal phase and the post-process) and the ablations. The only
place chapter 3's run names are made (``run_name``)."""
from __future__ import annotations

from ...profiles import backbone, check_profile, data_for, overrides
from ...tasks import check_profiles

NOTEBOOK = "03_ssl_temporal"

# Recipe overrides per profile (checked against SSLTemporalRecipe at import): SGD (momentum 0.9, Nesterov) lr 0.01
# for both networks (Face2Exp's value), cosine, weight decay 5e-4, 64 class-balanced labelled faces + mu = 3 x 64
# unlabelled faces per step (the method notes allow a smaller mu than Face2Exp's 7), 10% of FER+'s labels.
# cpu: 900 steps (18 x 50) at lr 0.05 and mu = 2 (chosen on FER+ Valid with the baseline: at 300 steps and the
# gpu's lr 0.01 a from-scratch network barely leaves chance level; mu = 2 keeps a run near 7 CPU minutes).
# "more": the spatial phase with CK+ added to the unlabelled pool, then the temporal phase on clips.
_SGD = dict(sampler="balanced", optimizer="sgd", lr=1e-2, weight_decay=5e-4)


def _rows(fraction, train, clips, temporal):
    spatial = dict(task="ssl_temporal", labelled_fraction=fraction, student_lr=train["lr"], train=train)
    return {"spatial": spatial, "more": dict(spatial, unlabelled="ferplus+ckplus", clips=clips, temporal=temporal)}


PROFILES = check_profiles({
    "smoke": _rows(0.25, dict(_SGD, epochs=2, batch_size=8, steps_per_epoch=1, mu=2),
                   dict(n_train=4, n_valid=3, n_test=3, length=48, mean_segment=12),
                   dict(epochs=2, steps_per_epoch=2, batch_size=4, window=16, stride=8, train_stride=8)),
    "cpu":   _rows(0.1, dict(_SGD, epochs=18, batch_size=64, steps_per_epoch=50, mu=2, lr=0.05),
                   dict(), dict(epochs=10, steps_per_epoch=50)),
    "gpu":   _rows(0.1, dict(_SGD, epochs=20, batch_size=64, steps_per_epoch=100, mu=3),
                   dict(), dict(epochs=20, steps_per_epoch=100)),
}, NOTEBOOK)
CHAPTER = {"smoke": dict(seeds=[0]), "cpu": dict(seeds=[0, 1, 2], majority_seeds=[0]), "gpu": dict(seeds=[0, 1, 2])}
ROWS = ("baseline", "ssl", "ssl-more")


def budget(profile: str) -> dict:
    """This profile's chapter knobs and recipe overrides (what the chapter's prose quotes)."""
    check_profile(profile)
    return {"data": data_for(profile), **CHAPTER[profile], **overrides(PROFILES, profile, "more")}


def run_name(row: str, setting: str) -> str:
    """A chapter-3 run name: ``row`` one of ROWS, ``setting`` the labels or an ablation ("no-feedback")."""
    if row not in ROWS:
        raise KeyError(f"chapter 3 has no row {row!r} (its rows: {', '.join(ROWS)})")
    return f"{row}-{setting}"


def chapter_runs(profile: str) -> list[dict]:
    """03_ssl_temporal: Table 1 (baseline; SSL with FER+'s unlabelled faces; SSL with CK+ added as "more
    data", followed by the temporal phase and the post-process) over 3 seeds on single-annotator labels,
    baseline and the full model also on majority labels (cpu: one seed); ablations (feedback off, class-balanced
    sampling off, both off) with one seed."""
    r = CHAPTER[check_profile(profile)]
    smoke = profile == "smoke"

    def cfg(kind, name, seed, labels, **over):
        return {**overrides(PROFILES, profile, kind), "notebook": NOTEBOOK, "name": name, "profile": profile,
                "data": data_for(profile), "arch": backbone(profile), "labels": labels, "seed": seed, **over}

    runs = []
    for labels in (("single_annotator",) if smoke else ("single_annotator", "majority")):
        for seed in (r.get("majority_seeds", r["seeds"]) if labels == "majority" else r["seeds"]):
            runs.append(cfg("spatial", run_name("baseline", labels), seed, labels, method="supervised"))
            if labels == "single_annotator":
                runs.append(cfg("spatial", run_name("ssl", labels), seed, labels))
            runs.append(cfg("more", run_name("ssl-more", labels), seed, labels))
    seed = r["seeds"][0]
    plain = {**overrides(PROFILES, profile, "more")["train"], "sampler": "plain"}
    runs += [cfg("more", run_name("ssl-more", "no-feedback"), seed, "single_annotator", feedback=False),
             cfg("more", run_name("ssl-more", "no-balance"), seed, "single_annotator", train=plain),
             cfg("more", run_name("ssl-more", "no-debiasing"), seed, "single_annotator", feedback=False, train=plain)]
    return runs
