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


class TeacherStudent(nn.Module):
    """Paper 002's teacher and student: two networks of the same architecture (method notes A5). ``fit``
    keeps one optimiser per network; the task's step updates the student first, then the teacher with the
    student's feedback. The forward is the student's (what the temporal phase and the evaluation use)."""

    def __init__(self, num_classes: int, arch: str = "resnet18", dropout: float = 0.0):
        super().__init__()
        self.teacher = FERNet(num_classes, arch, dropout=dropout)
        self.student = FERNet(num_classes, arch, dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.student(x)


class VAModel(nn.Module):
    """Paper 004 §2 (Fig. 1; method notes B-004.1-2) on precomputed, concatenated features of several frozen
    backbones (N, D): polarity classifiers for valence and arousal (3 classes: -1, in between, +1; trained
    first with CE, Eq. 1, then frozen), a valence head MLP -> tanh, and an arousal head whose input is the
    arousal features concatenated with the valence head's hidden features (detached) -> tanh
    (``feed_valence=False``: the arousal head sees the features only).
    forward -> {"valence", "arousal"} (N,) regressions and {"pol_valence", "pol_arousal"} (N, 3) logits."""

    def __init__(self, in_dim: int, hidden: int = 256, dropout: float = 0.1, feed_valence: bool = True):
        super().__init__()
        self.feed_valence = feed_valence  # False: the ablation without the valence -> arousal link
        self.pol_valence, self.pol_arousal = nn.Linear(in_dim, 3), nn.Linear(in_dim, 3)
        self.valence_hidden = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.arousal_hidden = nn.Sequential(nn.Linear(in_dim + hidden * feed_valence, hidden), nn.ReLU(),
                                            nn.Dropout(dropout))
        self.valence_out, self.arousal_out = nn.Linear(hidden, 1), nn.Linear(hidden, 1)

    def forward(self, features: torch.Tensor) -> dict:
        hv = self.valence_hidden(features)
        ha = self.arousal_hidden(torch.cat([features, hv.detach()], 1) if self.feed_valence else features)
        return {"valence": torch.tanh(self.valence_out(hv)).squeeze(1),
                "arousal": torch.tanh(self.arousal_out(ha)).squeeze(1),
                "pol_valence": self.pol_valence(features), "pol_arousal": self.pol_arousal(features)}


def va_predict(out: dict) -> torch.Tensor:
    """Paper 004's inference (B-004.1): -1 or +1 where a polarity classifier predicts an extreme, else the
    regressor's value. -> (N, 2) valence, arousal."""
    cols = []
    for dim in ("valence", "arousal"):
        pol = out[f"pol_{dim}"].argmax(1)
        cols.append(torch.where(pol == 0, -1.0, torch.where(pol == 2, 1.0, out[dim].float())))
    return torch.stack(cols, 1)
