"""Label protocols, in one place and by class NAME: label spaces, FER+ majority labels, noisy labels, splits.

Every mapping between datasets goes through class names (``map_labels``), never through indices,
because each dataset orders its classes differently.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------- label spaces
FERPLUS_CLASSES = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
FERPLUS_VOTE_COLUMNS = FERPLUS_CLASSES + ("unknown", "NF")
ABAW_CLASSES = ("neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise", "other")
CKPLUS_CLASSES = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")
RAFDB_CLASSES = ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")  # files: 1..7
AFFECTNET_CLASSES = ("neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger", "contempt")
AFFECTNET_EXCLUDED = {8: "none", 9: "uncertain", 10: "non-face"}
FER2013_CLASSES = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
ABAW_AUS = ("AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24", "AU25", "AU26")

ALIASES = {"happy": "happiness", "sad": "sadness", "angry": "anger", "anger": "anger", "surprised": "surprise",
           "fearful": "fear", "disgusted": "disgust", "contemptuous": "contempt"}


def canonical(name: str) -> str:
    """The book's spelling of a class name: lower case, 'happy' -> 'happiness', 'sad' -> 'sadness'..."""
    key = name.strip().lower()
    return ALIASES.get(key, key)


def class_index_map(src: tuple[str, ...], dst: tuple[str, ...], other: str | None = "contempt") -> np.ndarray:
    """For each class of ``src``, its index in ``dst`` (-1 where ``dst`` has no such class).

    ``other``: the class that plays ABAW's 'other' when one space has 'other' and the other does not
    (the book maps FER+ contempt to ABAW Other). ``None`` maps nothing to 'other'.
    """
    src_c = [canonical(c) for c in src]
    dst_c = [canonical(c) for c in dst]
    out = np.full(len(src_c), -1, dtype=np.int64)
    for i, name in enumerate(src_c):
        if name in dst_c:
            out[i] = dst_c.index(name)
        elif other is not None and name == other and "other" in dst_c:
            out[i] = dst_c.index("other")
        elif other is not None and name == "other" and other in dst_c:
            out[i] = dst_c.index(other)
    return out


