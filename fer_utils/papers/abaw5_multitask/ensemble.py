"""Combining the predictions of several expression classifiers (paper 004 §3.4.2, method notes B-004.6):
the meta-classifier's priority rules by class name, plain majority vote, probability averaging, and the
paper's second scheme for the 'Other' class (predict it when the top probability is below a threshold).
"""
from __future__ import annotations

import numpy as np
import torch

from ...labels import FERPLUS_CLASSES
from ...metrics import accuracy, macro_f1


def majority_vote(predictions: list[torch.Tensor], num_classes: int, probs: list[torch.Tensor] | None = None) -> torch.Tensor:
    """The most voted class per sample; ties go to the tied class with the highest summed probability when
    ``probs`` (one (N, C) per classifier) is given, else the lowest class index. list of (N,) -> (N,)."""
    votes = torch.stack([torch.as_tensor(p, dtype=torch.long) for p in predictions])         # (M, N)
    counts = torch.nn.functional.one_hot(votes, num_classes).sum(0).double()                   # (N, C)
    if probs is not None:
        summed = torch.stack([torch.as_tensor(p, dtype=torch.float64) for p in probs]).sum(0)
        counts = counts + summed / (len(predictions) + 1)                                      # < 1: ties only
    return counts.argmax(1)


def priority_vote(predictions: list[torch.Tensor], class_names, priority=("disgust", "fear", "sadness", "anger"),
                  probs: list[torch.Tensor] | None = None) -> torch.Tensor:
    """Paper 004's meta-classifier: if any sub-classifier predicts a class in ``priority`` (by NAME; the paper's
    Disgust > Fear > Sadness > Anger), the highest-priority such class wins; otherwise the majority vote
    (ties by summed probability if ``probs`` is given). predictions: list of LongTensor (N,) -> LongTensor (N,)."""
    names = [c.lower() for c in class_names]
    missing = [c for c in priority if c.lower() not in names]
    if missing:
        raise ValueError(f"priority classes {missing} are not in class_names {list(class_names)}")
    votes = torch.stack([torch.as_tensor(p, dtype=torch.long) for p in predictions])
    out = majority_vote(list(votes), len(names), probs)
    decided = torch.zeros(votes.shape[1], dtype=torch.bool)
    for name in priority:
        c = names.index(name.lower())
        hit = (votes == c).any(0) & ~decided
        out[hit] = c
        decided |= hit
    return out


def probability_average(probs: list[torch.Tensor]) -> torch.Tensor:
    """argmax of the mean softmax over classifiers: list of (N, C) -> (N,)."""
    return torch.stack([torch.as_tensor(p, dtype=torch.float32) for p in probs]).mean(0).argmax(1)


def predict_other_below(probs: torch.Tensor, other: int, threshold: float) -> torch.Tensor:
    """Paper 004 §3.2, scheme 2: a model trained without class ``other`` (its column is ignored) predicts
    ``other`` when its top probability over the remaining classes is below ``threshold``. probs (N, C) -> (N,)."""
    p = torch.as_tensor(probs, dtype=torch.float32).clone()
    p[:, other] = -1.0
    top, arg = p.max(1)
    return torch.where(top < threshold, torch.full_like(arg, other), arg)


def choose_other_threshold(probs, labels, other: int, grid=np.round(np.arange(0.3, 0.61, 0.05), 2)) -> tuple[float, dict]:
    """The scheme-2 threshold with the best macro F1 on validation (method notes B-004.4: t in [0.3, 0.6]).
    Returns (threshold, {t: F1})."""
    labels = np.asarray(labels)
    keep = labels >= 0
    k = torch.as_tensor(probs).shape[1]
    scores = {float(t): macro_f1(labels[keep], predict_other_below(probs, other, float(t)).numpy()[keep], k) for t in grid}
    return max(scores, key=scores.get), scores


RULES = ("priority rules", "majority vote", "probability average")


def rule_predictions(probs: list[torch.Tensor], class_names) -> dict[str, torch.Tensor]:
    """The combined prediction of every rule in RULES from the members' softmax outputs (list of (N, C))."""
    preds = [p.argmax(1) for p in probs]
    return {"priority rules": priority_vote(preds, class_names, probs=probs),
            "majority vote": majority_vote(preds, len(class_names), probs),
            "probability average": probability_average(probs)}


def by_seed(runs_by_member: dict) -> dict[int, list]:
    """{seed: [that seed's run of every member, in member order]} for the seeds all members have stored.
    runs_by_member: {member name: [stored runs]} (runs carry config["seed"])."""
    seeds: dict[int, dict] = {}
    for member, runs in runs_by_member.items():
        for r in runs:
            seeds.setdefault(r.config["seed"], {})[member] = r
    return {s: [m[k] for k in runs_by_member] for s, m in sorted(seeds.items()) if len(m) == len(runs_by_member)}


def member_probs(runs) -> list[torch.Tensor]:
    """The softmax of each run's stored test logits."""
    return [torch.softmax(torch.as_tensor(r.predictions()["logits"]).float(), 1) for r in runs]


def best_on_valid(runs):
    """Paper 004's "best sub-classifier", chosen without the test split: the member run with the highest FER+
    Valid macro F1 (its selected epoch's, ``final["best_valid_macro_f1"]``)."""
    return max(runs, key=lambda r: r.final["best_valid_macro_f1"])


def ensemble_scores(members, labels) -> dict[str, dict]:
    """{rule: {"macro_f1", "accuracy"}} of every combination rule (RULES) over one seed's member runs, and
    "best sub-classifier (Valid)": that member's own Test scores. ``labels`` (N,) FER+ Test (-1: no majority
    label, left out)."""
    labels = np.asarray(labels)
    keep = labels >= 0
    k = len(FERPLUS_CLASSES)
    out = {}
    for rule, pred in rule_predictions(member_probs(members), FERPLUS_CLASSES).items():
        p = pred.numpy()
        out[rule] = {"macro_f1": macro_f1(labels[keep], p[keep], k), "accuracy": accuracy(labels[keep], p[keep])}
    best = best_on_valid(members)
    out["best sub-classifier (Valid)"] = {"macro_f1": best.final["macro_f1"], "accuracy": best.final["accuracy"]}
    return out


def rule_overrides(members) -> float:
    """The share of test faces on which the priority rules' class differs from the plain majority vote's: the
    meta-classifier's mechanism signal (0: the rules never acted)."""
    combined = rule_predictions(member_probs(members), FERPLUS_CLASSES)
    return float((combined["priority rules"] != combined["majority vote"]).float().mean())


def member_disagreement(members) -> float:
    """The share of test faces on which the members do not all predict the same class (an ensemble of identical
    members cannot gain anything from combining them)."""
    preds = torch.stack([p.argmax(1) for p in member_probs(members)])
    return float((preds != preds[0]).any(0).float().mean())
