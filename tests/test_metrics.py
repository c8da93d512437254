import numpy as np
import pytest
import torch

from fer_utils import metrics as M


def test_macro_f1_hand_computed_with_an_absent_class():
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [0, 1, 1, 1, 0, 0]  # class 2 never predicted; class 3 neither true nor predicted
    # class 0: tp 1, fp 2, fn 1 -> P 1/3 R 1/2 F1 0.4; class 1: tp 2, fp 1, fn 0 -> F1 0.8; class 2: 0; class 3: 0
    assert M.macro_f1(y_true, y_pred, 3) == pytest.approx((0.4 + 0.8 + 0) / 3)
    assert M.macro_f1(y_true, y_pred, 4) == pytest.approx((0.4 + 0.8) / 4)
    assert M.macro_f1(torch.tensor(y_true), torch.tensor(y_pred), 3) == pytest.approx(0.4)
    assert M.macro_f1([1, 2], [1, 2], 3) == pytest.approx(2 / 3)


def test_accuracy_and_abaw_overall():
    y_true, y_pred = [0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 0, 0]
    assert M.accuracy(y_true, y_pred) == pytest.approx(0.5)
    assert M.abaw_overall(y_true, y_pred, 3) == pytest.approx(0.67 * 0.4 + 0.33 * 0.5)
    with pytest.raises(ValueError, match="items"):
        M.accuracy([0, 1], [0])


def test_per_class_table_and_confusion():
    y_true, y_pred = [0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 0, 0]
    t = M.per_class_f1(y_true, y_pred, ["a", "b", "c", "d"])
    assert list(t.index) == ["a", "b", "c", "d"]
    np.testing.assert_allclose(t["f1"], [0.4, 0.8, 0, 0])
    np.testing.assert_allclose(t["precision"], [1 / 3, 2 / 3, 0, 0])
    assert list(t["support"]) == [2, 2, 2, 0]
    np.testing.assert_array_equal(M.confusion_matrix(y_true, y_pred, 3), [[1, 1, 0], [0, 2, 0], [2, 0, 0]])
    np.testing.assert_allclose(M.confusion_matrix(y_true, y_pred, 3, normalize="true")[0], [0.5, 0.5, 0])


def test_ccc_hand_computed():
    pred, target = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])
    # means 2, 4; population var 2/3, 8/3; cov 4/3 -> 2*(4/3) / (2/3 + 8/3 + 4) = 8/3 / (22/3) = 4/11
    assert M.ccc(pred, target) == pytest.approx(4 / 11)
    assert M.ccc(target, target) == pytest.approx(1.0)
    assert M.ccc(8 - target, target) == pytest.approx(-1.0)  # same mean and variance, mirrored
    assert M.ccc([1.0, 2.0, 9.0], [2.0, 4.0, np.nan]) == pytest.approx(M.ccc([1.0, 2.0], [2.0, 4.0]))


def test_mean_au_f1_hand_computed():
    y_true = np.array([[1, 0], [1, 1], [0, 1], [0, 0], [-1, 1]])
    y_pred = np.array([[1, 0], [0, 1], [0, 0], [1, 0], [1, 1]])
    # AU a: tp 1, fp 1, fn 1 -> 0.5; AU b: tp 1, fp 0, fn 1 -> 2/3; the row with -1 is left out
    np.testing.assert_allclose(M.au_f1(y_true, y_pred), [0.5, 2 / 3])
    assert M.mean_au_f1(y_true, y_pred) == pytest.approx((0.5 + 2 / 3) / 2)


def test_kl_and_js_divergence_hand_computed():
    from fer_utils.metrics import js_divergence, kl_divergence
    p = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    q = np.array([[0.25, 0.75, 0.0], [0.0, 1.0, 0.0]])
    kl = kl_divergence(p, q)
    # 0.5 ln 2 + 0.5 ln(2/3); the zero p term contributes nothing
    assert kl[0] == pytest.approx(0.5 * np.log(2) + 0.5 * np.log(2 / 3))
    assert kl[1] > 20  # q = 0 where p = 1: floored, large and finite
    js = js_divergence(p, q)
    assert js[1] == pytest.approx(1.0)  # disjoint supports: 1 bit
    m = np.array([0.375, 0.625])
    want = (0.5 * np.log(0.5 / m[0]) + 0.5 * np.log(0.5 / m[1]) + 0.25 * np.log(0.25 / m[0])
            + 0.75 * np.log(0.75 / m[1])) / (2 * np.log(2))
    assert js[0] == pytest.approx(want)
    assert js_divergence(p, p) == pytest.approx([0, 0])
    with pytest.raises(ValueError, match="same"):
        kl_divergence(p, q[:, :2])
