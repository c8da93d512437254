"""Paper 002's networks and post-process (method notes A5, B-002.8-9): the teacher and the student, the
Transformer temporal encoder over frame features with its window helpers, and the sliding-window vote."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...models import FERNet


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


class TemporalEncoder(nn.Module):
    """Paper 002 §3.4, as the method notes suggest (B-002.8; the paper gives no architecture): frozen frame
    features -> Linear(D -> d_model) + a learnable positional embedding -> a Transformer encoder -> a
    per-frame classifier. (B, L, D) -> (B, L, K) logits, L <= max_len."""

    def __init__(self, in_dim: int, num_classes: int, d_model: int = 256, layers: int = 2, heads: int = 8,
                 ff: int = 1024, dropout: float = 0.1, max_len: int = 64):
        super().__init__()
        self.proj = nn.Linear(in_dim, d_model)
        self.pos = nn.Parameter(torch.zeros(1, max_len, d_model))
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.fc = nn.Linear(d_model, num_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        length = features.shape[1]
        if length > self.pos.shape[1]:
            raise ValueError(f"sequence of {length} frames is longer than max_len={self.pos.shape[1]}")
        return self.fc(self.encoder(self.proj(features) + self.pos[:, :length]))


@torch.no_grad()
def clip_logits(model: TemporalEncoder, features: torch.Tensor, window: int, stride: int) -> torch.Tensor:
    """Per-frame logits of whole clips: run ``model`` on overlapping windows and average the logits of the
    windows that cover each frame (B-002.8). features (N, T, D) -> (N, T, K)."""
    was = model.training
    model.eval()
    n, t, _ = features.shape
    total, count = None, torch.zeros(1, t, 1, device=features.device)
    for s in window_starts(t, window, stride):
        z = model(features[:, s:s + window]).float()
        total = torch.zeros(n, t, z.shape[-1], device=features.device) if total is None else total
        total[:, s:s + window] += z
        count[:, s:s + window] += 1
    model.train(was)
    return total / count


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Start frames of windows of ``window`` frames every ``stride`` frames that cover all ``length``
    frames (the last window is moved back to end at the last frame)."""
    if length <= window:
        return [0]
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] + window < length:
        starts.append(length - window)
    return starts


def sliding_window_vote(labels: torch.Tensor, window: int, probs: torch.Tensor | None = None) -> torch.Tensor:
    """Paper 002 §3.5 post-process: cut one video's per-frame labels into non-overlapping windows of
    ``window`` frames (the last may be shorter) and give every frame its window's majority label.

    Ties go to the tied class with the highest summed probability when ``probs`` (T, K) is given, else to
    the lowest class index. labels: LongTensor (T,) -> LongTensor (T,). window = 1 returns the input.
    """
    labels = torch.as_tensor(labels, dtype=torch.long)
    if window < 1:
        raise ValueError(f"window={window}: expected a positive number of frames")
    t = len(labels)
    if t == 0 or window == 1:
        return labels.clone()
    k = int(labels.max()) + 1 if probs is None else probs.shape[1]
    n_win = -(-t // window)
    pad = n_win * window - t
    padded = torch.cat([labels, labels.new_full((pad,), k)])            # class k = padding, never counted
    counts = nn.functional.one_hot(padded.view(n_win, window), k + 1).sum(1)[:, :k].double()
    if probs is not None:  # tie-break: summed probability / (window + 1) < 1, so counts always dominate
        p = torch.cat([torch.as_tensor(probs, dtype=torch.float64), torch.zeros(pad, k, dtype=torch.float64)])
        counts = counts + p.view(n_win, window, k).sum(1) / (window + 1)
    return counts.argmax(1).repeat_interleave(window)[:t]


def vote_per_video(labels: torch.Tensor, videos, window: int, probs: torch.Tensor | None = None) -> torch.Tensor:
    """``sliding_window_vote`` applied to each video separately (frames grouped by consecutive equal video
    ids, in order), so no window crosses a video boundary. labels (T,), videos (T,) -> (T,)."""
    labels = torch.as_tensor(labels, dtype=torch.long)
    videos = np.asarray(videos)
    if len(videos) != len(labels):
        raise ValueError(f"videos has {len(videos)} entries for {len(labels)} frames")
    out = labels.clone()
    cuts = np.flatnonzero(videos[1:] != videos[:-1]) + 1
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(videos)]):
        out[a:b] = sliding_window_vote(labels[a:b], window, None if probs is None else probs[a:b])
    return out


def vote_clips(logits, window: int) -> np.ndarray:
    """``sliding_window_vote`` on every clip of per-frame logits (n, T, K), ties by summed probability;
    window = 1 (or None) returns the per-frame argmax. -> (n, T) labels."""
    probs = torch.softmax(torch.as_tensor(np.asarray(logits, dtype=np.float32)), -1)
    if not window or window == 1:
        return probs.argmax(-1).numpy()
    return np.stack([sliding_window_vote(p.argmax(-1), window, p).numpy() for p in probs])
