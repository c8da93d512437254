"""Paper 004's networks: the temporal AU model (three pipelines and their fusion, method notes A11), its
per-frame baseline (pipeline 2 alone: the temporal model with its time removed), and the valence/arousal
model with polarity classifiers (Fig. 1, method notes B-004.1-2)."""
from __future__ import annotations

import warnings

import torch
from torch import nn


class AUTemporalNet(nn.Module):
    """Paper 004 §4.3, following the ABAW3 AU model it cites (method notes A11), over frame features
    F (B, T, D):
    1. a Transformer (encoder source F, decoder target P) -> fc(A);
    2. "up- then down-sampled" features P = MLP(D -> 1.5 D -> D) -> fc(A);
    3. a Transformer (source P, target = pipeline 1's hidden states) -> fc(A);
    fused by Linear(3A, 3A)-ReLU-Linear(3A, A). Transformers are pre-norm encoder-decoders with a learnable
    positional embedding of the frame index. ``width``: project the features to this size first (the book does
    so for ResNet-50's 2048-d features, whose Transformers would otherwise hold ~150 M parameters).
    Returns {"p1", "p2", "p3", "fused"}: logits (B, T, A) each."""

    def __init__(self, in_dim: int, num_aus: int = 12, heads: int = 8, layers: int = 2, ff: int = 512,
                 dropout: float = 0.3, max_len: int = 256, width: int | None = None):
        super().__init__()
        self.proj = nn.Linear(in_dim, width) if width else nn.Identity()
        in_dim = width or in_dim
        if in_dim % heads:
            raise ValueError(f"heads={heads} must divide the feature size {in_dim} (method notes A11)")
        self.pos = nn.Embedding(max_len, in_dim)
        self.mlp = nn.Sequential(nn.Linear(in_dim, in_dim * 3 // 2), nn.ReLU(), nn.Linear(in_dim * 3 // 2, in_dim), nn.ReLU())

        def transformer():
            with warnings.catch_warnings():  # pre-norm layers cannot use nested tensors; torch warns about it
                warnings.simplefilter("ignore", UserWarning)
                return nn.Transformer(in_dim, heads, layers, layers, ff, dropout, batch_first=True, norm_first=True)

        self.t1, self.t3 = transformer(), transformer()
        self.fc1, self.fc2, self.fc3 = (nn.Linear(in_dim, num_aus) for _ in range(3))
        self.fusion = nn.Sequential(nn.Linear(3 * num_aus, 3 * num_aus), nn.ReLU(), nn.Linear(3 * num_aus, num_aus))

    def forward(self, features: torch.Tensor) -> dict:
        features = self.proj(features)
        pos = self.pos(torch.arange(features.shape[1], device=features.device))[None]
        p = self.mlp(features)
        h1 = self.t1(features + pos, p + pos)
        h3 = self.t3(p + pos, h1)
        out = {"p1": self.fc1(h1), "p2": self.fc2(p), "p3": self.fc3(h3)}
        out["fused"] = self.fusion(torch.cat([out["p1"], out["p2"], out["p3"]], -1))
        return out


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
