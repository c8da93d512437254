"""Backbones adapted to 48 x 48 grayscale faces, all with the same interface.

``model(x)`` gives logits; ``model(x, return_features=True)`` gives ``(logits, features, maps)`` where
``features`` (N, D) is the pooled penultimate feature and ``maps`` (N, D, h, w) the last conv feature maps
(for class attention maps and temporal encoders). Input: (N, 1, 48, 48) float, normalised.

The stems are changed for 48-px inputs: the first convolution becomes 3 x 3 with stride 1 and the
ImageNet max-pool is removed, so ResNets end at 6 x 6 maps (as CIFAR ResNets do at 32 px). No pretrained
weights are loaded (none can be downloaded here); ``load_backbone`` reads a checkpoint the book trained.

The cpu profile's backbone is a **compact member of the ResNet-18 family**, named ``resnet18_w{W}_s{S}``:
the same layout (a 3 x 3 stem, four stages of two BasicBlocks, stride 2 between stages) at widths
W-2W-4W-8W instead of 64-128-256-512, with a stem of stride S (2: 48 px -> 24 px, maps end at 3 x 3).
Any torchvision architecture above with the suffix ``_s2`` keeps a stride-2 3 x 3 stem (no max-pool), and
``densenet_k12_s2`` is DenseNet-121's block layout at growth rate 12: the cpu profile's other families.
``benchmarks/backbone_sweep.py`` measures them all; ``resnet18_w16_s2`` is the cpu default.
"""
from __future__ import annotations

import re

import torch
import torchvision
from torch import nn

ARCHS = ("resnet18", "resnet50", "resnet152", "mobilenet_v2", "densenet121", "densenet201",
         "regnet_y_400mf", "regnet_y_800mf", "efficientnet_b0", "densenet_k12_s2")  # concrete names
ARCH_PATTERNS = ("resnet18_w{W}_s{S}", "<arch>_s2")  # the cpu profile's families (W: a width, S: 1 or 2)
COMPACT = re.compile(r"resnet18_w(\d+)_s([12])$")


