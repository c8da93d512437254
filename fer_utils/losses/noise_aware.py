"""The noise-aware model of the ABAW5 expression paper (paper 000 §2.4, Eq. 5-6; method notes A2(b), A3, A4):
SCN-style learned sample weights in a weighted cross-entropy, a class-wise batch threshold that keeps the
clean samples for it, and consistency between class attention maps of a weak and a flipped strong view.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def batch_class_thresholds(probs: torch.Tensor) -> torch.Tensor:
    """The dynamic threshold of §2.4 (DNFER): a_c = mean over ALL samples of the batch of p_ic. (B, C) -> (C,)."""
    return probs.detach().float().mean(dim=0)


def clean_mask(probs: torch.Tensor, labels: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
    """Sample i is clean iff its probability for its own label reaches that class's threshold:
    p_{i, y_i} >= a_{y_i}. (B, C), (B,), (C,) -> (B,) bool."""
    own = probs.detach().float().gather(1, labels[:, None]).squeeze(1)
    return own >= thresholds[labels]


def weighted_ce(logits: torch.Tensor, alpha: torch.Tensor, labels: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
    """Paper 000 Eq. 5 (SCN's logit-weighted CE): CE(alpha_i * z_i, y_i), averaged over the clean samples
    (``mask``; all samples when the mask is None or selects nothing, as DNFER does).

    logits: (B, C) = W x_i (+ b); alpha: (B,) or (B, 1) learned importance in (0, 1), not detached.
    A small alpha flattens the softmax: the sample pulls less on the classifier.
    """
    per = F.cross_entropy(alpha.reshape(-1, 1) * logits, labels, reduction="none")
    if mask is None or not bool(mask.any()):
        return per.mean()
    return per[mask].mean()


def rank_regularization(alpha: torch.Tensor, beta: float = 0.7, margin: float = 0.15) -> torch.Tensor:
    """SCN's rank regularisation: sort alpha, split into the top floor(beta B) and the rest;
    L_RR = max(0, margin - (mean alpha_high - mean alpha_low)). Needs B >= 2."""
    a = alpha.reshape(-1).float()
    if len(a) < 2:
        raise ValueError("rank_regularization needs at least two samples")
    ordered = a.sort(descending=True).values
    h = min(max(int(beta * len(a)), 1), len(a) - 1)
    return F.relu(margin - (ordered[:h].mean() - ordered[h:].mean()))


def attention_consistency(maps_weak: torch.Tensor, maps_strong_flipped: torch.Tensor) -> torch.Tensor:
    """Paper 000 Eq. 6: mean over N, L, H, W of (AM - flip(AM'))^2.

    maps_weak: (N, L, H, W) class attention maps of the weak view; maps_strong_flipped: the maps of the
    horizontally flipped strong view, flipped back here along the width before the comparison (EAC).
    The paper's leading minus sign is read as a typo (minimising it would push the maps apart).
    """
    return F.mse_loss(maps_weak.float(), maps_strong_flipped.float().flip(-1))
