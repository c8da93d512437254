"""The one in-memory record every loader returns, the loaders' error type and their skip log."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..paths import SAMPLE_ROOT

PER_SAMPLE = ("images", "labels", "names", "votes", "subjects", "sequences", "aus",
              "videos", "frames", "va")


class DataError(ValueError):
    """Bad input data. The message names the file (and line) and says what was expected."""


@dataclass(frozen=True)
class Skip:
    """One input item a loader did not turn into a sample, and why (never dropped silently)."""
    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.reason}"


def first_row(seen: dict, name: str, file, line: int, skipped: list) -> bool:
    """True the first time a loader meets ``name``; a later row repeating it is logged in ``skipped`` as a
    duplicate (the first row is kept, as FER+'s label.csv does) and gives False."""
    if name in seen:
        skipped.append(Skip(str(file), line, f"duplicate row: {name} already on line {seen[name]}"))
        return False
    seen[name] = line
    return True


def first_labelled_row(seen: dict, name: str, label, file, line: int, skipped: list) -> bool:
    """``first_row`` for a table that labels each image: a repeated name with the same label is a listed
    duplicate; with another label it is a DataError naming both lines (which label is right is not ours to
    guess). ``seen``: {name: (line, label)}."""
    if name in seen:
        first_line, first_label = seen[name]
        if first_label != label:
            raise DataError(f"{file}:{line}: {name} is labelled {label!r} here but {first_label!r} on line "
                            f"{first_line}: conflicting duplicate rows")
        skipped.append(Skip(str(file), line, f"duplicate row: {name} already on line {first_line}"))
        return False
    seen[name] = (line, label)
    return True


def inside(path: Path, root: Path, file, line: int) -> Path:
    """``path`` if it stays inside ``root`` (no '..' or absolute path escaping the data root), else a
    DataError naming the file and line."""
    if not Path(path).resolve().is_relative_to(Path(root).resolve()):
        raise DataError(f"{file}:{line}: {path} is outside the data folder {root}")
    return path


def image_found(path: Path, file, line: int, skipped: list, shown: str | None = None) -> bool:
    """True if the image a row names exists; else the row is logged in ``skipped`` as a missing image
    (``shown``: how the reason names the image, default its path) and gives False."""
    if Path(path).is_file():
        return True
    skipped.append(Skip(str(file), line, f"missing image: {shown or path}"))
    return False


def source_label(source) -> str:
    """A data source without the machine's path: the last two parts of it (e.g. ``ferplus/FER2013Train``),
    marked when it is the bundled sample (the book prints no machine paths)."""
    path = Path(str(source))
    label = "/".join(path.parts[-2:])
    return f"{label} (bundled sample)" if path.resolve().is_relative_to(SAMPLE_ROOT.resolve()) else label


@dataclass
class FaceData:
    """One split of one dataset, fully in memory.

    Every per-sample field has the same first dimension N; fields a dataset does not have are None.

    images:    (N, H, W) uint8 grayscale (the book uses 48 x 48)
    labels:    (N,) int64 index into ``class_names``, -1 where the sample is unlabelled
    names:     (N,) str, the file name (FER+: ``fer0000000.png``) or ``video/frame`` id
    votes:     (N, 10) int64 FER+ crowd votes (8 emotions, unknown, NF)
    subjects, sequences: (N,) str, CK+ subject ``S010`` and sequence ``S010_004``
    aus:       (N, len(au_names)) int8 action-unit labels (1 present, 0 absent, -1 unknown)
    videos:    (N,) str, frames: (N,) int64 for video datasets (Aff-Wild2)
    va:        (N, 2) float32 valence, arousal; NaN where the annotation is invalid
    skipped:   every input item that did not become a sample, with file, line and reason
    """
    images: np.ndarray
    labels: np.ndarray
    names: np.ndarray
    class_names: tuple[str, ...]
    dataset: str
    split: str
    source: str
    votes: np.ndarray | None = None
    subjects: np.ndarray | None = None
    sequences: np.ndarray | None = None
    aus: np.ndarray | None = None
    au_names: tuple[str, ...] | None = None
    videos: np.ndarray | None = None
    frames: np.ndarray | None = None
    va: np.ndarray | None = None
    skipped: list[Skip] = field(default_factory=list)

    def __post_init__(self):
        n = len(self.images)
        for name in PER_SAMPLE:
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"FaceData.{name} has {len(value)} rows, images has {n}")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def subset(self, index) -> "FaceData":
        """The samples at ``index`` (integer array or boolean mask), all per-sample fields kept aligned."""
        index = np.asarray(index)
        changes = {name: getattr(self, name)[index] for name in PER_SAMPLE
                   if getattr(self, name) is not None}
        return dataclasses.replace(self, **changes, skipped=list(self.skipped))

    def with_labels(self, labels: np.ndarray, class_names=None) -> "FaceData":
        """A copy with other labels (e.g. mapped to another label space, or noisy training labels)."""
        labels = np.asarray(labels, dtype=np.int64)
        return dataclasses.replace(self, labels=labels,
                                   class_names=tuple(class_names or self.class_names))

    @property
    def source_name(self) -> str:
        """Where the split came from, without the machine's path (``source_label``)."""
        return source_label(self.source)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels[self.labels >= 0], minlength=self.num_classes)
        return {c: int(k) for c, k in zip(self.class_names, counts)}

    def summary(self) -> str:
        """One paragraph: size, labelled/unlabelled counts, class counts and skips."""
        unl = int((self.labels < 0).sum())
        lines = [f"{self.dataset} {self.split}: {len(self)} images {self.images.shape[1:]} from {self.source_name}",
                 f"  labelled {len(self) - unl}, unlabelled {unl}",
                 "  " + ", ".join(f"{c} {k}" for c, k in self.class_counts().items())]
        if self.skipped:
            reasons: dict[str, int] = {}
            for s in self.skipped:
                key = s.reason.split(":")[0]
                reasons[key] = reasons.get(key, 0) + 1
            lines.append(f"  skipped {len(self.skipped)}: " +
                         "; ".join(f"{k} ({v})" for k, v in reasons.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<FaceData {self.dataset}/{self.split} n={len(self)} classes={self.num_classes} skipped={len(self.skipped)}>"
