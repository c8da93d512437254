"""Paper 002 (ABAW6): semi-supervised pretraining with debiased feedback, then a temporal phase, as one task.

Spatial phase (§3.3, Eq. 1-6): a teacher and a student ResNet-18. Each step the teacher sees a
class-balanced labelled batch and the weak and strong views of mu x as many unlabelled faces; the student
learns from the teacher's hard pseudo-labels on the strong view (Eq. 1) and takes its step first; its
labelled loss before minus after that step is the feedback coefficient f (Eq. 6) that weights the teacher's
L_f (Eq. 5); the teacher then steps on L_s + L_c + L_f (Eq. 2-4). ``method="supervised"`` trains the
baseline: one network, CE on the labelled faces, the same sampler and schedule.

Temporal phase (§3.4-3.5): the frame network is frozen, its features feed a Transformer temporal encoder
trained on windows of labelled clips; per-frame predictions on the test clips are stored so the chapter can
apply the sliding-window vote for any window. Clips: stand-in clips built from FER+ still faces
(``video="ferplus_clips"``; train clips from the labelled training faces, validation and test clips from
FER+ Valid and Test), or Aff-Wild2's videos (``video="affwild2"``, the paper's data, for a reader who has it).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...data import load_abaw, load_ckplus
from ...labels import labelled_fraction_split, noise_report
from ...losses import supervised_ce
from ...metrics import macro_f1
from ...models import build_model
from ...tasks import task
from ...tasks.common import (FERPlusRecipe, block, data_root_for, final_test_metrics, load_ferplus_splits, outcome,
                             require, training_split)
from ...train import DeviceData, FitData, Method, TrainConfig, evaluate, fit, frame_features, predict, seed_everything
from ...typecheck import check_range
from .clips import standin_clips, video_chunks
from .losses import feedback_coefficient, student_pseudo_label_loss, teacher_loss, teacher_supervised_loss
from .models import TeacherStudent, TemporalEncoder, clip_logits, vote_clips, window_starts


@dataclass(frozen=True)
class ClipSpec:
    """The stand-in clips (``clips.standin_clips``) or Aff-Wild2 chunks (``length`` only)."""
    n_train: int = 200                 # clips built from the labelled training faces
    n_valid: int = 50                  # from FER+ Valid (the window/epoch choices)
    n_test: int = 100                  # from FER+ Test
    length: int = 256                  # frames per clip
    mean_segment: float = 60.0         # mean length of a constant-label segment, frames


@dataclass(frozen=True)
class TemporalSpec:
    """Paper 002 §3.4: the Transformer temporal encoder on windows of frozen frame features."""
    epochs: int = 10
    steps_per_epoch: int = 50
    batch_size: int = 32               # windows per step
    window: int = 64                   # frames per window                                paper: not stated (B-002.8)
    stride: int = 32                   # between windows at evaluation (overlaps averaged)
    train_stride: int = 16             # between the training windows cut from each clip
    lr: float = 1e-4                   # AdamW                                            paper: not stated
    weight_decay: float = 1e-2
    d_model: int = 256
    layers: int = 2
    heads: int = 8
    ff: int = 1024
    dropout: float = 0.1


@dataclass(frozen=True)
class SSLTemporalRecipe(FERPlusRecipe):
    """Paper 002's knobs (Eq. 1-6, §3.4-3.5), the paper's value beside each default."""
    labels: str = "single_annotator"
    method: str = "ssl"                # "ssl" (teacher/student) | "supervised" (the baseline)
    labelled_fraction: float = 0.1     # of each class labelled; the rest is unlabelled   paper: Aff-Wild2's labels
    unlabelled: str = "ferplus"        # "ferplus" | "ferplus+ckplus" ("more data")        paper: Aff-Wild2 + MS1MV2
    feedback: bool = True              # L_f of Eq. 5 (the debiased feedback)              paper: True
    student_lr: float = 1e-2           # the student's SGD lr (the teacher: train.lr)     paper: 1e-3 with ImageNet weights
    label_smoothing: float = 0.0       # on the labelled CE terms (Eq. 3, warm-up, baseline) paper: none
    warmup_fraction: float = 0.0       # share of the epochs both networks first train on   paper: none (ImageNet
                                       # the labelled faces alone (CE), before Eq. 1-6       weights instead)
    video: str = "ferplus_clips"       # "ferplus_clips" (stand-in) | "affwild2" (the paper's data)
    affwild2_root: str | None = None   # the folder holding the ABAW annotations and cropped_aligned/
    clip_seed: int = 0
    clips: ClipSpec = block(ClipSpec, ClipSpec())
    temporal: TemporalSpec = block(TemporalSpec)   # None: no temporal phase
    vote_windows: tuple = (1, 5, 10, 20, 30, 60)   # post-process windows tried on the validation clips

    def check(self, where):
        super().check(where)
        check_range(where, "warmup_fraction", self.warmup_fraction, lo=0, hi=1, hi_open=True)
        check_range(where, "label_smoothing", self.label_smoothing, lo=0, hi=1, hi_open=True)
        for key, allowed in (("method", ("ssl", "supervised")), ("unlabelled", ("ferplus", "ferplus+ckplus")),
                             ("video", ("ferplus_clips", "affwild2"))):
            if getattr(self, key) not in allowed:
                raise ValueError(f"run config {where}: {key}={getattr(self, key)!r}: expected one of {', '.join(allowed)}")


def ferplus_ssl_data(config: SSLTemporalRecipe):
    """The FER+ data of a run: (labelled FaceData (the labelled fraction), valid, test, unlabelled images,
    their hidden majority labels (-1: none, or a CK+ face), NoiseReport)."""
    train, valid, test = load_ferplus_splits(config)
    no_majority = train.subset(train.labels < 0)
    labelled, kept, noise = training_split(train, config)
    keep, rest = labelled_fraction_split(labelled.labels, config.labelled_fraction, seed=config.split_seed)
    pool = [no_majority.images, labelled.images[rest]]
    truth = [no_majority.labels, train.labels[kept[rest]]]   # majority labels: only to measure pseudo-labels
    if config.unlabelled == "ferplus+ckplus":                 # "more data": CK+ faces (MS1MV2's stand-in)
        ck = load_ckplus(data_root_for(config))
        pool.append(ck.images)
        truth.append(np.full(len(ck), -1))
    return labelled.subset(keep), valid, test, np.concatenate(pool), np.concatenate(truth), noise


def _affwild2_data(config: SSLTemporalRecipe):
    """Aff-Wild2 EXPR: labelled train frames, unlabelled = frames labelled -1; the paper's "test" is valid."""
    root = require(config.affwild2_root, "video='affwild2'", "affwild2_root", "the ABAW annotations and cropped_aligned/")
    train, valid = load_abaw("EXPR", "train", root), load_abaw("EXPR", "valid", root)
    unl = train.subset(train.labels < 0)
    lab = train.subset(train.labels >= 0)
    return lab, valid.subset(valid.labels >= 0), valid, unl.images, unl.labels, noise_report(lab.labels, lab.labels, 8)


