"""Evaluation metrics of the ABAW challenges and the papers (scikit-learn where it has the metric).

Inputs may be numpy arrays, lists or torch tensors. Classes are always given explicitly (``num_classes``)
so that a class absent from the predictions still counts (F1 = 0), as in the ABAW metric.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.metrics import confusion_matrix as _sk_confusion


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _pair(y_true, y_pred):
    y_true, y_pred = _np(y_true).reshape(-1), _np(y_pred).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.shape[0]} items, y_pred has {y_pred.shape[0]}")
    if len(y_true) == 0:
        raise ValueError("metrics need at least one sample")
    return y_true, y_pred


def macro_f1(y_true, y_pred, num_classes: int) -> float:
    """Unweighted mean of the per-class F1 over classes 0..num_classes-1 (the ABAW expression metric).

    A class with no true and no predicted sample has F1 = 0 (it still counts in the mean).
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(f1_score(y_true, y_pred, labels=list(range(num_classes)), average="macro", zero_division=0))


def accuracy(y_true, y_pred) -> float:
    y_true, y_pred = _pair(y_true, y_pred)
    return float(accuracy_score(y_true, y_pred))


def abaw_overall(y_true, y_pred, num_classes: int) -> float:
    """ABAW 2021 expression score used by CCT (paper 001): 0.67 * macro F1 + 0.33 * accuracy."""
    return 0.67 * macro_f1(y_true, y_pred, num_classes) + 0.33 * accuracy(y_true, y_pred)


def per_class_f1(y_true, y_pred, class_names):
    """A table (pandas DataFrame) with precision, recall, F1 and support per class name."""
    y_true, y_pred = _pair(y_true, y_pred)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=list(range(len(class_names))),
                                                 zero_division=0)
    return pd.DataFrame({"precision": p, "recall": r, "f1": f, "support": s}, index=list(class_names))


def confusion_matrix(y_true, y_pred, num_classes: int, normalize: str | None = None) -> np.ndarray:
    """(C, C) counts with rows = true class, columns = predicted; ``normalize="true"`` gives row rates."""
    y_true, y_pred = _pair(y_true, y_pred)
    return _sk_confusion(y_true, y_pred, labels=list(range(num_classes)), normalize=normalize)


def ccc(pred, target) -> float:
    """Concordance correlation coefficient (Lin 1989), population statistics:
    2 cov / (var_p + var_t + (mean_p - mean_t)^2). 1 = perfect agreement. NaN targets are ignored."""
    pred, target = _np(pred).astype(np.float64).reshape(-1), _np(target).astype(np.float64).reshape(-1)
    keep = ~np.isnan(target)
    pred, target = pred[keep], target[keep]
    mp, mt = pred.mean(), target.mean()
    cov = ((pred - mp) * (target - mt)).mean()
    denom = pred.var() + target.var() + (mp - mt) ** 2
    return float(2 * cov / denom) if denom > 0 else 0.0


def au_f1(y_true, y_pred) -> np.ndarray:
    """Binary F1 of each action unit: y_true, y_pred (N, A) in {0, 1}; rows with any -1 label are left out."""
    y_true, y_pred = _np(y_true), _np(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 2:
        raise ValueError(f"expected two (N, A) arrays of the same shape, got {y_true.shape} and {y_pred.shape}")
    keep = (y_true >= 0).all(axis=1)
    return np.array([f1_score(y_true[keep, a], y_pred[keep, a], zero_division=0) for a in range(y_true.shape[1])])


def mean_au_f1(y_true, y_pred) -> float:
    """The ABAW AU metric: the mean over AUs of the per-AU binary F1."""
    return float(au_f1(y_true, y_pred).mean())


def kl_divergence(p, q, eps: float = 1e-12) -> np.ndarray:
    """KL(p || q) = sum_k p_k ln(p_k / q_k) in nats, per row: p, q (N, K) distributions -> (N,).
    Terms with p_k = 0 contribute 0; q is floored at ``eps`` so a zero where p is not gives a large, finite value."""
    p, q = _np(p).astype(np.float64), _np(q).astype(np.float64)
    if p.shape != q.shape:
        raise ValueError(f"p has shape {p.shape}, q has shape {q.shape}: expected the same (N, K)")
    ratio = np.log(np.maximum(p, eps)) - np.log(np.maximum(q, eps))
    return np.where(p > 0, p * ratio, 0.0).sum(axis=-1)


def js_divergence(p, q) -> np.ndarray:
    """Jensen-Shannon divergence per row in bits (0 = identical, 1 = disjoint supports):
    (KL(p || m) + KL(q || m)) / (2 ln 2) with m = (p + q) / 2. p, q (N, K) -> (N,)."""
    p, q = _np(p).astype(np.float64), _np(q).astype(np.float64)
    m = 0.5 * (p + q)
    return (kl_divergence(p, m) + kl_divergence(q, m)) / (2 * np.log(2))