def map_labels(labels, src: tuple[str, ...], dst: tuple[str, ...], other: str | None = "contempt") -> np.ndarray:
    """Map integer labels from label space ``src`` to ``dst`` by class name; -1 stays -1.

    Labels whose class ``dst`` lacks become -1 (e.g. FER+ neutral -> CK+): count them with ``(out < 0)``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.max() >= len(src) or labels.min() < -1):
        raise ValueError(f"labels must lie in -1..{len(src) - 1} for the source space {src}")
    table = np.append(class_index_map(src, dst, other), -1)  # index -1 -> last entry -> -1
    return table[labels]


# --------------------------------------------------------------------------- FER+ votes
def majority_labels(votes) -> np.ndarray:
    """FER+ majority label over the 8 emotion votes; -1 where unknown + NF outvote every emotion.

    votes: (N, 10) counts in FERPLUS_VOTE_COLUMNS order. Ties go to the first class in FER+ order.
    Returns (N,) int64 in 0..7 or -1 (the image joins the unlabelled pool, like ABAW's -1 frames).
    """
    votes = np.asarray(votes)
    emotion = votes[:, :8]
    top = emotion.max(axis=1)
    labels = emotion.argmax(axis=1).astype(np.int64)
    labels[votes[:, 8] + votes[:, 9] > top] = -1
    return labels


def single_annotator_labels(votes, seed: int) -> np.ndarray:
    """One annotator's label per image: a vote drawn (seeded) from its 8 emotion votes.

    The probability of class c is votes[c] / sum of emotion votes: real per-image crowd noise.
    Images with no emotion vote get -1. Returns (N,) int64.
    """
    emotion = np.asarray(votes)[:, :8].astype(np.float64)
    total = emotion.sum(axis=1)
    rng = np.random.default_rng(seed)
    u = rng.random(len(emotion)) * total
    labels = (np.cumsum(emotion, axis=1) > u[:, None]).argmax(axis=1).astype(np.int64)
    labels[total == 0] = -1
    return labels


def plurality_disagreement(votes, labels) -> float:
    """Fraction of labelled images whose label is not among the tied top emotion classes of its votes.

    This is how the data README measures single-annotator noise (about 0.21 on train).
    """
    emotion = np.asarray(votes)[:, :8]
    labels = np.asarray(labels)
    keep = (labels >= 0) & (majority_labels(votes) >= 0)
    top = emotion.max(axis=1)
    hit = emotion[np.arange(len(labels)), np.clip(labels, 0, 7)] == top
    return float(1.0 - hit[keep].mean())


# --------------------------------------------------------------------------- synthetic noise
@dataclass
class NoiseReport:
    """Realised label noise: ``rate`` = fraction of labelled samples whose label changed;
    ``matrix[i, j]`` = P(noisy = j | clean = i) (rows of classes with no sample are zero)."""
    rate: float
    matrix: np.ndarray
    counts: np.ndarray

    def table(self, class_names):
        return pd.DataFrame(self.matrix, index=class_names, columns=class_names)


def noise_report(clean, noisy, num_classes: int) -> NoiseReport:
    clean = np.asarray(clean)
    noisy = np.asarray(noisy)
    keep = (clean >= 0) & (noisy >= 0)
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (clean[keep], noisy[keep]), 1)
    rows = counts.sum(axis=1, keepdims=True)
    matrix = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    rate = float((clean[keep] != noisy[keep]).mean()) if keep.any() else 0.0
    return NoiseReport(rate, matrix, counts)


def symmetric_noise(labels, rate: float, num_classes: int, seed: int) -> np.ndarray:
    """Symmetric noise: exactly round(rate * n) labelled samples get a uniformly drawn *other* class.

    labels: (N,) with -1 for unlabelled (kept). Returns a new (N,) int64 array.
    """
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    labels = np.asarray(labels, dtype=np.int64).copy()
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(labels >= 0)
    flip = rng.choice(idx, size=int(round(rate * len(idx))), replace=False)
    shift = rng.integers(1, num_classes, size=len(flip))  # never 0: the class always changes
    labels[flip] = (labels[flip] + shift) % num_classes
    return labels


def crowd_transition_matrix(votes, majority, num_classes: int = 8) -> np.ndarray:
    """FER+'s measured single-annotator transition matrix: T[c, k] = P(one annotator says k | majority label
    c), the mean over the images of majority class c of their emotion-vote distributions (the expected
    confusion of ``single_annotator_labels``, without drawing). Rows of classes absent from ``majority`` are
    the identity. votes (N, 10), majority (N,) with -1 for unlabelled. Returns (C, C), rows summing to 1."""
    dist = vote_distribution(votes)[:, :num_classes]
    majority = np.asarray(majority)
    t = np.eye(num_classes)
    for c in range(num_classes):
        rows = dist[(majority == c) & ~np.isnan(dist).any(1)]
        if len(rows):
            t[c] = rows.mean(0) / rows.mean(0).sum()
    return t


def crowd_matrix_noise(labels, transition: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """Synthetic noise with the structure of real crowd noise (the CIFAR-N pairing of human labels with
    synthetic noise of their transition matrix): exactly round(rate * n) labelled samples get another class,
    drawn from their class's row of ``transition`` without its diagonal (renormalised); a class whose row has
    no off-diagonal mass keeps its label. labels (N,) with -1 kept. Returns a new (N,) int64 array."""
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    labels = np.asarray(labels, dtype=np.int64).copy()
    off = np.asarray(transition, dtype=np.float64).copy()
    np.fill_diagonal(off, 0.0)
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(labels >= 0)
    flip = rng.choice(idx, size=int(round(rate * len(idx))), replace=False)
    u = rng.random(len(flip))
    for i, r in zip(flip, u):
        row = off[labels[i]]
        if row.sum() > 0:
            labels[i] = int(np.searchsorted(np.cumsum(row / row.sum()), r, side="right"))
    return labels


FERPLUS_CONFUSIONS = {"neutral": "sadness", "happiness": "neutral", "surprise": "fear", "sadness": "neutral",
                      "anger": "disgust", "disgust": "anger", "fear": "surprise", "contempt": "neutral"}


def class_flip_noise(labels, rate: float, class_names: tuple[str, ...], seed: int,
                     flips: dict[str, str] | None = None) -> np.ndarray:
    """Class-dependent (asymmetric) noise: in each class, exactly round(rate * n_c) samples are relabelled
    to that class's confusion partner ``flips[name]`` (default: plausible FER confusions by name)."""
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    flips = FERPLUS_CONFUSIONS if flips is None else flips
    names = [canonical(c) for c in class_names]
    labels = np.asarray(labels, dtype=np.int64).copy()
    rng = np.random.default_rng(seed)
    out = labels.copy()
    for c, name in enumerate(names):
        if name not in flips:
            continue
        target = canonical(flips[name])
        if target not in names:
            raise ValueError(f"flips[{name!r}] = {target!r} is not a class of {class_names}")
        idx = np.flatnonzero(labels == c)
        pick = rng.choice(idx, size=int(round(rate * len(idx))), replace=False)
        out[pick] = names.index(target)
    return out


