"""Chapter 6: every number of the leaderboard equals the value recomputed directly from the run files."""
import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from fer_utils import leaderboard as LB
from fer_utils import runs as R
from fer_utils.experiments import runs_for
from fer_utils.labels import FERPLUS_CLASSES
from fer_utils.papers.abaw5_multitask.runs import SUBCLASSIFIERS

PRIORITY = ("disgust", "fear", "sadness", "anger")


def fake_run(config, rng, labels, train_seconds):
    """A run folder in the real format with random test logits (metrics computed from them)."""
    logits = rng.normal(size=(len(labels), 8)).astype(np.float32)
    pred = logits.argmax(1)
    folder = R.run_dir(config)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    final = {"macro_f1": f1_score(labels, pred, labels=range(8), average="macro", zero_division=0),
             "accuracy": accuracy_score(labels, pred)}
    (folder / "metrics.json").write_text(json.dumps({"final": final, "history": []}))
    np.savez(folder / "predictions.npz", logits=logits, labels=labels, names=np.array([f"f{i}" for i in range(len(labels))]))
    (folder / "provenance.json").write_text(json.dumps({"train_seconds": train_seconds, "images_per_s": 1000.0,
                                                        "device": "NVIDIA H100 80GB HBM3"}))


def recompute_meta(folders):
    """The meta-classifier from the files, written out independently: priority classes by name first,
    then the majority vote, ties by summed softmax."""
    preds = [np.load(f / "predictions.npz") for f in folders]
    labels = preds[0]["labels"]
    probs = [np.exp(p["logits"]) / np.exp(p["logits"]).sum(1, keepdims=True) for p in preds]
    out = []
    for i in range(len(labels)):
        votes = [int(p[i].argmax()) for p in probs]
        chosen = next((FERPLUS_CLASSES.index(c) for c in PRIORITY if FERPLUS_CLASSES.index(c) in votes), None)
        if chosen is None:
            counts = np.bincount(votes, minlength=8).astype(float)
            tied = np.flatnonzero(counts == counts.max())
            chosen = int(tied[np.argmax(sum(p[i] for p in probs)[tied])])
        out.append(chosen)
    out = np.array(out)
    return f1_score(labels, out, labels=range(8), average="macro", zero_division=0), accuracy_score(labels, out)


def wanted_runs(configs):
    return [("00_data", "resnet18-single_annotator", s) for s in (0, 1, 2)] + \
           [("02_cct", "cct-majority", s) for s in (0, 1)] + \
           [("05_abaw5_multitask", f"{a}-majority", s) for a in SUBCLASSIFIERS for s in (0, 1, 2)] + \
           [("02_cct", "cct-crowd_matrix40", 0)]


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setattr(R, "RESULTS_DIR", tmp_path)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 8, 40)
    configs = {(c["notebook"], c["name"], c["seed"]): c for nb in LB.CHAPTERS for c in runs_for(nb, "gpu")}
    for i, key in enumerate(wanted_runs(configs)):
        fake_run(configs[key], rng, labels, 10.0 + i)
    return tmp_path, configs


