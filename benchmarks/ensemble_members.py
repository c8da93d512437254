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
"""
from __future__ import annotations

import argparse
import json

import torch

from fer_utils.data import load_ferplus
from fer_utils.data.io import SAMPLE_ROOT
from fer_utils.losses import supervised_ce
from fer_utils.papers.abaw5_multitask.members import ENSEMBLE_COST_CAP, MEMBERS, build_member, member_family
from fer_utils.paths import RESULTS_DIR
from fer_utils.profiles import CPU_ARCH
from fer_utils.provenance import machine_record, write_record
from fer_utils.train import DeviceData, Method, TrainConfig, fast_precision, fit, seed_everything

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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--archs", nargs="*", default=list(CANDIDATES))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(RESULTS_DIR / "benchmarks" / "ensemble-members-cpu.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
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
