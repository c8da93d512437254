"""The expression ensemble's member networks on the cpu profile (paper 004 §3: five sub-classifiers of different
families; the paper's ResNet-50, MobileNet, DenseNet and two more).

Protocol 2 trains every member for the common recipe's E epochs and holds one ensemble to at most
``ENSEMBLE_COST_CAP`` times the baseline network's training cost per seed. The torchvision families at the
paper's widths cost 5-9x the book's compact ResNet-18 each on a CPU (results/benchmarks/backbone-sweep-cpu.json),
so the cpu profile takes narrow members of each family, all with a stride-2 3 x 3 stem for 48-px faces
(``build_member``); ``benchmarks/ensemble_members.py`` measures their training throughput against the baseline
(results/benchmarks/ensemble-members-cpu.json), and the chapter chooses from that record. The gpu profile
trains the paper-scale torchvision networks (``fer_utils.models``).

Every cpu member hands its classifier 128 batch-normalised features, as the baseline's ResNet does. MobileNet-V2
ends in a 1 x 1 expansion to 1,280 channels and RegNet's trunk ends unnormalised (its residual sums grow with
depth); on the common recipe (SGD, lr 0.1) one step of the linear classifier then moves the logits by about
lr x |features|^2 (tens for MobileNet, hundreds for RegNet): a MobileNet member sat at chance for 12 epochs,
and in a short run MobileNet's loss diverged while RegNet's stayed at the class prior. The ``_h128`` members end in a 1 x 1 conv-BN-activation to 128 channels instead (MobileNet's own last
layer narrowed; a layer added after RegNet's trunk); ``benchmarks/ensemble_members.py --learn`` records the
logits and losses of a short run of both forms.
"""
from __future__ import annotations

from functools import partial

import torch
import torchvision
from torch import nn
from torchvision.ops.misc import Conv2dNormActivation

from ...models import build_backbone, check_arch

ENSEMBLE_COST_CAP = 6.0   # one ensemble (all members, one seed) <= this x the baseline network's training cost


def _stem(conv: nn.Conv2d, stride: int) -> nn.Conv2d:
    return nn.Conv2d(1, conv.out_channels, 3, stride=stride, padding=1, bias=False)


HEAD = 128   # the features every cpu member's classifier sees (the baseline ResNet's width)


def _mobilenet(width: float, stride: int, head: int | None = None):
    """MobileNet-V2 at ``width``; ``head``: the last 1 x 1 expansion's channels (torchvision: 1,280)."""
    net = torchvision.models.mobilenet_v2(weights=None, width_mult=width)
    net.features[0][0] = _stem(net.features[0][0], stride)
    if head is None:
        return net.features, net.last_channel
    net.features[-1] = Conv2dNormActivation(net.features[-1][0].in_channels, head, kernel_size=1,
                                            activation_layer=nn.ReLU6)
    return net.features, head


def _densenet(growth: int, blocks: tuple, init: int, stride: int):
    net = torchvision.models.DenseNet(growth_rate=growth, block_config=blocks, num_init_features=init)
    net.features.conv0 = nn.Conv2d(1, init, 3, stride=stride, padding=1, bias=False)
    net.features.pool0 = nn.Identity()
    return nn.Sequential(net.features, nn.ReLU(inplace=True)), net.classifier.in_features


def _shufflenet(name: str, stride: int):
    net = getattr(torchvision.models, name)(weights=None)
    net.conv1[0] = _stem(net.conv1[0], stride)
    net.maxpool = nn.Identity()
    return nn.Sequential(net.conv1, net.stage2, net.stage3, net.stage4, net.conv5), net.fc.in_features


def _regnet_y_200mf(stride: int, head: int | None = None):
    """RegNetY-200MF (Radosavovic et al. 2020's design-space parameters; torchvision ships 400MF and up);
    ``head``: a 1 x 1 conv-BN-ReLU to that many channels after the trunk."""
    from torchvision.models.regnet import BlockParams, RegNet
    params = BlockParams.from_init_params(depth=13, w_0=24, w_a=36.44, w_m=2.49, group_width=8, se_ratio=0.25)
    net = RegNet(params, norm_layer=partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1))
    net.stem[0] = _stem(net.stem[0], stride)
    if head is None:
        return nn.Sequential(net.stem, net.trunk_output), net.fc.in_features
    return nn.Sequential(net.stem, net.trunk_output, Conv2dNormActivation(net.fc.in_features, head, kernel_size=1)), head


