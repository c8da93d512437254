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
