"""One table of every expression method the book trains, built only from stored run folders (chapter 6).

Every method is looked up by (chapter notebook, run name) in the runs of the chapters' experiment lists
(plus the few runs the leaderboard adds for a fair comparison). The ensemble of paper 004 is not a run: its
score per seed is the meta-classifier (priority rules) over that seed's five sub-classifier runs.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy import stats

from .baseline import runs as ch0
from .budget import training_budget
from .experiments import run_config, runs_for
from .labels import FERPLUS_CLASSES
from .metrics import accuracy, macro_f1
from .papers.abaw5_expression import runs as ch1
from .papers.abaw5_multitask import ensemble as E
from .papers.abaw5_multitask import runs as ch5
from .papers.abaw5_multitask.runs import SUBCLASSIFIERS
from .papers.cct import runs as ch2
from .papers.self_training import runs as ch4
from .papers.ssl_temporal import runs as ch3
from . import paper_numbers as P
from .report import collect
from .verdicts import MIN_SEEDS, compare_runs, run_failure, verdict, welch

CHAPTERS = ("00_data", "01_abaw5_expression", "02_cct", "03_ssl_temporal", "04_self_training",
            "05_abaw5_multitask", "06_leaderboard")
LABELS = {"single_annotator": "single-annotator labels", "majority": "majority labels"}

# method -> (paper, chapter of the method, {label setting: (notebook of the run, run name)})
METHODS = {
    "fully supervised ResNet-18": ("000", "01_abaw5_expression", {
        "single_annotator": ("00_data", ch0.run_name("single_annotator")),
        "majority": ("00_data", ch0.run_name("majority"))}),
    "noise-aware model (learned weights + attention consistency)": ("000", "01_abaw5_expression", {
        "single_annotator": ("01_abaw5_expression", ch1.run_name("noise_aware", "single_annotator")),
        "majority": ("01_abaw5_expression", ch1.run_name("noise_aware", "majority"))}),
    "CCT (three networks, consensus)": ("001", "02_cct", {
        "single_annotator": ("02_cct", ch2.run_name("cct", "single_annotator")),
        "majority": ("02_cct", ch2.run_name("cct", "majority"))}),
    "self-training + sample weights (unlabelled: FER+ train pool)": ("003", "04_self_training", {
        "single_annotator": ("04_self_training", ch4.run_name("ferplus", "st_sw")),
        "majority": ("04_self_training", ch4.run_name("ferplus-majority", "st_sw"))}),
    "ensemble of five, priority rules": ("004", "05_abaw5_multitask", {
        "single_annotator": ("ensemble", "single_annotator"), "majority": ("ensemble", "majority")}),
}

# the scarce-label table (majority labels, Protocol 2's scarce budget: the same steps and labelled batch in every
# row): method -> (paper, chapter, {labelled share: (notebook, run name)}); the supervised rows are chapter 0's on
# the cpu and smoke profiles and chapter 1's own under the paper's recipe on the gpu profile (``scarce_refs``)
SCARCE_SHARES = ("10pct", "25pct")


def scarce_refs(profile: str) -> dict:
    """The scarce-label table's rows for a profile (see SCARCE_SHARES)."""
    return {
        "supervised network, the same labelled faces": ("—", "00_data", {
            share: ch1.supervised_run(share, profile) for share in SCARCE_SHARES}),
        "MutexMatch + DAT (unlabelled: the rest of FER+ train)": ("000", "01_abaw5_expression", {
            share: ("01_abaw5_expression", ch1.run_name("mutexmatch", share)) for share in SCARCE_SHARES}),
        "supervised baseline of chapter 3 (its sampler)": ("002", "03_ssl_temporal", {
            "10pct": ("03_ssl_temporal", ch3.run_name("baseline"))}),
        "teacher/student with debiased feedback (unlabelled: the rest of FER+ train + CK+48)": ("002", "03_ssl_temporal", {
            "10pct": ("03_ssl_temporal", ch3.run_name("ssl"))}),
    }


