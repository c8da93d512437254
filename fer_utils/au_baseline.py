"""The per-frame baseline of paper 004's AU model (§4): the temporal model with its time removed.

``AUFrameNet`` is pipeline 2 of ``temporal.AUTemporalNet`` on its own: the same optional projection, the same
"up- then down-sampled" MLP (D -> 1.5 D -> D) and a fc(A) head, applied to every frame independently. Trained
on the same frozen features, folds, loss and optimiser as the temporal model, it answers the question the
Transformers and the fusion have to answer: does looking at the other frames of a clip help?
"""
from __future__ import annotations

import torch
from torch import nn


class AUFrameNet(nn.Module):
    """Per-frame AU logits from frame features F (B, T, D) or (N, D) -> (B, T, A) or (N, A): no frame sees
    another. ``width``: project the features to this size first, as the temporal model does."""

    def __init__(self, in_dim: int, num_aus: int = 12, width: int | None = None):
        super().__init__()
        self.proj = nn.Linear(in_dim, width) if width else nn.Identity()
        d = width or in_dim
        self.mlp = nn.Sequential(nn.Linear(d, d * 3 // 2), nn.ReLU(), nn.Linear(d * 3 // 2, d), nn.ReLU())
        self.fc = nn.Linear(d, num_aus)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(self.mlp(self.proj(features)))