@torch.no_grad()
def labelled_loss(net, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The student's CE on the labelled batch with eval-mode BatchNorm and no dropout. The "before" and
    "after" of Eq. 6 are both measured this way, after the student's Eq. 1 forward: the same images under
    the same statistics, so an update that changes nothing gives f = 0 exactly (a train-mode forward over
    labelled + unlabelled images would also measure a change of BatchNorm batch composition)."""
    was = net.training
    net.eval()
    loss = F.cross_entropy(net(x).float(), y)
    net.train(was)
    return loss


F_ACTIVE = 1e-3   # |f| above this: the feedback acted on the step (Protocol 2's mechanism signal: the share per epoch)


def warmup_epochs(config: SSLTemporalRecipe) -> int:
    """Epochs of the warm start: both networks train on the labelled faces alone (``warmup_fraction``)."""
    return int(round(config.train.epochs * config.warmup_fraction))


class FeedbackSSL(Method):
    """Paper 002 §3.3's step (Eq. 1-6): the teacher pseudo-labels the strong view for the student (Eq. 1); the
    student steps first; its labelled loss before minus after that step is the feedback f (Eq. 6) weighting
    the teacher's L_f (Eq. 5); then the teacher steps on L_s + L_c + L_f (Eq. 2-4). One optimiser per network
    (the student at ``student_lr``). During the warm start (``warmup_epochs``) both networks take a CE step on
    the labelled batch instead. Per epoch of the feedback phase it records what the teacher told the student:
    the count per class, the accuracy against the pool's hidden labels (``pool_truth``, -1 where unknown) and
    the total variation between the pseudo-labels' class distribution and the true one on the faces whose
    label is known (the bias the paper's debiasing targets)."""

    def __init__(self, config: SSLTemporalRecipe, pool_truth: torch.Tensor):
        super().__init__(num_classes=8)
        self.config, self.pool_truth = config, pool_truth
        self.warmup = warmup_epochs(config)
        device = pool_truth.device
        self.counts = {"pseudo": torch.zeros(8, device=device), "right": torch.zeros((), device=device),
                       "known": torch.zeros((), device=device), "pseudo_known": torch.zeros(8, device=device),
                       "truth_known": torch.zeros(8, device=device)}

    def param_groups(self, model):
        return {"teacher": [{"params": list(model.teacher.parameters())}],
                "student": [{"params": list(model.student.parameters()), "lr": self.config.student_lr}]}

    def step(self, model, batch, epoch, update):
        teacher, student = model.teacher, model.student
        x, y = batch["x"], batch["y"]
        eps = self.config.label_smoothing
        if epoch < self.warmup:                                               # the warm start: labels only
            sup_t = teacher_supervised_loss(teacher(x), y, eps)
            update(sup_t, "teacher")
            sup_s = F.cross_entropy(student(x).float(), y, label_smoothing=eps)
            update(sup_s, "student")
            return sup_t.detach(), {"sup": sup_t.detach(), "student_loss": sup_s.detach()}
        b, u = len(x), len(batch["u_weak"])
        z = teacher(torch.cat([x, batch["u_weak"], batch["u_strong"]]))
        t_l, t_uw, t_us = z[:b], z[b:b + u], z[b + u:]
        l_u = student_pseudo_label_loss(student(batch["u_strong"]), t_uw)       # Eq. 1
        before = labelled_loss(student, x, y)        # after Eq. 1's forward moved the BN running statistics
        update(l_u, "student")                                                # the student steps first
        f = feedback_coefficient(before, labelled_loss(student, x, y))          # Eq. 6
        t = teacher_loss(t_l, y, t_uw, t_us, f, feedback=self.config.feedback, label_smoothing=eps)  # Eq. 2-5
        update(t["total"], "teacher")
        pseudo = t_uw.detach().argmax(1)                                      # what the teacher told the student
        truth = self.pool_truth[batch["u_index"]]
        self.counts["pseudo"] += torch.bincount(pseudo, minlength=8)
        self.counts["right"] += ((pseudo == truth) & (truth >= 0)).sum()
        self.counts["known"] += (truth >= 0).sum()
        known = truth >= 0
        self.counts["pseudo_known"] += torch.bincount(pseudo[known], minlength=8)
        self.counts["truth_known"] += torch.bincount(truth[known], minlength=8)
        return t["total"], {"sup": t["sup"], "cons": t["cons"], "feedback_loss": t["feedback"], "f": f,
                            "f_positive": (f > 0).float(), "f_active": (f.abs() > F_ACTIVE).float(),
                            "student_loss": l_u.detach()}

    def evaluate(self, model, data, cfg):
        s = evaluate(model.student, data, 8, cfg.eval_batch_size, flip_tta=cfg.flip_tta)
        t = evaluate(model.teacher, data, 8, cfg.eval_batch_size, flip_tta=cfg.flip_tta)
        return {**s, "teacher_macro_f1": t["macro_f1"]}

    def on_epoch_end(self, model, epoch, record):
        record["phase"] = "warm-up" if epoch < self.warmup else "feedback"
        if epoch >= self.warmup:
            record["pseudo_label_counts"] = self.counts["pseudo"].tolist()
            record["pseudo_label_accuracy"] = float(self.counts["right"] / self.counts["known"].clamp_min(1))
            record["pseudo_label_tv"] = total_variation(self.counts["pseudo_known"], self.counts["truth_known"])
        for v in self.counts.values():
            v.zero_()


def total_variation(counts_a: torch.Tensor, counts_b: torch.Tensor) -> float:
    """Total variation distance between two class distributions given as counts (K,): 0.5 sum |p - q|, in [0, 1]
    (0: the same distribution)."""
    p, q = counts_a.float(), counts_b.float()
    if p.sum() == 0 or q.sum() == 0:
        return float("nan")
    return float(0.5 * (p / p.sum() - q / q.sum()).abs().sum())


def spatial_phase(config: SSLTemporalRecipe, labelled, valid, pool, pool_truth, cfg: TrainConfig, device,
                  work_dir, progress):
    """Train the frame network. Returns the fit result; its ``.model`` is the frame network (the student, or
    the baseline's only network)."""
    lab = DeviceData.from_record(labelled, device)
    seed_everything(config.seed)
    if config.method == "supervised":
        model = build_model(config.arch, 8, dropout=config.dropout)
        ce = Method(functools.partial(supervised_ce, label_smoothing=config.label_smoothing), num_classes=8)
        return fit(model, (lab, DeviceData.from_record(valid, device)), ce, cfg, ckpt_dir=work_dir, progress=progress)
    model = TeacherStudent(8, config.arch, dropout=config.dropout).to(device)
    unl = DeviceData(torch.as_tensor(pool).to(device), torch.as_tensor(pool_truth, dtype=torch.long).to(device))
    result = fit(model, FitData(lab, DeviceData.from_record(valid, device), unl), FeedbackSSL(config, unl.labels),
                 cfg, ckpt_dir=work_dir, progress=progress)
    result.model = result.model.student
    return result


def _clips(config: SSLTemporalRecipe, labelled, valid, test):
    """{split: (frame indices (n, T) into that split's images, frame labels (n, T))}: Aff-Wild2's videos cut
    into clips, or stand-in clips assembled from the split's still faces."""
    if config.video == "affwild2":
        return {s: video_chunks(r.videos, r.frames, r.labels, config.clips.length)[:2]
                for s, r in (("train", labelled), ("valid", valid), ("test", test))}
    return {s: split_clips(config, r.labels, s) for s, r in (("train", labelled), ("valid", valid), ("test", test))}


def split_clips(config: SSLTemporalRecipe, labels: np.ndarray, split: str):
    """The stand-in clips of one split ("train", "valid" or "test") for a run, built from that split's
    labelled faces only (the chapter rebuilds the test clips with this to score runs without a temporal phase)."""
    c = config.clips
    seed = config.clip_seed + {"train": 0, "valid": 1, "test": 2}[split]
    return standin_clips(labels, getattr(c, f"n_{split}"), c.length, c.mean_segment, seed)


def clip_scores(labels: np.ndarray, logits: np.ndarray) -> float:
    """Per-frame macro F1 over all labelled frames (label >= 0) of all clips: labels (n, T), logits (n, T, K)."""
    y = np.asarray(labels).reshape(-1)
    pred = np.asarray(logits, dtype=np.float32).argmax(-1).reshape(-1)
    return macro_f1(y[y >= 0], pred[y >= 0], 8)


def vote_scores(labels: np.ndarray, logits: np.ndarray, window: int) -> float:
    """Per-frame macro F1 after the post-process (§3.5): each clip's labels voted in windows of ``window``."""
    y = np.asarray(labels).reshape(-1)
    pred = vote_clips(logits, window).reshape(-1)
    return macro_f1(y[y >= 0], pred[y >= 0], 8)


class TemporalWindows(Method):
    """Paper 002 §3.4's temporal phase: per-frame CE over windows of frozen frame features (unlabelled frames
    left out); validation is the clip-level macro F1 of the overlapping windows' averaged logits."""

    def __init__(self, window: int, stride: int):
        super().__init__(num_classes=8)
        self.window, self.stride = window, stride

    def loss(self, z, batch, epoch):
        return F.cross_entropy(z.float().reshape(-1, 8), batch["frame_labels"].reshape(-1), ignore_index=-1)

    def evaluate(self, model, data, cfg):
        z = clip_logits(model, data.images, self.window, self.stride)
        return {"clip_macro_f1": clip_scores(data.extra["frame_labels"].cpu().numpy(), z.cpu().numpy())}


def temporal_phase(config: SSLTemporalRecipe, frame_model, labelled, valid, test, device, work_dir,
                   progress=False) -> dict:
    """Freeze the frame network; train the temporal encoder (through ``fit``, on feature windows cut from
    the training clips) with the epoch chosen on the validation clips' per-frame macro F1; choose the
    post-process window on the validation clips. Returns per-frame logits of the validation and test clips
    (frame network and temporal encoder), the history and the choices."""
    t = config.temporal
    clips = _clips(config, labelled, valid, test)
    feats, logits = {}, {}
    for split, rec in (("train", labelled), ("valid", valid), ("test", test)):
        feats[split], logits[split] = frame_features(frame_model, torch.as_tensor(rec.images).to(device))
    x = {s: feats[s][torch.as_tensor(clips[s][0]).to(device)] for s in clips}             # (n, T, D)
    y = {s: torch.as_tensor(clips[s][1]).to(device) for s in clips}
    length = y["train"].shape[1]
    w = min(t.window, length)
    starts = window_starts(length, w, t.train_stride)
    windows = torch.cat([x["train"][:, s:s + w] for s in starts])                         # (n * S, w, D)
    window_labels = torch.cat([y["train"][:, s:s + w] for s in starts])                   # (n * S, w)
    train = DeviceData(windows, torch.zeros(len(windows), dtype=torch.long, device=device),
                       {"frame_labels": window_labels})
    valid_clips = DeviceData(x["valid"], torch.zeros(len(x["valid"]), dtype=torch.long, device=device),
                             {"frame_labels": y["valid"]})
    cfg = TrainConfig(epochs=t.epochs, steps_per_epoch=t.steps_per_epoch, batch_size=t.batch_size, lr=t.lr,
                      weight_decay=t.weight_decay, optimizer="adamw", schedule="none", views=(),
                      select="clip_macro_f1", seed=config.seed + 30_000, device=str(device))
    seed_everything(config.seed + 30_000)
    enc = TemporalEncoder(x["train"].shape[-1], 8, t.d_model, t.layers, t.heads, t.ff, t.dropout, t.window)

    result = fit(enc, (train, valid_clips), TemporalWindows(w, t.stride), cfg, ckpt_dir=Path(work_dir) / "temporal",
                 progress=progress)
    out = {"history": result.history, "best_epoch": result.best_epoch}
    for s in ("valid", "test"):
        idx = torch.as_tensor(clips[s][0]).to(device)
        out[f"{s}_clip_index"] = clips[s][0].astype(np.int32)
        out[f"{s}_clip_labels"] = clips[s][1].astype(np.int8)
        out[f"{s}_clip_frame_logits"] = logits[s][idx].cpu().numpy().astype(np.float16)
        out[f"{s}_clip_temporal_logits"] = clip_logits(result.model, x[s], w, t.stride).cpu().numpy().astype(np.float16)
    out["vote_valid"] = {int(v): vote_scores(out["valid_clip_labels"], out["valid_clip_temporal_logits"], v)
                         for v in config.vote_windows}
    out["vote_window"] = max(out["vote_valid"], key=out["vote_valid"].get)
    return out


@task("ssl_temporal", SSLTemporalRecipe)
def ssl_temporal(config: SSLTemporalRecipe, work_dir, progress: bool = True) -> dict:
    """Paper 002: the spatial phase (teacher/student, or the supervised baseline), then, with a ``temporal``
    block, the temporal phase and the post-process with its window chosen on the validation clips."""
    if config.video == "affwild2":
        labelled, valid, test, pool, truth, noise = _affwild2_data(config)
    else:
        labelled, valid, test, pool, truth, noise = ferplus_ssl_data(config)
    cfg = config.train
    device = cfg.resolved_device()
    result = spatial_phase(config, labelled, valid, pool, truth, cfg, device, work_dir, progress)
    logits = predict(result.model, torch.as_tensor(test.images).to(device), cfg.eval_batch_size, flip_tta=cfg.flip_tta)
    final = final_test_metrics(test.labels, logits)
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels, "names": test.names}
    temporal_history = None
    if config.temporal is not None:
        t = temporal_phase(config, result.model, labelled, valid, test, device, work_dir, progress)
        temporal_history = t.pop("history")
        final["clip_frame_macro_f1"] = clip_scores(t["test_clip_labels"], t["test_clip_frame_logits"])
        final["clip_temporal_macro_f1"] = clip_scores(t["test_clip_labels"], t["test_clip_temporal_logits"])
        final["temporal_best_epoch"] = t.pop("best_epoch")
        final["vote_window"] = t.pop("vote_window")                  # chosen on the validation clips
        final["vote_valid_macro_f1"] = {str(k): v for k, v in t.pop("vote_valid").items()}
        final["clip_vote_macro_f1"] = vote_scores(t["test_clip_labels"], t["test_clip_temporal_logits"],
                                                  final["vote_window"])
        predictions.update(t)
    out = outcome(final, result, predictions, labelled, valid, test, noise)
    out["data"]["n_unlabelled"] = int(len(pool))
    if temporal_history is not None:
        out["temporal_history"] = temporal_history
    return out