# --------------------------------------------------------------------------- splits
def labelled_fraction_split(labels, fraction: float, seed: int, min_per_class: int = 1):
    """Semi-supervised split: keep round(fraction * n_c) (at least ``min_per_class``) labelled samples of
    every class c, drawn with a seed; everything else (and every -1 sample) is unlabelled.

    Returns (labelled_idx, unlabelled_idx), sorted int64 arrays that partition range(N).
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels[labels >= 0]):
        idx = np.flatnonzero(labels == c)
        n = min(len(idx), max(min_per_class, int(round(fraction * len(idx)))))
        chosen.append(rng.choice(idx, size=n, replace=False))
    labelled = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)
    mask = np.zeros(len(labels), bool)
    mask[labelled] = True
    return labelled.astype(np.int64), np.flatnonzero(~mask).astype(np.int64)


def stratified_holdout(labels, fraction: float, seed: int):
    """Hold out ``fraction`` of each class (e.g. the 10% validation split of paper 003).
    Returns (keep_idx, holdout_idx)."""
    holdout, keep = labelled_fraction_split(labels, fraction, seed, min_per_class=0)
    return keep, holdout


def subject_kfold(subjects, k: int = 10, seed: int = 0) -> np.ndarray:
    """Subject-independent k-fold assignment (the CK+ protocol): every subject's images share one fold.

    Subjects are placed largest first (ties in seeded random order) into the fold with the fewest images,
    so folds are balanced in images. Returns (N,) int64 fold ids in 0..k-1.
    """
    subjects = np.asarray(subjects)
    names, inverse, sizes = np.unique(subjects, return_inverse=True, return_counts=True)
    if k < 2 or k > len(names):
        raise ValueError(f"k must be in 2..{len(names)} (the number of subjects), got {k}")
    rng = np.random.default_rng(seed)
    order = sorted(rng.permutation(len(names)), key=lambda s: -sizes[s])
    load = np.zeros(k, np.int64)
    fold_of = np.zeros(len(names), np.int64)
    for s in order:
        f = int(np.argmin(load))
        fold_of[s] = f
        load[f] += sizes[s]
    return fold_of[inverse]


def subject_holdout(subjects, fraction: float, seed: int):
    """Hold out whole subjects, about ``fraction`` of the images (a subject-independent validation split:
    no subject, and so no sequence, has images on both sides). Returns (keep_idx, holdout_idx)."""
    k = max(2, round(1 / fraction))
    held = subject_kfold(subjects, min(k, len(np.unique(subjects))), seed) == 0
    return np.flatnonzero(~held), np.flatnonzero(held)


def training_labels(votes, majority, spec: str, num_classes: int, seed: int, class_names=FERPLUS_CLASSES):
    """The training labels a run asks for by name.

    spec: "majority" (clean FER+ labels), "single_annotator" (one vote per image, real crowd noise),
    "symmetric:<rate>" or "class_flip:<rate>" (synthetic noise on the majority labels), "crowd_matrix:<rate>"
    (a share ``rate`` of the majority labels redrawn from FER+'s measured single-annotator transition matrix).
    Images FER+ leaves unlabelled (majority -1) stay unlabelled under every spec.
    """
    kind, _, rate = spec.partition(":")
    if kind == "majority" and not rate:
        return np.asarray(majority, dtype=np.int64).copy()
    if kind == "single_annotator" and not rate:
        return np.where(np.asarray(majority) >= 0, single_annotator_labels(votes, seed), -1)
    if kind in ("symmetric", "class_flip", "crowd_matrix") and rate:
        try:
            r = float(rate)
        except ValueError:
            raise ValueError(f"labels={spec!r}: the rate after ':' must be a number") from None
        if kind == "symmetric":
            return symmetric_noise(majority, r, num_classes, seed)
        if kind == "crowd_matrix":
            return crowd_matrix_noise(majority, crowd_transition_matrix(votes, majority, num_classes), r, seed)
        return class_flip_noise(majority, r, class_names, seed)
    raise ValueError(f"labels={spec!r}: expected 'majority', 'single_annotator', 'symmetric:<rate>', "
                     f"'class_flip:<rate>' or 'crowd_matrix:<rate>'")


def vote_distribution(votes) -> np.ndarray:
    """Each image's distribution over the 8 FER+ emotions from its crowd votes (the "unknown" and "not a
    face" votes left out): (N, 10) counts -> (N, 8) rows summing to 1; NaN rows for images with no emotion vote."""
    emotion = np.asarray(votes)[:, :8].astype(np.float64)
    total = emotion.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, emotion / total, np.nan)


