"""Run every training run a notebook needs, then aggregate mean ± std over seeds. No Jupyter needed:

    python -m fer_utils.reproduce notebooks/00_data.ipynb --profile cpu --dry-run   # runs, status, CPU minutes
    nohup python -m fer_utils.reproduce notebooks/00_data.ipynb --profile cpu --jobs 2 > run.log &
    python -m fer_utils.reproduce notebooks/*.ipynb --profile cpu --status          # stored / stale / missing

Runs already stored under --out are loaded, not retrained (the run cache); a killed run resumes from its
last epoch checkpoint. ``--shard K/N`` takes every N-th run from the K-th (K = 1..N), so N machines or a job
array split a chapter; run folders merge by name. ``--jobs N`` trains N runs at a time on one machine, each
process with 1/N of the cores' threads: small models use two cores better as two one-thread processes than
as one two-thread process (see benchmarks/parallel_runs.py). Each process takes the next run no other has
claimed, so every run trains once. Writes <out>/<notebook>/summary.csv (not for a selection made
with --only or --shard). The exit status is 0
only when every selected run is stored at the end (1 when a run failed, 2 for bad arguments).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import submitit
import torch

from .budget import PARALLEL_RUNS, book_wall_minutes, estimate_minutes, measured_factors
from .data import DataError
from .data.io import resolve_root
from .experiments import NOTEBOOKS, runs_for
from .profiles import PROFILES
from .provenance import cpu_kind
from .report import aggregate
from .runs import (
    CacheMiss,
    CorruptRun,
    RunLocked,
    check_config,
    count_status,
    default_results_dir,
    load_run,
    run_dir,
    run_or_load,
    run_status,
)
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


def claim(claims_dir, run_name: str) -> bool:
    """Atomically claim run ``run_name`` for this process (``--jobs``): True for the first caller only."""
    try:
        os.close(os.open(Path(claims_dir) / run_name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def run_jobs(argv: list, jobs: int, threads: int) -> int:
    """Start ``jobs`` worker processes of this command (each ``threads`` torch threads), sharing one claims
    folder; wait for all. Returns the number of workers that did not exit 0."""
    claims = tempfile.mkdtemp(prefix="fer-claims-")
    try:
        workers = [subprocess.Popen([sys.executable, "-m", "fer_utils.reproduce", *argv, "--claims", claims,
                                     "--threads", str(threads), "--worker", f"w{i}"],
                                    env={**os.environ, "OMP_NUM_THREADS": str(threads)})
                   for i in range(1, jobs + 1)]
        return sum(w.wait() != 0 for w in workers)
    finally:
        shutil.rmtree(claims, ignore_errors=True)


def missing_data() -> str | None:
    """A one-paragraph explanation when the real data the cpu and gpu profiles train on cannot be found."""
    try:
        root, origin = resolve_root()
    except DataError as e:
        return f"error: {e}. The cpu and gpu profiles train on the real FER+ and CK+48 data; see the README's Data section."
    if origin == "sample":
        return ("error: the cpu and gpu profiles train on the real FER+ and CK+48 data, and only the bundled sample "
                "was found. Put the data in ../shared/data beside the project (ferplus/ with FER2013Train, "
                "FER2013Valid, FER2013Test and their label.csv; ckplus/ with CK+48 and ckplus_facs.csv), or point "
                "$FER_DATA_ROOT at the folder holding ferplus/ and ckplus/ (the README's Data section says where "
                "each comes from). The smoke profile runs on the bundled sample: --profile smoke.")
    return None


def train_one(config: dict, out: str) -> str:
    """One task of a submitit job array: train (or load) one run into the shared results folder."""
    return run_or_load(config, out, train=True, progress=False).dir.name


def submit(args, out: Path) -> int:
    """``--executor submitit``: the selected runs that are not stored, as one job array (one run per task),
    trained into the same run folders ``--jobs`` would fill (a run's lock keeps two tasks off one run). With
    ``--wait``: waits and returns 0 only when every task stored its run."""
    configs = [c for nb in args.notebooks for c in shard([c for c in runs_for(nb, args.profile)
                                                          if selected(c["name"], args.only)], args.shard)]
    todo = [c for c in configs if run_status(c, out) != "stored"]
    print(f"{len(configs)} runs selected, {len(todo)} to train", flush=True)
    if not todo:
        return 0
    logs = out / ".submitit"
    executor = submitit.AutoExecutor(folder=str(logs), cluster=args.cluster)
    params = {"timeout_min": args.timeout_min, "gpus_per_node": args.gpus_per_node,
              "cpus_per_task": args.cpus_per_task, "name": f"fer-{args.profile}"}
    if args.slurm_partition:
        params["slurm_partition"] = args.slurm_partition
    executor.update_parameters(**params)
    jobs = executor.map_array(train_one, todo, [str(out)] * len(todo))
    print(f"submitted {len(jobs)} task(s) through {executor.cluster} as job {jobs[0].job_id.split('_')[0]} "
          f"(logs: {logs})", flush=True)
    if not args.wait:
        return 0
    failed = 0
    for job, config in zip(jobs, todo):
        try:
            print(f"  {config['name']} seed {config['seed']}: stored as {job.result()}", flush=True)
        except Exception as e:  # noqa: BLE001 - a failed task is reported, the others still count
            print(f"  FAILED: {config['name']} seed {config['seed']}: {e}", flush=True)
            failed += 1
    return 1 if failed else 0


def _minutes(m: float) -> str:
    return f"{m:.0f} min" if m < 120 else f"{m / 60:.1f} h"


def print_measured(configs, status, est, out) -> None:
    """For a list with stored runs: how much longer than its estimate a run took here, per (precision,
    threads), and what the missing runs need at that rate (each at its own task's median where runs of that
    task are stored, else at the list's; wall minutes with as many runs at a time as the cores allow). The
    estimates are for the reference bf16 CPU; this is the correction a reader on another CPU needs."""
    stored = [(c["task"], load_run(run_dir(c, out)).provenance, m) for c, s, m in zip(configs, status, est)
              if s == "stored"]
    missing = [(c["task"], m) for c, s, m in zip(configs, status, est) if s != "stored"]
    cores = os.cpu_count() or 1
    for key, (factor, n) in measured_factors([(p, m) for _, p, m in stored]).items():
        precision, threads = key
        per_task = {t: measured_factors([(p, m) for tt, p, m in stored if tt == t]).get(key, (factor,))[0]
                    for t in {t for t, _ in missing}}
        at_once = max(1, cores // max(threads, 1))
        kinds = sorted({str(p.get("cpu_kind") or p.get("cpu_capability") or p.get("device", "?")) for _, p, _ in stored
                        if (str(p.get("precision", "?")), int(p.get("threads") or 0)) == key})
        line = (f"  measured on the machines that trained them ({'; '.join(kinds)}; this machine: {cpu_kind()}): "
                f"{n} stored run(s) trained in {precision} with {threads} thread(s) took {factor:.1f}x their "
                f"estimates (median)")
        if missing:
            wall = sum(m * per_task[t] for t, m in missing) / at_once
            line += f"; at the stored runs' rates the missing runs need about {_minutes(wall)} wall, {at_once} at a time"
        print(line, flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+", help="notebook paths or names, e.g. notebooks/00_data.ipynb")
    ap.add_argument("--profile", choices=PROFILES, default="cpu")
    ap.add_argument("--out", help="results folder (default: results/ for cpu and gpu, a cache folder for smoke)")
    ap.add_argument("--data", help="data root to train on (default: $FER_DATA_ROOT, then ../shared/data), e.g. your own "
                                   "faces imported with `python -m fer_utils.faces` (their runs go to <root>/results)")
    ap.add_argument("--only", help="run only configs whose name contains this text (several texts, comma-"
                                   "separated: any of them; the run list's order is kept)")
    ap.add_argument("--shard", help="K/N: run every N-th config from the K-th")
    ap.add_argument("--dry-run", action="store_true", help="list the runs, their status and estimated CPU minutes")
    ap.add_argument("--status", action="store_true", help="per notebook: stored / stale / missing, minutes to train")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--jobs", type=int, default=1, help="train this many runs at a time, each process with 1/N "
                                                        "of the threads (default 1)")
    ap.add_argument("--threads", type=int, help="torch threads for training (default: torch's, the cores)")
    ap.add_argument("--claims", help=argparse.SUPPRESS)   # a --jobs worker: the shared claims folder
    ap.add_argument("--worker", help=argparse.SUPPRESS)   # a --jobs worker: its name in the progress lines
    ap.add_argument("--executor", choices=("local", "submitit"), default="local",
                    help="local: train here (--jobs N at a time); submitit: submit the runs as a Slurm job array, one "
                         "run per task, into the same run folders")
    ap.add_argument("--cluster", default=None, help="submitit's cluster: slurm (default where sbatch exists), or "
                                                    "local (submitit's local executor, to try the path on one machine)")
    ap.add_argument("--slurm-partition", help="--executor submitit: the Slurm partition")
    ap.add_argument("--timeout-min", type=int, default=60, help="--executor submitit: minutes per task (default 60)")
    ap.add_argument("--gpus-per-node", type=int, default=0, help="--executor submitit: GPUs per task (default 0)")
    ap.add_argument("--cpus-per-task", type=int, default=2, help="--executor submitit: CPU cores per task (default 2)")
    ap.add_argument("--wait", action="store_true", help="--executor submitit: wait for the array and report")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = ap.parse_args(argv)
    if args.jobs < 1 or (args.threads is not None and args.threads < 1):
        ap.error(f"--jobs {args.jobs} / --threads {args.threads}: expected positive integers")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.data:
        if not Path(args.data).expanduser().is_dir():
            print(f"error: --data {args.data}: no such folder (expected a data root holding ferplus/, e.g. one "
                  f"written by `python -m fer_utils.faces`)", file=sys.stderr)
            return 2
        os.environ["FER_DATA_ROOT"] = str(Path(args.data).expanduser().resolve())   # the --jobs workers inherit it
    for nb in args.notebooks:   # a typo in a notebook path or name is an error, before anything trains
        name = Path(nb).name.removesuffix(".ipynb")
        if (nb.endswith(".ipynb") or "/" in nb) and not Path(nb).is_file():
            print(f"error: notebook {nb}: no such file", file=sys.stderr)
            return 2
        if name not in NOTEBOOKS:
            print(f"error: notebook {nb}: {name!r} is not a chapter (expected one of {', '.join(NOTEBOOKS)})",
                  file=sys.stderr)
            return 2
    if args.only and not args.worker:
        names = {c["name"] for nb in args.notebooks for c in runs_for(nb, args.profile)}
        texts = [t.strip() for t in args.only.split(",") if t.strip()]
        unmatched = [t for t in texts if not any(t in n for n in names)]
        if unmatched or not texts:
            print(f"error: --only {args.only!r}: {', '.join(map(repr, unmatched)) or 'nothing'} matches no run of "
                  f"{', '.join(args.notebooks)} ({args.profile} profile)", file=sys.stderr)
            return 2
    if not (args.dry_run or args.status) and args.profile != "smoke":
        problem = missing_data()
        if problem:
            print(problem, file=sys.stderr)
            return 2
    out = Path(args.out) if args.out else default_results_dir(args.profile)
    if args.executor == "submitit" and not (args.dry_run or args.status):
        return submit(args, out)
    worker_failures, load_only = 0, False
    if args.jobs > 1 and not (args.dry_run or args.status):
        forwarded = [a for a in argv if a not in ("--quiet",)]
        forwarded = [a for i, a in enumerate(forwarded)          # drop "--jobs N" / "--jobs=N"
                     if not a.startswith("--jobs") and not (i and forwarded[i - 1] == "--jobs")]
        threads = args.threads or max(1, torch.get_num_threads() // args.jobs)
        print(f"{args.jobs} workers, {threads} thread(s) each", flush=True)
        worker_failures = run_jobs(forwarded + ["--quiet", "--out", str(out)], args.jobs, threads)
        load_only = True   # the workers trained; this pass loads, reports and writes summary.csv
    worker = args.worker or ""
    failed, unique = 0, {}   # run folder -> estimated minutes (a run two chapters list counts once in the total)
    for nb in args.notebooks:
        configs = shard([c for c in runs_for(nb, args.profile) if selected(c["name"], args.only)], args.shard)
        for c in configs:
            check_config(c)
        status = [run_status(c, out) for c in configs]
        est = [estimate_minutes(c) for c in configs]
        todo = sum(m for m, s in zip(est, status) if s != "stored")
        unique.update({run_dir(c, out).name: m for c, m in zip(configs, est)})
        counts = count_status(status)
        name = Path(nb).name.removesuffix(".ipynb")
        if not worker:
            corrupt = f"{counts['corrupt']} corrupt, " if counts["corrupt"] else ""
            print(f"{name}: {len(configs)} runs ({args.profile}): {counts['stored']} stored, "
                  f"{counts['stale']} stale, {corrupt}{counts['missing']} missing; estimated {_minutes(sum(est))} "
                  f"in all, {_minutes(todo)} to train -> {out}", flush=True)
            for c, st in zip(configs, status):
                if st == "corrupt":
                    try:
                        load_run(run_dir(c, out))
                    except CorruptRun as e:
                        print(f"  corrupt: {e} (set aside and trained again when this list trains)", flush=True)
        if (args.status or args.dry_run) and not worker:
            print_measured(configs, status, est, out)
        if args.status:
            continue
        runs, started, remaining = [], time.time(), todo
        for i, (config, st, minutes) in enumerate(zip(configs, status, est), 1):
            if args.claims and (st == "stored" or not claim(args.claims, run_dir(config, out).name)):
                continue   # a --jobs worker: stored, or another worker has it
            eta = f", the list done in about {_minutes(remaining)}" if st != "stored" and not worker else ""
            fold = f" fold {config['fold']}" if config.get("dataset") == "ckplus" else ""
            print(f"  {worker}[{i}/{len(configs)}] {config['name']}{fold} seed {config['seed']}: {st} "
                  f"(est {minutes:.1f} CPU min{eta})", flush=True)
            if args.dry_run:
                remaining -= minutes if st != "stored" else 0
                continue
            t = time.time()
            try:
                run = run_or_load(config, out, train=not load_only, progress=not args.quiet)
            except RunLocked as e:  # another reproduce process is training it: not ours to train or store
                print(f"      LOCKED: {e}; skipped", flush=True)
                failed += 1
                continue
            except CacheMiss:  # after --jobs: no worker stored it (a worker failed on it; see above)
                print(f"      MISSING: {config['name']} seed {config['seed']} was not stored", flush=True)
                failed += 1
                continue
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
        if runs and not worker:
            table = aggregate(runs)
            if not (args.only or args.shard):  # summary.csv is of the whole list, never of a selection
                (out / name).mkdir(parents=True, exist_ok=True)
                table.to_csv(out / name / "summary.csv")
            print(table.to_string(), flush=True)
    if len(args.notebooks) > 1 and not worker:
        cpu_time = f"estimated {_minutes(sum(unique.values()))} of CPU time"
        if args.profile == "cpu":   # Protocol 2's compute cap is this wall time (budget.BOOK_CAP_HOURS)
            print(f"total: {len(unique)} distinct runs for {len(args.notebooks)} notebooks: about "
                  f"{_minutes(book_wall_minutes(unique.values()))} on the reference 2-core machine, {PARALLEL_RUNS} "
                  f"one-thread runs at a time ({cpu_time})", flush=True)
        else:
            print(f"total: {len(unique)} distinct runs, {cpu_time} for {len(args.notebooks)} notebooks", flush=True)
    if args.profile == "cpu" and (args.dry_run or args.status) and fast_precision("cpu") == "fp32":
        print("note: the estimates are for the reference 2-core CPU with native bf16; this CPU has none, so runs "
              "train in fp32 and take longer (the 'measured' lines give the factor where runs are stored)", flush=True)
    if args.dry_run or args.status:
        return 0
    return 1 if failed or worker_failures else 0


if __name__ == "__main__":
    sys.exit(main())
