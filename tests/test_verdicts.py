import pytest

from fer_utils.verdicts import claim_best, claim_greater, pooled_std


def test_claim_greater_with_seeds():
    assert claim_greater([0.50, 0.51, 0.52], [0.40, 0.41, 0.42])[0] == "reproduced"
    assert claim_greater([0.40, 0.41, 0.42], [0.50, 0.51, 0.52])[0] == "not reproduced"
    verdict, reason = claim_greater([0.40, 0.45, 0.50], [0.41, 0.46, 0.49])
    assert verdict == "inconclusive" and "within" in reason


def test_claim_greater_with_one_seed_uses_the_noise_level():
    assert claim_greater([0.50], [0.40], noise_std=0.01)[0] == "reproduced"
    assert claim_greater([0.50], [0.49], noise_std=0.01)[0] == "inconclusive"
    assert claim_greater([0.50], [0.40])[0] == "inconclusive"
    assert claim_greater([], [0.4])[0] == "pending"


def test_claim_best():
    assert claim_best({1: 0.40, 4: 0.50, 2: 0.45}, 4, noise_std=0.01)[0] == "reproduced"
    assert claim_best({1: 0.40, 4: 0.41, 2: 0.45}, 4, noise_std=0.01)[0] == "not reproduced"
    assert claim_best({1: 0.40, 4: 0.405}, 4, noise_std=0.01)[0] == "inconclusive"
    assert claim_best({1: 0.40}, 4)[0] == "pending"


def test_pooled_std_averages_the_variances_of_runs_with_two_or_more_seeds():
    # variances (ddof 1): [0.1, 0.3] -> 0.02, [0.2, 0.2, 0.2] -> 0; one seed is left out
    assert pooled_std([0.1, 0.3], [0.2, 0.2, 0.2], [0.9]) == pytest.approx((0.02 / 2) ** 0.5)
    assert pooled_std([0.5], []) is None


def test_welch_matches_scipy_and_gives_the_difference_and_its_interval():
    from scipy import stats

    from fer_utils.verdicts import welch
    a, b = [0.52, 0.50, 0.55], [0.45, 0.47, 0.44]
    v = welch(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert v.word == "reproduced" and v.p == pytest.approx(ref.pvalue) and v.diff == pytest.approx(0.07)
    ci = ref.confidence_interval(0.95)
    assert v.ci == pytest.approx((ci.low, ci.high))
    assert welch(b, a).word == "the opposite"
    assert welch([0.50, 0.55, 0.45], [0.49, 0.52, 0.47]).word == "inconclusive"
    assert "95% CI" in str(v) and "Welch p" in str(v)


def test_one_seed_gives_a_difference_and_no_verdict_word():
    from fer_utils.verdicts import welch
    v = welch([0.60], [0.40, 0.41, 0.42])
    assert v.word == "one seed" and v.diff == pytest.approx(0.19)
    assert str(v) == "one seed: difference +0.190"
    for word in ("reproduced", "opposite", "inconclusive"):
        assert word not in str(v)
    assert welch([], [0.4]).word == "pending"
    two = welch([0.60, 0.62], [0.40, 0.41, 0.42])                  # two seeds: still no verdict word, said how many
    assert two.word == "one seed" and str(two) == "2+3 seeds (fewer than 3 a side): difference +0.200"


def test_a_collapsed_run_is_detected_from_its_predictions_or_its_curve():
    import numpy as np

    from fer_utils.verdicts import collapsed, verdict
    two_classes = np.array([0] * 60 + [1] * 37 + [2] * 3)      # 97% in neutral and happiness
    assert "97% of the test predictions in two classes" in collapsed(two_classes)
    healthy = np.arange(100) % 8
    assert collapsed(healthy) is None
    assert "under 60% of its peak 0.400" in collapsed(healthy, [0.2, 0.4, 0.3, 0.2])
    assert collapsed(healthy, [0.2, 0.4, 0.3]) is None
    v = verdict([0.5] * 3, [0.4] * 3, failed=[None, collapsed(two_classes), None])
    assert v.word == "training failed" and "two classes" in str(v)


def test_a_mechanism_that_did_not_act_is_not_exercised():
    from fer_utils.verdicts import verdict
    v = verdict([0.5, 0.51, 0.52], [0.40, 0.41, 0.42], exercised=False,
                signal="sample-weight trigger fired in 0 of 3 runs")
    assert v.word == "not exercised" and str(v) == "not exercised: sample-weight trigger fired in 0 of 3 runs"
    acted = verdict([0.5, 0.51, 0.52], [0.40, 0.41, 0.42], signal="fired in 3 of 3 runs")
    assert acted.word == "reproduced" and str(acted).endswith("(fired in 3 of 3 runs)")


class _StoredRun:
    """A stored run's interface as ``compare_runs`` reads it: final metrics, history, predictions, config."""
    def __init__(self, f1, pred, curve, seed=0, name="x"):
        import numpy as np
        self.final, self.config = {"macro_f1": f1}, {"name": name, "seed": seed}
        self.history = [{"epoch": i, "valid_macro_f1": v} for i, v in enumerate(curve)]
        self._logits = np.eye(8, dtype=np.float32)[np.asarray(pred)]

    def predictions(self):
        return {"logits": self._logits}


def test_compare_runs_checks_every_run_for_collapse_before_the_test():
    import numpy as np

    from fer_utils.verdicts import compare_runs
    healthy = np.arange(80) % 8
    a = [_StoredRun(f, healthy, [0.3, 0.5], seed=s) for s, f in enumerate((0.50, 0.51, 0.52))]
    b = [_StoredRun(f, healthy, [0.3, 0.4], seed=s) for s, f in enumerate((0.40, 0.41, 0.42))]
    v = compare_runs(a, b, signal="λ reached 0.9")
    assert v.word == "reproduced" and v.diff == pytest.approx(0.10) and v.n == (3, 3)
    stuck = _StoredRun(0.12, np.array([0] * 70 + [1] * 10), [0.3, 0.1], seed=1, name="noise-aware")
    failed = compare_runs(a, [b[0], stuck, b[2]])
    assert failed.word == "training failed" and "noise-aware seed 1" in failed.signal and "two classes" in failed.signal
    assert compare_runs(a[:1], b[:1]).word == "one seed"
    assert compare_runs(a, b, exercised=False, signal="trigger fired 0 times").word == "not exercised"
    assert str(compare_runs([], b, signal="λ reached 0.9")) == "pending: runs not stored yet"   # no signal on nothing


def test_a_gap_is_shared_only_when_its_interval_excludes_zero():
    from fer_utils.verdicts import gap_share, welch
    wide = welch([0.60, 0.61, 0.62], [0.50, 0.51, 0.52])          # gap 0.10, CI far from 0
    assert gap_share(0.05, wide) == "50% of the gap"
    small = welch([0.60, 0.50, 0.55], [0.54, 0.56, 0.52])         # gap 0.01, CI spans 0
    assert gap_share(0.05, small) == "gap too small to share"
    assert gap_share(0.05, welch([0.6], [0.5])).startswith("no ratio")
    assert gap_share(0.05, wide, seeds=2) == "no ratio: the method has 2 seeds (fewer than 3)"
    assert gap_share(0.05, wide, seeds=3) == "50% of the gap"
