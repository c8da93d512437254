"""Chapter 2's run list (paper 001): Table 1 (one network against CCT, both label settings), Tables 3-7 and the
synthetic-noise rows. The only place chapter 2's run names are made (``run_name``)."""
from __future__ import annotations

from ...profiles import backbone, check_profile, data_for, overrides
from ...tasks import check_profiles

NOTEBOOK = "02_cct"

# Recipe overrides per profile (checked against CCTRecipe at import): Adam lr 1e-3 x 0.95 per epoch, flip + crop,
# colour jitter and random erasing (paper); cpu: 4 epochs of 3 compact networks, about 4 CPU minutes a CCT run.
_COMMON = dict(schedule="exp", lr_gamma=0.95, lr=1e-3, weight_decay=1e-4, erasing=True, jitter=0.25)
PROFILES = check_profiles({
    "smoke": {"cct": dict(task="cct", train=dict(_COMMON, epochs=2, batch_size=8, steps_per_epoch=1))},
    "cpu":   {"cct": dict(task="cct", train=dict(_COMMON, epochs=4, batch_size=128))},
    "gpu":   {"cct": dict(task="cct", train=dict(_COMMON, epochs=20, batch_size=256, compile=True))},
}, NOTEBOOK)
# the CK+ pretraining of the init="ckplus" row (Table 4), given to that row only
PRETRAIN = {"smoke": dict(epochs=1, batch_size=8, steps_per_epoch=1, lr=1e-3),
            "cpu": dict(epochs=20, batch_size=64, lr=1e-3),
            "gpu": dict(epochs=30, batch_size=128, lr=1e-3, compile=True)}
CHAPTER = {"smoke": dict(seeds=[0]), "cpu": dict(seeds=[0, 1, 2], majority_seeds=[0]), "gpu": dict(seeds=[0, 1, 2])}
CCT_BETAS = (0.1, 0.65, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0)
ROWS = ("baseline", "cct")


def budget(profile: str) -> dict:
    """This profile's chapter knobs and recipe overrides (what the chapter's prose quotes)."""
    check_profile(profile)
    return {"data": data_for(profile), **CHAPTER[profile], **overrides(PROFILES, profile, "cct"),
            "pretrain": dict(PRETRAIN[profile])}


def run_name(row: str, setting: str | None = None) -> str:
    """A chapter-2 run name: ``row`` "baseline" (one network) or "cct", with its labels ("single_annotator",
    "majority", "symmetric:0.2") or an ablation ("k2", "ckplus-init", "oversampling", "ce-only", "beta4.0")."""
    if row not in ROWS:
        raise KeyError(f"chapter 2 has no row {row!r} (its rows: {', '.join(ROWS)})")
    return f"{row}-{setting.replace('symmetric:', 'sym')}" if setting else row


def chapter_runs(profile: str) -> list[dict]:
    """02_cct: Table 1 (baseline vs CCT, both label settings, 3 seeds), Tables 3-7 and the synthetic-noise
    rows (one seed each; the smoke profile runs a reduced set that exercises every code path)."""
    r = CHAPTER[check_profile(profile)]
    smoke = profile == "smoke"
    train = overrides(PROFILES, profile, "cct")["train"]

    def cfg(name, seed, **over):
        base = {**overrides(PROFILES, profile, "cct"), "notebook": NOTEBOOK, "profile": profile,
                "data": data_for(profile), "arch": backbone(profile), "seed": seed}
        if over.get("init") == "ckplus":
            base["pretrain"] = dict(PRETRAIN[profile])
        return {**base, **over, "name": name}

    runs = []
    for labels in (("single_annotator",) if smoke else ("single_annotator", "majority")):  # Table 1
        for seed in (r.get("majority_seeds", r["seeds"]) if labels == "majority" else r["seeds"]):
            runs.append(cfg(run_name("baseline", labels), seed, labels=labels, networks=1))
            runs.append(cfg(run_name("cct", labels), seed, labels=labels, save_train_predictions=seed == 0))
    for seed in r["seeds"][:1]:
        for k in ((2,) if smoke else (2, 4)):                              # Table 3 (K = 1 is the baseline)
            runs.append(cfg(run_name("cct", f"k{k}"), seed, networks=k))
        runs.append(cfg(run_name("cct", "ckplus-init"), seed, init="ckplus"))           # Table 4
        runs.append(cfg(run_name("cct", "oversampling"), seed, train={**train, "sampler": "balanced"}))  # Table 5
        runs.append(cfg(run_name("cct", "ce-only"), seed, consistency=False))           # Table 6
        # Table 7; the gpu profile runs both readings of Eq. 4, the cpu profile the unclamped one only (the
        # clamped reading differs from it only in the last epoch, by at most 1.5% of lambda: chapter 2)
        for beta in ((0.65,) if smoke else CCT_BETAS):
            for clamp in ((True,) if smoke else (False, True) if profile == "gpu" else (False,)):
                if beta == 4.0 and not clamp:
                    continue  # the main CCT run
                runs.append(cfg(run_name("cct", f"beta{beta}{'-clamp' if clamp else ''}"), seed, beta=beta, clamp=clamp))
        for rate in ((0.4,) if smoke else (0.2, 0.4)):                     # beyond the paper: synthetic noise
            runs.append(cfg(run_name("baseline", f"symmetric:{rate}"), seed, labels=f"symmetric:{rate}", networks=1))
            runs.append(cfg(run_name("cct", f"symmetric:{rate}"), seed, labels=f"symmetric:{rate}"))
            if not smoke:
                runs.append(cfg(run_name("cct", f"ce-only-sym{rate}"), seed, labels=f"symmetric:{rate}",
                                consistency=False))
    return runs
