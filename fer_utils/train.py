"""The one training engine every notebook uses.

The data lives on the device as uint8 (``DeviceData``); each step gathers a batch of indices, builds the
augmented views on the device and runs the ``Method``'s step: ``method.forward(model, batch)``,
``method.loss(outputs, batch, epoch)`` and an optimiser update (or the method's own ``step`` with several
updates, e.g. teacher/student). Feature-level models (heads on frozen features, temporal encoders on clips of
features) train through the same loop with ``views=()``. A paper's method is a small ``Method`` subclass in
its paper folder (``fer_utils/papers/<paper>/task.py``) that overrides what makes it the method; a plain
loss needs none::

    result = fit(model, (train, valid), supervised_ce, TrainConfig(epochs=30), ckpt_dir="runs/x")

On CUDA, and on CPUs with native bf16 (AVX512-BF16 or AMX, see ``fast_precision``): bf16 autocast; elsewhere
fp32 (the run's provenance says which). Images are channels_last on every CPU (``use_channels_last``: faster
convolutions in fp32 too) and wherever bf16 runs. ``torch.compile`` is optional (on CPU it
was slower than eager for the book's models, so the cpu recipes leave it off). Every epoch is a
function of (state at its start, seed, epoch): the batch order, the augmentation and dropout are drawn
from generators seeded by (seed, epoch). With a checkpoint written atomically after each epoch, a run
killed at any point and restarted gives exactly the uninterrupted result (tested on CPU).
Model selection uses the validation split only; the test split is never seen during training.
"""
from __future__ import annotations

import dataclasses
import os
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from . import augment as A
from .data.sampling import class_balanced_batches, plain_batches
from .metrics import accuracy, macro_f1
from .provenance import cpu_has_bf16
from .schedules import SCHEDULES, lr_factor
from .typecheck import check_choice, check_range, check_types


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_size: int = 128
    lr: float = 5e-4
    weight_decay: float = 1e-4
    optimizer: str = "adam"            # "adam" | "adamw" | "sgd" (momentum, Nesterov)
    momentum: float = 0.9
    schedule: str = "cosine"           # "cosine" (per step) | "exp" (lr_gamma per epoch) | "none"
    lr_gamma: float = 0.95
    sampler: str = "plain"             # "plain" (shuffled, drop-last) | "balanced" (equal per class)
    steps_per_epoch: int | None = None  # None: one pass over the training data
    views: tuple[str, ...] = ("weak",)  # views each batch carries: "plain", "weak", "strong", "flipped_strong";
                                        # () = the data are not images (features, clips): batch["x"] is the raw rows
    strong_ops: int = 2                 # RandAugment ops of the strong view
    erasing: bool = False               # random erasing on the weak and strong views
    jitter: float = 0.0                 # colour jitter strength on the weak and strong views (p = 0.5)
    mu: int = 7                         # unlabelled images per labelled image (when fit gets unlabelled data)
    select: str = "macro_f1"            # the validation score whose best epoch is kept (higher is better)
    eval_batch_size: int = 1024
    flip_tta: bool = False              # evaluation averages the logits of each face and its mirror image
    compile: bool = False
    amp: bool = True                    # bf16 autocast where fast_precision allows
    seed: int = 0
    device: str = "auto"                # "auto" = cuda if available, else cpu

    def __post_init__(self):
        """Types and ranges, checked when the block is built (run configs build it before any data is read)."""
        if isinstance(self.views, list):
            self.views = tuple(self.views)
        where = "TrainConfig"
        check_types(self, where)
        for name in ("epochs", "batch_size", "eval_batch_size", "mu"):
            check_range(where, name, getattr(self, name), lo=1)
        check_range(where, "steps_per_epoch", self.steps_per_epoch, lo=1)
        check_range(where, "lr", self.lr, lo=0, lo_open=True)
        check_range(where, "weight_decay", self.weight_decay, lo=0)
        check_range(where, "momentum", self.momentum, lo=0, hi=1, hi_open=True)
        check_range(where, "lr_gamma", self.lr_gamma, lo=0, hi=1, lo_open=True)
        check_range(where, "strong_ops", self.strong_ops, lo=0)
        check_range(where, "jitter", self.jitter, lo=0, hi=1)
        check_choice(where, "optimizer", self.optimizer, ("adam", "adamw", "sgd"))
        check_choice(where, "schedule", self.schedule, SCHEDULES)
        check_choice(where, "sampler", self.sampler, ("plain", "balanced"))
        for view in self.views:
            check_choice(where, "views", view, VIEWS)

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