# synthetic-noise sweeps run by the chapters: method -> {noise rate: (notebook, run name)}
SWEEPS = {
    # chapter 2 on Protocol 2: one network is chapter 0's run, and the second noise setting replaced symmetric noise
    # (the 0.4 point is the crowd-matrix rate, chapter 0)
    "one network, common recipe": {0.0: ("00_data", ch0.run_name("majority")),
                                   0.4: ("00_data", ch0.run_name(ch0.CROWD_MATRIX))},
    "CCT": {0.0: ("02_cct", ch2.run_name("cct", "majority")), 0.4: ("02_cct", ch2.run_name("cct", "crowd_matrix40"))},
}


def check_references(profile: str) -> None:
    """Every (notebook, run name) the leaderboard reads must be a run of that notebook's list
    (``experiments.run_config`` raises a KeyError naming the runs it has): a renamed run is an error here,
    never a silently 'pending' row."""
    refs = [ref for _, _, by in METHODS.values() for ref in by.values() if ref[0] != "ensemble"]
    refs += [ref for sweep in SWEEPS.values() for ref in sweep.values()]
    refs += [ref for _, by in SAME_RECIPE.values() if by for ref in by.values()]
    refs += [ref for _, _, by in scarce_refs(profile).values() for ref in by.values()]
    refs += [(nb, f"{arch}-{labels}") for arch in SUBCLASSIFIERS for labels in LABELS
             for nb in ("05_abaw5_multitask",) if profile != "smoke" or labels == "majority"]
    for notebook, name in refs:
        if profile == "smoke" and name not in {c["name"] for c in runs_for(notebook, profile)}:
            continue   # the smoke profile runs a reduced list
        run_config(notebook, name, profile)


def load_all(profile: str, train_own: bool = False):
    """Every stored run of the chapters, keyed by (notebook, name): {key: [runs over seeds]}, and the
    configs with nothing stored. Runs of chapters 0-5 are only loaded (their chapters train them); the
    leaderboard's own runs (none under Protocol 2: ``experiments.leaderboard_chapter``) are trained when
    missing if ``train_own``."""
    check_references(profile)
    unique = {}
    for c in (c for nb in CHAPTERS for c in runs_for(nb, profile)):  # a run two chapters list is loaded once
        unique.setdefault(json.dumps(c, sort_keys=True), c)
    own = [c for c in unique.values() if c["notebook"] == "06_leaderboard"]
    runs, missing = collect([c for c in unique.values() if c["notebook"] != "06_leaderboard"], train=False)
    own_runs, own_missing = collect(own, train=train_own)
    runs, missing = runs + own_runs, missing + own_missing
    groups: dict = {}
    for r in sorted(runs, key=lambda r: r.config["seed"]):
        groups.setdefault((r.config["notebook"], r.config["name"]), []).append(r)
    return groups, missing


def ensemble_members(groups, labels: str) -> dict[int, list]:
    """{seed: the five sub-classifier runs of that seed} for a label setting (seeds with all five only)."""
    return E.by_seed({arch: list(groups.get(("05_abaw5_multitask", f"{arch}-{labels}"), [])) for arch in SUBCLASSIFIERS})


def ensemble_scores(members: list) -> dict:
    """Macro F1 and accuracy of the meta-classifier over one seed's sub-classifier runs (FER+ Test)."""
    y = members[0].predictions()["labels"]
    keep = y >= 0
    pred = E.rule_predictions(E.member_probs(members), FERPLUS_CLASSES)["priority rules"].numpy()
    return {"macro_f1": macro_f1(y[keep], pred[keep], 8), "accuracy": accuracy(y[keep], pred[keep])}


