"""Paper 000's mechanism checks (Protocol 2): did the noise-aware model select and weight, did the DAT let
pseudo-labels through? From stored runs' per-epoch histories (and, for alpha, the stored training weights)."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

LOW, HIGH = 0.05, 0.95   # a selection or mask rate outside [5%, 95%] after the warm-up keeps (nearly) all or nothing


def after_warmup(run, key: str, warmup: int) -> np.ndarray:
    """The per-epoch values of ``key`` from epoch ``warmup`` on (epochs without it are skipped)."""
    return np.array([h[key] for h in run.history if h["epoch"] >= warmup and key in h], dtype=float)


def alpha_auc(run) -> float:
    """AUC of (1 - alpha) for "the training label differs from the majority" over all of train (NaN if the run
    stored no training weights or no label is noisy)."""
    p = run.predictions()
    if "train_alpha" not in p:
        return float("nan")
    noisy = p["train_label"] != p["train_majority"]
    if noisy.all() or not noisy.any():
        return float("nan")
    return float(roc_auc_score(noisy, -p["train_alpha"].astype(float)))


def noise_aware_signal(runs, warmup: int) -> tuple[bool, str]:
    """(exercised, signal): the clean-sample selection acted when, after the warm-up, it kept between 5% and
    95% of the samples on average in every run; the signal adds the AUC of (1 - alpha) where stored."""
    if not runs:
        return False, "no noise-aware run stored"
    kept = [after_warmup(r, "clean_rate", warmup) for r in runs]
    means = [float(k.mean()) if len(k) else float("nan") for k in kept]
    ok = all(np.isfinite(m) and LOW <= m <= HIGH for m in means)
    aucs = [a for a in (alpha_auc(r) for r in runs) if np.isfinite(a)]
    text = (f"after the {warmup}-epoch warm-up the selection kept {', '.join(f'{m:.0%}' for m in means)} of the "
            f"samples as clean (per run, mean over epochs)")
    if aucs:
        text += f"; AUC of 1 − α for the noisy labels {np.mean(aucs):.3f}"
    return ok, text


def dat_signal(runs, warmup: int) -> tuple[bool, str]:
    """(exercised, signal): the dynamic threshold let pseudo-labels through when, after its warm-up, the mean
    mask rate over classes and epochs is between 5% and 95% in every run; with the pseudo-labels' accuracy
    against the hidden majority labels."""
    if not runs:
        return False, "no MutexMatch run stored"
    rates, accs = [], []
    for r in runs:
        per = [h["mask_rate_per_class"] for h in r.history if h["epoch"] >= warmup and "mask_rate_per_class" in h]
        rates.append(float(np.mean(per)) if per else float("nan"))
        acc = after_warmup(r, "pseudo_label_accuracy", warmup)
        accs.append(float(acc.mean()) if len(acc) else float("nan"))
    ok = all(np.isfinite(m) and LOW <= m <= HIGH for m in rates)
    return ok, (f"after the warm-up {', '.join(f'{m:.0%}' for m in rates)} of the unlabelled faces passed the "
                f"threshold (per run, mean over classes and epochs); their pseudo-labels were "
                f"{', '.join(f'{a:.0%}' for a in accs)} right")
