"""Paper 000's networks beyond the common one (ABAW5 expression): MutexMatch's two heads on one backbone, the
noise-aware model's learned importance with class attention maps, and the frozen-feature baseline."""
from __future__ import annotations

import torch
from torch import nn

from ...models import FERNet, class_attention_maps


class TwoHeadNet(nn.Module):
    """MutexMatch's two classifiers on one backbone (paper 000 §2.3, method notes A1): the True-Positive
    Classifier (the usual fc) and the True-Negative Classifier ``tnc``, a second Linear(D, C).

    ``model(x)`` gives the TPC logits; ``model(x, heads=True)`` gives (TPC logits, TNC logits, TNC logits on
    detached features): the last one trains only the TNC (L_sep), the second also the backbone (L_n).
    """

    def __init__(self, num_classes: int, arch: str = "resnet18", in_channels: int = 1, dropout: float = 0.0):
        super().__init__()
        self.net = FERNet(num_classes, arch, in_channels, dropout)
        self.tnc = nn.Linear(self.net.feature_dim, num_classes)

    def forward(self, x: torch.Tensor, heads: bool = False):
        if not heads:
            return self.net(x)
        logits, features, _ = self.net(x, return_features=True)
        return logits, self.tnc(features), self.tnc(features.detach())


class ImportanceNet(nn.Module):
    """A classifier with SCN's learned per-sample importance (paper 000 Eq. 5, method notes A3):
    alpha = sigmoid(w_a . x + b_a) from the pooled feature x.

    ``model(x)`` gives the logits W x + b; ``model(x, return_all=True)`` gives (logits, alpha (N,),
    class attention maps (N, C, h, w)) for the weighted CE and the attention consistency.
    """

    def __init__(self, num_classes: int, arch: str = "resnet18", in_channels: int = 1, dropout: float = 0.0):
        super().__init__()
        self.net = FERNet(num_classes, arch, in_channels, dropout)
        self.importance = nn.Linear(self.net.feature_dim, 1)

    def forward(self, x: torch.Tensor, return_all: bool = False):
        logits, features, maps = self.net(x, return_features=True)
        if not return_all:
            return logits
        alpha = torch.sigmoid(self.importance(features)).squeeze(1)
        return logits, alpha, class_attention_maps(maps, self.net.fc.weight)


class FrozenFeatureClassifier(nn.Module):
    """The ABAW organisers' baseline in spirit (paper 000 §2.1): a frozen backbone trained for another task,
    then three trainable fully connected layers and the output layer (softmax in the loss)."""

    def __init__(self, backbone: nn.Module, feature_dim: int, num_classes: int, hidden=(512, 256, 128),
                 dropout: float = 0.5):
        super().__init__()
        self.backbone = backbone
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        layers, width = [], feature_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = h
        self.head = nn.Sequential(*layers, nn.Linear(width, num_classes))

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()  # frozen: BatchNorm statistics stay those of the other task
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            features = self.backbone(x).mean(dim=(2, 3))
        return self.head(features)
