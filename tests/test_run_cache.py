"""The run cache heals and locks: corrupt folders are reported and retrained, one process trains a run at a
time, an unreadable checkpoint restarts its run, run folders stay inside the results folder, and reproduce
refuses selections that match nothing."""
import os
import socket
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from fer_utils import report, tasks
from fer_utils import runs as R
from fer_utils.losses import supervised_ce
from fer_utils.report import chapter_status
from fer_utils.reproduce import main as reproduce
from fer_utils.train import DeviceData, TrainConfig, fit
from tests.helpers import TinyNet


@pytest.fixture
def toy_task(monkeypatch):
    calls = []

    def toy(config, work_dir, progress=True):
        calls.append(config["seed"])
        return {"final": {"macro_f1": 0.5, "accuracy": 0.6}, "history": [{"epoch": 0}], "best_epoch": 0,
                "predictions": {"logits": np.zeros((4, 8), np.float32)}, "train_seconds": 1.0, "images_per_s": 1.0}

    monkeypatch.setitem(tasks.TASKS, "toy", toy)
    return calls


def config(seed=0, name="m", notebook="nb"):
    return {"task": "toy", "notebook": notebook, "name": name, "profile": "smoke", "seed": seed}


@pytest.mark.parametrize("broken, text", [("metrics.json", '{"final": {"macro_f1": 0.'),
                                          ("provenance.json", ""), ("config.json", "[1, 2]"),
                                          ("predictions.npz", "PK\x03\x04 truncated")])
