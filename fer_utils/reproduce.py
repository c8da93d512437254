"""Run every training run a notebook needs, then aggregate mean ± std over seeds. No Jupyter needed:

    python -m fer_utils.reproduce notebooks/00_data.ipynb --profile cpu --dry-run   # runs, status, CPU minutes
    nohup python -m fer_utils.reproduce notebooks/00_data.ipynb --profile cpu > run.log &
    python -m fer_utils.reproduce notebooks/*.ipynb --profile cpu --status          # stored / stale / missing

Runs already stored under --out are loaded, not retrained (the run cache); a killed run resumes from its
last epoch checkpoint. ``--shard K/N`` takes every N-th run from the K-th (K = 1..N), so N machines or a job
array split a chapter; run folders merge by name. Writes <out>/<notebook>/summary.csv (not for a selection made
with --only or --shard). The exit status is 0
only when every selected run is stored at the end (1 when a run failed, 2 for bad arguments).
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from .budget import estimate_minutes
from .experiments import PROFILES, run_status, runs_for
from .runs import aggregate, check_config, default_results_dir, run_dir, run_or_load
from .train import fast_precision

SCORES = (("macro_f1", "macro F1"), ("accuracy", "acc"), ("mean_au_f1", "mean AU F1"),
          ("ccc_valence", "CCC valence"), ("ccc_arousal", "CCC arousal"))


def shard(configs: list, spec: str | None) -> list:
    """Every N-th config from the K-th (spec "K/N", 1 <= K <= N); all configs for None."""
    if not spec:
        return configs
    try:
        k, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise SystemExit(f"--shard {spec!r}: expected K/N with integers, e.g. 1/2") from None
    if not 1 <= k <= n:
        raise SystemExit(f"--shard {spec!r}: expected 1 <= K <= N")
    return configs[k - 1::n]


def selected(name: str, only: str | None) -> bool:
    """Whether run ``name`` is in an ``--only`` selection: it contains any of the comma-separated texts."""
    return not only or any(text.strip() and text.strip() in name for text in only.split(","))


def _minutes(m: float) -> str:
    return f"{m:.0f} min" if m < 120 else f"{m / 60:.1f} h"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+", help="notebook paths or names, e.g. notebooks/00_data.ipynb")
    ap.add_argument("--profile", choices=PROFILES, default="cpu")
    ap.add_argument("--out", help="results folder (default: results/ for cpu and gpu, a cache folder for smoke)")
    ap.add_argument("--only", help="run only configs whose name contains this text (several texts, comma-"
                                   "separated: any of them; the run list's order is kept)")
    ap.add_argument("--shard", help="K/N: run every N-th config from the K-th")
    ap.add_argument("--dry-run", action="store_true", help="list the runs, their status and estimated CPU minutes")
    ap.add_argument("--status", action="store_true", help="per notebook: stored / stale / missing, minutes to train")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    out = Path(args.out) if args.out else default_results_dir(args.profile)
    failed, unique = 0, {}   # run folder -> estimated minutes (a run two chapters list counts once in the total)
    for nb in args.notebooks:
        configs = shard([c for c in runs_for(nb, args.profile) if selected(c["name"], args.only)], args.shard)
        for c in configs:
            check_config(c)
        status = [run_status(c, out) for c in configs]
        est = [estimate_minutes(c) for c in configs]
        todo = sum(m for m, s in zip(est, status) if s != "stored")
        unique.update({run_dir(c, out).name: m for c, m in zip(configs, est)})
        counts = {k: status.count(k) for k in ("stored", "stale", "missing")}
        name = Path(nb).name.removesuffix(".ipynb")
        print(f"{name}: {len(configs)} runs ({args.profile}): {counts['stored']} stored, {counts['stale']} stale, "
              f"{counts['missing']} missing; estimated {_minutes(sum(est))} in all, {_minutes(todo)} to train "
              f"-> {out}", flush=True)
        if args.status:
            continue
        runs, started, remaining = [], time.time(), todo
        for i, (config, st, minutes) in enumerate(zip(configs, status, est), 1):
            eta = f", the list done in about {_minutes(remaining)}" if st != "stored" else ""
            fold = f" fold {config['fold']}" if config.get("dataset") == "ckplus" else ""
            print(f"  [{i}/{len(configs)}] {config['name']}{fold} seed {config['seed']}: {st} "
                  f"(est {minutes:.1f} CPU min{eta})", flush=True)
            if args.dry_run:
                remaining -= minutes if st != "stored" else 0
                continue
            t = time.time()
            try:
                run = run_or_load(config, out, progress=not args.quiet)
            except Exception:  # one broken run must not lose the others: report it and go on
                traceback.print_exc()
                print(f"      FAILED: {config['name']} seed {config['seed']}", flush=True)
                failed += 1
                continue
            if st != "stored":
                remaining -= minutes
            runs.append(run)
            scores = "  ".join(f"{label} {run.final[key]:.4f}" for key, label in SCORES if key in run.final)
            print(f"      {scores}  ({(time.time() - t) / 60:.1f} min, {run.provenance['device']}; "
                  f"{(time.time() - started) / 60:.0f} min since start)", flush=True)
        if runs:
            table = aggregate(runs)
            if not (args.only or args.shard):  # summary.csv is of the whole list, never of a selection
                (out / name).mkdir(parents=True, exist_ok=True)
                table.to_csv(out / name / "summary.csv")
            print(table.to_string(), flush=True)
    if len(args.notebooks) > 1:
        print(f"total: {len(unique)} distinct runs, estimated {_minutes(sum(unique.values()))} of CPU time for "
              f"{len(args.notebooks)} notebooks", flush=True)
    if args.profile == "cpu" and (args.dry_run or args.status) and fast_precision("cpu") == "fp32":
        print("note: the estimates are for the reference 2-core CPU with native bf16; this CPU has none, so runs "
              "train in fp32 and take about twice as long (provenance records the precision)", flush=True)
    if args.dry_run or args.status:
        return 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
