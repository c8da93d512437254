"""Temporal modelling of per-frame expression predictions (paper 002 §3.4-3.5; method notes B-002.8-9):
the sliding-window majority vote, a Transformer temporal encoder over frame features, window helpers,
and the stand-in clips the book builds from still FER+ faces when no labelled video is available.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn


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


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Start frames of windows of ``window`` frames every ``stride`` frames that cover all ``length``
    frames (the last window is moved back to end at the last frame)."""
    if length <= window:
        return [0]
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] + window < length:
        starts.append(length - window)
    return starts


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


def standin_clips(labels: np.ndarray, n_clips: int, length: int, mean_segment: float, seed: int,
                  min_segment: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Stand-in "videos" assembled from still faces (NOT real video): each clip is a sequence of
    piecewise-constant expression segments, as Aff-Wild2's frame labels are. Segment lengths are
    min_segment + a geometric draw, with mean ``mean_segment`` frames; each segment's class is drawn
    with the class frequencies of ``labels`` (different from the previous segment's), and each frame is a
    face of that class drawn at random (with replacement) from the images ``labels`` describes — so clips
    built from one split contain only that split's images.

    labels: (N,) class per image (-1 = unusable). Returns (frame indices into the images (n_clips, length),
    frame labels (n_clips, length)).
    """
    labels = np.asarray(labels)
    if mean_segment <= min_segment:
        raise ValueError(f"mean_segment={mean_segment} must exceed min_segment={min_segment}")
    rng = np.random.default_rng(seed)
    classes = np.unique(labels[labels >= 0])
    by_class = {c: np.flatnonzero(labels == c) for c in classes}
    freq = np.array([len(by_class[c]) for c in classes], dtype=float)
    index = np.zeros((n_clips, length), dtype=np.int64)
    frame_labels = np.zeros((n_clips, length), dtype=np.int64)
    for i in range(n_clips):
        t, prev = 0, -1
        while t < length:
            p = np.where(classes == prev, 0.0, freq)
            c = rng.choice(classes, p=p / p.sum())
            seg = min(length - t, min_segment + rng.geometric(1.0 / (mean_segment - min_segment + 1)) - 1)
            index[i, t:t + seg] = rng.choice(by_class[c], size=seg)
            frame_labels[i, t:t + seg] = c
            t, prev = t + seg, c
    return index, frame_labels


def segment_lengths(frame_labels: np.ndarray) -> np.ndarray:
    """Lengths of the runs of equal labels in each row of (n_clips, T) frame labels (all rows, concatenated)."""
    out = []
    for row in np.atleast_2d(frame_labels):
        cuts = np.flatnonzero(row[1:] != row[:-1]) + 1
        out.append(np.diff(np.r_[0, cuts, len(row)]))
    return np.concatenate(out)


def video_chunks(videos, frames, labels, length: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Real videos (Aff-Wild2) as fixed-length clips: each video's samples in frame order, cut into
    consecutive chunks of ``length`` samples. videos, frames, labels: (N,) per sample (-1 labels stay, to be
    ignored by the loss and the scores). Returns (indices (n, length), labels (n, length), number of samples
    left out at the end of videos — reported, not silently dropped)."""
    videos, frames, labels = np.asarray(videos), np.asarray(frames), np.asarray(labels)
    index, dropped = [], 0
    for v in dict.fromkeys(videos.tolist()):
        idx = np.flatnonzero(videos == v)
        idx = idx[np.argsort(frames[idx], kind="stable")]
        n = len(idx) // length
        dropped += len(idx) - n * length
        index.extend(idx[: n * length].reshape(n, length))
    if not index:
        raise ValueError(f"no video has {length} frames: choose a shorter clip length")
    index = np.stack(index)
    return index, labels[index], dropped


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