def _vgg(width: int, stride: int):
    """A VGG-style plain network: 3 x 3 conv-BN-ReLU pairs at widths w, 2w, 4w, 8w, max-pooled between stages
    (no residuals, no branches: the fifth family)."""
    layers, c_in = [], 1
    for i, c in enumerate((width, 2 * width, 4 * width, 8 * width)):
        for j in range(2):
            s = stride if (i, j) == (0, 0) else 1
            layers += [nn.Conv2d(c_in, c, 3, stride=s, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            c_in = c
        if i < 3:
            layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers), c_in


# name -> (family, builder of (backbone giving (N, D, h, w), D)); every stem takes 1-channel 48-px faces
MEMBERS = {
    "mobilenet_v2_x035_s2": ("MobileNet", lambda: _mobilenet(0.35, 2)),
    "mobilenet_v2_x050_s2": ("MobileNet", lambda: _mobilenet(0.5, 2)),
    "mobilenet_v2_x050_s4": ("MobileNet", lambda: _mobilenet(0.5, 4)),
    "mobilenet_v2_x035_s4": ("MobileNet", lambda: _mobilenet(0.35, 4)),
    "mobilenet_v2_x035_s2_h128": ("MobileNet", lambda: _mobilenet(0.35, 2, HEAD)),
    "mobilenet_v2_x035_s4_h128": ("MobileNet", lambda: _mobilenet(0.35, 4, HEAD)),
    "mobilenet_v2_x050_s4_h128": ("MobileNet", lambda: _mobilenet(0.5, 4, HEAD)),
    "densenet_k8_4-8-12-8_s2": ("DenseNet", lambda: _densenet(8, (4, 8, 12, 8), 16, 2)),
    "densenet_k8_3-6-8-6_s2": ("DenseNet", lambda: _densenet(8, (3, 6, 8, 6), 16, 2)),
    "densenet_k8_2-4-6-4_s2": ("DenseNet", lambda: _densenet(8, (2, 4, 6, 4), 16, 2)),
    "shufflenet_v2_x050_s2": ("ShuffleNet", lambda: _shufflenet("shufflenet_v2_x0_5", 2)),
    "regnet_y_200mf_s2": ("RegNet", lambda: _regnet_y_200mf(2)),
    "regnet_y_200mf_s4": ("RegNet", lambda: _regnet_y_200mf(4)),
    "regnet_y_200mf_s2_h128": ("RegNet", lambda: _regnet_y_200mf(2, HEAD)),
    "regnet_y_200mf_s4_h128": ("RegNet", lambda: _regnet_y_200mf(4, HEAD)),
    "vgg_w16_s2": ("VGG", lambda: _vgg(16, 2)),
    "vgg_w24_s2": ("VGG", lambda: _vgg(24, 2)),
    "vgg_w64_s1": ("VGG", lambda: _vgg(64, 1)),   # the gpu profile's full-width member (widths 64-512)
}


def member_family(arch: str) -> str:
    """The family of a member network (a MEMBERS name, or a ``fer_utils.models`` architecture)."""
    if arch in MEMBERS:
        return MEMBERS[arch][0]
    base = check_arch(arch).removesuffix("_s2")
    for prefix, family in (("resnet", "ResNet"), ("mobilenet", "MobileNet"), ("densenet", "DenseNet"),
                           ("regnet", "RegNet"), ("efficientnet", "EfficientNet")):
        if base.startswith(prefix):
            return family
    raise ValueError(f"arch={arch!r}: no family known")


class MemberNet(nn.Module):
    """A member: backbone + global average pooling + dropout + linear classifier (``fer_utils.models.FERNet``'s
    forward, so every task's evaluation and feature extraction take it)."""

    def __init__(self, arch: str, num_classes: int = 8, dropout: float = 0.0):
        super().__init__()
        self.arch = arch
        self.backbone, self.feature_dim = MEMBERS[arch][1]() if arch in MEMBERS else build_backbone(arch)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.feature_dim, num_classes)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        maps = self.backbone(x)
        features = maps.mean(dim=(2, 3))
        logits = self.fc(self.dropout(features))
        return (logits, features, maps) if return_features else logits


def build_member(arch: str, num_classes: int = 8, dropout: float = 0.0) -> MemberNet:
    """A member network by name: a MEMBERS entry or any ``fer_utils.models`` architecture; an unknown name is a
    ValueError listing both."""
    if arch not in MEMBERS:
        try:
            check_arch(arch)
        except ValueError as e:
            raise ValueError(f"{e}; or an ensemble member: {', '.join(MEMBERS)}") from None
    return MemberNet(arch, num_classes, dropout)
