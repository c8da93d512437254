"""The cpu budget of chapter 3: how many steps and which learning rate let a network trained from scratch on
10% of FER+'s labels (single-annotator, class-balanced batches of 64) leave chance level.

Trains chapter 3's supervised baseline (the same task, data and sampler as its runs) for a few (steps, lr,
schedule) settings and scores each on **FER+ Valid only** (best epoch); the test split chooses nothing.

    python benchmarks/ssl_budget.py             # writes results/benchmarks/ssl-budget-cpu.json
    python benchmarks/ssl_budget.py --smoke --out /tmp/s.json
"""
from __future__ import annotations

import argparse
import tempfile

from fer_utils.experiments import run_config
from fer_utils.paths import RESULTS_DIR
from fer_utils.provenance import machine_record, write_record
from fer_utils.runs import run_or_load

# name: (epochs of 50 steps, lr, schedule)
SETTINGS = {"300 steps, lr 0.01 (the gpu profile's lr)": (6, 0.01, "cosine"),
            "900 steps, lr 0.01": (18, 0.01, "cosine"),
            "900 steps, lr 0.05 (the cpu profile)": (18, 0.05, "cosine"),
            "900 steps, lr 0.1, one-cycle": (18, 0.1, "onecycle")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out", default=str(RESULTS_DIR / "benchmarks" / "ssl-budget-cpu.json"))
    args = ap.parse_args(argv)
    profile = "smoke" if args.smoke else "cpu"
    base = run_config("03_ssl_temporal", "baseline-single_annotator", profile, seed=0)[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (epochs, lr, schedule) in SETTINGS.items():
            train = {**base["train"], "epochs": 2 if args.smoke else epochs, "lr": lr, "schedule": schedule}
            run = run_or_load({**base, "notebook": "benchmark", "name": "ssl-budget", "train": train}, tmp,
                              progress=False)
            rows.append({"setting": name, "steps": train["epochs"] * train["steps_per_epoch"], "lr": lr,
                         "schedule": schedule, "best_epoch": run.metrics["best_epoch"],
                         "valid_macro_f1": round(run.final["best_valid_macro_f1"], 4),
                         "train_seconds": run.provenance["train_seconds"]})
            print(rows[-1], flush=True)
    write_record(args.out, {**machine_record(), "smoke": args.smoke, "labelled_fraction": base["labelled_fraction"],
                            "labels": base["labels"], "batch_size": base["train"]["batch_size"],
                            "split_scored": "FER+ Valid", "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
