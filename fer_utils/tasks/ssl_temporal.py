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

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from ..data import load_abaw, load_ckplus
from ..labels import labelled_fraction_split, noise_report
from ..losses import feedback_coefficient, student_pseudo_label_loss, supervised_ce, teacher_loss
from ..metrics import macro_f1
from ..models import TeacherStudent, build_model
from ..temporal import TemporalEncoder, clip_logits, standin_clips, video_chunks
from ..train import DeviceData, TrainConfig, evaluate, fit, predict, seed_everything
from . import task
from .common import data_root_for, final_test_metrics, load_ferplus_splits, outcome, training_split


def ferplus_ssl_data(config):
    """The FER+ data of a run: (labelled FaceData (the labelled fraction), valid, test, unlabelled images,
    their hidden majority labels (-1: none, or a CK+ face), NoiseReport)."""
    train, valid, test = load_ferplus_splits(config)
    no_majority = train.subset(train.labels < 0)
    labelled, kept, noise = training_split(train, config)
    keep, rest = labelled_fraction_split(labelled.labels, config.get("labelled_fraction", 0.1),
                                         seed=config.get("split_seed", 0))
    pool = [no_majority.images, labelled.images[rest]]
    truth = [no_majority.labels, train.labels[kept[rest]]]   # majority labels: only to measure pseudo-labels
    if "ckplus" in config.get("unlabelled", "ferplus"):       # "more data": CK+ faces (MS1MV2's stand-in)
        ck = load_ckplus(data_root_for(config))
        pool.append(ck.images)
        truth.append(np.full(len(ck), -1))
    return labelled.subset(keep), valid, test, np.concatenate(pool), np.concatenate(truth), noise


def _affwild2_data(config):
    """Aff-Wild2 EXPR: labelled train frames, unlabelled = frames labelled -1; the paper's "test" is valid."""
    root = config.get("affwild2_root")
    if not root:
        raise ValueError("video='affwild2' needs config affwild2_root: the folder holding the ABAW annotations "
                         "and cropped_aligned/")
    train, valid = load_abaw("EXPR", "train", root), load_abaw("EXPR", "valid", root)
    unl = train.subset(train.labels < 0)
    lab = train.subset(train.labels >= 0)
    return lab, valid.subset(valid.labels >= 0), valid, unl.images, unl.labels, noise_report(lab.labels, lab.labels, 8)