@dataclass
class DeviceData:
    """A split held on the device: images (N, H, W) uint8, labels (N,) int64 (-1 = unlabelled), and any
    per-sample tensors in ``extra`` (e.g. votes, sample weights); batches carry them under their names."""
    images: torch.Tensor
    labels: torch.Tensor
    extra: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record, device, labels=None, **extra) -> "DeviceData":
        device = torch.device(device)
        y = record.labels if labels is None else labels
        return cls(torch.as_tensor(record.images).to(device), torch.as_tensor(np.asarray(y), dtype=torch.long).to(device),
                   {k: torch.as_tensor(np.asarray(v)).to(device) for k, v in extra.items()})

    def __len__(self) -> int:
        return len(self.images)


@dataclass
class FitResult:
    model: torch.nn.Module          # with the best validation weights loaded
    history: list[dict]             # one dict per epoch
    best_epoch: int
    best_score: float
    train_seconds: float
    images_per_s: float


def use_channels_last(device: torch.device, amp: bool = True) -> bool:
    """channels_last (NHWC) images and weights: on every CPU (oneDNN's convolutions are faster in NHWC, fp32
    included: 544 -> 708 img/s for the cpu backbone's training step on a 2-core AVX-512 CPU without bf16) and
    wherever bf16 autocast runs."""
    device = torch.device(device)
    return device.type == "cpu" or fast_precision(device, amp) == "bf16"


def fast_precision(device: torch.device, amp: bool = True) -> str:
    """"bf16" (autocast + channels_last) on CUDA and on bf16-capable CPUs when ``amp``, else "fp32"."""
    device = torch.device(device)
    if not amp:
        return "fp32"
    if device.type == "cuda" or (device.type == "cpu" and cpu_has_bf16()):
        return "bf16"
    return "fp32"


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (model initialisation uses torch's)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _epoch_generator(device: torch.device, seed: int, epoch: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + epoch)


VIEWS = ("plain", "weak", "strong", "flipped_strong")


def _views(raw: torch.Tensor, views, cfg: TrainConfig, gen: torch.Generator, channels_last: bool,
           prefix: str = "") -> dict:
    """The requested views of a batch of [0, 1] images, normalised.

    plain: no augmentation; weak: crop + flip; strong: weak + RandAugment + Cutout;
    flipped_strong: the *same* weak image with photometric RandAugment ops, flipped horizontally (pixel-
    aligned with the weak view up to the flip, for attention-map consistency, method notes B-000.10).
    """
    out, weak = {}, None
    for view in views:
        if view == "plain":
            x = raw
        elif view in ("weak", "flipped_strong"):
            weak = A.weak(raw, gen) if weak is None else weak
            x = weak if view == "weak" else A.rand_augment(weak, gen, cfg.strong_ops, A.PHOTOMETRIC_OPS).flip(-1)
        elif view == "strong":
            x = A.strong(raw, gen, cfg.strong_ops)
        else:
            raise ValueError(f"views: unknown view {view!r} (expected one of {', '.join(VIEWS)})")
        if cfg.jitter and view != "plain":
            x = A.color_jitter(x, gen, cfg.jitter, cfg.jitter, p=0.5)
        if cfg.erasing and view != "plain":
            x = A.random_erasing(x, gen)
        x = A.normalize(x)
        out[prefix + view] = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    return out


def make_batch(data: DeviceData, idx: torch.Tensor, cfg: TrainConfig, gen: torch.Generator,
               channels_last: bool = False, unlabelled: DeviceData | None = None,
               u_idx: torch.Tensor | None = None) -> dict:
    """The batch dict: index, y, extra per-sample tensors, and the requested normalised views
    (``x`` is the first of ``cfg.views``); with unlabelled data also ``u_index``, ``u_weak`` and
    ``u_strong`` (FixMatch-style weak and strong views of mu * B unlabelled images)."""
    batch = {"index": idx, "y": data.labels[idx], **{k: v[idx] for k, v in data.extra.items()}}
    if not cfg.views:  # not images: the rows themselves (features, clips of features)
        batch["x"] = data.images[idx]
        return batch
    batch.update(_views(A.to_float(data.images[idx]), cfg.views, cfg, gen, channels_last))
    batch["x"] = batch[cfg.views[0]]
    if unlabelled is not None:
        batch["u_index"] = u_idx
        batch.update(_views(A.to_float(unlabelled.images[u_idx]), ("weak", "strong"), cfg, gen, channels_last,
                            prefix="u_"))
    return batch


@torch.inference_mode()
def predict(model, images: torch.Tensor, batch_size: int = 1024, amp: bool = True,
            forward: Callable | None = None, flip_tta: bool = False) -> torch.Tensor:
    """Logits (N, C) float32 for uint8 images (N, H, W) on the model's device, in eval mode, no augmentation,
    in batches of ``batch_size`` under inference_mode (bf16 where ``fast_precision`` allows).
    ``forward(model, x)`` may pick the logits out of a model with several outputs. ``flip_tta``: the mean of
    the logits of each face and of its horizontal mirror (flip test-time augmentation)."""
    was_training = model.training
    model.eval()
    device = images.device
    use_amp = fast_precision(device, amp) == "bf16"
    nhwc = use_channels_last(device, amp)
    out = []
    for start in range(0, len(images), batch_size):
        x = A.normalize(A.to_float(images[start:start + batch_size]))
        if nhwc:
            x = x.contiguous(memory_format=torch.channels_last)
        views = (x, x.flip(-1)) if flip_tta else (x,)
        total = 0
        for v in views:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = forward(model, v) if forward else model(v)
            if isinstance(logits, (tuple, list)):
                logits = logits[0]
            total = total + logits.float()
        out.append(total / len(views))
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0)


