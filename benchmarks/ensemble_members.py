"""Which members fit chapter 5's ensemble on the cpu profile? Training speed of candidate member networks
against the baseline network, through the book's engine.

Protocol 2 trains every member for the common recipe's E epochs and caps one ensemble (five members of
different families, one seed) at ENSEMBLE_COST_CAP x the baseline network's training cost. Each candidate
(``papers/abaw5_multitask/members.py``) trains a few steps of the common batch on FER+ train through
``fer_utils.train.fit`` (bf16 + channels_last where the CPU has native bf16, the way the runs train), with one
thread (the way ``reproduce --jobs 2`` trains); the record gives each one's images/s and its cost relative to
the baseline, measured back to back in one process. Run it on an idle machine: the ratios are what matters.

    python benchmarks/ensemble_members.py           # writes results/benchmarks/ensemble-members-cpu.json
    python benchmarks/ensemble_members.py --smoke --out /tmp/e.json

``--learn`` asks the other question, whether a candidate learns at all on the common recipe: each one trains
LEARN_EPOCHS x 100 steps of the common batch (SGD with Nesterov momentum, one-cycle lr 0.1, weight decay 5e-4,
label smoothing 0.1, dropout 0.5) on FER+ train's majority labels, and the record gives its training loss per
epoch beside the class-prior loss (always predicting the training label distribution, with the same
smoothing), the largest logit of its last batch and its macro F1 on FER+ Valid. A candidate "learns" when its
last epoch's loss is at least 0.05 under the prior loss.

    python benchmarks/ensemble_members.py --learn   # writes results/benchmarks/member-learning-cpu.json
"""
from __future__ import annotations

import argparse
import functools
import json

import numpy as np
import torch

from fer_utils import augment as A
from fer_utils.data import load_ferplus
from fer_utils.data.io import SAMPLE_ROOT
from fer_utils.losses import supervised_ce
from fer_utils.metrics import macro_f1
from fer_utils.papers.abaw5_multitask.members import ENSEMBLE_COST_CAP, MEMBERS, build_member, member_family
from fer_utils.paths import RESULTS_DIR
from fer_utils.profiles import CPU_ARCH
from fer_utils.provenance import machine_record, write_record
from fer_utils.train import DeviceData, Method, TrainConfig, fast_precision, fit, predict, seed_everything

CANDIDATES = (CPU_ARCH, *MEMBERS, "regnet_y_400mf_s2", "mobilenet_v2_s2", "densenet_k12_s2")


def measure(arch: str, train, batch_size: int, steps: int) -> dict:
    seed_everything(0)
    model = build_member(arch, 8)
    cfg = TrainConfig(epochs=2, batch_size=batch_size, steps_per_epoch=steps, lr=0.1, optimizer="sgd",
                      device="cpu")
    result = fit(model, (DeviceData.from_record(train, "cpu"), None), Method(supervised_ce, num_classes=8), cfg,
                 progress=False)
    return {"arch": arch, "family": member_family(arch), "params": sum(p.numel() for p in model.parameters()),
            "precision": fast_precision(torch.device("cpu"), True),
            "img_per_s": round(result.history[-1]["images_per_s"], 1)}


LEARN_EPOCHS, LEARN_STEPS, LEARN_MARGIN = 6, 100, 0.05
LEARN_CHOICES = (CPU_ARCH, "mobilenet_v2_x035_s4", "mobilenet_v2_x035_s4_h128", "mobilenet_v2_x035_s2_h128",
                 "regnet_y_200mf_s4", "regnet_y_200mf_s4_h128", "regnet_y_200mf_s2_h128", "densenet_k8_3-6-8-6_s2",
                 "densenet_k8_2-4-6-4_s2", "vgg_w16_s2")


def prior_loss(labels: np.ndarray, classes: int = 8, smoothing: float = 0.1) -> float:
    """Cross-entropy (with label smoothing) of always predicting the label distribution of ``labels``."""
    p = np.bincount(labels, minlength=classes) / len(labels)
    target = (1 - smoothing) * p + smoothing / classes          # the expected smoothed target
    return float(-(target * np.log(np.clip(p, 1e-12, None))).sum())