def test_a_truncated_run_file_is_corrupt_named_and_the_run_retrains(tmp_path, toy_task, broken, text):
    run = R.run_or_load(config(), tmp_path)
    (run.dir / broken).write_text(text)
    assert R.run_status(config(), tmp_path) == "corrupt"
    with pytest.raises(R.CorruptRun, match=broken):
        R.run_or_load(config(), tmp_path, train=False)
    with pytest.warns(UserWarning, match="corrupt run folder.*" + broken):
        again = R.run_or_load(config(), tmp_path)
    assert toy_task == [0, 0] and again.final["macro_f1"] == 0.5
    aside = [p for p in run.dir.parent.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and (aside[0] / broken).read_text() == text   # moved aside, not deleted
    assert R.run_status(config(), tmp_path) == "stored"


def test_status_counts_are_one_function_and_the_chapter_line_names_corrupt_runs(tmp_path, toy_task, monkeypatch):
    assert R.count_status(["stored", "missing", "stored", "corrupt"]) == {"stored": 2, "stale": 0, "corrupt": 1,
                                                                        "missing": 1}
    with pytest.raises(ValueError, match="unknown run status"):
        R.count_status(["pending"])
    run = R.run_or_load(config(seed=1), tmp_path)
    (run.dir / "metrics.json").write_text("{")
    monkeypatch.setattr(R, "default_results_dir", lambda profile: tmp_path)
    monkeypatch.setattr(report, "estimate_minutes", lambda config: 1.0)   # the toy task has no cost model
    runs, line = chapter_status("nb", "smoke", configs=[config(seed=0), config(seed=1)])
    assert runs == [] and "1 corrupt" in line and "1 missing" in line


def test_reproduce_status_reports_a_corrupt_folder_by_path(tmp_path, capsys):
    cfg = R.check_config({**tasks_config(), "notebook": "00_data"})
    target = R.run_dir(cfg, tmp_path)
    target.mkdir(parents=True)
    for f in R.FILES:
        (target / f).write_text("{")
    assert reproduce(["notebooks/00_data.ipynb", "--profile", "smoke", "--status", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1 corrupt" in out and f"corrupt: {target / 'config.json'}" in out


def tasks_config():
    from fer_utils.experiments import runs_for
    return runs_for("00_data", "smoke")[0]


def test_a_live_lock_keeps_a_second_process_off_the_run(tmp_path, toy_task):
    target = R.run_dir(config(), tmp_path)
    work = target.with_name(target.name + ".partial")
    work.mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (work / R.LOCK).write_text(f"{socket.gethostname()} {sleeper.pid}")
        with pytest.raises(R.RunLocked, match=f"process {sleeper.pid}"):
            R.run_or_load(config(), tmp_path)
        assert toy_task == [] and (work / R.LOCK).is_file()
    finally:
        sleeper.kill()
        sleeper.wait()
    with pytest.warns(UserWarning, match="taking over the lock"):   # its owner is dead now: a stale lock
        run = R.run_or_load(config(), tmp_path)
    assert toy_task == [0] and not (run.dir / R.LOCK).exists() and not work.exists()


def test_the_lock_is_released_when_a_run_fails(tmp_path, monkeypatch):
    def broken(config, work_dir, progress=True):
        raise RuntimeError("boom")

    monkeypatch.setitem(tasks.TASKS, "toy", broken)
    with pytest.raises(RuntimeError, match="boom"):
        R.run_or_load(config(), tmp_path)
    work = R.run_dir(config(), tmp_path).with_name(R.run_dir(config(), tmp_path).name + ".partial")
    assert work.is_dir() and not (work / R.LOCK).exists()


@pytest.mark.slow
def test_two_reproduce_processes_train_a_run_once(tmp_path):
    """Two processes started on one results folder: the run is trained by one of them; the other reports the
    lock (or finds the run stored), and nothing crashes."""
    cmd = [sys.executable, "-m", "fer_utils.reproduce", "notebooks/00_data.ipynb", "--profile", "smoke",
           "--only", "resnet18-majority-25pct", "--quiet", "--out", str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert not any("Traceback" in o for o in outs), outs
    assert sum("LOCKED" in o for o in outs) <= 1
    folders = [p for p in (tmp_path / "00_data").iterdir() if p.is_dir()]
    assert len(folders) == 1 and all((folders[0] / f).is_file() for f in R.FILES)


def test_an_unreadable_checkpoint_restarts_the_run_with_a_warning(tmp_path):
    x = torch.randint(0, 255, (32, 48, 48), dtype=torch.uint8)
    data = DeviceData(x, torch.arange(32) % 8)
    cfg = TrainConfig(epochs=2, batch_size=16, views=("plain",), schedule="none", device="cpu", amp=False)
    (tmp_path / "last.pt").write_bytes(b"PK\x03\x04 not a checkpoint")
    with pytest.warns(UserWarning, match=f"checkpoint {tmp_path / 'last.pt'} cannot be read"):
        result = fit(TinyNet(), (data, data), supervised_ce, cfg, ckpt_dir=tmp_path, progress=False)
    assert [h["epoch"] for h in result.history] == [0, 1]          # trained from scratch
    assert (tmp_path / "last.pt.unreadable").is_file()
    saved = torch.load(tmp_path / "last.pt", weights_only=True)   # what fit writes loads without pickle code
    assert saved["epoch"] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")                              # a readable checkpoint: no warning
        again = fit(TinyNet(), (data, data), supervised_ce, cfg, ckpt_dir=tmp_path, progress=False)
    assert len(again.history) == 2


@pytest.mark.parametrize("key, value", [("name", "../../escape"), ("name", ".hidden"), ("notebook", "a/b"),
                                        ("notebook", "..")])
def test_run_folders_stay_inside_the_results_folder(tmp_path, toy_task, key, value):
    with pytest.raises(ValueError, match=f"{key}=.*not a folder name"):
        R.run_dir({**config(), key: value}, tmp_path)


def test_reproduce_refuses_an_only_that_matches_nothing_and_a_missing_notebook(capsys):
    assert reproduce(["notebooks/00_data.ipynb", "--profile", "smoke", "--only", "nosuchrun", "--dry-run"]) == 2
    assert "'nosuchrun' matches no run" in capsys.readouterr().err
    assert reproduce(["notebooks/00_dat.ipynb", "--profile", "smoke", "--dry-run"]) == 2
    assert "notebooks/00_dat.ipynb: no such file" in capsys.readouterr().err
    assert reproduce(["07_nothing", "--profile", "smoke", "--dry-run"]) == 2
    assert "is not a chapter" in capsys.readouterr().err


@pytest.mark.slow
def test_submitit_local_executor_trains_runs_into_normal_run_folders(tmp_path, capsys):
    pytest.importorskip("submitit")
    code = reproduce(["notebooks/00_data.ipynb", "--profile", "smoke", "--executor", "submitit", "--cluster", "local",
                      "--wait", "--out", str(tmp_path), "--timeout-min", "10", "--only", "resnet18-majority"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "3 runs selected, 3 to train" in out and "submitted 3 task(s) through local" in out   # majority, 10%, 25%
    folders = sorted(p for p in (tmp_path / "00_data").iterdir() if p.is_dir())
    assert len(folders) == 3 and all((f / n).is_file() for f in folders for n in R.FILES)
    assert reproduce(["notebooks/00_data.ipynb", "--profile", "smoke", "--status", "--out", str(tmp_path)]) == 0
    assert "5 runs (smoke): 3 stored, 0 stale, 2 missing" in capsys.readouterr().out
