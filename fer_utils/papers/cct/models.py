"""Paper 001's networks (CCT): K networks of one architecture and the ensemble's inference rule."""
from __future__ import annotations

import torch
from torch import nn

from ...models import FERNet


class CoTrained(nn.Module):
    """K networks of one architecture with different random initialisations (CCT, paper 001).

    ``model(x)`` returns the list of the K logits tensors (each (N, C)).
    """

    def __init__(self, k: int, num_classes: int, arch: str = "resnet18", in_channels: int = 1,
                 dropout: float = 0.0):
        super().__init__()
        self.nets = nn.ModuleList(FERNet(num_classes, arch, in_channels, dropout) for _ in range(k))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [net(x) for net in self.nets]


def ensemble_log_probs(logits_list: list[torch.Tensor]) -> torch.Tensor:
    """log of the mean of the K softmax outputs (the CCT inference rule, usable as logits). (N, C)."""
    probs = torch.stack([torch.softmax(z.float(), dim=1) for z in logits_list]).mean(0)
    return probs.clamp_min(1e-12).log()