def learning(arch: str, train, valid, epochs: int, steps: int, batch_size: int) -> dict:
    """A short run of ``arch`` on the common recipe: loss per epoch, largest |logit| of a training batch at the
    end, macro F1 on ``valid``."""
    seed_everything(0)
    model = build_member(arch, 8, dropout=0.5)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, steps_per_epoch=steps, lr=0.1, optimizer="sgd",
                      schedule="onecycle", weight_decay=5e-4, device="cpu")
    result = fit(model, (DeviceData.from_record(train, "cpu"), DeviceData.from_record(valid, "cpu")),
                 Method(functools.partial(supervised_ce, label_smoothing=0.1), num_classes=8), cfg, progress=False)
    model = result.model
    model.train()   # the last epoch's model, batch statistics as in training
    with torch.no_grad():
        x = A.normalize(A.to_float(torch.as_tensor(train.images[:batch_size])))
        logit_max = float(model(x).abs().max())
    logits = predict(model, torch.as_tensor(valid.images), 1024)
    losses = [round(h["train_loss"], 3) for h in result.history]
    prior = prior_loss(train.labels)
    return {"arch": arch, "family": member_family(arch), "train_loss": losses, "prior_loss": round(prior, 3),
            "last_batch_logit_max": round(logit_max, 1),
            "valid_macro_f1": round(macro_f1(valid.labels, logits.argmax(1).numpy(), 8), 3),
            "learns": bool(losses[-1] <= prior - LEARN_MARGIN)}


def main_learn(args) -> int:
    train = load_ferplus("train", SAMPLE_ROOT if args.smoke else None)
    valid = load_ferplus("valid", SAMPLE_ROOT if args.smoke else None)
    train, valid = train.subset(train.labels >= 0), valid.subset(valid.labels >= 0)
    epochs, steps, batch = (2, 2, 16) if args.smoke else (LEARN_EPOCHS, LEARN_STEPS, 128)
    archs = args.archs if args.archs != list(CANDIDATES) else list(LEARN_CHOICES)
    rows = []
    for arch in archs:
        rows.append(learning(arch, train, valid, epochs, steps, batch))
        print(json.dumps(rows[-1]), flush=True)
    out = args.out if args.out != DEFAULT_OUT else str(RESULTS_DIR / "benchmarks" / "member-learning-cpu.json")
    write_record(out, {**machine_record(), "smoke": args.smoke, "batch_size": batch, "epochs": epochs,
                       "steps_per_epoch": steps, "recipe": "SGD Nesterov, one-cycle lr 0.1, weight decay 5e-4, "
                       "label smoothing 0.1, dropout 0.5", "learn_margin": LEARN_MARGIN, "rows": rows})
    return 0


DEFAULT_OUT = str(RESULTS_DIR / "benchmarks" / "ensemble-members-cpu.json")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--archs", nargs="*", default=list(CANDIDATES))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--learn", action="store_true", help="does each candidate learn on the common recipe?")
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.learn:
        return main_learn(args)
    train = load_ferplus("train", SAMPLE_ROOT if args.smoke else None)
    train = train.subset(train.labels >= 0)
    batch, steps = (16, 2) if args.smoke else (128, 10)
    archs = [CPU_ARCH] + [a for a in args.archs if a != CPU_ARCH]   # the baseline first: the ratios' reference
    rows = []
    for arch in archs:
        row = measure(arch, train, batch, steps)
        row["cost_vs_baseline"] = round(rows[0]["img_per_s"] / row["img_per_s"], 2) if rows else 1.0
        print(json.dumps(row), flush=True)
        rows.append(row)
    write_record(args.out, {**machine_record(), "smoke": args.smoke, "batch_size": batch, "steps": steps,
                            "baseline": CPU_ARCH, "ensemble_cost_cap": ENSEMBLE_COST_CAP, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
