"""Every training task runs end to end on the bundled sample (a step or two on the CPU) and returns what
run_or_load stores; the method-specific state (thresholds, importance weights) is where it should be."""
import numpy as np
import pytest

from fer_utils.tasks import TASKS

TRAIN = {"epochs": 2, "batch_size": 8, "steps_per_epoch": 1, "eval_batch_size": 256}


def run(name, tmp_path, **config):
    base = {"task": name, "notebook": "test", "name": name, "profile": "smoke", "data": "sample", "seed": 0,
            "labels": "single_annotator", "train": dict(TRAIN)}
    base.update(config)
    out = TASKS[name](base, tmp_path, progress=False)
    assert 0 <= out["final"]["macro_f1"] <= 1 and len(out["history"]) == TRAIN["epochs"]
    assert out["predictions"]["logits"].shape == (len(out["predictions"]["labels"]), 8)
    return out


def test_frozen_baseline(tmp_path):
    out = run("frozen_baseline", tmp_path, pretrain={"epochs": 1, "batch_size": 8, "steps_per_epoch": 1})
    assert out["data"]["n_train"] > 0


@pytest.mark.parametrize("threshold", ["dat", 0.95])
def test_mutexmatch_with_dynamic_or_fixed_threshold(tmp_path, threshold):
    out = run("mutexmatch", tmp_path, labelled_fraction=0.25, threshold=threshold, train={**TRAIN, "mu": 2})
    history = out["history"]
    assert {"sup", "pseudo", "sep", "neg", "mask_rate"} <= set(history[0])
    assert all(len(h["thresholds"]) == 8 for h in history)
    if threshold == "dat":  # Eq. 4 at epoch 0 is half of beta * m_c (or 0.8 for a class never right)
        assert all(0 < t <= 0.95 for t in history[0]["thresholds"])
    else:
        assert history[0]["thresholds"] == [0.95] * 8
    assert out["data"]["n_unlabelled"] > 100 and out["data"]["n_train"] < 100


def test_noise_aware(tmp_path):
    out = run("noise_aware", tmp_path, save_train_alpha=True)
    assert {"wce", "rr", "consistency", "clean_rate", "alpha_mean"} <= set(out["history"][0])
    pred = out["predictions"]
    assert pred["train_alpha"].shape == pred["train_label"].shape == pred["train_index"].shape
    assert ((pred["train_alpha"] > 0) & (pred["train_alpha"] < 1)).all()
    off = run("noise_aware", tmp_path / "off", consistency_weight=0.0)
    assert "consistency" not in off["history"][0]
