"""Paper 000 (MutexMatch + dynamic adaptive threshold, noise-aware model) and paper 003 (successive label
smoothing, sample weights): each equation against hand-computed values."""
import math

import pytest
import torch

from fer_utils.losses import (attention_consistency, batch_class_thresholds, clean_mask, confident_mask,
                               dynamic_adaptive_threshold, mutexmatch_losses, rank_regularization, sample_weight_update,
                               smooth_labels, soft_cross_entropy, successive_label_update, validation_loss_rising,
                               weighted_ce, weighted_soft_ce)

LN2 = math.log(2)


# --------------------------------------------------------------------------- paper 003
def test_smooth_labels_eq2():
    q = smooth_labels(torch.tensor([0, 2]), 3, 0.1)
    torch.testing.assert_close(q, torch.tensor([[0.9, 0.05, 0.05], [0.05, 0.05, 0.9]]))


def test_successive_label_update_eq4_5():
    probs = torch.tensor([[0.8, 0.1, 0.1],    # correct and above alpha: keep the prediction
                          [0.6, 0.3, 0.1],    # correct but below alpha: g
                          [0.1, 0.85, 0.05]])  # confident but wrong: g
    q = successive_label_update(probs, torch.tensor([0, 0, 0]), alpha=0.7)
    torch.testing.assert_close(q, torch.tensor([[0.8, 0.1, 0.1], [0.7, 0.15, 0.15], [0.7, 0.15, 0.15]]))


def test_sample_weight_update_eq7_8():
    w = sample_weight_update(torch.tensor([1.0, 1.0, 0.5]), torch.tensor([1.0, 3.0, 2.0]), c=0.3, sigma=2.0)
    d = 0.3 * math.tanh(0.5)  # f_avg = 2
    torch.testing.assert_close(w, torch.tensor([1.0, 1.0 - d, 0.5]))  # the first is clipped at 1
    assert sample_weight_update(torch.tensor([0.05, 1.0]), torch.tensor([9.0, 0.0]))[0] == 0  # clipped at 0


def test_weighted_soft_ce_eq6_normalises_by_batch_size():
    logits = torch.zeros(2, 2)
    targets = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    torch.testing.assert_close(soft_cross_entropy(logits, targets), torch.tensor([LN2, LN2]))
    assert weighted_soft_ce(logits, targets, torch.tensor([0.5, 0.0])).item() == pytest.approx(0.25 * LN2)


def test_validation_trigger():
    assert not validation_loss_rising([1.0, 0.9, 0.8])               # fewer than T + 1 rounds
    assert not validation_loss_rising([1.0, 0.9, 0.8, 0.85])         # 0.85 < 0.9
    assert validation_loss_rising([0.8, 0.7, 0.75, 0.9])             # 0.783 > 0.75


# --------------------------------------------------------------------------- paper 000, semi-supervised
def test_dynamic_adaptive_threshold_eq4():
    probs = torch.tensor([[0.9, 0.05, 0.05], [0.6, 0.3, 0.1], [0.6, 0.3, 0.1], [0.2, 0.8, 0.0]])
    labels = torch.tensor([0, 0, 1, 1])  # the third is misclassified and left out
    t = dynamic_adaptive_threshold(probs, labels, 3, epoch=1)
    scale = 0.95 / (1 + math.exp(-1))
    torch.testing.assert_close(t, torch.tensor([0.75 * scale, 0.8 * scale, 0.8]))  # class 2: no correct sample
    late = dynamic_adaptive_threshold(probs, labels, 3, epoch=50)
    assert late[0].item() == pytest.approx(0.95 * 0.75, rel=1e-6)   # rises to beta * m_c
    assert dynamic_adaptive_threshold(probs, labels, 3, 1, floor=0.8).min().item() == pytest.approx(0.8)


def test_confident_mask_uses_the_threshold_of_the_predicted_class():
    probs = torch.tensor([[0.7, 0.3], [0.4, 0.6]])
    assert confident_mask(probs, torch.tensor([0.65, 0.9])).tolist() == [True, False]
    assert confident_mask(probs, 0.65).tolist() == [True, False]


def mm_inputs():
    return dict(logits_lb=torch.tensor([[0.0, 0.0]]), labels=torch.tensor([0]),
                logits_uw=torch.tensor([[2.0, 0.0], [0.0, 0.0]]),      # A confident (0.88), B not (0.5)
                logits_us=torch.tensor([[0.0, 1.0], [5.0, 0.0]]),
                neg_logits_uw=torch.tensor([[3.0, 0.0], [1.0, 0.0]]),
                neg_logits_us=torch.tensor([[0.0, 0.0], [1.0, 0.0]]),
                neg_logits_sep=torch.tensor([[0.0, 0.0], [1.0, 0.0]]), thresholds=0.8)


