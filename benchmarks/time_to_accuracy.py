"""Time to accuracy on the 2-core CPU: which fast-training choices the cpu supervised recipe keeps.

Every variant trains the cpu backbone on FER+ train (majority labels) through the book's engine for the same
number of epochs and batch size, and is scored on **FER+ Valid only** (the test split is never used for a
choice): validation accuracy and macro F1 per epoch against cumulative training minutes, and at the end with
and without flip test-time augmentation.

    python benchmarks/time_to_accuracy.py          # writes results/benchmarks/time-to-accuracy-cpu.json
    python benchmarks/time_to_accuracy.py --variants sgd-onecycle-ls --epochs 12 14 16 \
        --out results/benchmarks/time-to-accuracy-epochs-cpu.json   # one recipe at several budgets
    python benchmarks/time_to_accuracy.py --variants sgd-onecycle-ls --flip-tta --epochs 14 20 30 40 \
        --labels majority single_annotator --out results/benchmarks/budget-sweep-cpu.json   # Protocol 2's budget E
    python benchmarks/time_to_accuracy.py --smoke --out /tmp/t.json

``--labels`` trains on FER+ majority labels or on one crowd vote per face ("single_annotator", the real label
noise; ``labels.training_labels``); FER+ Valid is always scored on its majority labels, so the gap between the
two rows at one budget is what the crowd noise costs. ``--flip-tta`` selects the epoch on flip-TTA scores, as the
common recipe does.
"""
from __future__ import annotations

import argparse
import functools
import json

from fer_utils.data import load_ferplus
from fer_utils.data.io import SAMPLE_ROOT
from fer_utils.labels import training_labels
from fer_utils.losses import supervised_ce
from fer_utils.models import build_model
from fer_utils.paths import RESULTS_DIR
from fer_utils.provenance import machine_record, write_record
from fer_utils.train import DeviceData, Method, TrainConfig, evaluate, fit, seed_everything

VARIANTS = {
    "adam-cosine": ({"optimizer": "adam", "lr": 5e-4, "weight_decay": 1e-4, "schedule": "cosine"}, 0.0),
    "adam-onecycle-ls": ({"optimizer": "adam", "lr": 2e-3, "weight_decay": 1e-4, "schedule": "onecycle"}, 0.1),
    "sgd-onecycle-ls": ({"optimizer": "sgd", "lr": 0.1, "weight_decay": 5e-4, "schedule": "onecycle"}, 0.1),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--arch", default="resnet18_w16_s2")
    ap.add_argument("--epochs", type=int, nargs="+", default=[12],
                    help="one run per variant and epoch count (the one-cycle schedule spans the run)")
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS))
    ap.add_argument("--labels", nargs="+", default=["majority"], choices=["majority", "single_annotator"],
                    help="training labels (one run per label kind; Valid is scored on majority labels)")
    ap.add_argument("--flip-tta", action="store_true", help="validation (and so the kept epoch) with flip TTA")
    ap.add_argument("--label-seed", type=int, default=0)
    ap.add_argument("--out", default=str(RESULTS_DIR / "benchmarks" / "time-to-accuracy-cpu.json"))
    args = ap.parse_args(argv)
    root = SAMPLE_ROOT if args.smoke else None
    train, valid = load_ferplus("train", root), load_ferplus("valid", root)
    train = train.subset(train.labels >= 0)
    label_sets = {kind: training_labels(train.votes, train.labels, kind, 8, args.label_seed) for kind in args.labels}
    for variant in args.variants:
        if variant not in VARIANTS:
            raise ValueError(f"--variants: unknown variant {variant!r} (expected one of {', '.join(VARIANTS)})")
    if min(args.epochs) < 1:
        raise ValueError(f"--epochs {args.epochs}: expected positive epoch counts")
    batch, spe = (16, 2) if args.smoke else (128, None)
    va = DeviceData.from_record(valid, "cpu")
    rows = []
    for kind, name, epochs in [(k, v, e) for k in args.labels for v in args.variants for e in args.epochs]:
        tr = DeviceData.from_record(train, "cpu", labels=label_sets[kind])
        hyp, smoothing = VARIANTS[name]
        seed_everything(0)
        model = build_model(args.arch, 8, dropout=0.5)
        cfg = TrainConfig(epochs=epochs, batch_size=batch, steps_per_epoch=spe, device="cpu",
                          flip_tta=args.flip_tta, **hyp)
        loss = functools.partial(supervised_ce, label_smoothing=smoothing)
        result = fit(model, (tr, va), Method(loss, num_classes=8), cfg, progress=False)
        minutes, curve = 0.0, []
        for h in result.history:
            minutes += h["epoch_seconds"] / 60
            curve.append({"epoch": h["epoch"], "minutes": round(minutes, 2),
                          "valid_accuracy": round(h["valid_accuracy"], 4), "valid_macro_f1": round(h["valid_macro_f1"], 4)})
        tta = evaluate(result.model, va, 8, flip_tta=True)
        row = {"variant": name, "labels": kind, "epochs": epochs, "flip_tta_selection": args.flip_tta, **hyp, "label_smoothing": smoothing, "best_epoch": result.best_epoch,
               "train_minutes": round(result.train_seconds / 60, 2),
               "valid_accuracy": curve[result.best_epoch]["valid_accuracy"],
               "valid_macro_f1": curve[result.best_epoch]["valid_macro_f1"],
               "valid_accuracy_flip_tta": round(tta["accuracy"], 4), "valid_macro_f1_flip_tta": round(tta["macro_f1"], 4),
               "curve": curve}
        print(json.dumps({k: v for k, v in row.items() if k != "curve"}), flush=True)
        rows.append(row)
        # written after every row, so a sweep stopped part-way keeps the budgets it finished
        write_record(args.out, {**machine_record(), "smoke": args.smoke, "arch": args.arch, "epochs": args.epochs,
                                "batch_size": batch, "dropout": 0.5, "split_scored": "FER+ Valid (majority labels)",
                                "train_labels": args.labels, "label_seed": args.label_seed,
                                "complete": len(rows) == len(args.labels) * len(args.variants) * len(args.epochs),
                                "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
