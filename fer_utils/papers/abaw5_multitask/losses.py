"""Losses of the ABAW5 multi-task paper (paper 004): CE + Dice for the expression sub-classifiers
(§3.4.3), sigmoid focal loss for action units (§4.4), polarity CE and CCC loss for valence/arousal
(§2.3, Eq. 1-2). Definitions follow method notes A7-A9.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def soft_dice_loss(logits: torch.Tensor, targets: torch.Tensor, num_classes: int, smooth: float = 1.0) -> torch.Tensor:
    """Paper 004 §3.4.3: L_Dice = 1 - (1/C) sum_c 2 TP_c / (2 TP_c + FP_c + FN_c) with soft counts over the
    batch (method notes A7): P = softmax(z), Y = one-hot(y), D_c = (2 sum_n P_nc Y_nc + s) /
    (sum_n P_nc + sum_n Y_nc + s), s = 1 (a class absent from the batch is rewarded for P -> 0).
    logits (N, C), targets (N,) -> scalar."""
    p = logits.float().softmax(1)
    y = F.one_hot(targets, num_classes).float()
    dice = (2 * (p * y).sum(0) + smooth) / (p.sum(0) + y.sum(0) + smooth)
    return 1 - dice.mean()


def ce_dice_loss(logits: torch.Tensor, targets: torch.Tensor, num_classes: int, lam: float = 1.0,
                 label_smoothing: float = 0.0) -> torch.Tensor:
    """Paper 004 §3.4.3: L_C = L_CE + lambda * L_Dice (lambda unstated; 1 per method notes B-004.3).
    ``label_smoothing`` smooths the CE target only (the common recipe's 0.1 on the cpu profile; the paper: 0);
    Dice always compares the softmax with the one-hot label. logits (N, C), targets (N,) -> scalar."""
    return (F.cross_entropy(logits.float(), targets, label_smoothing=label_smoothing)
            + lam * soft_dice_loss(logits, targets, num_classes))


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.75, gamma: float = 2.0) -> torch.Tensor:
    """Paper 004 §4.4: FL = -alpha_t (1 - p_t)^gamma log p_t per AU (method notes A8; alpha weights the
    positives, alpha = 0.75 and gamma = 2 as the cited ABAW3 code). Entries labelled -1 are left out.
    logits, targets (..., A) with targets in {0, 1, -1} -> scalar mean over the valid entries."""
    z, y = logits.float(), targets.float()
    valid = y >= 0
    y = y.clamp(min=0)
    p = torch.sigmoid(z)
    p_t = p * y + (1 - p) * (1 - y)
    alpha_t = alpha * y + (1 - alpha) * (1 - y)
    loss = alpha_t * (1 - p_t) ** gamma * F.binary_cross_entropy_with_logits(z, y, reduction="none")
    return loss[valid].mean() if valid.any() else loss.sum() * 0.0


def ccc_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Paper 004 Eq. 2: 1 - CCC, CCC = 2 s_xy / (s_x^2 + s_y^2 + (mu_x - mu_y)^2) with population (biased)
    statistics over the batch (method notes A9). pred, target (N,) or (N, D): for D dimensions (valence,
    arousal) the loss is 1 - the mean CCC over dimensions. -> scalar."""
    x, y = pred.float(), target.float()
    if x.dim() == 1:
        x, y = x[:, None], y[:, None]
    mx, my = x.mean(0), y.mean(0)
    sxy = ((x - mx) * (y - my)).mean(0)
    ccc = 2 * sxy / (x.var(0, unbiased=False) + y.var(0, unbiased=False) + (mx - my) ** 2 + eps)
    return 1 - ccc.mean()


def polarity_labels(values: torch.Tensor) -> torch.Tensor:
    """Paper 004 §2.3: the discretised VA targets y^p of the polarity classifiers: 0 for -1, 2 for +1 and
    1 for everything in between (method notes B-004.1). values (N,) in [-1, 1] -> LongTensor (N,)."""
    v = torch.as_tensor(values, dtype=torch.float32)
    return torch.where(v <= -1, 0, torch.where(v >= 1, 2, 1)).long()
