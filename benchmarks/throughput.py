"""Training throughput: the book's engine against a plain torchvision DataLoader + PIL pipeline.

Same model, same data (FER+ train), same optimiser, same device and threads, in one run. The engine keeps
the data on the device as uint8, gathers batches by index (no DataLoader), augments batch-wise there, and
trains in bf16 with channels_last where the device supports it (CUDA; CPUs with AVX512-BF16/AMX), with
torch.compile on CUDA only (on CPU it was slower than eager for these models); the plain pipeline decodes
PIL images in DataLoader workers, applies torchvision transforms and trains in fp32, as a typical FER
repository does.

    python benchmarks/throughput.py --device cpu       # the cpu profile's backbone on this machine's cores:
                                                       # writes results/benchmarks/throughput-cpu.json
    python benchmarks/throughput.py                    # on a GPU: ResNet-18, results/benchmarks/throughput.json
    python benchmarks/throughput.py --smoke --device cpu --out /tmp/t.json   # a few steps, to check it runs

Targets: on the 2-core CPU the engine at least 2.5x the plain pipeline with native bf16 and 1.6x on an fp32-only
CPU (``--precision fp32`` measures the fp32 engine on any CPU); on an H100 at least 5x. The record holds the CPU
kind and ``engine_step_shares``: how the engine's step splits into batch building (gather + augmentation),
forward, backward and optimiser: what is not forward and backward is all the engine could still remove.

A shared 2-core machine's speed drifts by 10-30% over minutes, so on the CPU the two pipelines are timed
``--repeats`` times, alternately (engine, plain, engine, plain, ...), and the record keeps every repeat and
their medians; the ratio is the ratio of the medians.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from fer_utils.codekey import task_code_hash
from fer_utils.data import load_ferplus
from fer_utils.data.io import SAMPLE_ROOT
from fer_utils.losses import supervised_ce
from fer_utils.models import build_model
from fer_utils.paths import RESULTS_DIR
from fer_utils.profiles import CPU_ARCH
from fer_utils.provenance import machine_record, write_record
from fer_utils.train import (DeviceData, Method, TrainConfig, fast_precision, fit, make_batch, seed_everything,
                             use_channels_last)


class PILFaces(torch.utils.data.Dataset):
    """FER+ faces served as PIL images through torchvision transforms (the usual pipeline)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        import torchvision.transforms as T
        self.images, self.labels = images, labels
        self.transform = T.Compose([T.RandomCrop(48, padding=4, padding_mode="reflect"), T.RandomHorizontalFlip(),
                                    T.ToTensor(), T.Normalize([0.5], [0.25])])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def plain_pipeline(images, labels, device, batch_size, steps, warmup, workers, arch) -> float:
    """Images/s of a plain fp32 training loop fed by a DataLoader with PIL transforms."""
    seed_everything(0)
    model = build_model(arch, 8, dropout=0.5).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=5e-4, weight_decay=1e-4)
    loader = torch.utils.data.DataLoader(PILFaces(images, labels), batch_size=batch_size, shuffle=True,
                                         drop_last=True, num_workers=workers, pin_memory=device.type == "cuda",
                                         persistent_workers=workers > 0)
    done, t0 = 0, None
    while done < warmup + steps:
        for x, y in loader:
            if done == warmup:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            done += 1
            if done == warmup + steps:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch_size / (time.perf_counter() - t0)


def step_shares(train, device, batch_size, arch, amp=True, steps=20, warmup=5) -> dict:
    """Where the engine's training step spends its time: building the batch (gather + augmentation on the
    device), forward, backward and the optimiser, as shares of the step (what limits the ratio: the shares
    outside forward and backward are all the engine can still remove)."""
    cfg = TrainConfig(batch_size=batch_size, optimizer="sgd", lr=0.1, amp=amp, device=str(device))
    bf16, nhwc = fast_precision(device, amp) == "bf16", use_channels_last(device, amp)
    seed_everything(0)
    model = build_model(arch, 8, dropout=0.5).to(device)
    if nhwc:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    data = DeviceData.from_record(train, device)
    gen = torch.Generator(device=device).manual_seed(0)
    idx = torch.randint(0, len(data), (warmup + steps, batch_size), generator=gen, device=device)
    spent = {"batch": 0.0, "forward": 0.0, "backward": 0.0, "optimizer": 0.0}
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        batch = make_batch(data, idx[i], cfg, gen, channels_last=nhwc)
        t1 = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = supervised_ce(model(batch["x"]), batch, 0)
        t2 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t3 = time.perf_counter()
        opt.step()
        t4 = time.perf_counter()
        if i >= warmup:
            for k, v in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                spent[k] += v
    total = sum(spent.values())
    return {k: round(v / total, 3) for k, v in spent.items()}