def frame_features(model, images: torch.Tensor, batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (N, D), logits (N, K)) of a frozen FERNet on uint8 images, through ``predict`` (eval mode, no
    augmentation): the inputs of the heads, temporal encoders and AU models trained on features."""
    k = model.fc.out_features
    both = predict(model, images, batch_size, forward=lambda m, x: torch.cat(m(x, return_features=True)[:2], 1))
    return both[:, k:], both[:, :k]


def evaluate(model, data: DeviceData, num_classes: int, batch_size: int = 1024, forward=None,
             flip_tta: bool = False) -> dict:
    """Macro F1 and accuracy on the labelled samples of ``data`` (model selection uses the valid split)."""
    logits = predict(model, data.images, batch_size, forward=forward, flip_tta=flip_tta)
    y = data.labels.cpu().numpy()
    pred = logits.argmax(1).cpu().numpy()
    keep = y >= 0
    return {"macro_f1": macro_f1(y[keep], pred[keep], num_classes), "accuracy": accuracy(y[keep], pred[keep])}


def _save_atomic(obj, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _read_checkpoint(path: Path, device) -> dict | None:
    """A checkpoint written by ``fit`` (loaded with weights_only=True: tensors, numbers, strings and
    containers only), or None with a warning naming the file when it cannot be read (truncated, from another
    version, not a checkpoint): the run then restarts from scratch and the file is moved aside."""
    try:
        saved = torch.load(path, map_location=device, weights_only=True)
        if not isinstance(saved, dict) or not {"model", "optimizers", "history", "best", "epoch"} <= set(saved):
            raise ValueError("not a checkpoint written by fer_utils.train.fit")
    except Exception as e:  # noqa: BLE001 - any unreadable file means: train from scratch, and say so
        aside = path.with_name(path.name + ".unreadable")
        os.replace(path, aside)
        warnings.warn(f"checkpoint {path} cannot be read ({type(e).__name__}: {str(e)[:200]}); the run restarts "
                      f"from scratch (the file is kept as {aside.name})", stacklevel=3)
        return None
    return saved


def _optimizer(groups: list[dict], cfg: TrainConfig) -> torch.optim.Optimizer:
    for g in groups:
        g.setdefault("lr", cfg.lr)
        g["base_lr"] = g["lr"]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer={cfg.optimizer!r}: expected 'adam', 'adamw' or 'sgd'")


@dataclass
class FitData:
    """What ``fit`` trains and selects on: the training split, the validation split (None: keep the last
    epoch) and an optional unlabelled pool (every batch then carries ``cfg.mu * batch_size`` of its images
    as ``u_weak`` / ``u_strong`` views)."""
    train: DeviceData
    valid: DeviceData | None = None
    unlabelled: DeviceData | None = None


class Method:
    """What ``fit`` runs at each step and epoch, over plain defaults (USB's ``train_step``, d2l's
    ``training_step``). The default is one network trained with ``loss(outputs, batch, epoch)`` -> loss or
    (loss, {term: value}); a paper's method subclasses it and overrides only what makes it the method:

    * ``forward(model, batch)``                the outputs its loss reads (default ``model(batch["x"])``)
    * ``loss(outputs, batch, epoch)``          its training loss (default: the ``loss`` given)
    * ``step(model, batch, epoch, update)``    a step with several updates (teacher then student) calls
                                               ``update(loss, name)`` per optimiser and returns (loss, terms)
    * ``param_groups(model)``                  optimiser groups; a dict {name: groups} makes one optimiser each
    * ``batches(epoch, steps, gen, train, cfg)`` the (steps, batch) indices of an epoch (default: ``cfg.sampler``)
    * ``on_epoch_start(model, epoch, history)`` runs before each epoch, also after a resume (state kept between
                                               epochs, such as thresholds, is rebuilt there from ``history``)
    * ``on_epoch_end(model, epoch, record)``   may add entries to the epoch's history record
    * ``evaluate(model, valid, cfg)``          validation scores holding ``cfg.select`` (default macro F1, acc.)
    * ``state()``                              {name: tensor} the method updates between epochs (targets,
                                               weights, masks): checkpointed, restored in place on resume
    * ``after_step(epoch, step)``              after every optimiser step (the crash-and-resume test uses it)

    A method's own state (thresholds, weights, the active set) lives in its attributes, so a test can build
    the method alone and inspect them.
    """

    def __init__(self, loss: Callable | None = None, num_classes: int | None = None):
        self.loss_fn = loss
        self.num_classes = num_classes

    def forward(self, model, batch: dict):
        return model(batch["x"])

    def loss(self, outputs, batch: dict, epoch: int):
        if self.loss_fn is None:
            raise NotImplementedError(f"{type(self).__name__}: give a loss or override loss() or step()")
        return self.loss_fn(outputs, batch, epoch)

    def step(self, model, batch: dict, epoch: int, update: Callable):
        out = self.loss(self.forward(model, batch), batch, epoch)
        loss, terms = out if isinstance(out, tuple) else (out, {})
        update(loss)
        return loss, terms

    def after_step(self, epoch: int, step: int) -> None:
        pass

    def param_groups(self, model) -> list[dict] | dict[str, list[dict]]:
        return [{"params": [p for p in model.parameters() if p.requires_grad]}]

    def batches(self, epoch: int, steps: int, gen: torch.Generator, train: DeviceData, cfg: TrainConfig):
        if cfg.sampler == "balanced":
            return class_balanced_batches(train.labels, cfg.batch_size, steps, gen)
        if cfg.sampler == "plain":
            return plain_batches(len(train), cfg.batch_size, steps, gen)
        raise ValueError(f"sampler={cfg.sampler!r}: expected 'plain' or 'balanced'")

    def on_epoch_start(self, model, epoch: int, history: list[dict]) -> None:
        pass

    def on_epoch_end(self, model, epoch: int, record: dict) -> None:
        pass

    def evaluate(self, model, valid: DeviceData, cfg: TrainConfig) -> dict:
        return evaluate(model, valid, self.num_classes, cfg.eval_batch_size, flip_tta=cfg.flip_tta)

    def state(self) -> dict[str, torch.Tensor]:
        return {}


def fit(model: torch.nn.Module, data: FitData | tuple, method: Method | Callable, cfg: TrainConfig,
        ckpt_dir=None, progress: bool = True) -> FitResult:
    """Train ``model`` with ``method`` and keep the epoch with the best validation score ``cfg.select``::

        result = fit(model, FitData(train, valid), Method(supervised_ce), TrainConfig(epochs=30), ckpt_dir="runs/x")

    data: a FitData, or (train, valid) (valid None: no selection, the last epoch is kept). method: a Method,
    or a plain loss function (``Method(loss)``). Images (uint8 (N, H, W)) get the augmented views of
    ``cfg.views``; with ``views=()`` the rows of ``train.images`` (features, clips) are the batch's ``x`` as
    they are. ckpt_dir: where ``last.pt`` is written after every epoch and resumed from (an unreadable one
    restarts the run, with a warning). Returns a FitResult.
    """
    data = data if isinstance(data, FitData) else FitData(*data)
    method = method if isinstance(method, Method) else Method(method)
    train, valid, unlabelled = data.train, data.valid, data.unlabelled
    device = cfg.resolved_device()
    cuda = device.type == "cuda"
    images = bool(cfg.views)
    bf16 = images and fast_precision(device, cfg.amp) == "bf16"
    nhwc = images and use_channels_last(device, cfg.amp)
    model.to(device)
    if nhwc:
        model.to(memory_format=torch.channels_last)
    if method.num_classes is None:                     # as many classes as the training labels show
        method.num_classes = int(train.labels.max()) + 1
    param_groups = method.param_groups(model)
    if not isinstance(param_groups, dict):
        param_groups = {"main": param_groups}
    opts = {name: _optimizer(groups, cfg) for name, groups in param_groups.items()}
    first = next(iter(opts))

    def update(loss: torch.Tensor, name: str | None = None) -> None:
        opt = opts[name or first]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step_model = torch.compile(model) if cfg.compile else model
    labelled = int((train.labels >= 0).sum()) if cfg.sampler == "balanced" else len(train)
    steps = cfg.steps_per_epoch or max(1, labelled // cfg.batch_size)
    total_steps = steps * cfg.epochs
    state = method.state()

    history: list[dict] = []
    best = {"score": -float("inf"), "epoch": -1, "state": None}
    start_epoch, train_seconds, images_seen = 0, 0.0, 0
    ckpt = Path(ckpt_dir) / "last.pt" if ckpt_dir else None
    saved = _read_checkpoint(ckpt, device) if ckpt is not None and ckpt.is_file() else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        for name, opt in opts.items():
            opt.load_state_dict(saved["optimizers"][name])
        history, best = saved["history"], saved["best"]
        start_epoch, train_seconds, images_seen = saved["epoch"] + 1, saved["train_seconds"], saved["images_seen"]
        for k, v in state.items():
            v.copy_(saved["state"][k])
    if ckpt is not None:
        ckpt.parent.mkdir(parents=True, exist_ok=True)

    bar = tqdm(range(start_epoch, cfg.epochs), desc="epochs", disable=not progress, initial=start_epoch,
               total=cfg.epochs)
    for epoch in bar:
        torch.manual_seed(cfg.seed * 1_000_003 + epoch)  # dropout and any other global draws
        gen = _epoch_generator(device, cfg.seed, epoch)
        batches = method.batches(epoch, steps, gen, train, cfg)
        u_batches = (plain_batches(len(unlabelled), cfg.mu * cfg.batch_size, steps, gen)
                     if unlabelled is not None else None)
        method.on_epoch_start(model, epoch, history)
        model.train()
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        term_sums: dict[str, torch.Tensor] = {}
        for step in range(steps):
            factor = lr_factor(cfg.schedule, epoch * steps + step, total_steps, epoch, cfg.lr_gamma)
            for opt in opts.values():
                for g in opt.param_groups:
                    g["lr"] = g["base_lr"] * factor
            batch = make_batch(train, batches[step], cfg, gen, channels_last=nhwc, unlabelled=unlabelled,
                               u_idx=u_batches[step] if u_batches is not None else None)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss, terms = method.step(step_model, batch, epoch, update)
            loss_sum += loss.detach().float()
            for k, v in terms.items():
                term_sums[k] = term_sums.get(k, 0) + torch.as_tensor(v, device=device).detach().float()
            method.after_step(epoch, step)
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        train_seconds += seconds
        images_seen += steps * cfg.batch_size
        record = {"epoch": epoch, "train_loss": loss_sum.item() / steps, "lr": opts[first].param_groups[0]["lr"],
                  "epoch_seconds": seconds, "images_per_s": steps * cfg.batch_size / seconds}
        record.update({k: v.item() / steps for k, v in term_sums.items()})
        if valid is not None:
            scores = method.evaluate(model, valid, cfg)
            if cfg.select not in scores:
                raise KeyError(f"select={cfg.select!r}: the validation scores hold {', '.join(scores)}")
            record.update({f"valid_{k}": v for k, v in scores.items()})
            if scores[cfg.select] > best["score"]:
                best = {"score": scores[cfg.select], "epoch": epoch,
                        "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
        method.on_epoch_end(model, epoch, record)
        history.append(record)
        bar.set_postfix(loss=f"{record['train_loss']:.3f}", score=f"{record.get('valid_' + cfg.select, float('nan')):.3f}")
        if ckpt is not None:
            _save_atomic({"model": model.state_dict(), "optimizers": {n: o.state_dict() for n, o in opts.items()},
                          "history": history, "best": best, "epoch": epoch, "train_seconds": train_seconds,
                          "images_seen": images_seen, "config": dataclasses.asdict(cfg),
                          "state": {k: v.detach().clone() for k, v in state.items()}}, ckpt)
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    else:  # no validation split: the last epoch
        best = {"score": float("nan"), "epoch": cfg.epochs - 1}
    return FitResult(model, history, best["epoch"], best["score"], train_seconds,
                     images_seen / train_seconds if train_seconds else float("nan"))