def spatial_phase(config, labelled, valid, pool, pool_truth, cfg, device, work_dir, progress):
    """Train the frame network. Returns the fit result; its ``.model`` is the frame network (the student, or
    the baseline's only network)."""
    lab = DeviceData.from_record(labelled, device)
    seed_everything(config["seed"])
    if config.get("method", "ssl") == "supervised":
        model = build_model(config.get("arch", "resnet18"), 8, dropout=config.get("dropout", 0.0))
        result = fit(model, lab, DeviceData.from_record(valid, device), supervised_ce, cfg, num_classes=8,
                     ckpt_dir=work_dir, progress=progress)
        return result
    steps = cfg.steps_per_epoch or max(1, len(labelled) // cfg.batch_size)
    model = TeacherStudent(8, config.get("arch", "resnet18"), dropout=config.get("dropout", 0.0),
                           student_lr=config.get("student_lr", 1e-3), weight_decay=cfg.weight_decay,
                           total_steps=steps * cfg.epochs).to(device)
    unl = DeviceData(torch.as_tensor(pool).to(device), torch.as_tensor(pool_truth, dtype=torch.long).to(device))
    feedback = config.get("feedback", True)
    teacher, student = model.teacher, model.student
    if cfg.compile and device.type == "cuda":
        teacher, student = torch.compile(model.teacher), torch.compile(model.student)
    counts = {"pseudo": torch.zeros(8, device=device), "right": torch.zeros((), device=device),
              "known": torch.zeros((), device=device)}

    def forward_fn(m, batch):
        b, u = len(batch["x"]), len(batch["u_weak"])
        z = teacher(torch.cat([batch["x"], batch["u_weak"], batch["u_strong"]]))
        t_l, t_uw, t_us = z[:b], z[b:b + u], z[b + u:]
        s = student(torch.cat([batch["x"], batch["u_strong"]]))          # Eq. 1, then the student's step
        before = F.cross_entropy(s[:b].float(), batch["y"]).detach()
        l_u = student_pseudo_label_loss(s[b:], t_uw)
        m.student_step(l_u)
        with torch.no_grad():
            after = F.cross_entropy(student(batch["x"]).float(), batch["y"])
        pseudo = t_uw.detach().argmax(1)                                  # what the teacher told the student
        truth = unl.labels[batch["u_index"]]
        counts["pseudo"] += torch.bincount(pseudo, minlength=8)
        counts["right"] += ((pseudo == truth) & (truth >= 0)).sum()
        counts["known"] += (truth >= 0).sum()
        return {"t_l": t_l, "t_uw": t_uw, "t_us": t_us, "f": feedback_coefficient(before, after), "l_u": l_u.detach()}

    def loss_fn(out, batch, epoch):                                       # Eq. 2-5
        t = teacher_loss(out["t_l"], batch["y"], out["t_uw"], out["t_us"], out["f"], feedback=feedback)
        return t["total"], {"sup": t["sup"], "cons": t["cons"], "feedback_loss": t["feedback"], "f": out["f"],
                            "f_positive": (out["f"] > 0).float(), "student_loss": out["l_u"]}

    def evaluate_fn(m, data):
        s = evaluate(m.student, data, 8, cfg.eval_batch_size)
        t = evaluate(m.teacher, data, 8, cfg.eval_batch_size)
        return {**s, "teacher_macro_f1": t["macro_f1"]}

    def on_epoch_end(m, epoch, record):
        record["pseudo_label_counts"] = counts["pseudo"].tolist()
        record["pseudo_label_accuracy"] = float(counts["right"] / counts["known"].clamp_min(1))
        for v in counts.values():
            v.zero_()

    result = fit(model, lab, DeviceData.from_record(valid, device), loss_fn, dataclasses.replace(cfg, compile=False),
                 num_classes=8, forward_fn=forward_fn, evaluate_fn=evaluate_fn, unlabelled=unl,
                 param_groups=[{"params": list(model.teacher.parameters())}], on_epoch_end=on_epoch_end,
                 ckpt_dir=work_dir, progress=progress)
    result.model = result.model.student
    return result


def frame_features(model, images: torch.Tensor, batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (N, D), logits (N, K)) of the frozen frame network, through ``predict`` (eval mode, no
    augmentation)."""
    k = model.fc.out_features
    both = predict(model, images, batch_size, forward=lambda m, x: torch.cat(m(x, return_features=True)[:2], 1))
    return both[:, k:], both[:, :k]


def _clips(config, labelled, valid, test):
    """{split: (frame indices (n, T) into that split's images, frame labels (n, T))}: Aff-Wild2's videos cut
    into clips, or stand-in clips assembled from the split's still faces."""
    c = config["clips"]
    if config.get("video", "ferplus_clips") == "affwild2":
        return {s: video_chunks(r.videos, r.frames, r.labels, c["length"])[:2]
                for s, r in (("train", labelled), ("valid", valid), ("test", test))}
    return {s: split_clips(config, r.labels, s) for s, r in (("train", labelled), ("valid", valid), ("test", test))}


def split_clips(config: dict, labels: np.ndarray, split: str):
    """The stand-in clips of one split ("train", "valid" or "test") for a run config, built from that split's
    labelled faces only (the chapter rebuilds the test clips with this to score runs without a temporal phase)."""
    c = config["clips"]
    seed = config.get("clip_seed", 0) + {"train": 0, "valid": 1, "test": 2}[split]
    return standin_clips(labels, c[f"n_{split}"], c["length"], c["mean_segment"], seed)


def temporal_phase(config, frame_model, labelled, valid, test, device, progress=False) -> dict:
    """Freeze the frame network, train the temporal encoder on windows of the training clips, select the
    epoch on the validation clips' per-frame macro F1; return per-frame logits of the validation and test
    clips (frame network and temporal encoder) and the history."""
    t = config["temporal"]
    clips = _clips(config, labelled, valid, test)
    feats, logits = {}, {}
    for split, rec in (("train", labelled), ("valid", valid), ("test", test)):
        feats[split], logits[split] = frame_features(frame_model, torch.as_tensor(rec.images).to(device))
    x = {s: feats[s][torch.as_tensor(clips[s][0]).to(device)] for s in clips}             # (n, T, D)
    y = {s: torch.as_tensor(clips[s][1]).to(device) for s in clips}
    seed_everything(config["seed"] + 30_000)
    enc = TemporalEncoder(x["train"].shape[-1], 8, t.get("d_model", 256), t.get("layers", 2), t.get("heads", 8),
                          t.get("ff", 1024), t.get("dropout", 0.1), t.get("window", 64)).to(device)
    opt = torch.optim.AdamW(enc.parameters(), lr=t.get("lr", 1e-4), weight_decay=t.get("weight_decay", 1e-2))
    gen = torch.Generator(device=device).manual_seed(config["seed"])
    n, length = y["train"].shape
    w = min(t.get("window", 64), length)
    history, best = [], (-1.0, None, -1)
    for epoch in range(t["epochs"]):
        enc.train()
        total = torch.zeros((), device=device)
        for _ in range(t["steps_per_epoch"]):
            clip = torch.randint(0, n, (t["batch_size"],), device=device, generator=gen)
            start = torch.randint(0, length - w + 1, (t["batch_size"],), device=device, generator=gen)
            frames = start[:, None] + torch.arange(w, device=device)
            z = enc(x["train"][clip[:, None], frames])
            loss = F.cross_entropy(z.reshape(-1, 8), y["train"][clip[:, None], frames].reshape(-1), ignore_index=-1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach()
        zv = clip_logits(enc, x["valid"], w, t.get("stride", 32))
        f1 = clip_scores(y["valid"].cpu().numpy(), zv.cpu().numpy())
        history.append({"epoch": epoch, "train_loss": total.item() / t["steps_per_epoch"], "valid_clip_macro_f1": f1})
        if f1 > best[0]:
            best = (f1, {k: v.clone() for k, v in enc.state_dict().items()}, epoch)
    enc.load_state_dict(best[1])
    out = {"history": history, "best_epoch": best[2]}
    for s in ("valid", "test"):
        idx = torch.as_tensor(clips[s][0]).to(device)
        out[f"{s}_clip_index"] = clips[s][0].astype(np.int32)
        out[f"{s}_clip_labels"] = clips[s][1].astype(np.int8)
        out[f"{s}_clip_frame_logits"] = logits[s][idx].cpu().numpy().astype(np.float16)
        out[f"{s}_clip_temporal_logits"] = clip_logits(enc, x[s], w, t.get("stride", 32)).cpu().numpy().astype(np.float16)
    return out


def clip_scores(labels: np.ndarray, logits: np.ndarray) -> float:
    """Per-frame macro F1 over all labelled frames (label >= 0) of all clips: labels (n, T), logits (n, T, K)."""
    y = np.asarray(labels).reshape(-1)
    pred = np.asarray(logits, dtype=np.float32).argmax(-1).reshape(-1)
    return macro_f1(y[y >= 0], pred[y >= 0], 8)


@task("ssl_temporal")
def ssl_temporal(config: dict, work_dir, progress: bool = True) -> dict:
    """Paper 002. config: method ("ssl" | "supervised"), labelled_fraction, labels, unlabelled ("ferplus" or
    "ferplus+ckplus"), feedback (Eq. 5 on/off), student_lr, train (teacher: sampler "balanced", mu, lr, ...),
    video ("ferplus_clips" | "affwild2"), clips {n_train, n_valid, n_test, length, mean_segment}, temporal
    ({epochs, steps_per_epoch, batch_size, window, stride, lr} or absent for no temporal phase)."""
    video = config.get("video", "ferplus_clips")
    if video == "affwild2":
        labelled, valid, test, pool, truth, noise = _affwild2_data(config)
    elif video == "ferplus_clips":
        labelled, valid, test, pool, truth, noise = ferplus_ssl_data(config)
    else:
        raise ValueError(f"video={video!r}: expected 'ferplus_clips' or 'affwild2'")
    cfg = TrainConfig(**config["train"], seed=config["seed"])
    device = cfg.resolved_device()
    result = spatial_phase(config, labelled, valid, pool, truth, cfg, device, work_dir, progress)
    logits = predict(result.model, torch.as_tensor(test.images).to(device), cfg.eval_batch_size)
    final = final_test_metrics(test.labels, logits)
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels, "names": test.names}
    temporal_history = None
    if config.get("temporal"):
        t = temporal_phase(config, result.model, labelled, valid, test, device, progress)
        temporal_history = t.pop("history")
        final["clip_frame_macro_f1"] = clip_scores(t["test_clip_labels"], t["test_clip_frame_logits"])
        final["clip_temporal_macro_f1"] = clip_scores(t["test_clip_labels"], t["test_clip_temporal_logits"])
        final["temporal_best_epoch"] = t.pop("best_epoch")
        predictions.update(t)
    out = outcome(final, result, predictions, labelled, valid, test, noise)
    out["data"]["n_unlabelled"] = int(len(pool))
    if temporal_history is not None:
        out["temporal_history"] = temporal_history
    return out
