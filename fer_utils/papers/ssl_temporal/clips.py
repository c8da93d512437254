"""The clips paper 002's temporal phase trains on: the stand-in clips the book builds from still FER+ faces
when no labelled video is available (piecewise-constant labels), their segment lengths, and consecutive
chunks of real Aff-Wild2 videos."""
from __future__ import annotations

import numpy as np


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