def test_every_leaderboard_number_is_recomputed_from_the_files(results):
    root, configs = results
    groups, _ = LB.load_all("gpu")
    table = LB.leaderboard(groups).set_index(["method", "training labels"])
    files = lambda nb, name, seeds: [R.run_dir(configs[(nb, name, s)]) for s in seeds]

    def final(folder, key):
        return json.loads((folder / "metrics.json").read_text())["final"][key]

    row = table.loc[("fully supervised ResNet-18", "single-annotator labels")]
    f1 = [final(f, "macro_f1") for f in files("00_data", "resnet18-single_annotator", (0, 1, 2))]
    half = 4.302653 * np.std(f1, ddof=1) / np.sqrt(3)          # t(0.975, 2 dof) = 4.3027
    m = np.mean(f1)
    assert row["seeds"] == 3 and row["macro F1 (95% CI)"] == f"{m:.3f} [{m - half:.3f}, {m + half:.3f}]"
    assert row["macro_f1_mean"] == pytest.approx(m) and row["train min / seed"] == pytest.approx(round(11.0 / 60, 1))
    train = configs[("00_data", "resnet18-single_annotator", 0)]["train"]
    steps = train["epochs"] * (train.get("steps_per_epoch") or 28_377 // train["batch_size"])
    assert (row["steps"], row["labelled images"], row["network passes"]) == (steps, steps * train["batch_size"],
                                                                           steps * train["batch_size"])
    row = table.loc[("CCT (three networks, consensus)", "majority labels")]
    acc = [final(f, "accuracy") for f in files("02_cct", "cct-majority", (0, 1))]
    assert row["seeds"] == 2 and row["accuracy_mean"] == pytest.approx(np.mean(acc))
    row = table.loc[("ensemble of five, priority rules", "majority labels")]
    metas = [recompute_meta([R.run_dir(configs[("05_abaw5_multitask", f"{a}-majority", s)]) for a in SUBCLASSIFIERS])
             for s in (0, 1, 2)]
    assert row["seeds"] == 3 and row["macro_f1_mean"] == pytest.approx(np.mean([m[0] for m in metas]))
    assert row["accuracy_mean"] == pytest.approx(np.mean([m[1] for m in metas]))
    assert row["run group"].startswith("NVIDIA H100 80GB HBM3")
    member = configs[("05_abaw5_multitask", "resnet-majority", 0)]["train"]
    steps = member["epochs"] * (member.get("steps_per_epoch") or 28_377 // member["batch_size"])
    assert row["network passes"] == 5 * steps * member["batch_size"]      # five members, one pass each
    cct = table.loc[("CCT (three networks, consensus)", "majority labels")]
    assert cct["network passes"] == 3 * cct["labelled images"]           # three networks on every batch
    assert cct["macro F1 (95% CI)"].count("[") == 1 and cct["seeds"] == 2
    assert table.loc[("CCT (three networks, consensus)", "single-annotator labels"), "macro F1 (95% CI)"] == "pending"
    groups_table = LB.run_groups(groups)
    assert groups_table["runs"].sum() == len(wanted_runs(configs))
    sweep = LB.robustness(groups)
    f = R.run_dir(configs[("02_cct", "cct-crowd_matrix40", 0)])
    assert sweep.loc[0.4, "CCT"] == pytest.approx(final(f, "macro_f1"))   # the second noise setting (chapter 0)
    assert np.isnan(sweep.loc[0.4, "one network, common recipe"])


def test_committed_results_agree_with_the_leaderboard():
    """The same recomputation on the committed results/ (rows without runs are 'pending')."""
    groups, _ = LB.load_all("gpu")
    table = LB.leaderboard(groups)
    for _, row in table.iterrows():
        ref = LB.METHODS[row["method"]][2][{v: k for k, v in LB.LABELS.items()}[row["training labels"]]]
        if ref[0] == "ensemble":
            continue  # recomputed in the test above from the same kind of files
        values = [json.loads((r.dir / "metrics.json").read_text())["final"]["macro_f1"] for r in groups.get(ref, [])]
        assert row["seeds"] == len(values)
        if values:
            assert row["macro_f1_mean"] == pytest.approx(np.mean(values))
        else:
            assert row["macro F1 (95% CI)"] == "pending"


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_every_run_the_leaderboard_names_exists_in_the_run_registry(profile):
    """A renamed run must fail here, not show up silently as 'pending' in chapter 6."""
    from fer_utils.experiments import run_config
    refs = [ref for _, _, settings in LB.METHODS.values() for ref in settings.values()]
    refs += [ref for sweep in LB.SWEEPS.values() for ref in sweep.values()]
    refs += [ref for _, settings in LB.SAME_RECIPE.values() if settings for ref in settings.values()]
    for notebook, name in refs:
        if notebook == "ensemble":
            for arch in SUBCLASSIFIERS:
                assert run_config("05_abaw5_multitask", f"{arch}-{name}", profile)
            continue
        assert run_config(notebook, name, profile), (notebook, name)


def test_collapsed_lists_the_runs_no_better_than_one_class(tmp_path):
    labels = np.arange(100) % 8
    healthy = np.eye(8, dtype=np.float32)[labels]                                   # every face right
    dead = np.eye(8, dtype=np.float32)[np.where(np.arange(100) < 93, 2, labels)]   # 93 + face 98: 94% "surprise"
    wrong = np.eye(8, dtype=np.float32)[(labels + 1) % 8]                          # spread out, every face wrong
    runs = []
    for i, (logits, history) in enumerate(((healthy, [{"f": 0.01}]), (dead, [{"f": -25.0}]), (dead, []),
                                           (wrong, []))):
        folder = tmp_path / f"r{i}"
        folder.mkdir()
        np.savez(folder / "predictions.npz", logits=logits, labels=labels)
        runs.append(R.Run(folder, {"name": "x", "seed": i}, {"final": {"macro_f1": 0.1}, "history": history}, {}))
    au = tmp_path / "au"
    au.mkdir()
    np.savez(au / "predictions.npz", logits=np.zeros((100, 12), np.float32), labels=labels)  # 12 AUs
    runs.append(R.Run(au, {"name": "au", "seed": 0}, {"final": {}, "history": []}, {}))
    table = LB.collapsed({("06_leaderboard", "ssl"): runs[:4], ("05", "au"): runs[4:]})
    assert table["seed"].tolist() == [1, 2, 3]
    assert table["most predicted class"].tolist()[:2] == ["surprise", "surprise"]
    assert np.allclose(table["its share of predictions"].iloc[:2], 0.94) and table["macro F1"].iloc[2] == 0
    # one-class F1 by hand: always "neutral" (13 of 100 faces): F1 = 2 * 13 / (100 + 13), over 8 classes
    assert np.allclose(table["best one-class macro F1"], 2 * 13 / 113 / 8)
    assert table["first-epoch f"].iloc[0] == -25.0 and np.isnan(table["first-epoch f"].iloc[1])
    # the 94% runs beat the one-class F1 (their last faces are right), so a stricter share keeps only "wrong"
    assert LB.collapsed({("06_leaderboard", "ssl"): runs[:4]}, share=0.95)["seed"].tolist() == [3]


def test_teacher_student_runs_reads_the_feedback_and_the_teachers_loss(tmp_path):
    history = [{"f": -0.2, "sup": 2.1}, {"f": 0.0, "sup": 2.05}, {"f": 0.01, "sup": 1.4}]
    run = R.Run(tmp_path, {"name": "ssl", "seed": 2, "labelled_fraction": 1.0},
                {"final": {"macro_f1": 0.05}, "history": history}, {"data": {"n_unlabelled": 1162}})
    bare = R.Run(tmp_path, {"name": "ssl", "seed": 3}, {"final": {"macro_f1": 0.3}, "history": []}, {})
    table = LB.teacher_student_runs({("06_leaderboard", "ssl"): [run, bare]},
                                    [("06_leaderboard", "ssl"), ("03_ssl_temporal", "not stored")])
    assert table["seed"].tolist() == [2, 3]
    first = table.iloc[0]
    assert (first["f, first epoch"], first["f, last epoch"]) == (-0.2, 0.01)
    assert (first["teacher L_s, first epoch"], first["teacher L_s, last epoch"]) == (2.1, 1.4)
    assert first["unlabelled faces"] == 1162 and first["labelled share"] == 1.0 and first["student macro F1"] == 0.05
    assert table.iloc[1][["f, first epoch", "teacher L_s, last epoch", "unlabelled faces"]].isna().all()


def test_noise_recovery_measures_each_method_against_its_own_recipe():
    """recovered = (method_single - ref_single) / (ref_majority - ref_single), with the reference trained by
    the method's own chapter and recipe; hand-computed on made-up scores."""
    from types import SimpleNamespace

    def runs(*f1s):
        return [SimpleNamespace(config={"seed": s, "task": "supervised", "train": {"epochs": 1, "batch_size": 128}},
                                final={"macro_f1": f, "accuracy": f / 2},
                                provenance={"train_seconds": 1.0, "images_per_s": 1.0, "device": "cpu"})
                for s, f in enumerate(f1s)]

    groups = {("00_data", "resnet18-single_annotator"): runs(0.30, 0.32, 0.31),  # CCT's reference: mean 0.31
              ("00_data", "resnet18-majority"): runs(0.35, 0.351, 0.349),         # gap 0.04, 3 + 3 seeds
              ("02_cct", "cct-single_annotator"): runs(0.33, 0.34, 0.32),   # mean 0.33: +0.02 of 0.04
              ("02_cct", "baseline-single_annotator"): runs(0.60),          # the gpu recipe's network: must not matter
              ("02_cct", "baseline-majority"): runs(0.70),
              ("01_abaw5_expression", "baseline-single_annotator"): runs(0.25)}   # not a method with a reference
    table = LB.noise_recovery(groups).set_index(["method", "metric"])
    cct = table.loc[("CCT (three networks, consensus)", "macro_f1")]
    assert cct["reference"] == "one network, common recipe (chapter 0)"
    assert cct["gap of the reference"] == pytest.approx(0.04)
    assert cct["share of the gap recovered"] == pytest.approx(0.5)
    assert cct["seeds"] == 3
    assert table.loc[("CCT (three networks, consensus)", "accuracy"), "share of the gap recovered"] == pytest.approx(0.5)
    assert np.isnan(table.loc[("noise-aware model (learned weights + attention consistency)", "macro_f1"),
                              "share of the gap recovered"])   # method not stored
    assert "fully supervised ResNet-18" not in table.index.get_level_values("method")
    two = LB.noise_recovery({**groups, ("02_cct", "cct-single_annotator"): runs(0.33, 0.34)}).set_index(["method", "metric"])
    assert np.isnan(two.loc[("CCT (three networks, consensus)", "macro_f1"), "share of the gap recovered"])  # 2 seeds


def test_headline_claims_take_the_chapters_verdicts_from_the_committed_runs():
    """Chapter 6's claims table: one row per paper, Protocol 2's verdict words only, and CCT's row the same
    Welch verdict chapter 2 computes from the same runs (CCT against chapter 0's one network)."""
    from fer_utils.verdicts import compare_runs
    groups, _ = LB.load_all("cpu")
    table = LB.headline_claims(groups)
    assert list(table.index) == ["000", "001", "002", "003", "004"]
    assert set(table["word"]) <= {"reproduced", "the opposite", "inconclusive", "one seed", "pending",
                                  "training failed", "not exercised"}
    cct = groups.get(("02_cct", "cct-single_annotator"), [])
    one = groups.get(LB.METHODS["fully supervised ResNet-18"][2]["single_annotator"], [])
    assert table.loc["001", "word"] == compare_runs(cct, one).word
    if cct and one:
        assert f"{compare_runs(cct, one).diff:+.3f}" in table.loc["001", "verdict"]


def test_interval_is_the_student_t_interval_over_seeds():
    m, lo, hi = LB.interval([0.40, 0.42, 0.44])   # mean 0.42, sd 0.02, half = 4.3027 * 0.02 / sqrt(3) = 0.04968
    assert (m, lo, hi) == pytest.approx((0.42, 0.42 - 0.049683, 0.42 + 0.049683), abs=1e-6)
    assert LB.interval_cell([0.40, 0.42, 0.44]) == "0.420 [0.370, 0.470]"
    assert LB.interval_cell([0.519]) == "0.519 (one seed)" and LB.interval_cell([]) == "pending"
    assert np.isnan(LB.interval([0.5])[1])


def test_noise_drop_is_welch_between_majority_and_single_annotator_runs():
    from types import SimpleNamespace

    def runs(*f1s):
        return [SimpleNamespace(config={"seed": s, "task": "supervised", "train": {"epochs": 1, "batch_size": 128}},
                                final={"macro_f1": f, "accuracy": f / 2}, provenance={"train_seconds": 60.0})
                for s, f in enumerate(f1s)]

    groups = {("00_data", "resnet18-majority"): runs(0.56, 0.57, 0.58),
              ("00_data", "resnet18-single_annotator"): runs(0.52, 0.53, 0.54),
              ("02_cct", "cct-single_annotator"): runs(0.43, 0.44, 0.42),
              ("02_cct", "cct-majority"): runs(0.50)}
    table = LB.noise_drop(groups).set_index(["method", "metric"])
    one = table.loc[("fully supervised ResNet-18", "macro_f1")]
    # both sides sd 0.01, n 3: se = sqrt(2 * 0.0001 / 3) = 0.008165, Welch dof 4, t(0.975, 4) = 2.7764
    assert one["drop"] == pytest.approx(0.04) and one["low"] == pytest.approx(0.04 - 2.7764 * 0.008165, abs=1e-4)
    assert one["text"] == "+0.040 [+0.017, +0.063]" and one["seeds"] == "3+3"
    cct = table.loc[("CCT (three networks, consensus)", "macro_f1")]
    assert cct["drop"] == pytest.approx(0.07) and np.isnan(cct["low"]) and "no interval" in cct["text"]
    assert table.loc[("ensemble of five, priority rules", "accuracy"), "text"] == "pending"


@pytest.mark.parametrize("profile", ["cpu", "gpu", "smoke"])
def test_scarce_label_table_rows_share_the_scarce_budget(profile):
    """Every run the scarce-label table names is in its chapter's list, on majority labels, and every row of a
    labelled share trains the same steps of the same labelled batch (the common recipe's scarce budget); on the
    gpu profile each paper keeps its own recipe, so only the rows of one chapter share a budget."""
    from fer_utils.experiments import run_config
    by_share: dict = {}
    for refs in (refs for _, _, refs in LB.scarce_refs(profile).values()):
        for share, (notebook, name) in refs.items():
            config = run_config(notebook, name, profile)[0]
            assert config["labels"] == "majority" and config["labelled_fraction"] == int(share[:-3]) / 100
            key = (share, notebook if profile == "gpu" else "all")
            by_share.setdefault(key, set()).add((config["train"]["epochs"] * config["train"]["steps_per_epoch"],
                                                 config["train"]["batch_size"]))
    assert all(len(budgets) == 1 for budgets in by_share.values()), by_share
    assert len(by_share) == (3 if profile == "gpu" else 2)


def test_the_leaderboard_trains_no_run_of_its_own():
    for profile in ("smoke", "cpu", "gpu"):
        assert runs_for("06_leaderboard", profile) == []
    assert not [m for m in LB.METHODS if "teacher/student" in m]   # a scarce-label method: the scarce table
