"""Run every training run a notebook needs, then aggregate mean ± std over seeds. No Jupyter needed, so
the whole GPU job is one call:

    python -m fer_utils.reproduce notebooks/00_data.ipynb --profile full --out results

Runs already stored under --out are loaded, not retrained (the run cache); a killed run resumes from its
last epoch checkpoint. Writes <out>/<notebook>/summary.csv.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .experiments import PROFILES, runs_for
from .runs import aggregate, default_results_dir, run_dir, run_or_load


SCORES = (("macro_f1", "macro F1"), ("accuracy", "acc"), ("mean_au_f1", "mean AU F1"),
          ("ccc_valence", "CCC valence"), ("ccc_arousal", "CCC arousal"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+", help="notebook paths or names, e.g. notebooks/00_data.ipynb")
    ap.add_argument("--profile", choices=PROFILES, default="full")
    ap.add_argument("--out", help="results folder (default: results/ for full, a cache folder for smoke)")
    ap.add_argument("--only", help="run only configs whose name contains this text")
    ap.add_argument("--dry-run", action="store_true", help="list the runs and whether they are stored")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    out = Path(args.out) if args.out else default_results_dir(args.profile)
    for nb in args.notebooks:
        configs = [c for c in runs_for(nb, args.profile) if not args.only or args.only in c["name"]]
        print(f"{nb}: {len(configs)} runs ({args.profile}) -> {out}", flush=True)
        runs = []
        for i, config in enumerate(configs, 1):
            target = run_dir(config, out)
            stored = (target / "provenance.json").is_file()
            print(f"  [{i}/{len(configs)}] {config['name']} seed {config['seed']}: "
                  f"{'stored' if stored else 'to train'} ({target.name})", flush=True)
            if args.dry_run:
                continue
            t = time.time()
            run = run_or_load(config, out, progress=not args.quiet)
            runs.append(run)
            scores = "  ".join(f"{label} {run.final[key]:.4f}" for key, label in SCORES if key in run.final)
            print(f"      {scores}  ({time.time() - t:.0f} s, {run.provenance['device']})", flush=True)
        if runs:
            table = aggregate(runs)
            name = Path(nb).name.removesuffix(".ipynb")
            (out / name).mkdir(parents=True, exist_ok=True)
            table.to_csv(out / name / "summary.csv")
            print(table.to_string(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
