"""Which compact ResNet-18 fits the cpu profile? Training speed of candidate backbones on this machine.

Each candidate trains through the book's engine (``fer_utils.train.fit``: uint8 batches on the device,
batch-wise augmentation, bf16 autocast + channels_last where the CPU has native bf16) for a fixed number
of steps on FER+ train; the last epoch's images/s is reported with the parameter count.

    python benchmarks/backbone_sweep.py                  # writes results/benchmarks/backbone-sweep-cpu.json
    python benchmarks/backbone_sweep.py --smoke --out /tmp/s.json   # the bundled sample, a few steps
"""
from __future__ import annotations

import argparse
import json

import torch

from fer_utils.data import load_ferplus
from fer_utils.data.io import SAMPLE_ROOT
from fer_utils.losses import supervised_ce
from fer_utils.models import build_model
from fer_utils.paths import RESULTS_DIR
from fer_utils.provenance import machine_record, write_record
from fer_utils.train import DeviceData, Method, TrainConfig, fast_precision, fit, seed_everything

CANDIDATES = ("resnet18_w16_s2", "resnet18_w24_s2", "resnet18_w32_s2", "resnet18_w16_s1", "resnet18",
              # compact members of the other families (chapter 5's ensemble, AU and VA backbones)
              "regnet_y_400mf_s2", "mobilenet_v2_s2", "efficientnet_b0_s2", "densenet_k12_s2", "resnet50_s2")


def measure(arch: str, train, batch_size: int, steps: int, amp: bool) -> dict:
    seed_everything(0)
    model = build_model(arch, 8)
    cfg = TrainConfig(epochs=2, batch_size=batch_size, steps_per_epoch=steps, lr=5e-4, amp=amp, device="cpu")
    result = fit(model, (DeviceData.from_record(train, "cpu"), None), Method(supervised_ce, num_classes=8), cfg,
                 progress=False)
    return {"arch": arch, "params": sum(p.numel() for p in model.parameters()),
            "precision": fast_precision(torch.device("cpu"), amp),
            "img_per_s": round(result.history[-1]["images_per_s"], 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--archs", nargs="*", default=list(CANDIDATES))
    ap.add_argument("--fp32", action="store_true", help="also measure every candidate without bf16")
    ap.add_argument("--out", default=str(RESULTS_DIR / "benchmarks" / "backbone-sweep-cpu.json"))
    args = ap.parse_args(argv)
    train = load_ferplus("train", SAMPLE_ROOT if args.smoke else None)
    train = train.subset(train.labels >= 0)
    batch, steps = (16, 2) if args.smoke else (128, 12)
    rows = []
    for arch in args.archs:
        for amp in ((True, False) if args.fp32 else (True,)):
            row = measure(arch, train, batch, steps if arch != "resnet18" or args.smoke else 3, amp)
            row["epoch_seconds"] = round(len(train) / row["img_per_s"], 1)
            print(json.dumps(row), flush=True)
            rows.append(row)
    write_record(args.out, {**machine_record(), "smoke": args.smoke, "batch_size": batch, "n_train": len(train),
                            "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