def vote_entropy(votes) -> np.ndarray:
    """Entropy (bits) of each image's distribution of emotion votes: 0 = unanimous, 3 = all 8 classes equal.
    votes: (N, 10) FER+ counts; images without an emotion vote get NaN."""
    p = vote_distribution(votes)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(np.where(p > 0, p * np.log2(p), 0.0)).sum(axis=1)
    h[np.isnan(p[:, 0])] = np.nan
    return h


# --------------------------------------------------------------------------- valence/arousal of categories

# Warriner, Kuperman & Brysbaert (2013), "Norms of valence, arousal, and dominance for 13,915 English
# lemmas", Behavior Research Methods 45, 1191-1207, doi:10.3758/s13428-012-0314-x: the mean ratings of all
# raters (columns V.Mean.Sum and A.Mean.Sum of Ratings_Warriner_et_al.csv, scale 1-9, 5 = neutral) for the
# word that names each FER+ class. Valence: 1 unhappy .. 9 happy; arousal: 1 calm .. 9 excited.
# These are ratings of the WORDS, not of faces: the book uses them only to derive a clearly labelled
# valence/arousal stand-in target from the FER+ crowd votes (chapter 5).
WARRINER_VA = {"neutral": (5.50, 3.45), "happiness": (8.48, 6.50), "surprise": (7.44, 6.57),
               "sadness": (2.40, 2.81), "anger": (2.50, 5.93), "disgust": (3.32, 5.00),
               "fear": (2.93, 6.14), "contempt": (3.22, 4.61)}


def category_va(class_names=FERPLUS_CLASSES, norms=None) -> np.ndarray:
    """Each class's (valence, arousal) on the [-1, 1] scale of Aff-Wild2 and AffectNet: the 1-9 word norms
    (``WARRINER_VA``) mapped linearly, (x - 5) / 4. (C, 2); NaN rows for classes the norms do not name
    (e.g. ABAW's 'other')."""
    norms = WARRINER_VA if norms is None else norms
    table = np.full((len(class_names), 2), np.nan)
    for i, name in enumerate(class_names):
        key = canonical(name)
        if key in norms:
            table[i] = (np.asarray(norms[key], dtype=np.float64) - 5.0) / 4.0
    return table


def expected_va(probs, class_names=FERPLUS_CLASSES, norms=None) -> np.ndarray:
    """The valence/arousal a distribution over classes implies: sum_c p_c (v_c, a_c), the probabilities
    renormalised over the classes the norms name. probs (N, C) -> (N, 2); NaN rows where no named class has
    any probability."""
    p = np.asarray(probs, dtype=np.float64)
    table = category_va(class_names, norms)
    known = ~np.isnan(table[:, 0])
    w = p[:, known]
    total = w.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, (w / total) @ table[known], np.nan)


def va_from_votes(votes) -> np.ndarray:
    """The book's DERIVED valence/arousal stand-in for FER+: each image's crowd vote distribution over the 8
    emotions through the word norms, ``expected_va(vote_distribution(votes))``. (N, 10) counts -> (N, 2) in
    [-1, 1]; NaN for images with no emotion vote."""
    return expected_va(vote_distribution(votes), FERPLUS_CLASSES)