def test_mutexmatch_terms_hand_computed():
    t = mutexmatch_losses(**mm_inputs())
    assert t["sup"].item() == pytest.approx(LN2)
    assert t["pseudo"].item() == pytest.approx(math.log(1 + math.e) / 2, rel=1e-6)      # only A, target 0
    # L_sep: A's least likely TPC class is 1 -> CE([0,0], 1) = ln 2; B ties -> class 0 -> log(1 + e^-1)
    assert t["sep"].item() == pytest.approx((LN2 + math.log(1 + math.exp(-1))) / 2, rel=1e-6)
    # L_n: only B (not confident); r_w = softmax([1, 0]); log r_s = log softmax([1, 0]); k = C = 2
    rw = [math.e / (1 + math.e), 1 / (1 + math.e)]
    neg_b = -(rw[0] * math.log(rw[0]) + rw[1] * math.log(rw[1])) / 2
    assert t["neg"].item() == pytest.approx(neg_b / 2, rel=1e-6)
    assert t["total"].item() == pytest.approx((t["sup"] + t["pseudo"] + t["neg"] + t["sep"]).item(), rel=1e-6)
    assert t["mask_rate"].item() == pytest.approx(0.5)
    top1 = mutexmatch_losses(**mm_inputs(), k=1)
    assert top1["neg"].item() == pytest.approx(-rw[0] * math.log(rw[0]) / 2, rel=1e-6)  # g keeps the top class


def test_mutexmatch_gradients_reach_the_right_inputs():
    inputs = {**mm_inputs(), "neg_logits_us": torch.zeros(2, 2)}  # r^s != r^w, so L_n has a gradient
    x = {k: (v.clone().requires_grad_(True) if torch.is_tensor(v) and v.dtype.is_floating_point else v)
         for k, v in inputs.items()}
    mutexmatch_losses(**x)["total"].backward()
    assert x["logits_uw"].grad is None or x["logits_uw"].grad.abs().sum() == 0   # pseudo-label source: detached
    assert x["neg_logits_uw"].grad is None or x["neg_logits_uw"].grad.abs().sum() == 0  # r^w: detached target
    for name in ("logits_lb", "logits_us", "neg_logits_us", "neg_logits_sep"):
        assert x[name].grad.abs().sum() > 0, name


# --------------------------------------------------------------------------- paper 000, noise-aware
def test_batch_thresholds_and_clean_selection():
    probs = torch.tensor([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4]])
    a = batch_class_thresholds(probs)
    torch.testing.assert_close(a, torch.tensor([0.5, 0.5]))
    assert clean_mask(probs, torch.tensor([0, 0, 1]), a).tolist() == [True, False, False]


def test_weighted_ce_eq5():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    alpha = torch.tensor([0.5, 1.0], requires_grad=True)
    labels = torch.tensor([0, 0])
    first, second = math.log(1 + math.exp(-1)), math.log(1 + math.exp(2))
    assert weighted_ce(logits, alpha, labels, torch.tensor([True, False])).item() == pytest.approx(first, rel=1e-6)
    assert weighted_ce(logits, alpha, labels).item() == pytest.approx((first + second) / 2, rel=1e-6)
    loss = weighted_ce(logits, alpha, labels, torch.tensor([False, False]))  # nothing clean: whole batch
    assert loss.item() == pytest.approx((first + second) / 2, rel=1e-6)
    loss.backward()
    assert alpha.grad.abs().sum() > 0  # alpha learns through the CE


def test_rank_regularization():
    alpha = torch.tensor([0.9, 0.8, 0.3, 0.2])
    assert rank_regularization(alpha, beta=0.5, margin=0.15).item() == 0  # 0.85 - 0.25 > margin
    assert rank_regularization(alpha, beta=0.5, margin=0.7).item() == pytest.approx(0.1, abs=1e-6)
    assert rank_regularization(torch.tensor([0.5, 0.5, 0.5]), beta=0.7).item() == pytest.approx(0.15)


def test_attention_consistency_eq6_flips_back():
    m = torch.randn(2, 8, 6, 6)
    assert attention_consistency(m, m.flip(-1)).item() == pytest.approx(0, abs=1e-7)
    weak = torch.ones(1, 1, 1, 2)
    strong_flipped = torch.tensor([[[[0.0, 2.0]]]])  # flipped back: [2, 0]
    assert attention_consistency(weak, strong_flipped).item() == pytest.approx(1.0)
