"""The throughput benchmark runs end to end (speed itself is judged on the GPU, not here)."""
import json
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "benchmarks"))

import throughput  # noqa: E402


@pytest.mark.slow
def test_throughput_benchmark_smoke(tmp_path):
    out = tmp_path / "throughput.json"
    throughput.main(["--smoke", "--workers", "0", "--repeats", "3", "--out", str(out)])
    record = json.loads(out.read_text())
    # the pipelines are timed alternately, three times each; the record keeps every timing and their medians
    assert record["repeats"] == 3
    assert len(record["engine_img_per_s_repeats"]) == len(record["plain_img_per_s_repeats"]) == 3
    assert record["engine_img_per_s"] == sorted(record["engine_img_per_s_repeats"])[1]
    assert record["plain_img_per_s"] == sorted(record["plain_img_per_s_repeats"])[1]
    for field in ("device", "torch", "engine_img_per_s", "plain_img_per_s", "ratio", "engine_epoch_seconds"):
        assert field in record
    assert record["engine_img_per_s"] > 0 and record["plain_img_per_s"] > 0
    # img/s are stored to 0.1 and the ratio to 0.01: the stored numbers agree to those roundings (at a few
    # img/s, as on the smoke sample under load, the img/s rounding alone moves their quotient by over 0.01)
    e, p = record["engine_img_per_s"], record["plain_img_per_s"]
    assert abs(record["ratio"] - e / p) <= 0.05 / p + 0.05 * e / p ** 2 + 0.005 + 1e-9


def test_throughput_benchmark_rejects_zero_repeats(tmp_path):
    with pytest.raises(ValueError, match="--repeats=0"):
        throughput.main(["--smoke", "--workers", "0", "--repeats", "0", "--out", str(tmp_path / "t.json")])


@pytest.mark.slow
def test_parallel_runs_benchmark_smoke(tmp_path):
    import parallel_runs  # benchmarks/ is on the path (above)
    out = tmp_path / "p.json"
    parallel_runs.main(["--smoke", "--out", str(out)])
    record = json.loads(out.read_text())
    assert record["jobs"] == 2 and len(record["per_job_img_per_s"]) == 2
    assert record["one_process_img_per_s"] > 0 and all(x > 0 for x in record["per_job_img_per_s"])
    # the record rounds img/s to 0.1, so the ratio of the stored numbers matches the speedup to that rounding
    ratio = record["jobs_img_per_s"] / record["one_process_img_per_s"]
    assert abs(record["speedup"] - ratio) <= ratio * 0.1 / record["one_process_img_per_s"] + 0.01


def test_time_to_accuracy_benchmark_smoke(tmp_path):
    import time_to_accuracy  # benchmarks/ is on the path (above)
    out = tmp_path / "t.json"
    time_to_accuracy.main(["--smoke", "--variants", "sgd-onecycle-ls", "--epochs", "2", "3", "--out", str(out)])
    record = json.loads(out.read_text())
    assert record["split_scored"].startswith("FER+ Valid") and record["epochs"] == [2, 3]
    assert [(r["variant"], r["epochs"]) for r in record["rows"]] == [("sgd-onecycle-ls", 2), ("sgd-onecycle-ls", 3)]
    for r in record["rows"]:   # one curve point per epoch, minutes accumulating, the best epoch's scores kept
        assert len(r["curve"]) == r["epochs"] and 0 <= r["best_epoch"] < r["epochs"]
        minutes = [c["minutes"] for c in r["curve"]]
        assert minutes == sorted(minutes)
        assert r["valid_accuracy"] == r["curve"][r["best_epoch"]]["valid_accuracy"]


def test_time_to_accuracy_benchmark_rejects_unknown_variant(tmp_path):
    import pytest
    import time_to_accuracy
    with pytest.raises(ValueError, match="unknown variant 'sgd'"):
        time_to_accuracy.main(["--smoke", "--variants", "sgd", "--out", str(tmp_path / "t.json")])


def test_ensemble_members_benchmark_smoke(tmp_path):
    import ensemble_members  # benchmarks/ is on the path (above)
    out = tmp_path / "e.json"
    ensemble_members.main(["--smoke", "--archs", "vgg_w16_s2", "regnet_y_200mf_s2", "--out", str(out)])
    record = json.loads(out.read_text())
    assert [r["arch"] for r in record["rows"]] == [record["baseline"], "vgg_w16_s2", "regnet_y_200mf_s2"]
    assert record["rows"][0]["cost_vs_baseline"] == 1.0 and record["ensemble_cost_cap"] == 6.0
    for r in record["rows"][1:]:    # the cost is the baseline's img/s over the member's, to the stored rounding
        assert abs(r["cost_vs_baseline"] - record["rows"][0]["img_per_s"] / r["img_per_s"]) <= 0.01


def test_ensemble_members_learning_check_smoke(tmp_path):
    """--learn: a short common-recipe run per candidate; the prior loss is the smoothed cross-entropy of the
    training label distribution (hand-computed for a two-class case)."""
    import ensemble_members
    import numpy as np
    labels = np.array([0, 0, 0, 1])                     # p = (0.75, 0.25); smoothing 0.1 over 2 classes
    target = 0.9 * np.array([0.75, 0.25]) + 0.05
    assert ensemble_members.prior_loss(labels, 2, 0.1) == pytest.approx(-(target * np.log([0.75, 0.25])).sum())
    out = tmp_path / "l.json"
    ensemble_members.main(["--smoke", "--learn", "--archs", "vgg_w16_s2", "--out", str(out)])
    record = json.loads(out.read_text())
    row = record["rows"][0]
    assert row["arch"] == "vgg_w16_s2" and len(row["train_loss"]) == record["epochs"] == 2
    assert row["learns"] == (row["train_loss"][-1] <= row["prior_loss"] - record["learn_margin"])
