"""Consensual Collaborative Training (Gera & Balasubramanian, ABAW 2021; paper 001), Eq. 1-4.

K networks (3 in the paper) see the same augmented batch. The loss is a convex combination of their
summed cross-entropies and the KL divergences between every ordered pair of their predictions, with a
Gaussian-like ramp-up moving the weight from supervision to consensus.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def cct_lambda(epoch: int, ramp_epochs: float, lambda_max: float = 0.9, beta: float = 4.0,
               clamp: bool = False) -> float:
    """Dynamic balancing factor, paper 001 Eq. 4: lambda = lambda_max * exp(-beta * (1 - e / e_r)^2).

    epoch: e, 0-based (as in the public CCT code); ramp_epochs: e_r (the code uses 0.9 * E_max).
    The formula rises to lambda_max at e = e_r and falls again after it; the public code does not clamp.
    ``clamp=True`` holds lambda at lambda_max after e_r (the other reading, tested in Table 7).
    """
    if ramp_epochs <= 0:
        raise ValueError(f"ramp_epochs must be positive, got {ramp_epochs}")
    if clamp and epoch >= ramp_epochs:
        return float(lambda_max)
    return float(lambda_max * math.exp(-beta * (1.0 - epoch / ramp_epochs) ** 2))


def cct_supervision_loss(logits_list: list[torch.Tensor], targets: torch.Tensor,
                         label_smoothing: float = 0.0) -> torch.Tensor:
    """Paper 001 Eq. 2: L_sup = sum_j CE(p_j, y), each CE a batch mean.

    logits_list: K tensors (B, C); targets: (B,) int64 (-1 ignored). ``label_smoothing``: the common
    recipe's target smoothing (the cpu profile; the paper has none).
    """
    return sum(F.cross_entropy(z, targets, ignore_index=-1, label_smoothing=label_smoothing) for z in logits_list)


def cct_consistency_loss(logits_list: list[torch.Tensor]) -> torch.Tensor:
    """Paper 001 Eq. 3: L_cons = sum_j sum_{k != j} KL(p_k || p_j), over all K(K-1) ordered pairs.

    Each KL is summed over classes and averaged over the batch; neither side is detached (as in the
    public code), so every term sends gradient into both networks. logits_list: K tensors (B, C).
    """
    logp = [F.log_softmax(z.float(), dim=1) for z in logits_list]
    total = logits_list[0].new_zeros((), dtype=torch.float32)
    for j in range(len(logp)):
        for k in range(len(logp)):
            if k != j:  # KL(p_k || p_j) = sum_c p_k (log p_k - log p_j)
                total = total + (logp[k].exp() * (logp[k] - logp[j])).sum(dim=1).mean()
    return total


def cct_loss(logits_list: list[torch.Tensor], targets: torch.Tensor, lam: float,
             scale: float = 1.0, label_smoothing: float = 0.0) -> torch.Tensor:
    """Paper 001 Eq. 1: L = (1 - lambda) * L_sup + lambda * L_cons (Eq. 2 and 3 as above).

    ``scale`` multiplies both terms; the paper's equations have 1, the public code 0.33 for three
    networks (the book trains with 1/K, which only rescales the learning rate). ``label_smoothing`` goes to
    Eq. 2's cross-entropies.
    """
    return scale * ((1.0 - lam) * cct_supervision_loss(logits_list, targets, label_smoothing)
                    + lam * cct_consistency_loss(logits_list))
