"""Paper 000's losses (ABAW5 expression), one function per equation.

**MutexMatch with the dynamic adaptive threshold** (§2.3, Eq. 1-4; method notes A1, A2(a)): semi-supervised
learning with complementary labels, and the class-wise threshold that replaces its fixed one. Heads: the
True-Positive Classifier (TPC, the normal classifier, logits z) and the True-Negative Classifier (TNC, a second
linear head, logits z-bar). u_w / u_s are the weak / strong views of the unlabelled batch (muB images).

**The noise-aware model** (§2.4, Eq. 5-6; method notes A2(b), A3, A4): SCN-style learned sample weights in a
weighted cross-entropy, a class-wise batch threshold that keeps the clean samples for it, and consistency
between class attention maps of a weak and a flipped strong view.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def dynamic_adaptive_threshold(probs: torch.Tensor, labels: torch.Tensor, num_classes: int, epoch: int,
                               beta: float = 0.95, gamma: float = math.e, empty: float = 0.8,
                               floor: float | None = None) -> torch.Tensor:
    """Paper 000 Eq. 4 (Ada-CM): T_c = beta * m_c / (1 + gamma^(-epoch)).

    m_c is the mean top probability over the labelled training samples of class c that the model
    classifies correctly (the per-class mean, as in the Ada-CM code, not the global 1/N_s the paper
    prints). epoch: 1-based, the epoch just finished, so T_c rises towards beta * m_c as training goes on.
    probs: (N, C) softmax on the labelled set; labels: (N,). A class with no correct sample gets ``empty``
    (the code's 0.8); ``floor`` (the code's 0.8, off by default) bounds T from below. Returns (C,).
    """
    probs = torch.as_tensor(probs, dtype=torch.float32)
    labels = torch.as_tensor(labels, dtype=torch.long).to(probs.device)
    top, pred = probs.max(dim=1)
    correct = pred == labels
    sums = torch.zeros(num_classes, device=probs.device).index_add_(0, labels[correct], top[correct])
    counts = torch.zeros(num_classes, device=probs.device).index_add_(0, labels[correct], torch.ones_like(top[correct]))
    mean = torch.where(counts > 0, sums / counts.clamp_min(1), torch.full_like(sums, float("nan")))
    thresholds = beta * mean / (1.0 + gamma ** (-float(epoch)))
    thresholds = torch.where(counts > 0, thresholds, torch.full_like(thresholds, empty))
    return thresholds.clamp_min(floor) if floor is not None else thresholds


def confident_mask(probs: torch.Tensor, thresholds) -> torch.Tensor:
    """An unlabelled sample is confident iff max p >= T[argmax p] (thresholds: (C,) or one float). (N,) bool."""
    top, pred = probs.max(dim=1)
    t = thresholds[pred] if torch.is_tensor(thresholds) and thresholds.dim() == 1 else thresholds
    return top >= t


def mutexmatch_losses(logits_lb: torch.Tensor, labels: torch.Tensor, logits_uw: torch.Tensor,
                      logits_us: torch.Tensor, neg_logits_uw: torch.Tensor, neg_logits_us: torch.Tensor,
                      neg_logits_sep: torch.Tensor, thresholds, k: int | None = None,
                      lambda_u: float = 1.0, label_smoothing: float = 0.0) -> dict[str, torch.Tensor]:
    """The MutexMatch terms of paper 000 (Eq. 1-3 and L_sep), with the threshold of Eq. 4.

    logits_lb (B, C), labels (B,): TPC on the labelled batch -> L_sup = CE (Eq. 1).
    logits_uw, logits_us (muB, C): TPC on the weak / strong views; p_w = softmax(sg(logits_uw)).
    L_p (Eq. 2) = (1/muB) sum_n 1[conf_n] CE(logits_us_n, argmax p_w_n).
    neg_logits_uw, neg_logits_us (muB, C): TNC on the weak / strong views (features NOT detached).
    L_n (Eq. 3) = (1/muB) sum_n 1[not conf_n] (-1/k) sum_i g_ni r^w_ni log r^s_ni, with r = softmax of the TNC
    logits, r^w detached, g the top-k mask of r^w (k = C: no filtering, MutexMatch's default).
    neg_logits_sep (muB, C): TNC on the weak view with DETACHED features; L_sep = CE(neg_logits_sep,
    argmin p_w): the TNC learns the class the TPC finds least likely, on every weak unlabelled sample.
    thresholds: (C,) class-wise thresholds (Eq. 4) or a float (MutexMatch's fixed tau).
    label_smoothing: the common recipe's target smoothing in L_sup (the cpu profile; the paper has none).
    Returns {"sup", "pseudo", "sep", "neg", "total", "mask_rate"}; total = sup + lambda_u (pseudo + neg) + sep.
    """
    num_classes = logits_uw.shape[1]
    k = num_classes if k is None else k
    sup = F.cross_entropy(logits_lb, labels, label_smoothing=label_smoothing)
    p_w = torch.softmax(logits_uw.detach().float(), dim=1)
    conf = confident_mask(p_w, thresholds).float()
    mu_b = len(p_w)
    pseudo = (conf * F.cross_entropy(logits_us, p_w.argmax(dim=1), reduction="none")).sum() / mu_b
    sep = F.cross_entropy(neg_logits_sep, p_w.argmin(dim=1))
    r_w = torch.softmax(neg_logits_uw.detach().float(), dim=1)
    kth = r_w.topk(k, dim=1).values[:, -1:]
    g = (r_w >= kth).float()
    log_r_s = F.log_softmax(neg_logits_us.float(), dim=1)
    neg_per = -(g * r_w * log_r_s).sum(dim=1) / k
    neg = ((1.0 - conf) * neg_per).sum() / mu_b
    total = sup + lambda_u * (pseudo + neg) + sep
    return {"sup": sup, "pseudo": pseudo, "sep": sep, "neg": neg, "total": total, "mask_rate": conf.mean()}


def batch_class_thresholds(probs: torch.Tensor) -> torch.Tensor:
    """The dynamic threshold of §2.4 (DNFER): a_c = mean over ALL samples of the batch of p_ic. (B, C) -> (C,)."""
    return probs.detach().float().mean(dim=0)


def clean_mask(probs: torch.Tensor, labels: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
    """Sample i is clean iff its probability for its own label reaches that class's threshold:
    p_{i, y_i} >= a_{y_i}. (B, C), (B,), (C,) -> (B,) bool."""
    own = probs.detach().float().gather(1, labels[:, None]).squeeze(1)
    return own >= thresholds[labels]


def weighted_ce(logits: torch.Tensor, alpha: torch.Tensor, labels: torch.Tensor,
                mask: torch.Tensor | None = None, label_smoothing: float = 0.0) -> torch.Tensor:
    """Paper 000 Eq. 5 (SCN's logit-weighted CE): CE(alpha_i * z_i, y_i), averaged over the clean samples
    (``mask``; all samples when the mask is None or selects nothing, as DNFER does).

    logits: (B, C) = W x_i (+ b); alpha: (B,) or (B, 1) learned importance in (0, 1), not detached.
    A small alpha flattens the softmax: the sample pulls less on the classifier. ``label_smoothing``: the
    common recipe's target smoothing (the cpu profile; the paper has none).
    """
    per = F.cross_entropy(alpha.reshape(-1, 1) * logits, labels, reduction="none", label_smoothing=label_smoothing)
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
