"""Verdicts on a paper's claims, from our runs.

Protocol 2 (``verdict``, ``welch``, ``collapsed``): a claim gets a verdict word only from Welch's two-sided
t-test over at least 3 seeds per side (alpha 0.05), printed with the mean difference and its 95% confidence
interval; one-seed rows print their difference, labelled "one seed"; a run that collapsed makes the claim
"training failed", a mechanism that did not act makes it "not exercised", each with its measured signal.

The earlier rule (``claim_greater``, ``claim_best``; what the chapters rendered before Protocol 2): a
difference counts when larger than 2 standard errors over seeds, or 2 x the main rows' seed std for one seed.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


def _se(values) -> float:
    v = np.asarray(values, dtype=float)
    return float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")


def pooled_std(*samples) -> float | None:
    """The seed-to-seed std pooled over several runs' seeds: sqrt of the mean of their variances (ddof 1),
    over the samples with at least 2 seeds; None when none has. The ``noise_std`` of a chapter whose main
    rows differ in spread: one row's std from few seeds can be far smaller than its neighbour's."""
    variances = [float(np.var(np.asarray(v, dtype=float), ddof=1)) for v in samples if len(v) > 1]
    return float(math.sqrt(np.mean(variances))) if variances else None


def claim_greater(a, b, noise_std: float | None = None, what: str = "macro F1") -> tuple[str, str]:
    """Verdict on the claim mean(a) > mean(b) (e.g. CCT beats the baseline). Returns (verdict, reason)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) == 0 or len(b) == 0:
        return "pending", "runs not stored yet"
    diff = float(a.mean() - b.mean())
    if len(a) > 1 and len(b) > 1:
        se = math.sqrt(_se(a) ** 2 + _se(b) ** 2)
        margin, how = 2 * se, f"2 standard errors over {len(a)}+{len(b)} seeds"
    elif noise_std is not None and noise_std > 0:
        margin, how = 2 * noise_std, "2x the seed std of the main rows (one seed here)"
    else:
        return "inconclusive", f"difference {diff:+.3f} {what} from one seed, no noise estimate"
    if diff > margin:
        return "reproduced", f"{diff:+.3f} {what}, larger than {how} ({margin:.3f})"
    if diff < -margin:
        return "not reproduced", f"{diff:+.3f} {what}: the opposite, beyond {how} ({margin:.3f})"
    return "inconclusive", f"{diff:+.3f} {what}, within {how} ({margin:.3f})"


def claim_best(values: dict, claimed, noise_std: float | None = None, what: str = "macro F1") -> tuple[str, str]:
    """Verdict on the claim that setting ``claimed`` is the best of ``values`` ({setting: score})."""
    if claimed not in values or len(values) < 2:
        return "pending", "runs not stored yet"
    best = max(values, key=values.get)
    gap = values[best] - values[claimed]
    if best == claimed:
        runner = max(v for k, v in values.items() if k != claimed)
        lead = values[claimed] - runner
        if noise_std and lead > 2 * noise_std:
            return "reproduced", f"{claimed} is best by {lead:.3f} {what} (> 2x seed std {noise_std:.3f})"
        return "inconclusive", f"{claimed} is best, but only by {lead:.3f} {what} (seed std {noise_std or float('nan'):.3f})"
    if noise_std and gap > 2 * noise_std:
        return "not reproduced", f"{best} beats {claimed} by {gap:.3f} {what} (> 2x seed std {noise_std:.3f})"
    return "inconclusive", f"{best} is best, {claimed} within {gap:.3f} {what} of it"


# ---- Protocol 2: verdicts from a real test, and only where training worked and the mechanism acted ----------

ALPHA = 0.05           # two-sided significance level of Welch's t-test
MIN_SEEDS = 3          # seeds per side a verdict word needs
COLLAPSE_SHARE = 0.95  # a run whose test predictions fall 95% into two classes collapsed
COLLAPSE_PEAK = 0.60   # ... or whose final validation score is under 60% of its peak


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict: ``word`` is "reproduced", "the opposite", "inconclusive" (Welch's t-test over at
    least MIN_SEEDS seeds per side), "one seed" (a difference, no verdict word), "pending", "training failed"
    or "not exercised" (the mechanism did not act: ``signal`` says what was measured)."""
    word: str
    diff: float = float("nan")             # mean(a) - mean(b)
    ci: tuple[float, float] = (float("nan"), float("nan"))   # 95% confidence interval of the difference
    p: float = float("nan")                # two-sided p-value of Welch's t-test
    n: tuple[int, int] = (0, 0)            # seeds per side
    signal: str = ""                       # the mechanism signal (or the failure) printed beside the verdict

    def __str__(self) -> str:
        if self.word in ("pending", "training failed", "not exercised"):
            return f"{self.word}: {self.signal}" if self.signal else self.word
        if self.word == "one seed":   # fewer than MIN_SEEDS a side: the difference, no verdict word
            seeds = "one seed" if min(self.n) <= 1 else f"{self.n[0]}+{self.n[1]} seeds (fewer than {MIN_SEEDS} a side)"
            text = f"{seeds}: difference {self.diff:+.3f}"
        else:
            text = (f"{self.word}: difference {self.diff:+.3f}, 95% CI [{self.ci[0]:+.3f}, {self.ci[1]:+.3f}], "
                    f"Welch p = {self.p:.3g}, {self.n[0]}+{self.n[1]} seeds")
        return f"{text} ({self.signal})" if self.signal else text


def welch(a, b, alpha: float = ALPHA) -> Verdict:
    """The verdict on the claim mean(a) > mean(b) from Welch's two-sided t-test: "reproduced" when the
    difference is positive and p < alpha, "the opposite" when negative and p < alpha, else "inconclusive";
    the 95% confidence interval of the difference uses the Welch-Satterthwaite degrees of freedom. Fewer
    than MIN_SEEDS seeds on a side: "one seed" (or "pending" with none), the difference printed, no word."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) == 0 or len(b) == 0:
        return Verdict("pending", signal="runs not stored yet", n=(len(a), len(b)))
    diff = float(a.mean() - b.mean())
    if len(a) < MIN_SEEDS or len(b) < MIN_SEEDS:
        return Verdict("one seed", diff=diff, n=(len(a), len(b)))
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:   # identical seeds on both sides: the difference is exact
        p = 0.0 if diff != 0 else 1.0
        ci = (diff, diff)
    else:
        dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
        t = diff / se
        p = float(2 * stats.t.sf(abs(t), dof))
        half = float(stats.t.ppf(1 - alpha / 2, dof)) * se
        ci = (diff - half, diff + half)
    word = "inconclusive" if p >= alpha else ("reproduced" if diff > 0 else "the opposite")
    return Verdict(word, diff=diff, ci=ci, p=p, n=(len(a), len(b)))


