"""Self-training with successive label smoothing and sample importance (Happy et al.; paper 003), Eq. 2-8.

Targets are soft distributions q (N, K); the per-sample loss is the soft cross-entropy
f_i = -sum_k q_ik log p_ik, labelled samples weighted by w_i, selected unlabelled samples by 1.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def smooth_labels(labels: torch.Tensor, num_classes: int, eps: float) -> torch.Tensor:
    """Paper 003 Eq. 2: q(k|x) = 1 - eps for k = y, eps / (K - 1) otherwise. labels (N,) -> (N, K)."""
    labels = torch.as_tensor(labels, dtype=torch.long)
    q = torch.full((len(labels), num_classes), eps / (num_classes - 1))
    q[torch.arange(len(labels)), labels] = 1.0 - eps
    return q


def successive_label_update(probs: torch.Tensor, labels: torch.Tensor, alpha: float) -> torch.Tensor:
    """Paper 003 Eq. 4-5: the next target of a labelled sample.

    If the model predicts the labelled class y with max p > alpha, the target becomes the prediction p
    itself (unsharpened); otherwise it is g(p): alpha on y and (1 - alpha) / (K - 1) elsewhere.
    probs: (N, K) predictions (eval mode, no augmentation); labels: (N,). Returns (N, K).
    """
    probs = torch.as_tensor(probs, dtype=torch.float32)
    labels = torch.as_tensor(labels, dtype=torch.long).to(probs.device)
    k = probs.shape[1]
    top, arg = probs.max(dim=1)
    keep = (top > alpha) & (arg == labels)
    g = torch.full_like(probs, (1.0 - alpha) / (k - 1))
    g[torch.arange(len(labels)), labels] = alpha
    return torch.where(keep[:, None], probs, g)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample loss of paper 003: f_i = -sum_k q_ik log softmax(z_i)_k. (N, K), (N, K) -> (N,)."""
    return -(targets * F.log_softmax(logits.float(), dim=1)).sum(dim=1)


def weighted_soft_ce(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Paper 003 Eq. 6 for one batch: (1 / |batch|) sum_i w_i f_i, with w = 1 for the unlabelled samples.

    Normalised by the batch size, not by sum(w) (method notes B-003.5), so down-weighted samples do not
    raise the weight of the others.
    """
    return (weights * soft_cross_entropy(logits, targets)).mean()


def sample_weight_update(weights: torch.Tensor, losses: torch.Tensor, c: float = 0.3,
                         sigma: float = 2.0) -> torch.Tensor:
    """Paper 003 Eq. 7-8: w <- clip(w - c * tanh((f_i - f_avg) / sigma), 0, 1).

    weights, losses: (N,) over the labelled training samples; f_avg is the mean of ``losses``. A sample with
    a loss above the average loses weight, one below gains weight (up to 1).
    """
    weights = torch.as_tensor(weights, dtype=torch.float32)
    losses = torch.as_tensor(losses, dtype=torch.float32)
    delta = c * torch.tanh((losses - losses.mean()) / sigma)
    return (weights - delta).clamp(0.0, 1.0)


def validation_loss_rising(history, window: int = 3) -> bool:
    """The trigger of the weight update (paper 003 §III-D): the mean validation loss over the last T
    rounds exceeds the mean over the T rounds before the latest one. Needs T + 1 rounds."""
    h = np.asarray(history, dtype=float)
    if len(h) < window + 1:
        return False
    return bool(h[-window:].mean() > h[-window - 1:-1].mean())
