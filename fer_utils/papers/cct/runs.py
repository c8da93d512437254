"""Chapter 2's run list (paper 001): Table 1 (one network against CCT), the averaging question (three networks
with lambda = 0), Tables 3-6's ablations and the second noise setting. The only place chapter 2's run names are
made (``run_name``).

Protocol 2 (cpu and smoke): CCT trains on the common recipe (``baseline.runs.common_overrides``: SGD one-cycle,
label smoothing 0.1 in Eq. 2, flip TTA, selection on FER+ Valid, E epochs) and adds only what makes it CCT: K
networks, the consensus term and its lambda ramp (Eq. 1-4, e_r = 0.9 E as the paper defines it). Its one-network
baseline is chapter 0's run on the same labels (read from there, not retrained). The gpu profile keeps the
paper's recipe (Adam 1e-3 x 0.95 per epoch, heads at 1e-2, jitter and erasing) and trains its own baseline
under it.
"""
from __future__ import annotations

from ...baseline import runs as ch0
from ...profiles import backbone, check_profile, data_for, overrides
from ...tasks import check_profiles

NOTEBOOK = "02_cct"

# Recipe overrides per profile (checked against CCTRecipe at import). gpu: the paper's recipe, Adam lr 1e-3 x 0.95
# per epoch, flip + crop, colour jitter and random erasing, the heads at 1e-2.
_PAPER = dict(schedule="exp", lr_gamma=0.95, lr=1e-3, weight_decay=1e-4, erasing=True, jitter=0.25)
PROFILES = check_profiles({
    "smoke": {"cct": dict(task="cct", classifier_lr=None, **ch0.common_overrides("smoke"))},
    "cpu":   {"cct": dict(task="cct", classifier_lr=None, **ch0.common_overrides("cpu"))},
    "gpu":   {"cct": dict(task="cct", train=dict(_PAPER, epochs=20, batch_size=256, compile=True))},
}, NOTEBOOK)
# the CK+ pretraining of the init="ckplus" row (Table 4), given to that row only
PRETRAIN = {"smoke": dict(epochs=1, batch_size=8, steps_per_epoch=1, lr=1e-3),
            "cpu": dict(epochs=20, batch_size=64, lr=1e-3),
            "gpu": dict(epochs=30, batch_size=128, lr=1e-3, compile=True)}
# seeds: the headline rows (CCT and the lambda = 0 average on single-annotator labels); majority_seeds: CCT on
# majority labels; ablations train the first seed only.
CHAPTER = {"smoke": dict(seeds=[0], majority_seeds=[0]), "cpu": dict(seeds=[0, 1, 2], majority_seeds=[0]),
           "gpu": dict(seeds=[0, 1, 2], majority_seeds=[0, 1, 2])}
CCT_BETAS = (0.1, 0.65, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0)   # Table 7 (the gpu profile sweeps them all)
CPU_BETAS = (1.0, 4.0)                                  # the cpu profile: the paper's 4 and one flatter ramp
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
    """02_cct. cpu (Protocol 2): CCT and the lambda = 0 average of three networks on single-annotator labels (3
    seeds each), CCT on majority labels (1 seed), and one seed each of K = 2 and 4, beta = 1, oversampling, the
    CK+48 init (Table 4's question) and the second noise setting (chapter 0's crowd_matrix:0.4); the one-network
    rows are chapter 0's runs. Dropped on cpu (they cannot change a conclusion at one seed where the headline
    rows' seed spread is larger than the paper's differences): Table 7's other betas, the clamped reading of
    Eq. 4 (it differs only after e_r), CE-only on synthetic noise. gpu: the paper's recipe, its own one-network
    baseline, the full beta sweep in both readings. smoke: one seed of a reduced set on the cpu code path."""
    r = CHAPTER[check_profile(profile)]
    gpu, smoke = profile == "gpu", profile == "smoke"
    train = overrides(PROFILES, profile, "cct")["train"]

    def cfg(name, seed, **over):
        base = {**overrides(PROFILES, profile, "cct"), "notebook": NOTEBOOK, "profile": profile,
                "data": data_for(profile), "arch": backbone(profile), "seed": seed}
        if over.get("init") == "ckplus":
            base["pretrain"] = dict(PRETRAIN[profile])
        return {**base, **over, "name": name}

    runs = []
    for labels in ("single_annotator", "majority"):                      # Table 1
        for seed in (r["majority_seeds"] if labels == "majority" else r["seeds"]):
            if gpu:
                runs.append(cfg(run_name("baseline", labels), seed, labels=labels, networks=1))
            runs.append(cfg(run_name("cct", labels), seed, labels=labels, save_train_predictions=seed == 0))
    for seed in r["seeds"]:                                              # consensus or averaging? (Table 6)
        runs.append(cfg(run_name("cct", "ce-only"), seed, consistency=False))
    for seed in r["seeds"][:1]:
        for k in ((2,) if smoke else (2, 4)):                              # Table 3 (K = 1 is the baseline)
            runs.append(cfg(run_name("cct", f"k{k}"), seed, networks=k))
        runs.append(cfg(run_name("cct", "ckplus-init"), seed, init="ckplus"))           # Table 4
        runs.append(cfg(run_name("cct", "oversampling"), seed, train={**train, "sampler": "balanced"}))  # Table 5
        # Table 7: the gpu profile runs every beta in both readings of Eq. 4, the cpu profile beta = 1 unclamped
        for beta in (CCT_BETAS if gpu else (1.0,)):
            for clamp in ((False, True) if gpu else (False,)):
                if beta == 4.0 and not clamp:
                    continue  # the main CCT run
                runs.append(cfg(run_name("cct", f"beta{beta}{'-clamp' if clamp else ''}"), seed, beta=beta, clamp=clamp))
        if gpu:                                                          # its one network under the paper's recipe
            runs.append(cfg(run_name("baseline", "crowd_matrix40"), seed, labels=ch0.CROWD_MATRIX, networks=1))
        runs.append(cfg(run_name("cct", "crowd_matrix40"), seed, labels=ch0.CROWD_MATRIX))  # chapter 0's 2nd noise
        if gpu:                                                          # beyond the paper: synthetic noise
            for rate in (0.2, 0.4):
                runs.append(cfg(run_name("baseline", f"symmetric:{rate}"), seed, labels=f"symmetric:{rate}", networks=1))
                runs.append(cfg(run_name("cct", f"symmetric:{rate}"), seed, labels=f"symmetric:{rate}"))
    return runs


def baseline_run(labels: str, profile: str) -> tuple[str, str]:
    """(notebook, run name) of the one-network row on ``labels``: chapter 0's common-recipe run on the cpu and
    smoke profiles (Protocol 2), this chapter's own networks=1 run under the paper's recipe on the gpu profile."""
    if check_profile(profile) == "gpu":
        return NOTEBOOK, run_name("baseline", labels.replace("crowd_matrix:0.4", "crowd_matrix40"))
    return ch0.NOTEBOOK, ch0.run_name(labels)