class BasicBlock(nn.Module):
    """ResNet's basic block: two 3 x 3 conv-BN layers with an identity (or 1 x 1 strided) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def compact_resnet18(width: int, stem_stride: int, in_channels: int = 1) -> tuple[nn.Module, int]:
    """ResNet-18's layout [2, 2, 2, 2] at widths (w, 2w, 4w, 8w) with a 3 x 3 stem of ``stem_stride``.
    Returns (module giving (N, 8w, h, w) maps, 8w). Convolutions get He (fan-out) initialisation, as in
    torchvision's ResNets."""
    widths = [width, 2 * width, 4 * width, 8 * width]
    layers = [nn.Conv2d(in_channels, width, 3, stem_stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
    cin = width
    for i, w in enumerate(widths):
        layers += [BasicBlock(cin, w, 1 if i == 0 else 2), BasicBlock(w, w, 1)]
        cin = w
    body = nn.Sequential(*layers)
    for m in body.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return body, widths[-1]


def _conv3x3(conv: nn.Conv2d, in_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, conv.out_channels, 3, stride=stride, padding=1, bias=conv.bias is not None)


def check_arch(arch: str) -> str:
    """``arch`` if ``build_backbone`` knows it, else a ValueError listing the names and patterns it takes."""
    base = arch[:-3] if arch.endswith("_s2") else arch
    if not (COMPACT.match(arch) or base in ARCHS[:9] or base == "densenet_k12" or arch in ARCHS):
        raise ValueError(f"arch={arch!r}: expected one of {', '.join(ARCHS + ARCH_PATTERNS)} (W: a width, S: 1 or 2)")
    return arch


def build_backbone(arch: str, in_channels: int = 1) -> tuple[nn.Module, int]:
    """A torchvision architecture adapted to 48 x 48 inputs, as (module giving (N, D, h, w) maps, D)."""
    compact = COMPACT.match(arch)
    if compact:
        return compact_resnet18(int(compact.group(1)), int(compact.group(2)), in_channels)
    stride = 1
    if arch.endswith("_s2"):   # the cpu profile's members: the same network with a stride-2 stem
        arch, stride = arch[:-3], 2
    if arch == "densenet_k12":  # DenseNet-121's block layout at growth rate 12 (the cpu profile's DenseNet)
        net = torchvision.models.DenseNet(growth_rate=12, block_config=(6, 12, 24, 16), num_init_features=24)
        net.features.conv0 = nn.Conv2d(in_channels, 24, 3, stride=stride, padding=1, bias=False)
        net.features.pool0 = nn.Identity()
        return nn.Sequential(net.features, nn.ReLU(inplace=True)), net.classifier.in_features
    if arch not in ARCHS[:9]:
        raise ValueError(f"arch={arch!r}: expected one of {', '.join(ARCHS + ARCH_PATTERNS)} (W: a width, S: 1 or 2)")
    net = getattr(torchvision.models, arch)(weights=None)
    if arch.startswith("resnet"):
        net.conv1 = _conv3x3(net.conv1, in_channels, stride)
        net.maxpool = nn.Identity()
        body = nn.Sequential(net.conv1, net.bn1, net.relu, net.layer1, net.layer2, net.layer3, net.layer4)
        return body, net.fc.in_features
    if arch == "mobilenet_v2":
        net.features[0][0] = _conv3x3(net.features[0][0], in_channels, stride)
        return net.features, net.last_channel
    if arch == "efficientnet_b0":
        net.features[0][0] = _conv3x3(net.features[0][0], in_channels, stride)
        return net.features, net.classifier[1].in_features
    if arch.startswith("densenet"):
        net.features.conv0 = _conv3x3(net.features.conv0, in_channels, stride)
        net.features.pool0 = nn.Identity()
        return nn.Sequential(net.features, nn.ReLU(inplace=True)), net.classifier.in_features
    net.stem[0] = _conv3x3(net.stem[0], in_channels, stride)  # regnet
    return nn.Sequential(net.stem, net.trunk_output), net.fc.in_features


class FERNet(nn.Module):
    """Backbone + global average pooling + dropout + linear classifier."""

    def __init__(self, num_classes: int, arch: str = "resnet18", in_channels: int = 1, dropout: float = 0.0):
        super().__init__()
        self.arch = arch
        self.backbone, self.feature_dim = build_backbone(arch, in_channels)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.feature_dim, num_classes)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        maps = self.backbone(x)                 # (N, D, h, w)
        features = maps.mean(dim=(2, 3))        # (N, D)
        logits = self.fc(self.dropout(features))
        return (logits, features, maps) if return_features else logits


def build_model(arch: str = "resnet18", num_classes: int = 8, in_channels: int = 1, dropout: float = 0.0) -> FERNet:
    """The book's models: ``build_model("resnet18", 8)`` is the common ResNet-18 backbone."""
    return FERNet(num_classes, arch, in_channels, dropout)


def class_attention_maps(maps: torch.Tensor, fc_weight: torch.Tensor) -> torch.Tensor:
    """Class activation maps M[n, c] = sum_d W[c, d] F[n, d] (CAM; the fc weight is detached, as in EAC).

    maps: (N, D, h, w) last conv features; fc_weight: (C, D). Returns (N, C, h, w).
    """
    return torch.einsum("ndhw,cd->nchw", maps, fc_weight.detach())


def load_backbone(model: FERNet, state_dict: dict, strict: bool = True) -> FERNet:
    """Load backbone weights from another FERNet's state dict (the classifier is left as initialised)."""
    backbone = {k[len("backbone."):]: v for k, v in state_dict.items() if k.startswith("backbone.")}
    if not backbone:
        raise ValueError("state_dict holds no 'backbone.*' weights")
    model.backbone.load_state_dict(backbone, strict=strict)
    return model
