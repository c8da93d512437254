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
    assert 0 <= out["final"]["macro_f1"] <= 1 and len(out["history"]) == base["train"]["epochs"]
    classes = 6 if base.get("dataset") == "ckplus" else 8   # CK+ without contempt (paper 003's protocol)
    assert out["predictions"]["logits"].shape == (len(out["predictions"]["labels"]), classes)
    return out


def test_frozen_baseline(tmp_path):
    out = run("frozen_baseline", tmp_path, pretrain={"epochs": 1, "batch_size": 8, "steps_per_epoch": 1})
    assert out["data"]["n_train"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("threshold", ["dat", 0.95])
def test_mutexmatch_with_dynamic_or_fixed_threshold(tmp_path, threshold):
    out = run("mutexmatch", tmp_path, labelled_fraction=0.25, threshold=threshold, train={**TRAIN, "mu": 2})
    history = out["history"]
    assert {"sup", "pseudo", "sep", "neg", "mask_rate"} <= set(history[0])
    assert all(len(h["thresholds"]) == 8 for h in history)
    if threshold == "dat":  # warm-up epoch: nothing passes; then Eq. 4 at t = 0 is half of beta * m_c
        assert history[0]["thresholds"] == pytest.approx([1.01] * 8) and history[0]["mask_rate"] == 0
        assert all(0 < t <= 0.95 for t in history[1]["thresholds"])
    else:
        assert history[0]["thresholds"] == [0.95] * 8
    assert out["data"]["n_unlabelled"] > 100 and out["data"]["n_train"] < 100


@pytest.mark.slow
def test_noise_aware(tmp_path):
    out = run("noise_aware", tmp_path, save_train_alpha=True)
    assert {"wce", "rr", "consistency", "clean_rate", "alpha_mean"} <= set(out["history"][0])
    pred = out["predictions"]
    assert pred["train_alpha"].shape == pred["train_label"].shape == pred["train_index"].shape
    assert ((pred["train_alpha"] > 0) & (pred["train_alpha"] < 1)).all()
    off = run("noise_aware", tmp_path / "off", consistency_weight=0.0)
    assert "consistency" not in off["history"][0]


@pytest.mark.slow
def test_self_training_rounds_on_ferplus(tmp_path):
    out = run("self_training", tmp_path, st=True, sw=True, init_epochs=1, window=1, replace=0.1, tau=0.0,
              train={**TRAIN, "epochs": 3}, save_train_weights=True)
    rounds = [h for h in out["history"] if "val_loss" in h]
    assert len(rounds) == 3  # a round after the initial model and after each later epoch
    assert all(h["n_selected"] > 0 for h in rounds)  # tau = 0: every prediction is a candidate
    assert out["data"]["n_unlabelled"] == 58  # the paper's protocol: FER+ test images as the unlabelled pool
    w = out["predictions"]["train_weight"].astype(float)
    assert ((w >= 0) & (w <= 1)).all() and len(w) == len(out["predictions"]["train_label"])
    f = out["predictions"]["train_loss"]   # Eq. 6's unweighted f_i of the kept model: what Eq. 8 ranks
    assert f.shape == w.shape and (f > 0).all() and f.std() > 0
    # Protocol 2's pool: every FER+ train face with its label hidden; ST's picks are scored against the hidden
    # majority labels, and the labelled faces' majority labels are stored for Fig. 3's AUC
    pool = run("self_training", tmp_path / "pool", st=True, sw=True, init_epochs=1, window=1, replace=0.1, tau=0.0,
               unlabelled="ferplus_train", train={**TRAIN, "epochs": 3}, save_train_weights=True)
    assert pool["data"]["n_unlabelled"] == 200   # the sample's train split
    rounds = [h for h in pool["history"] if "n_selected" in h]
    assert rounds and all(h["selected_known"] <= h["n_selected"] for h in rounds)
    assert all(h["selected_accuracy"] is None or 0 <= h["selected_accuracy"] <= 1 for h in rounds)
    assert all(0 <= h["w_moved"] <= 1 and isinstance(h["weights_updated"], bool) for h in rounds)
    p = pool["predictions"]
    assert p["train_majority"].shape == p["train_label"].shape and (p["train_majority"] != p["train_label"]).any()


def test_self_training_on_a_ckplus_fold_with_cross_dataset_eval(tmp_path):
    out = run("self_training", tmp_path, dataset="ckplus", fold=0, st=True, sw=False, init_epochs=1,
              cross_eval=True, train={**TRAIN, "epochs": 2})
    assert out["predictions"]["logits"].shape[1] == 6  # CK+'s classes without contempt (the paper excludes it)
    cross = out["final"]["cross"]
    assert cross["n"] > 0 and set(cross["classes"]) <= {"anger", "contempt", "disgust", "fear", "happiness",
                                                         "sadness", "surprise"}


def test_cross_dataset_scores_restrict_to_shared_classes():
    import torch

    from fer_utils.labels import CKPLUS_CLASSES, FERPLUS_CLASSES
    from fer_utils.papers.self_training.task import cross_dataset_scores
    logits = torch.zeros(2, 8)
    logits[0, 0], logits[0, 4] = 5.0, 3.0   # neutral (not in CK+), then anger: restricted prediction = anger
    logits[1, 2] = 5.0                      # surprise
    labels = np.array([CKPLUS_CLASSES.index("anger"), CKPLUS_CLASSES.index("happiness")])
    s = cross_dataset_scores(logits, labels, FERPLUS_CLASSES, CKPLUS_CLASSES)
    assert s["accuracy"] == 0.5 and s["n"] == 2 and "neutral" not in s["classes"] and len(s["classes"]) == 7