def run_group(provenance: dict) -> str:
    """Where and how a run trained, as the leaderboard groups runs: device, CPU kind, precision and threads."""
    p = provenance
    where = p.get("cpu_kind") if str(p.get("device", "")).startswith("cpu") and p.get("cpu_kind") else p.get("device", "?")
    threads = p.get("threads")
    return f"{where}, {p.get('precision', '?')}" + ("" if threads is None else f", {threads} thread{'s' if threads != 1 else ''}")


def method_scores(groups, ref) -> list[dict]:
    """Per seed: {"seed", "macro_f1", "accuracy", "train_seconds", "images_per_s", "device", "group",
    "budget"} of one method setting: a run (notebook, name) or ("ensemble", labels), whose budget is the sum of
    its members' and whose training time is theirs together."""
    if ref[0] == "ensemble":
        out = []
        for seed, members in ensemble_members(groups, ref[1]).items():
            prov = [m.provenance for m in members]
            budgets = [training_budget(m.config) for m in members]
            out.append({"seed": seed, **ensemble_scores(members),
                        "train_seconds": float(sum(p.get("train_seconds", np.nan) for p in prov)),
                        "images_per_s": float(np.mean([p.get("images_per_s", np.nan) for p in prov])),
                        "device": prov[0].get("device", "?"), "group": "; ".join(sorted({run_group(p) for p in prov})),
                        "budget": {k: sum(b[k] for b in budgets) for k in budgets[0]}})
        return out
    return [{"seed": r.config["seed"], "macro_f1": r.final["macro_f1"], "accuracy": r.final["accuracy"],
             "train_seconds": r.provenance.get("train_seconds", np.nan), "images_per_s": r.provenance.get("images_per_s", np.nan),
             "device": r.provenance.get("device", "?"), "group": run_group(r.provenance),
             "budget": training_budget(r.config)} for r in groups.get(ref, [])]


