"""Losses shared by every chapter."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def supervised_ce(outputs: torch.Tensor, batch: dict, epoch: int, label_smoothing: float = 0.0) -> torch.Tensor:
    """Plain cross-entropy on the batch labels; samples labelled -1 (unlabelled) are ignored.
    ``label_smoothing`` eps mixes the one-hot target with the uniform distribution (Szegedy et al. 2016).

    outputs: (B, C) logits; batch["y"]: (B,) int64.
    """
    return F.cross_entropy(outputs, batch["y"], ignore_index=-1, label_smoothing=label_smoothing)
