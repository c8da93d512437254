"""Paper 002's mechanism checks (Protocol 2), from stored runs' histories: did the feedback act, and what did the
teacher tell the student? Per epoch of the feedback phase the task stores the share of steps whose feedback
coefficient |f| exceeded F_ACTIVE ("f_active"), the pseudo-labels' accuracy against the pool's hidden majority
labels and the total variation between their class distribution and the pool's true one."""
from __future__ import annotations

import numpy as np

from .task import F_ACTIVE

ACTED_SHARE = 0.05   # the feedback acted when |f| > F_ACTIVE on at least this share of the feedback phase's steps


def feedback_epochs(run) -> list[dict]:
    """The epoch records of the feedback phase (after the warm start)."""
    return [h for h in run.history if h.get("phase", "feedback") == "feedback" and "f_active" in h]


def active_share(run) -> float:
    """Share of the feedback phase's steps with |f| > F_ACTIVE (epochs have equal steps: the mean of the epochs)."""
    eps = feedback_epochs(run)
    return float(np.mean([h["f_active"] for h in eps])) if eps else float("nan")


def best_in_phase(history, phase: str, key: str) -> float:
    """The best ``key`` over a run history's epochs of ``phase`` ("warm-up" or "feedback"; an epoch without a phase,
    e.g. a supervised run's, counts as "feedback"); nan when none is stored."""
    v = [h[key] for h in history if h.get("phase", "feedback") == phase and key in h]
    return float(max(v)) if v else float("nan")


def feedback_signal(runs) -> tuple[bool, str]:
    """(exercised, signal). The teacher/student was exercised when, in every run, |f| exceeded F_ACTIVE on at
    least ACTED_SHARE of the feedback phase's steps **and** the student kept on Valid comes from the feedback
    phase: a student kept from the warm start never learnt from a pseudo-label, so its test score is a
    supervised network's, not the method's. The signal prints that share, the kept epochs (for each kept in the
    warm start, the student's best Valid macro F1 in the feedback phase against the warm start's), the teacher's
    best Valid macro F1, the pseudo-labels' accuracy and their class distribution's total variation from the
    pool's true one, over the feedback phase."""
    if not runs:
        return False, "no teacher/student run stored"
    shares = [active_share(r) for r in runs]
    kept = [r.metrics["best_epoch"] for r in runs]
    in_warm = [r.history[k].get("phase") == "warm-up" for r, k in zip(runs, kept)]
    ok = all(np.isfinite(s) and s >= ACTED_SHARE for s in shares) and not any(in_warm)
    acc = np.mean([np.mean([h["pseudo_label_accuracy"] for h in feedback_epochs(r)]) for r in runs])
    tv = np.mean([np.nanmean([h.get("pseudo_label_tv", np.nan) for h in feedback_epochs(r)]) for r in runs])
    warm_text = ""
    if any(in_warm):
        pairs = [f"{best_in_phase(r.history, 'feedback', 'valid_macro_f1'):.3f} vs "
                 f"{best_in_phase(r.history, 'warm-up', 'valid_macro_f1'):.3f}" for r, w in zip(runs, in_warm) if w]
        warm_text = (f" ({sum(in_warm)} in the warm start: there the student's best Valid macro F1 after the warm "
                     f"start did not beat the warm start's, {', '.join(pairs)})")
    teacher = [best_in_phase(r.history, "feedback", "valid_teacher_macro_f1") for r in runs]
    teacher_text = (f"; the teacher's best Valid macro F1 {', '.join(f'{t:.3f}' for t in teacher)}"
                    if all(np.isfinite(teacher)) else "")
    text = (f"|f| > {F_ACTIVE:g} on {', '.join(f'{s:.0%}' for s in shares)} of the feedback steps "
            f"(acted: at least {ACTED_SHARE:.0%}); kept epochs {', '.join(map(str, kept))}{warm_text}"
            f"{teacher_text}; pseudo-labels {acc:.1%} correct, total variation {tv:.3f} from the pool's true classes")
    return ok, text


def pseudo_label_distribution(run) -> np.ndarray:
    """The class distribution (K,) of the teacher's pseudo-labels summed over the feedback phase."""
    counts = np.sum([h["pseudo_label_counts"] for h in feedback_epochs(run)], axis=0)
    return counts / counts.sum()