def engine(train, device, batch_size, epochs, compile_model, arch, steps_per_epoch=None, amp=True) -> dict:
    """Images/s of fer_utils.train.fit (last epoch, so compilation is excluded) and its epoch time."""
    seed_everything(0)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=5e-4, compile=compile_model, device=str(device),
                      steps_per_epoch=steps_per_epoch, amp=amp)
    result = fit(build_model(arch, 8, dropout=0.5), (DeviceData.from_record(train, device), None),
                 Method(supervised_ce, num_classes=8), cfg, progress=False)
    last = result.history[-1]
    return {"img_per_s": last["images_per_s"], "epoch_seconds": last["epoch_seconds"],
            "first_epoch_seconds": result.history[0]["epoch_seconds"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="bundled sample, a few steps (CPU check)")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    ap.add_argument("--arch", help="default: resnet18_w16_s2 on the CPU, resnet18 on CUDA")
    ap.add_argument("--batch-size", type=int, help="default: 128 on the CPU, 256 on CUDA")
    ap.add_argument("--workers", type=int, help="DataLoader workers (default: the cores, at most 8)")
    ap.add_argument("--repeats", type=int, help="alternating timings of each pipeline (default: 3 on the CPU, 1 "
                                                 "on CUDA and with --smoke)")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--precision", choices=("auto", "fp32"), default="auto",
                    help="the engine's precision: auto (bf16 where native) or fp32 (what an fp32-only CPU runs)")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    cpu = device.type == "cpu"
    arch = args.arch or (CPU_ARCH if cpu else "resnet18")
    workers = args.workers or min(8, os.cpu_count() or 1)
    amp = args.precision == "auto"
    suffix = "" if amp else "-fp32"
    out_default = RESULTS_DIR / "benchmarks" / (f"throughput-cpu{suffix}.json" if cpu else f"throughput{suffix}.json")
    if args.smoke:
        train = load_ferplus("train", SAMPLE_ROOT)
        batch, epochs, steps, warmup, spe = 16, 2, 3, 1, 3
    elif cpu:   # two short epochs of 60 steps for the engine; 60 timed steps of the plain loop
        train = load_ferplus("train")
        batch, epochs, steps, warmup, spe = args.batch_size or 128, 2, 60, 5, 60
    else:
        train = load_ferplus("train")
        batch, epochs, steps, warmup, spe = args.batch_size or 256, 3, 200, 20, None
    train = train.subset(train.labels >= 0)
    torch.backends.cudnn.benchmark = True
    repeats = args.repeats if args.repeats is not None else (3 if cpu and not args.smoke else 1)
    if repeats < 1:
        raise ValueError(f"--repeats={repeats}: expected at least 1")
    engines, plains = [], []
    for _ in range(repeats):   # alternate, so that a drift of the machine's speed hits both pipelines alike
        engines.append(engine(train, device, batch, epochs, arch=arch, steps_per_epoch=spe, amp=amp,
                              compile_model=not args.no_compile and device.type == "cuda"))
        plains.append(plain_pipeline(train.images, train.labels, device, batch, steps, warmup, workers, arch))
    eng = {k: statistics.median(e[k] for e in engines) for k in engines[0]}
    shares = step_shares(train, device, batch, arch, amp, steps=3 if args.smoke else 20, warmup=1 if args.smoke else 5)
    plain = statistics.median(plains)
    precision = fast_precision(device, amp)
    record = {**machine_record(), "precision": precision, "arch": arch,
              "code_hash": task_code_hash("supervised")[:16], "smoke": args.smoke, "n_train": len(train),
              "batch_size": batch,
              "engine_img_per_s": round(eng["img_per_s"], 1), "plain_img_per_s": round(plain, 1),
              "ratio": round(eng["img_per_s"] / plain, 2), "engine_epoch_seconds": round(eng["epoch_seconds"], 2),
              "epoch_s": round(len(train) / eng["img_per_s"], 2),
              "engine_first_epoch_seconds": round(eng["first_epoch_seconds"], 2),
              "plain_epoch_seconds": round(len(train) / plain, 2), "plain_workers": workers,
              "repeats": repeats, "engine_img_per_s_repeats": [round(e["img_per_s"], 1) for e in engines],
              "plain_img_per_s_repeats": [round(p, 1) for p in plains],
              "engine": ("uint8 on the device, batches by index, batch-wise augmentation, "
                         f"{precision}{' autocast' if precision == 'bf16' else ''}"
                         f"{' + channels_last' if use_channels_last(device, amp) else ''}"
                         f"{', torch.compile' if device.type == 'cuda' and not args.no_compile else ''}"),
              "plain": f"DataLoader ({workers} workers) + PIL + torchvision transforms, fp32",
              "engine_step_shares": shares}
    print(json.dumps(record, indent=1))
    print(f"engine {record['engine_img_per_s']:.0f} img/s vs plain {record['plain_img_per_s']:.0f} img/s: "
          f"{record['ratio']:.1f}x (a FER+ epoch {record['epoch_s']:.1f} s vs {record['plain_epoch_seconds']:.1f} s)")
    write_record(args.out or out_default, record)


if __name__ == "__main__":
    main()
