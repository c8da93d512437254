"""Two cores, two ways: one training process with every thread, or N processes with one share each.

The cpu profile's backbone is small (ResNet-18 layout at width 16 on 48 x 48 faces): one training step
does not keep two threads busy, so two one-thread processes train more images per second between them
than one two-thread process. ``python -m fer_utils.reproduce ... --jobs 2`` is built on this measurement.

    python benchmarks/parallel_runs.py                 # FER+ train, the cpu backbone and batch:
                                                       # writes results/benchmarks/parallel-runs-cpu.json
    python benchmarks/parallel_runs.py --smoke --out /tmp/p.json   # the bundled sample, a few steps

Each process trains the book's engine (``fer_utils.train.fit``) for a warm-up epoch and a timed epoch of the
same number of steps; the N processes start together, and their timed images/s are added up.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import torch
from throughput import engine  # benchmarks/ (this script's folder) is on the path

from fer_utils.data import load_ferplus
from fer_utils.data.io import SAMPLE_ROOT
from fer_utils.paths import RESULTS_DIR
from fer_utils.provenance import machine_record, write_record
from fer_utils.train import fast_precision


def one_process(smoke: bool, arch: str, batch: int, steps: int) -> float:
    """Images/s of the engine's timed (second) epoch in this process, with its current torch threads
    (the throughput benchmark's engine measurement)."""
    train = load_ferplus("train", SAMPLE_ROOT if smoke else None)
    train = train.subset(train.labels >= 0)
    return float(engine(train, torch.device("cpu"), batch, 2, False, arch, steps_per_epoch=steps)["img_per_s"])


def processes(n: int, threads: int, argv: list) -> list[float]:
    """Start ``n`` child processes of ``threads`` threads each, together; their images/s."""
    children = [subprocess.Popen([sys.executable, __file__, *argv, "--child", str(threads)], stdout=subprocess.PIPE,
                                 text=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
                for _ in range(n)]
    outs = [c.communicate()[0] for c in children]
    if any(c.returncode for c in children):
        raise RuntimeError(f"a benchmark process failed: exit statuses {[c.returncode for c in children]}")
    return [float(o.strip().splitlines()[-1]) for o in outs]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="bundled sample, a few steps")
    ap.add_argument("--jobs", type=int, default=2, help="processes in the parallel setting (default 2)")
    ap.add_argument("--out")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)   # internal: one timed process, N threads
    args = ap.parse_args(argv)
    from fer_utils.profiles import CPU_ARCH
    batch, steps = (8, 3) if args.smoke else (64, 60)   # the cpu profile's batch for chapter 1
    if args.child:
        torch.set_num_threads(args.child)
        print(one_process(args.smoke, CPU_ARCH, batch, steps), flush=True)
        return
    forwarded = ["--smoke"] if args.smoke else []
    threads = torch.get_num_threads()
    single = processes(1, threads, forwarded)[0]
    parallel = processes(args.jobs, max(1, threads // args.jobs), forwarded)
    record = {**machine_record(), "precision": fast_precision("cpu"), "arch": CPU_ARCH, "batch_size": batch,
              "timed_steps": steps, "smoke": args.smoke, "threads": threads,
              "one_process_img_per_s": round(single, 1), "jobs": args.jobs,
              "threads_per_job": max(1, threads // args.jobs),
              "per_job_img_per_s": [round(x, 1) for x in parallel],
              "jobs_img_per_s": round(sum(parallel), 1), "speedup": round(sum(parallel) / single, 2)}
    print(json.dumps(record, indent=1))
    print(f"one process of {threads} threads: {single:.0f} img/s; {args.jobs} processes of "
          f"{record['threads_per_job']}: {sum(parallel):.0f} img/s together ({record['speedup']:.2f}x)")
    write_record(args.out or RESULTS_DIR / "benchmarks" / "parallel-runs-cpu.json", record)


if __name__ == "__main__":
    main()