def collapsed(test_predictions, valid_curve=None) -> str | None:
    """Why a run's training failed, or None: its test predictions fall COLLAPSE_SHARE or more into two
    classes, or its final validation score is under COLLAPSE_PEAK of its peak (``valid_curve``: per epoch)."""
    pred = np.asarray(test_predictions)
    if len(pred):
        counts = np.sort(np.bincount(pred.astype(np.int64)))[::-1]
        share = counts[:2].sum() / len(pred)
        if share >= COLLAPSE_SHARE:
            return f"{share:.0%} of the test predictions in two classes"
    if valid_curve is not None and len(valid_curve):
        curve = np.asarray(valid_curve, dtype=float)
        peak, last = float(np.nanmax(curve)), float(curve[-1])
        if peak > 0 and last < COLLAPSE_PEAK * peak:
            return f"final validation score {last:.3f} under {COLLAPSE_PEAK:.0%} of its peak {peak:.3f}"
    return None


def verdict(a, b, *, failed: list[str | None] = (), exercised: bool = True, signal: str = "") -> Verdict:
    """Protocol 2's verdict on mean(a) > mean(b): "training failed" when any run of either side collapsed
    (``failed``: ``collapsed(...)`` per run), "not exercised" when the claim's mechanism did not act, else
    ``welch(a, b)``; ``signal`` (the mechanism's measured signal) is printed beside every outcome."""
    reasons = [f for f in failed if f]
    if reasons:
        return Verdict("training failed", signal="; ".join(dict.fromkeys(reasons)))
    if not exercised:
        return Verdict("not exercised", signal=signal or "the mechanism did not act")
    v = welch(a, b)
    return dataclasses.replace(v, signal=signal) if signal and v.word != "pending" else v


def run_failure(run, score: str = "valid_macro_f1") -> str | None:
    """``collapsed`` on a stored run: its test predictions (argmax of the stored logits) and its validation
    curve (``score`` per epoch of its history). None when the run trained properly."""
    logits = run.predictions().get("logits")
    pred = np.asarray(logits).argmax(1) if logits is not None and len(logits) else np.zeros(0, dtype=np.int64)
    curve = [h[score] for h in run.history if score in h]
    why = collapsed(pred, curve)
    return f"{run.config.get('name')} seed {run.config.get('seed')}: {why}" if why else None


def compare_runs(a_runs, b_runs, metric: str = "macro_f1", *, exercised: bool = True, signal: str = "") -> Verdict:
    """Protocol 2's verdict on "row a beats row b" from stored runs: each side's final ``metric`` per seed,
    every run checked for collapse (``run_failure``), then ``verdict``."""
    a = [r.final[metric] for r in a_runs]
    b = [r.final[metric] for r in b_runs]
    return verdict(a, b, failed=[run_failure(r) for r in list(a_runs) + list(b_runs)], exercised=exercised,
                   signal=signal)


def gap_share(recovered, gap: Verdict, seeds: int | None = None) -> str:
    """"share of the gap recovered" (``recovered`` / the gap's mean difference) only where the gap's 95%
    interval excludes 0 (``gap``: a Welch ``Verdict`` of clean over noisy) and the method's side has at least
    MIN_SEEDS seeds (``seeds``, when given); else why no ratio is printed."""
    if seeds is not None and seeds < MIN_SEEDS:
        return f"no ratio: the method has {seeds} seed{'s' if seeds != 1 else ''} (fewer than {MIN_SEEDS})"
    if gap.word in ("pending", "one seed", "training failed", "not exercised") or not np.isfinite(gap.ci[0]):
        return "no ratio: the gap is not measured over 3 + 3 seeds"
    if gap.ci[0] <= 0 <= gap.ci[1]:
        return "gap too small to share"
    return f"{recovered / gap.diff:.0%} of the gap"