def interval(values, alpha: float = 0.05) -> tuple[float, float, float]:
    """(mean, low, high): the mean over seeds and its two-sided (1 - alpha) Student-t confidence interval
    (NaN bounds with fewer than two seeds, NaN everywhere with none)."""
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return np.nan, np.nan, np.nan
    m = float(v.mean())
    if len(v) < 2:
        return m, np.nan, np.nan
    half = float(stats.t.ppf(1 - alpha / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return m, m - half, m + half


def interval_cell(values, digits: int = 3) -> str:
    """A table cell: "0.471 [0.462, 0.480]" (mean and 95% CI over seeds), "0.519 (one seed)", or "pending"."""
    m, lo, hi = interval(values)
    if np.isnan(m):
        return "pending"
    if np.isnan(lo):
        return f"{m:.{digits}f} (one seed)"
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _rows(method, paper, chapter, setting, what, scores) -> dict:
    f1, acc = [x["macro_f1"] for x in scores], [x["accuracy"] for x in scores]
    m, lo, hi = interval(f1)
    budget = scores[0]["budget"] if scores else {}
    groups = sorted({x["group"] for x in scores})
    return {"method": method, "paper": paper, "chapter": chapter, setting: what,
            "macro F1 (95% CI)": interval_cell(f1), "accuracy (95% CI)": interval_cell(acc), "seeds": len(scores),
            "steps": budget.get("steps", np.nan), "labelled images": budget.get("labelled images", np.nan),
            "network passes": budget.get("passes", np.nan),
            "train min / seed": round(float(np.mean([x["train_seconds"] for x in scores])) / 60, 1) if scores else np.nan,
            "run group": "; ".join(groups) if groups else "—",
            "macro_f1_mean": m, "macro_f1_low": lo, "macro_f1_high": hi,
            "accuracy_mean": float(np.mean(acc)) if scores else np.nan}


def leaderboard(groups) -> pd.DataFrame:
    """The leaderboard: one row per (method, label setting) with the mean and 95% confidence interval over
    seeds of macro F1 and accuracy on FER+ Test, the seeds, the training budget of one run (optimiser steps,
    labelled images drawn, network passes: ``budget.training_budget``; an ensemble sums its members), the mean
    training minutes per seed and the run group (``run_group``: device, CPU kind, precision, threads; the
    groups are listed once by ``run_groups``). Rows without stored runs say 'pending'. Raw means and bounds in
    columns macro_f1_mean/low/high and accuracy_mean, for plots and tests."""
    rows = [_rows(method, paper, chapter, "training labels", LABELS[labels], method_scores(groups, ref))
            for method, (paper, chapter, refs) in METHODS.items() for labels, ref in refs.items()]
    return pd.DataFrame(rows)


def scarce_board(groups, profile: str) -> pd.DataFrame:
    """The scarce-label table (majority labels on 10% or 25% of each class's faces): the semi-supervised methods
    beside the supervised network on the same labelled faces, one row per (method, labelled share), the same
    columns as ``leaderboard``."""
    rows = [_rows(method, paper, chapter, "labelled share", f"{share[:-3]}% of each class", method_scores(groups, ref))
            for method, (paper, chapter, refs) in scarce_refs(profile).items() for share, ref in refs.items()]
    return pd.DataFrame(rows)


def run_groups(groups) -> pd.DataFrame:
    """Where the book's stored runs trained, once for the whole leaderboard: one row per run group (device,
    CPU kind, precision, threads) with its number of runs and the chapters they belong to."""
    by: dict = {}
    for (notebook, _), runs in groups.items():
        for r in runs:
            g = by.setdefault(run_group(r.provenance), {"runs": 0, "chapters": set()})
            g["runs"] += 1
            g["chapters"].add(notebook[:2])
    return pd.DataFrame([{"run group": k, "runs": v["runs"], "chapters": ", ".join(sorted(v["chapters"]))}
                         for k, v in sorted(by.items(), key=lambda kv: -kv[1]["runs"])],
                        columns=["run group", "runs", "chapters"])


def noise_drop(groups) -> pd.DataFrame:
    """The crowd-noise benchmark: per method, the drop in FER+ Test macro F1 and accuracy from majority to
    single-annotator training labels, mean(majority) - mean(single-annotator), with Welch's 95% interval when
    both sides have at least MIN_SEEDS seeds (else the difference alone). Columns: method, paper, metric,
    drop, low, high, seeds (majority + single-annotator), text."""
    rows = []
    for metric in ("macro_f1", "accuracy"):
        for method, (paper, _, refs) in METHODS.items():
            clean = [x[metric] for x in method_scores(groups, refs["majority"])]
            noisy = [x[metric] for x in method_scores(groups, refs["single_annotator"])]
            v = welch(clean, noisy)
            if v.word == "pending":
                text = "pending"
            elif v.word == "one seed":
                text = f"{v.diff:+.3f} ({len(clean)}+{len(noisy)} seeds, no interval)"
            else:
                text = f"{v.diff:+.3f} [{v.ci[0]:+.3f}, {v.ci[1]:+.3f}]"
            rows.append({"method": method, "paper": paper, "metric": metric, "drop": v.diff, "low": v.ci[0],
                         "high": v.ci[1], "seeds": f"{len(clean)}+{len(noisy)}", "text": text})
    return pd.DataFrame(rows)


def robustness(groups) -> pd.DataFrame:
    """Macro F1 (seed 0) against the rate of the second noise setting (``SWEEPS``: crowd-matrix noise on the
    majority labels; rate 0 = the majority labels): rows = noise rate, columns = method."""
    table = {m: {rate: (groups[ref][0].final["macro_f1"] if ref in groups else np.nan) for rate, ref in sweep.items()}
             for m, sweep in SWEEPS.items()}
    return pd.DataFrame(table)


# The crowd-noise gap of a method is measured against a single network trained with *the method's own recipe
# and budget* (same chapter, same steps and labelled images, no noise-robust part), on both label settings:
# a reference from another recipe would mix the cost of noise with the difference in budget.
# method -> (what the reference is, {label setting: (notebook, run name)}); None: no such run in the lists.
SAME_RECIPE = {
    "noise-aware model (learned weights + attention consistency)": ("one network, common recipe (chapter 0)", {
        "single_annotator": ("00_data", ch0.run_name("single_annotator")), "majority": ("00_data", ch0.run_name("majority"))}),
    "CCT (three networks, consensus)": ("one network, common recipe (chapter 0)", {
        "single_annotator": ("00_data", ch0.run_name("single_annotator")), "majority": ("00_data", ch0.run_name("majority"))}),
    "self-training + sample weights (unlabelled: FER+ train pool)": ("one network, common recipe (chapter 0)", {
        "single_annotator": ("00_data", ch0.run_name("single_annotator")), "majority": ("00_data", ch0.run_name("majority"))}),
    "ensemble of five, priority rules": ("its ResNet member alone", {
        "single_annotator": ("05_abaw5_multitask", ch5.run_name("resnet", "single_annotator")),
        "majority": ("05_abaw5_multitask", ch5.run_name("resnet", "majority"))}),
}


def noise_recovery(groups) -> pd.DataFrame:
    """The real crowd-noise benchmark: for every noise-robust method, how much of the clean-vs-noisy gap of
    a single network *trained with the method's own recipe and budget* (``SAME_RECIPE``) it recovers, per
    metric. Rule: recovered = (method on single-annotator labels - reference on single-annotator labels) /
    (reference on majority labels - reference on single-annotator labels), from the means over seeds
    (FER+ Test); 1 closes the whole gap, 0 recovers nothing, below 0 is worse than the reference on the same
    noisy labels. NaN where the method or its reference has fewer than 3 seeds, the method has no same-recipe
    reference, or the reference's gap has a 95% interval that reaches 0 (Protocol 2: nothing to share)."""
    scores = {}   # method -> (its single-annotator runs, its reference's noisy and clean runs): read once
    for method, (_, _, refs) in METHODS.items():
        if method in SAME_RECIPE:
            ref = SAME_RECIPE[method][1]
            scores[method] = (method_scores(groups, refs["single_annotator"]),
                              method_scores(groups, ref["single_annotator"]) if ref else [],
                              method_scores(groups, ref["majority"]) if ref else [])
    rows = []
    for metric in ("macro_f1", "accuracy"):
        for method, (paper, chapter, refs) in METHODS.items():
            if method not in SAME_RECIPE:
                continue
            what = SAME_RECIPE[method][0]
            got, noisy, clean = ([x[metric] for x in runs] for runs in scores[method])
            gap = float(np.mean(clean) - np.mean(noisy)) if noisy and clean else np.nan
            # Protocol 2: a ratio only over at least MIN_SEEDS seeds of the method, and only where the reference's
            # gap is measured over MIN_SEEDS + MIN_SEEDS seeds with a 95% interval that excludes 0
            measured = (len(got) >= MIN_SEEDS and len(noisy) >= MIN_SEEDS and len(clean) >= MIN_SEEDS
                        and welch(clean, noisy).ci[0] > 0)
            value = (np.mean(got) - np.mean(noisy)) / gap if measured else np.nan
            rows.append({"method": method, "paper": paper, "metric": metric, "reference": what,
                         "reference, majority": float(np.mean(clean)) if clean else np.nan,
                         "reference, single-annotator": float(np.mean(noisy)) if noisy else np.nan,
                         "gap of the reference": gap,
                         "method on single-annotator labels": float(np.mean(got)) if got else np.nan,
                         "share of the gap recovered": value, "seeds": len(got)})
    return pd.DataFrame(rows)


def collapsed(groups, share: float = 0.9) -> pd.DataFrame:
    """The stored runs that collapsed: their FER+ Test macro F1 is no better than always predicting one class
    (the best such constant, from the run's own test labels), or at least ``share`` of their predictions fall
    in one class. Such a model has learnt nothing usable, whatever its row's mean says. One row per run:
    notebook, run, seed, its most predicted class and that class's share of the predictions, its macro F1,
    the best one-class macro F1, and the feedback coefficient f of the first epoch where the run logs one
    (the teacher/student runs; NaN elsewhere). Runs without class logits (action units, valence/arousal)
    are not classifiers of FER+ Test and are left out."""
    n = len(FERPLUS_CLASSES)
    rows = []
    for (notebook, name), runs in groups.items():
        for run in runs:
            pred = run.predictions()
            logits = pred.get("logits")
            if logits is None or "labels" not in pred or logits.ndim != 2 or logits.shape[1] != n:
                continue
            y = pred["labels"]
            keep = y >= 0
            guess = pred["logits"].argmax(1)
            counts = np.bincount(guess, minlength=n)
            top = int(counts.argmax())
            f1 = macro_f1(y[keep], guess[keep], n)
            constant = max(macro_f1(y[keep], np.full(int(keep.sum()), c), n) for c in range(n))
            if f1 <= constant + 1e-9 or counts[top] >= share * counts.sum():
                first = run.history[0] if run.history else {}
                rows.append({"notebook": notebook, "run": name, "seed": run.config["seed"],
                             "most predicted class": FERPLUS_CLASSES[top],
                             "its share of predictions": counts[top] / counts.sum(), "macro F1": f1,
                             "best one-class macro F1": constant, "first-epoch f": float(first.get("f", np.nan))})
    columns = ["notebook", "run", "seed", "most predicted class", "its share of predictions", "macro F1",
               "best one-class macro F1", "first-epoch f"]
    return pd.DataFrame(rows, columns=columns)


def teacher_student_runs(groups, refs) -> pd.DataFrame:
    """The training signals of teacher/student runs (paper 002), one row per stored run of each (notebook,
    run name) in ``refs``: its labelled share, the unlabelled pool's size (provenance), the feedback
    coefficient f (Eq. 6) and the teacher's supervised loss L_s (Eq. 3) in the first and the last epoch,
    and the student's FER+ Test macro F1. A teacher whose L_s stays near ln 8 = 2.08 predicts at chance."""
    rows = []
    for notebook, name in refs:
        for run in groups.get((notebook, name), []):
            h = run.history
            rows.append({"notebook": notebook, "run": name, "seed": run.config["seed"],
                         "labelled share": run.config.get("labelled_fraction", np.nan),
                         "unlabelled faces": run.provenance.get("data", {}).get("n_unlabelled", np.nan),
                         "f, first epoch": h[0].get("f", np.nan) if h else np.nan,
                         "f, last epoch": h[-1].get("f", np.nan) if h else np.nan,
                         "teacher L_s, first epoch": h[0].get("sup", np.nan) if h else np.nan,
                         "teacher L_s, last epoch": h[-1].get("sup", np.nan) if h else np.nan,
                         "student macro F1": run.final["macro_f1"]})
    columns = ["notebook", "run", "seed", "labelled share", "unlabelled faces", "f, first epoch", "f, last epoch",
               "teacher L_s, first epoch", "teacher L_s, last epoch", "student macro F1"]
    return pd.DataFrame(rows, columns=columns)


def headline_claims(groups) -> pd.DataFrame:
    """The five papers' headline claims with Protocol 2's verdicts (Welch over seeds, "training failed" for a
    collapsed run, "not exercised" where the mechanism did not act) and each claim's mechanism signal, from the
    same runs and signal functions as the claim's chapter. ``groups``: ``load_all``'s {(notebook, name): runs}.
    One row per paper: paper, chapter, claim, paper's numbers, ours (the metric and the two means), verdict
    (text), word."""
    from .papers.abaw5_expression.signals import noise_aware_signal
    from .papers.cct.signals import consensus_signal
    from .papers.ssl_temporal.signals import feedback_signal

    def get(ref):
        return list(groups.get(ref, []))

    one_net = get(METHODS["fully supervised ResNet-18"][2]["single_annotator"])
    rows = []

    def add(paper, chapter, claim, theirs, a, b, v, metric="macro_f1"):
        what = "accuracy" if metric == "accuracy" else "macro F1"
        ours = (f"{what} {np.mean(a):.3f} vs {np.mean(b):.3f}" if len(a) and len(b) else "pending")
        rows.append({"paper": paper, "chapter": chapter, "claim": claim, "paper's numbers": theirs,
                     "ours (means over seeds, FER+ Test)": ours, "verdict": str(v), "word": v.word})

    values = lambda runs, metric="macro_f1": [r.final[metric] for r in runs]  # noqa: E731
    na = get(METHODS["noise-aware model (learned weights + attention consistency)"][2]["single_annotator"])
    ex, sig = noise_aware_signal(na, na[0].config.get("warmup_epochs", 0) if na else 0)
    add("000", "1", "the noise-aware model beats fully supervised training (single-annotator labels, same budget)",
        f"F1 {P.P000_T1['noise-aware']} vs {P.P000_T1['resnet18']} (%)", values(na), values(one_net),
        compare_runs(na, one_net, exercised=ex or not na, signal=sig))
    cct = get(("02_cct", ch2.run_name("cct", "single_annotator")))
    ex, sig = consensus_signal(cct, get(("02_cct", ch2.run_name("cct", "ce-only"))))
    add("001", "2", "CCT beats one network (single-annotator labels)",
        f"F1 {P.P001_T1['cct']['macro_f1']} vs {P.P001_T1['baseline']['macro_f1']} (challenge baseline)",
        values(cct), values(one_net), compare_runs(cct, one_net, exercised=ex or not cct, signal=sig))
    ssl, sup = get(("03_ssl_temporal", ch3.run_name("ssl"))), get(("03_ssl_temporal", ch3.run_name("baseline")))
    ex, sig = feedback_signal(ssl)
    add("002", "3", "semi-supervised pretraining beats the supervised baseline (10% of the labels)",
        f"F1 {P.P002_T1['SSL']} vs {P.P002_T1['baseline']} (%)", values(ssl), values(sup),
        compare_runs(ssl, sup, exercised=ex or not ssl, signal=sig))
    st, plain = get(("04_self_training", ch4.run_name("ferplus", "st_sw"))), get(("04_self_training", ch4.run_name("ferplus", "none")))
    add("003", "4", "self-training + sample weights beat plain training (single-annotator labels; unlabelled: FER+'s own pool)",
        f"RAF accuracy {P.P003_T1['RAF (paper)'][3]} vs {P.P003_T1['RAF (paper)'][0]} (%)",
        values(st, "accuracy"), values(plain, "accuracy"), compare_runs(st, plain, "accuracy"), metric="accuracy")
    ens = ensemble_members(groups, "single_annotator")
    meta = [E.ensemble_scores(m, m[0].predictions()["labels"]) for m in ens.values()]
    overrides = [E.rule_overrides(m) for m in ens.values()]
    sig = (f"the rules overrule the majority vote on {min(overrides):.1%}-{max(overrides):.1%} of Test faces"
           if overrides else "")
    a = [m["priority rules"]["macro_f1"] for m in meta]
    b = [m["best sub-classifier (Valid)"]["macro_f1"] for m in meta]
    add("004", "5", "the meta-classifier beats the best sub-classifier (chosen on FER+ Valid; single-annotator labels)",
        f"F1 {P.P004_T2['Meta-Classifier'][1]} vs {max(f1 for k, (_, f1) in P.P004_T2.items() if k.startswith('Sub'))} (best)",
        a, b, verdict(a, b, failed=[run_failure(r) for m in ens.values() for r in m],
                      exercised=not overrides or min(overrides) > 0, signal=sig))
    return pd.DataFrame(rows).set_index("paper")
