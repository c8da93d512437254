"""Protocol 2's scarce-label budget: how many steps the common recipe needs on 10% of FER+'s labels to plateau.

The semi-supervised claims (papers 000 MutexMatch, 002 teacher/student, 003 self-training) train with 10% of each
class labelled; every row of those comparisons gets the same steps and labelled batch, namely the steps the
supervised network on the same labelled faces needs to plateau on FER+ Valid. This trains chapter 0's common
recipe (SGD Nesterov one-cycle, label smoothing 0.1, flip TTA, batch 128) on the 10% subset (majority labels,
``labelled_fraction`` 0.1, split seed 0) at several epoch counts, one seed each, and scores each on **FER+ Valid
only** (best epoch, flip TTA); the test split chooses nothing. The plateau is the fewest steps whose Valid macro F1
is within 0.01 of the best swept value (``fer_utils.baseline.reference_budget.choose_plateau``).

    python benchmarks/scarce_plateau.py          # writes results/benchmarks/scarce-plateau-cpu.json
    python benchmarks/scarce_plateau.py --epochs 400 --extend   # adds budgets to the stored record
    python benchmarks/scarce_plateau.py --smoke --out /tmp/s.json
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from fer_utils.baseline.reference_budget import choose_plateau
from fer_utils.experiments import run_config
from fer_utils.labels import labelled_fraction_split
from fer_utils.tasks.common import data_root_for, training_split
from fer_utils.data import load_ferplus
from fer_utils.paths import RESULTS_DIR
from fer_utils.provenance import machine_record, write_record
from fer_utils.runs import run_or_load

EPOCHS = (25, 50, 100, 200)      # passes over the labelled 10% (about 22 steps of 128 each)
LABELLED_FRACTION = 0.1


class _Labels:
    """The two fields ``training_split`` reads from a recipe."""
    def __init__(self, labels: str, label_seed: int = 0):
        self.labels, self.label_seed = labels, label_seed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--epochs", type=int, nargs="+", default=list(EPOCHS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--extend", action="store_true", help="keep the stored record's rows and train only the "
                                                          "budgets it lacks (the record must be this machine kind's)")
    ap.add_argument("--out", default=str(RESULTS_DIR / "benchmarks" / "scarce-plateau-cpu.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    profile = "smoke" if args.smoke else "cpu"
    base = run_config("00_data", "resnet18-majority", profile, seed=0)[0]
    train_split, _, _ = training_split(load_ferplus("train", data_root_for(base)), _Labels(base["labels"], base["label_seed"]))
    keep, _ = labelled_fraction_split(train_split.labels, LABELLED_FRACTION, seed=base["split_seed"])
    n_labelled = len(keep)
    steps_per_epoch = base["train"]["steps_per_epoch"] or n_labelled // base["train"]["batch_size"]  # drop-last
    rows = []
    if args.extend and Path(args.out).is_file():
        old = json.loads(Path(args.out).read_text())
        if old.get("cpu_kind") != machine_record().get("cpu_kind"):
            raise SystemExit(f"--extend: {args.out} was measured on {old.get('cpu_kind')}, this CPU is "
                             f"{machine_record().get('cpu_kind')}: rerun the whole sweep here instead")
        rows = list(old["rows"])
    done = {r["epochs"] for r in rows}
    with tempfile.TemporaryDirectory() as tmp:
        for epochs in ([2] if args.smoke else [e for e in args.epochs if e not in done]):
            train = {**base["train"], "epochs": epochs}
            run = run_or_load({**base, "notebook": "benchmark", "name": f"scarce-plateau-{epochs}",
                               "labelled_fraction": LABELLED_FRACTION, "train": train}, tmp, progress=False)
            rows.append({"epochs": epochs, "steps": epochs * steps_per_epoch, "labelled_images": n_labelled,
                         "best_epoch": run.metrics["best_epoch"],
                         "valid_macro_f1": round(run.final["best_valid_macro_f1"], 4),
                         "valid_curve": [round(h["valid_macro_f1"], 4) for h in run.metrics["history"]],
                         "train_seconds": run.provenance["train_seconds"]})
            print({k: v for k, v in rows[-1].items() if k != "valid_curve"}, flush=True)
    write_record(args.out, {**machine_record(), "smoke": args.smoke, "labelled_fraction": LABELLED_FRACTION,
                            "labels": base["labels"], "batch_size": base["train"]["batch_size"],
                            "split_scored": "FER+ Valid",
                            "rows": sorted(rows, key=lambda r: r["epochs"]),
                            "plateau": choose_plateau(rows) if rows else None})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
