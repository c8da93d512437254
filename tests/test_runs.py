import ast
import json

import numpy as np
import pytest

from fer_utils import codekey as K
from fer_utils import runs as R
from fer_utils import tasks
from fer_utils.experiments import runs_for
from fer_utils.report import aggregate, mean_std
from fer_utils.reproduce import main as reproduce


@pytest.fixture
def toy_task(monkeypatch):
    calls = []

    def toy(config, work_dir, progress=True):
        calls.append(config["seed"])
        rng = np.random.default_rng(config["seed"])
        return {"final": {"macro_f1": 0.5 + 0.1 * config["seed"], "accuracy": 0.6}, "history": [{"epoch": 0}],
                "best_epoch": 0, "predictions": {"logits": rng.random((4, 8), dtype=np.float32),
                                                 "labels": np.arange(4)},
                "train_seconds": 1.0, "images_per_s": 100.0}

    monkeypatch.setitem(tasks.TASKS, "toy", toy)
    return calls


def config(seed=0, lr=0.1):
    return {"task": "toy", "notebook": "nb", "name": "m", "profile": "smoke", "seed": seed, "train": {"lr": lr}}


def test_run_or_load_trains_once_and_stores_provenance(tmp_path, toy_task):
    run = R.run_or_load(config(), tmp_path)
    assert toy_task == [0]
    assert sorted(p.name for p in run.dir.iterdir()) == sorted(R.FILES)
    prov = run.provenance
    assert {"device", "torch", "commit", "seed", "wall_seconds", "images_per_s", "code_hash"} <= set(prov)
    assert json.loads((run.dir / "config.json").read_text()) == config()
    again = R.run_or_load(config(), tmp_path)
    assert toy_task == [0] and again.final == run.final  # served from the store
    np.testing.assert_array_equal(again.predictions()["logits"], run.predictions()["logits"])


def test_changed_config_or_code_is_never_served_from_the_cache(tmp_path, toy_task, monkeypatch):
    R.run_or_load(config(), tmp_path)
    R.run_or_load(config(lr=0.2), tmp_path)
    assert toy_task == [0, 0]
    monkeypatch.setattr(R, "task_code_hash", lambda task: "other code")
    R.run_or_load(config(), tmp_path)
    assert toy_task == [0, 0, 0]
    with pytest.raises(R.CacheMiss, match="fer_utils.reproduce"):
        R.run_or_load(config(seed=5), tmp_path, train=False)


def test_code_hash_ignores_docstrings_but_not_code():
    a = ast.dump(K._strip_docstrings(ast.parse('def f(x):\n    """Doc."""\n    return x + 1\n')))
    b = ast.dump(K._strip_docstrings(ast.parse('def f(x):\n    """Other words."""\n    # note\n    return x + 1\n')))
    c = ast.dump(K._strip_docstrings(ast.parse('def f(x):\n    """Doc."""\n    return x + 2\n')))
    assert a == b != c


def test_aggregate_mean_and_std_over_seeds(tmp_path, toy_task):
    runs = [R.run_or_load(config(seed=s), tmp_path) for s in (0, 1, 2)]
    table = aggregate(runs)
    assert table.loc["m", "seeds"] == 3
    assert table.loc["m", "macro_f1_mean"] == pytest.approx(0.6)
    assert table.loc["m", "macro_f1_std"] == pytest.approx(0.1)
    assert mean_std([0.5, 0.6, 0.7]) == "0.600 ± 0.100"


def test_smoke_runs_never_go_to_results(monkeypatch, tmp_path):
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path))
    assert R.default_results_dir("smoke") == tmp_path / "runs"
    assert R.default_results_dir("cpu") == R.default_results_dir("gpu") == R.RESULTS_DIR


def test_reproduce_lists_the_notebook_runs(capsys, tmp_path):
    assert reproduce(["notebooks/00_data.ipynb", "--profile", "gpu", "--dry-run", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "9 runs (gpu): 0 stored, 0 stale, 9 missing" in out and out.count(": missing (est") == 9
    full = runs_for("00_data", "gpu")
    assert {c["seed"] for c in full} == {0, 1, 2} and all(c["data"] == "full" for c in full)
    assert all(c["arch"] == "resnet18" for c in full)
    assert all(c["arch"] == "resnet18_w16_s2" and c["data"] == "full" for c in runs_for("00_data", "cpu"))
    assert all(c["data"] == "sample" for c in runs_for("00_data", "smoke"))
    with pytest.raises(ValueError, match="profile='huge': expected one of smoke, cpu, gpu"):
        runs_for("00_data", "huge")
    with pytest.raises(SystemExit):
        reproduce(["notebooks/00_data.ipynb", "--profile", "full", "--dry-run"])
    assert "invalid choice: 'full'" in capsys.readouterr().err


def test_code_key_covers_what_a_task_imports_and_nothing_else():
    names = {p.relative_to(K.PACKAGE_DIR).as_posix() for p in K.task_files("supervised")}
    assert {"baseline/task.py", "tasks/common.py", "train.py", "augment.py", "models.py", "losses/common.py",
            "data/ferplus.py", "schedules.py"} <= names
    assert not names & {"plots.py", "report.py", "verdicts.py", "papers/cct/losses.py", "papers/cct/task.py",
                        "runs.py", "experiments.py", "leaderboard.py", "baseline/runs.py", "budget.py"}
    assert not [n for n in names if n.startswith("papers/")]       # no paper's code in the baseline's key
    cct = {p.relative_to(K.PACKAGE_DIR).as_posix() for p in K.task_files("cct")}
    assert {"papers/cct/task.py", "papers/cct/losses.py", "papers/cct/models.py"} <= cct
    assert not {"papers/cct/runs.py", "papers/cct/cost.py"} & cct  # run lists and cost models are not run code
    assert not [n for n in cct if n.startswith("papers/") and not n.startswith("papers/cct/")]


def test_editing_a_module_changes_the_keys_of_the_tasks_that_import_it_only(tmp_path):
    import shutil
    pkg = tmp_path / "fer_utils"
    shutil.copytree(K.PACKAGE_DIR, pkg, ignore=shutil.ignore_patterns("sample_data", "__pycache__"))
    before = {t: K.task_code_hash(t, pkg) for t in ("supervised", "cct")}
    cct_loss = pkg / "papers" / "cct" / "losses.py"
    cct_loss.write_text(cct_loss.read_text() + "\nEXTRA = 1\n")
    after = {t: K.task_code_hash(t, pkg) for t in ("supervised", "cct")}
    assert after["supervised"] == before["supervised"] and after["cct"] != before["cct"]
    train = pkg / "train.py"
    train.write_text(train.read_text() + "\nEXTRA = 2\n")
    edited = {t: K.task_code_hash(t, pkg) for t in ("supervised", "cct")}
    assert edited["supervised"] != before["supervised"] and edited["cct"] != after["cct"]
    plots = pkg / "plots.py"  # presentation: imported by no task
    plots.write_text(plots.read_text() + "\nEXTRA = 3\n")
    assert {t: K.task_code_hash(t, pkg) for t in ("supervised", "cct")} == edited


def test_self_training_chapter_runs_the_papers_protocols():
    full = runs_for("04_self_training", "gpu")
    ck = [c for c in full if c["dataset"] == "ckplus"]
    assert sorted({c["fold"] for c in ck}) == list(range(10)) and len(ck) == 40  # 10 folds x 4 switches
    fer = {(c["name"], c["seed"]): c for c in full if c["dataset"] == "ferplus"}
    for key, st, sw in (("none", False, False), ("st", True, False), ("sw", False, True), ("st_sw", True, True)):
        assert [fer[(f"ferplus-{key}", s)]["st"] for s in (0, 1, 2)] == [st] * 3
        assert fer[(f"ferplus-{key}", 0)]["sw"] == sw and fer[(f"ferplus-{key}", 0)]["unlabelled"] == "ferplus_train"
    main = fer[("ferplus-st_sw", 0)]
    assert (main["eps"], main["tau"], main["alpha"], main["replace"], main["c"], main["sigma"], main["window"]) == \
        (0.05, 0.9, 0.7, 0.02, 0.3, 2.0, 3)
    assert main["labels"] == "single_annotator" and fer[("ferplus-majority-st_sw", 0)]["labels"] == "majority"
    assert fer[("ferplus-ckplus-st_sw", 0)]["unlabelled"] == "ckplus"
    assert fer[("ferplus-test-st_sw", 0)]["unlabelled"] == "ferplus_test"   # the paper's transductive pool
    assert all(c["cross_eval"] for c in full)  # Table III comes from every run
    smoke = runs_for("04_self_training", "smoke")
    assert all(c["data"] == "sample" for c in smoke) and {c["name"] for c in smoke} >= {"ckplus-st_sw", "ferplus-st_sw"}


def test_self_training_cpu_rows_train_the_common_recipe_after_a_warm_up():
    """Protocol 2: FER+ rows take chapter 0's train block and dropout, Eq. 2's eps equal to its label smoothing
    (0.0875 = 0.1 x 7/8: 0.9125 on the label, 0.0125 elsewhere), W = 10 warm-up epochs before the first round,
    the pool = FER+ train with labels hidden; 3 seeds of every switch on single-annotator labels."""
    import torch

    from fer_utils.baseline import runs as ch0
    from fer_utils.losses import smooth_labels
    common = ch0.common_recipe("cpu")
    fer = [c for c in runs_for("04_self_training", "cpu") if c["dataset"] == "ferplus"]
    for c in fer:
        assert all(c["train"][k] == v for k, v in common["train"].items()), c["name"]
        assert c["dropout"] == 0.5 and c["eps"] == 0.0875 and c["init_epochs"] == 10
    q = smooth_labels(torch.tensor([2]), 8, 0.0875)[0]
    ls = torch.full((8,), 0.1 / 8) + 0.9 * torch.nn.functional.one_hot(torch.tensor(2), 8)
    assert torch.allclose(q, ls)
    main = [c for c in fer if c["labels"] == "single_annotator" and c["unlabelled"] == "ferplus_train"]
    assert sorted((c["name"], c["seed"]) for c in main) == sorted(
        (f"ferplus-{k}", s) for k in ("none", "st", "sw", "st_sw") for s in (0, 1, 2))


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_every_sample_weighting_run_leaves_an_epoch_for_the_weights_to_act_on(profile):
    """Paper 003's weight trigger needs T + 1 rounds of validation loss; the first round ends epoch
    init_epochs - 1. An SW run whose earliest possible update falls after its last epoch could never differ
    from the run without SW: Table I would compare a run with itself."""
    from fer_utils.losses import validation_loss_rising
    for c in runs_for("04_self_training", profile):
        if not c["sw"]:
            continue
        rounds_end = list(range(c["init_epochs"] - 1, c["train"]["epochs"]))   # epochs that end a round
        rising = [float(i) for i in range(len(rounds_end))]                     # a loss that rises every round
        first = next((e for i, e in enumerate(rounds_end) if validation_loss_rising(rising[:i + 1], c["window"])),
                     None)
        assert first is not None, (c["name"], "the trigger can never fire")
        assert first < c["train"]["epochs"] - 1, (c["name"], c.get("fold"), c["init_epochs"], c["train"]["epochs"])


def test_ssl_temporal_rows_follow_protocol_2():
    """cpu: teacher/student and its supervised baseline on chapter 0's 10% draw (the same labelled faces as
    chapter 0's resnet18-majority-10pct), for SCARCE_STEPS steps of the same labelled batch and the same
    class-balanced sampler; the common recipe's optimiser, schedule, label smoothing and TTA; the warm start
    over the first third; each ablation changes one knob (two for "no debiasing")."""
    from fer_utils.baseline import runs as ch0
    from fer_utils.papers.ssl_temporal import runs as ch3
    runs = runs_for("03_ssl_temporal", "cpu")
    by = {(c["name"], c["seed"]): c for c in runs}
    base, ssl = by[("baseline-10pct", 2)], by[("ssl-10pct", 0)]
    sup = [c for c in runs_for("00_data", "cpu") if c["name"] == ch0.scarce_name(0.1)][0]
    steps = lambda c: c["train"]["epochs"] * c["train"]["steps_per_epoch"]   # noqa: E731
    for c in (base, ssl):
        assert steps(c) == steps(sup) == ch0.SCARCE_STEPS and c["train"]["batch_size"] == sup["train"]["batch_size"]
        assert (c["labelled_fraction"], c["split_seed"], c["labels"]) == (0.1, sup["split_seed"], "majority")
        assert c["train"]["sampler"] == "balanced" and c["label_smoothing"] == 0.1 and c["train"]["flip_tta"]
        assert {k: c["train"][k] for k in ("optimizer", "schedule", "lr")} == \
            {k: sup["train"][k] for k in ("optimizer", "schedule", "lr")}
    assert base["method"] == "supervised" and ssl["method"] == "ssl" and ssl["train"]["mu"] == 1
    assert ssl["warmup_fraction"] == ch3.WARMUP_FRACTION and ssl["student_lr"] == ssl["train"]["lr"]
    assert ssl["unlabelled"] == "ferplus+ckplus" and ssl["temporal"]["window"] == 64
    assert sorted(c["seed"] for c in runs if c["name"] == "ssl-10pct") == [0, 1, 2]
    one = {k: v for k, v in ssl.items() if k not in ("name", "temporal", "clips")}
    diff = lambda c: {k for k in one if c[k] != one[k]}                       # noqa: E731
    assert diff(by[("ssl-10pct-ferplus-pool", 0)]) == {"unlabelled"}
    assert diff(by[("ssl-10pct-no-feedback", 0)]) == {"feedback"}
    assert diff(by[("ssl-10pct-no-balance", 0)]) == {"train"}
    assert by[("ssl-10pct-no-balance", 0)]["train"]["sampler"] == "plain"
    assert diff(by[("ssl-10pct-no-debiasing", 0)]) == {"feedback", "train"}
    assert len(runs) == 10 and all(c["data"] == "sample" for c in runs_for("03_ssl_temporal", "smoke"))
    with pytest.raises(KeyError, match="no ablation 'no-teacher'"):
        ch3.run_name("ssl", "no-teacher")


def test_abaw5_expression_rows_follow_protocol_2():
    """cpu: the noise-aware model on the common recipe at E with W = 10 warm-up epochs; MutexMatch at chapter 0's
    scarce-label budget (the same steps and labelled batch as chapter 0's supervised 10% / 25% rows), its DAT
    after the first third of its epochs; the supervised rows are chapter 0's; the ablations change one knob.
    gpu: the paper's recipes, every row at one budget."""
    from fer_utils.baseline import runs as ch0
    from fer_utils.papers.abaw5_expression import runs as ch1
    runs = runs_for("01_abaw5_expression", "cpu")
    by = {(c["name"], c["seed"]): c for c in runs}
    common, scarce = ch0.common_overrides("cpu"), ch0.scarce_overrides("cpu")
    na = by[("noise-aware-single_annotator", 0)]
    assert all(na["train"][k] == v for k, v in common["train"].items() if k != "views")
    assert na["warmup_epochs"] == 10 and na["label_smoothing"] == 0.1 and na["dropout"] == 0.5
    assert {k: v for k, v in by[("noise-aware-no-consistency", 0)].items() if k not in ("name", "consistency_weight",
                                                                                      "save_train_alpha")} == \
        {k: v for k, v in na.items() if k not in ("name", "consistency_weight", "save_train_alpha")}
    mm = by[("mutexmatch-10pct", 0)]
    sup = [c for c in runs_for("00_data", "cpu") if c["name"] == ch0.scarce_name(0.1)][0]
    steps = lambda c: c["train"]["epochs"] * c["train"]["steps_per_epoch"]   # noqa: E731
    assert steps(mm) == steps(sup) == ch0.SCARCE_STEPS and mm["train"]["batch_size"] == sup["train"]["batch_size"]
    assert mm["labelled_fraction"] == sup["labelled_fraction"] == 0.1 and mm["split_seed"] == sup["split_seed"]
    assert mm["dat_warmup_epochs"] == mm["train"]["epochs"] // 3 and mm["threshold"] == "dat"
    assert by[("mutexmatch-10pct-fixed", 0)]["threshold"] == 0.95
    assert sorted(c["seed"] for c in runs if c["name"] == "mutexmatch-10pct") == [0, 1, 2]
    assert sorted(c["seed"] for c in runs if c["name"] == "noise-aware-single_annotator") == [0, 1, 2]
    assert not [c for c in runs if c["task"] == "supervised"]             # chapter 0's runs, read from there
    assert ch1.supervised_run("10pct", "cpu") == ("00_data", "resnet18-majority-10pct")
    gpu = runs_for("01_abaw5_expression", "gpu")
    budgets = {(c["train"]["epochs"] * c["train"]["steps_per_epoch"], c["train"]["batch_size"]) for c in gpu}
    assert len(budgets) == 1, budgets           # the paper's recipes: every row the same steps and batch


def test_abaw5_multitask_chapter_runs_tables_2_and_3():
    from fer_utils.papers.abaw5_multitask.runs import AU_BACKBONES, MEMBER_ARCHS, SUBCLASSIFIERS, VA_BACKBONES
    full = runs_for("05_abaw5_multitask", "gpu")
    subs = [c for c in full if c["task"] == "expression_subclassifier"]
    main = [c for c in subs if c["name"].endswith("-single_annotator")]
    assert sorted(c["arch"] for c in main if c["seed"] == 0) == sorted(MEMBER_ARCHS["gpu"].values())
    assert {c["seed"] for c in main} == {0, 1, 2} and all(c["labels"] == "single_annotator" for c in main)
    assert all(c["dice"] and c["lam"] == 1.0 and c["train"]["epochs"] == 20 and c["train"]["lr"] == 5e-4 for c in main)
    assert {c["arch"] for c in subs if c["name"].endswith("-ce-only") and not c["dice"]} == set(MEMBER_ARCHS["gpu"].values())
    by = {c["name"]: c for c in subs}
    assert by["resnet-no-other"]["scheme"] == "no_other" and all(by[f"{f}-bootstrap"]["bootstrap"] for f in SUBCLASSIFIERS)
    au = {c["arch"]: c for c in full if c["task"] == "au_temporal"}
    assert sorted(au) == sorted(AU_BACKBONES) and au["resnet50"]["au_width"] == 512 and au["regnet_y_800mf"]["au_width"] is None
    assert all(c["alpha"] == 0.75 and c["gamma"] == 2.0 and c["folds"] == 10 for c in au.values())
    va = [c for c in full if c["task"] == "va_fusion"]
    assert {c["seed"] for c in va} == {0, 1, 2} and all(c["archs"] == list(VA_BACKBONES) for c in va)
    assert all(c["heads"]["lr"] == 1e-4 and c["heads"]["batch_size"] >= 256 and c["va_source"] == "ferplus_votes"
               for c in va)


def test_abaw5_multitask_cpu_members_train_the_common_recipe_to_its_budget():
    """Protocol 2: five members of five families, each on chapter 0's common recipe for E epochs (no member
    stopped early) with CE + Dice; 3 seeds on single-annotator labels, 1 on majority; the ablations at seed 0;
    the AU backbone is the common recipe's network."""
    from fer_utils.baseline import runs as ch0
    from fer_utils.papers.abaw5_multitask.members import member_family
    from fer_utils.papers.abaw5_multitask.runs import MEMBER_ARCHS, SUBCLASSIFIERS
    from fer_utils.profiles import backbone
    common = ch0.common_overrides("cpu")
    rows = runs_for("05_abaw5_multitask", "cpu")
    subs = [c for c in rows if c["task"] == "expression_subclassifier"]
    assert len({member_family(a) for a in MEMBER_ARCHS["cpu"].values()}) == 5
    for c in subs:
        assert all(c["train"][k] == v for k, v in common["train"].items())
        assert c["train"]["epochs"] == ch0.REFERENCE_EPOCHS and c["label_smoothing"] == 0.1 and c["dropout"] == 0.5
    single = [c for c in subs if c["name"].endswith("-single_annotator")]
    assert sorted((c["name"].split("-")[0], c["seed"]) for c in single) == sorted(
        (f, s) for f in SUBCLASSIFIERS for s in (0, 1, 2))
    assert sorted(c["seed"] for c in subs if c["name"].endswith("-majority")) == [0] * 5
    assert all(not c["dice"] and c["seed"] == 0 for c in subs if c["name"].endswith("-ce-only"))
    assert all(c["dice"] for c in subs if not c["name"].endswith("-ce-only"))
    au = [c for c in rows if c["task"] == "au_temporal"]
    assert len(au) == 1 and au[0]["arch"] == backbone("cpu") and au[0]["label_smoothing"] == 0.1
    assert all(au[0]["pretrain"][k] == v for k, v in common["train"].items())


def test_a_misspelt_config_key_fails_naming_the_key_and_the_allowed_ones():
    config = dict(runs_for("00_data", "cpu")[0])
    R.check_config(config)
    config["drop_out"] = 0.3
    with pytest.raises(ValueError, match=r"unknown key\(s\) 'drop_out' for task 'supervised'; allowed: .*dropout"):
        R.check_config(config)
    with pytest.raises(ValueError, match=r"'lr_max' in 'train'; TrainConfig has: .*lr"):
        R.check_config({**runs_for("00_data", "cpu")[0], "train": {"epochs": 1, "lr_max": 1.0}})
    with pytest.raises(ValueError, match="drop_out"):
        R.run_or_load(config, train=False)   # before any lookup or training


def test_every_run_list_passes_the_config_check():
    from fer_utils.experiments import NOTEBOOKS
    from fer_utils.profiles import PROFILES
    for nb in NOTEBOOKS:
        for profile in PROFILES:
            for c in runs_for(nb, profile):
                R.check_config(c)


def test_runs_are_found_by_name_and_an_unknown_name_is_an_error():
    from fer_utils.experiments import run_config
    assert [c["seed"] for c in run_config("00_data", "resnet18-majority", "cpu")] == [0, 1, 2]
    assert run_config("02_cct", "cct-single_annotator", "gpu", seed=1)[0]["seed"] == 1
    with pytest.raises(KeyError, match="no run 'resnet18-majorty' in 00_data .*resnet18-majority"):
        run_config("00_data", "resnet18-majorty", "cpu")
    with pytest.raises(KeyError, match="no seed 7"):
        run_config("00_data", "resnet18-majority", "cpu", seed=7)


def test_status_tells_stored_from_stale_from_missing(tmp_path, toy_task, monkeypatch):
    from fer_utils.runs import run_status
    c = config()
    assert run_status(c, tmp_path) == "missing"
    R.run_or_load(c, tmp_path)
    assert run_status(c, tmp_path) == "stored"
    monkeypatch.setattr(R, "task_code_hash", lambda task: "edited code")
    assert run_status(c, tmp_path) == "stale"          # same config, older code: trains again
    assert run_status(config(lr=0.5), tmp_path) == "missing"


def test_shard_takes_every_nth_run_and_the_shards_cover_the_list():
    from fer_utils.reproduce import shard
    items = list(range(7))
    parts = [shard(items, f"{k}/3") for k in (1, 2, 3)]
    assert parts == [[0, 3, 6], [1, 4], [2, 5]] and sorted(sum(parts, [])) == items
    assert shard(items, None) == items
    for bad in ("0/3", "4/3", "x"):
        with pytest.raises(SystemExit):
            shard(items, bad)


def test_only_selects_runs_containing_any_of_its_comma_separated_texts(capsys):
    from fer_utils.reproduce import selected
    assert selected("ferplus-st_sw", "ferplus-none,ferplus-st") and selected("ferplus-none", "ferplus-none, x")
    assert not selected("ferplus-majority-none", "ferplus-none,ferplus-sw") and selected("anything", None)
    assert not selected("ferplus-sw", ",")   # an empty text selects nothing
    assert reproduce(["04_self_training", "--profile", "cpu", "--dry-run", "--out", "/nonexistent-results",
                      "--only", "ferplus-none,ferplus-sw"]) == 0
    out = capsys.readouterr().out
    assert "04_self_training: 6 runs" in out and "majority" not in out and "ckplus" not in out


def test_reproduce_exit_status_says_whether_every_run_finished(tmp_path, monkeypatch, capsys):
    import fer_utils.reproduce as P

    def broken(config, work_dir, progress=True):
        raise RuntimeError("boom")
    broken.__module__ = "fer_utils.baseline.task"   # the config check reads the real task's code
    monkeypatch.setitem(tasks.TASKS, "supervised", broken)
    monkeypatch.setattr(R, "task_code_hash", lambda task: "x")
    assert P.main(["00_data", "--profile", "smoke", "--out", str(tmp_path), "--quiet", "--only", "majority"]) == 1
    assert "FAILED: resnet18-majority seed 0" in capsys.readouterr().out


def test_dry_run_estimates_fit_the_cpu_budgets(capsys):
    from fer_utils.baseline.runs import REFERENCE_EPOCHS, TIME_TO_ACCURACY_EPOCHS
    from fer_utils.budget import estimate_minutes
    configs = runs_for("00_data", "cpu")
    assert all(0 < estimate_minutes(c) <= 30 for c in configs)
    main = [c for c in configs if c["train"]["epochs"] == REFERENCE_EPOCHS]   # 3 seeds x 3 label settings
    scarce = [c for c in configs if c.get("labelled_fraction", 1.0) < 1.0]   # 3 seeds at 10%, 1 at 25%
    assert len(main) == 9 and len(scarce) == 4
    assert len(configs) == 9 + 4 + 3 * (REFERENCE_EPOCHS != TIME_TO_ACCURACY_EPOCHS)
    assert {c["labels"] for c in main} == {"majority", "single_annotator", "crowd_matrix:0.4"}
    assert reproduce(["00_data", "--profile", "cpu", "--dry-run", "--out", "/nonexistent-results"]) == 0
    out = capsys.readouterr().out   # one line per run with its estimate, and the total
    assert out.count(f"est {estimate_minutes(main[0]):.1f} CPU min") == 9


def test_au_phase_is_estimated_per_step():
    """Chapter 5's AU phase costs per step of its small models, not per backbone image: 10 folds x 20 epochs x
    (294 training clips // 16 = 18 full batches) x 2 models x 0.07 s = 504 s; 3x the epochs, 3x the seconds."""
    from fer_utils import budget as B
    from fer_utils import cost as C
    from fer_utils.papers.abaw5_multitask import cost as MC
    config = {"task": "au_temporal", "data": "full", "arch": "resnet18_w32_s2", "folds": 10,
              "au_model": {"epochs": 20, "batch_size": 16},
              "pretrain": {"epochs": 2, "batch_size": 128, "steps_per_epoch": 160}}
    assert MC.au_fold_seconds(config) == pytest.approx(504.0)
    assert MC.au_fold_seconds({**config, "au_model": {"epochs": 60, "batch_size": 16}}) == pytest.approx(1512.0)
    pretrain_minutes = 2 * 160 * 128 / C.img_per_s("resnet18_w32_s2") / 60
    assert B.estimate_minutes(config) == pytest.approx(C.SETUP_MINUTES + pretrain_minutes + 504.0 / 60)
    # chapter 5's AU run (the common recipe's network, trained to E first) fits the one-run limit of the cpu profile
    au = [c for c in runs_for("05_abaw5_multitask", "cpu") if c["task"] == "au_temporal"]
    assert len(au) == 1 and B.estimate_minutes(au[0]) <= B.RUN_CAP_MINUTES


def test_va_run_counts_features_and_heads():
    """Chapter 5's VA run: after its three backbones, forward passes over every FER+ split per backbone, and
    3 variants x 15 epochs x (28,377 // 256 = 110 steps) x 0.015 s = 74.25 s of heads; polarity fits only where
    the targets hold extremes (real VA labels, not the derived FER+ targets)."""
    from fer_utils import budget as B
    from fer_utils import cost as C
    from fer_utils.papers.abaw5_multitask import cost as MC
    config = {"task": "va_fusion", "data": "full", "archs": ["resnet18_w16_s2"],
              "pretrain": {"epochs": 2, "batch_size": 128, "steps_per_epoch": 160},
              "heads": {"epochs": 15, "batch_size": 256, "polarity_epochs": None}}
    assert MC.va_heads_seconds(config) == pytest.approx(74.25)
    real = {**config, "va_source": "affwild2", "heads": {**config["heads"], "polarity_epochs": 5}}
    assert MC.va_heads_seconds(real) == pytest.approx(3 * (15 + 5) * 110 * 0.015)
    n = C.N_FERPLUS
    images = 2 * 160 * 128 + 2 * n["valid"] / 3 + (n["train"] + n["valid"] + n["test"]) / 3
    assert B.estimate_minutes(config) == pytest.approx(
        C.SETUP_MINUTES + images / C.img_per_s("resnet18_w16_s2") / 60 + 74.25 / 60)
    va = [c for c in runs_for("05_abaw5_multitask", "cpu") if c["task"] == "va_fusion"]
    assert len(va) == 1 and B.estimate_minutes(va[0]) <= 15


def test_measured_factors_correct_the_estimates_per_task(monkeypatch, capsys):
    import types

    import fer_utils.reproduce as P
    from fer_utils.budget import measured_factors

    def prov(seconds, precision="fp32", threads=1):
        return {"train_seconds": seconds, "precision": precision, "threads": threads}
    # fp32 / 1 thread: 120 s on a 1-min estimate (2x), 360 s on 2 min (3x), 600 s on 1 min (10x): median 3x;
    # a run without a measured time is left out
    assert measured_factors([(prov(120), 1.0), (prov(360), 2.0), (prov(600), 1.0), (prov(60, "bf16", 2), 2.0),
                             (prov(float("nan")), 1.0)]) == {("bf16", 2): (0.5, 1), ("fp32", 1): (3.0, 3)}
    # the wall time (loading + training + evaluation, like the estimate) wins over the training time
    assert measured_factors([({**prov(60), "wall_seconds": 90.0}, 1.0)]) == {("fp32", 1): (1.5, 1)}
    stored = {"a": {**prov(240), "cpu_kind": "AVX2, no bf16"}, "b": prov(60)}   # a took 4x its estimate, b 1x
    monkeypatch.setattr(P, "run_dir", lambda c, out: c["task"])
    monkeypatch.setattr(P, "load_run", lambda d: types.SimpleNamespace(provenance=stored[d]))
    monkeypatch.setattr(P.os, "cpu_count", lambda: 2)
    configs = [{"task": "a"}, {"task": "a"}, {"task": "b"}, {"task": "c"}]
    P.print_measured(configs, ["stored", "missing", "stored", "missing"], [1.0, 2.0, 1.0, 4.0], None)
    out = capsys.readouterr().out
    # missing: a at its own 4x (2 min -> 8), c (no stored run of its task) at the list's 2.5x (4 min -> 10):
    # 18 CPU min, two one-thread runs at a time on two cores: 9 min wall
    assert "2 stored run(s) trained in fp32 with 1 thread(s) took 2.5x" in out and "about 9 min wall, 2 at a time" in out
    # the factor says which machines measured it, beside this machine's kind
    from fer_utils.provenance import cpu_kind
    assert "measured on the machines that trained them (?; AVX2, no bf16; this machine: " + cpu_kind() in out


def test_a_cpu_run_without_the_data_is_one_paragraph_and_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("FER_DATA_ROOT", "sample")
    assert reproduce(["notebooks/00_data.ipynb", "--profile", "cpu", "--only", "resnet18-majority"]) == 2
    err = capsys.readouterr().err
    assert "only the bundled sample was found" in err and "FER_DATA_ROOT" in err and "Traceback" not in err
    assert reproduce(["notebooks/00_data.ipynb", "--profile", "cpu", "--dry-run"]) == 0   # planning needs no data


def test_the_cpu_profile_fits_its_budgets(capsys):
    """Protocol 2's compute cap: the whole book's cpu list (distinct runs) in at most 20 hours of wall time on the
    reference bf16 2-core machine, two one-thread runs at a time, and one run in at most an hour, by the estimates
    ``reproduce --dry-run`` prints (and the wall figure it prints for the book)."""
    from fer_utils.budget import BOOK_CAP_HOURS, RUN_CAP_MINUTES, book_wall_minutes, estimate_minutes
    from fer_utils.experiments import NOTEBOOKS
    assert book_wall_minutes([60.0, 60.0]) == pytest.approx(2 * 60 * 1.1 / 2)
    distinct = {}
    for nb in NOTEBOOKS:
        configs = runs_for(nb, "cpu")
        minutes = [estimate_minutes(c) for c in configs]
        assert max(minutes, default=0) <= RUN_CAP_MINUTES, f"{nb}: a run of {max(minutes):.1f} CPU minutes"
        distinct.update({R.run_dir(c).name: m for c, m in zip(configs, minutes)})
    wall = book_wall_minutes(distinct.values())
    assert wall <= BOOK_CAP_HOURS * 60, f"the book's cpu list needs {wall / 60:.1f} h wall"
    assert reproduce(list(NOTEBOOKS) + ["--profile", "cpu", "--dry-run", "--out", "/nonexistent-results"]) == 0
    total = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("total:"))
    assert total.startswith(f"total: {len(distinct)} distinct runs") and f"about {wall / 60:.1f} h on the" in total


def test_a_recipe_resolves_every_default_and_refuses_misspelt_nested_keys():
    from fer_utils.papers.cct.task import CCTRecipe
    base = {"task": "cct", "notebook": "02_cct", "name": "x", "profile": "cpu", "data": "full", "seed": 2,
            "train": {"epochs": 3}}
    full = R.resolve_config(base)
    defaults = CCTRecipe()
    assert full["beta"] == defaults.beta == 4.0 and full["networks"] == 3      # the one default, filled in
    assert full["train"]["epochs"] == 3 and full["train"]["lr"] == 5e-4 and full["train"]["seed"] == 2
    assert R.resolve_config(full) == full                                      # idempotent: config.json reloads
    with pytest.raises(ValueError, match=r"unknown key\(s\) 'betta' for task 'cct'; allowed: .*beta"):
        R.resolve_config({**base, "betta": 2.0})
    with pytest.raises(ValueError, match=r"'windw' in 'temporal'; TemporalSpec has: .*window"):
        R.resolve_config({"task": "ssl_temporal", "notebook": "t", "name": "x", "temporal": {"windw": 8}})
    with pytest.raises(ValueError, match=r"init='imagenet': expected 'scratch' or 'ckplus'"):
        R.resolve_config({**base, "init": "imagenet"})
    with pytest.raises(ValueError, match="train.seed=0 differs from the run's seed 2"):
        R.resolve_config({**base, "train": {"seed": 0}})


def test_a_recipe_block_keeps_its_own_defaults_when_a_run_gives_some_keys():
    # the noise-aware model's two views are its recipe's default; a train block with other keys keeps them
    c = R.resolve_config({"task": "noise_aware", "notebook": "t", "name": "x", "train": {"epochs": 1}})
    assert c["train"]["views"] == ("weak", "flipped_strong") and c["train"]["epochs"] == 1


def test_a_claim_is_granted_once(tmp_path):
    from fer_utils.reproduce import claim
    assert claim(tmp_path, "ferplus-st-abc") and not claim(tmp_path, "ferplus-st-abc")
    assert claim(tmp_path, "ferplus-st-def")


@pytest.mark.slow
def test_jobs_train_every_run_once_in_parallel_workers_and_write_the_summary(tmp_path, capfd):
    """``--jobs 2``: two worker processes of one thread share the list; each run is trained by exactly one of
    them, and the parent then loads every run and writes summary.csv."""
    assert reproduce(["00_data", "--profile", "smoke", "--out", str(tmp_path), "--jobs", "2"]) == 0
    out = capfd.readouterr().out
    assert "2 workers, " in out
    trained = [line.split("]")[1].split(":")[0].strip() for line in out.splitlines()
               if line.lstrip().startswith(("w1[", "w2["))]
    assert sorted(trained) == ["resnet18-crowd_matrix40 seed 0", "resnet18-majority seed 0",
                               "resnet18-majority-10pct seed 0", "resnet18-majority-25pct seed 0",
                               "resnet18-single_annotator seed 0"]
    assert (tmp_path / "00_data" / "summary.csv").is_file()
    from fer_utils.runs import run_status
    assert [run_status(c, tmp_path) for c in runs_for("00_data", "smoke")] == ["stored"] * 5
    # nothing left to train: the workers claim nothing, the parent loads both
    assert reproduce(["00_data", "--profile", "smoke", "--out", str(tmp_path), "--jobs", "2"]) == 0
    again = capfd.readouterr().out
    assert "w1[" not in again and "w2[" not in again and "5 stored, 0 stale, 0 missing" in again


def test_predictions_are_stored_losslessly_and_smaller_than_deflate(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"logits": rng.normal(size=(3000, 8)).astype(np.float32), "labels": rng.integers(0, 8, 3000),
              "clip": rng.normal(size=(20, 64, 8)).astype(np.float16), "names": np.array([f"f{i}.png" for i in range(3000)])}
    R.save_predictions(tmp_path / "p.npz", arrays)
    np.savez_compressed(tmp_path / "d.npz", **arrays)
    with np.load(tmp_path / "p.npz", allow_pickle=False) as z:
        assert sorted(z.files) == sorted(arrays)
        for k, v in arrays.items():
            assert z[k].dtype == v.dtype and np.array_equal(z[k], v)
    assert (tmp_path / "p.npz").stat().st_size < (tmp_path / "d.npz").stat().st_size
    with pytest.raises(ValueError):
        R.save_predictions(tmp_path / "o.npz", {"bad": np.array([{}, 1], dtype=object)})


def test_the_reference_budget_is_the_widest_noise_gap_among_near_best_clean_budgets():
    from fer_utils.baseline.reference_budget import choose_reference_budget, sweep_table

    def record(scores):
        return {"rows": [{"epochs": e, "valid_macro_f1": f, "train_minutes": e / 3} for e, f in scores.items()]}
    majority = record({14: 0.536, 20: 0.551, 30: 0.560, 40: 0.556})
    single = record({14: 0.485, 20: 0.539, 30: 0.520, 40: 0.500})
    table = sweep_table(majority, single)
    assert table.loc[30, "gap"] == pytest.approx(0.040)
    choice = choose_reference_budget(table)          # within 0.01 of 0.560: 20 (0.551), 30 and 40
    assert choice["candidates"] == [20, 30, 40] and choice["epochs"] == 40 and choice["gap"] == pytest.approx(0.056)
    assert choose_reference_budget(table, max_epochs=30)["epochs"] == 30   # the compute cap
    assert choose_reference_budget(table, within=0.003)["epochs"] == 30    # 40 (0.556) is not near 0.560 any more
    with pytest.raises(ValueError, match="no swept budget fits"):
        choose_reference_budget(table, max_epochs=10)


def test_the_scarce_label_budget_is_the_fewest_steps_within_0_01_of_the_best():
    from fer_utils.baseline.reference_budget import choose_plateau
    rows = [{"epochs": e, "steps": 22 * e, "valid_macro_f1": f}
            for e, f in ((25, 0.320), (50, 0.395), (100, 0.430), (200, 0.436))]
    choice = choose_plateau(rows)                     # 100 epochs (0.430) is within 0.01 of 0.436
    assert choice == {"steps": 2200, "epochs": 100, "valid_macro_f1": 0.430, "best": 0.436, "plateaued": True}
    rising = choose_plateau(rows[:3])                 # the best is the longest swept budget: may still rise
    assert rising["epochs"] == 100 and not rising["plateaued"]
    with pytest.raises(ValueError, match="no rows"):
        choose_plateau([])


def test_training_budget_counts_steps_labelled_images_and_passes_per_method():
    """budget.training_budget, hand-computed on chapter configs: the passes are the labelled images times the
    method's networks or views (noise-aware: a face and its mirror; MutexMatch: 1 + 2 mu; CCT: K networks),
    and a pretraining phase adds its own steps; every estimate is minutes over those passes plus evaluation."""
    from fer_utils.budget import estimate_minutes, training_budget
    from fer_utils.cost import N_CKPLUS, N_FERPLUS
    by = {(c["notebook"], c["name"]): c for nb in ("00_data", "01_abaw5_expression", "02_cct")
          for c in runs_for(nb, "cpu") if c["seed"] == 0}
    one = by[("00_data", "resnet18-single_annotator")]
    steps = one["train"]["epochs"] * (N_FERPLUS["train"] // one["train"]["batch_size"])
    assert training_budget(one) == {"steps": steps, "labelled images": steps * 128, "passes": steps * 128.0}
    na = training_budget(by[("01_abaw5_expression", "noise-aware-single_annotator")])
    assert na["labelled images"] == steps * 128 and na["passes"] == 2 * na["labelled images"]
    mm = by[("01_abaw5_expression", "mutexmatch-10pct")]
    b = training_budget(mm)
    assert b["steps"] == mm["train"]["epochs"] * mm["train"]["steps_per_epoch"]
    assert b["passes"] == b["labelled images"] * (1 + 2 * mm["train"]["mu"])
    ck = by[("02_cct", "cct-ckplus-init")]
    pre = ck["pretrain"]
    pre_steps = pre["epochs"] * (pre.get("steps_per_epoch") or N_CKPLUS // pre["batch_size"])
    b = training_budget(ck)
    assert b["steps"] == steps + pre_steps and b["passes"] == 3 * steps * 128 + pre_steps * pre["batch_size"]
    assert estimate_minutes(ck) > estimate_minutes(by[("02_cct", "cct-single_annotator")])
    with pytest.raises(ValueError, match="task 'nope' has no budget"):
        training_budget({"task": "nope"})
