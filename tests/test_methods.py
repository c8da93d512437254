"""Each paper's Method alone (no training loop): its state lives in attributes a test can inspect; and the
typed budgets refuse a wrong type or range at config time, naming the key."""
import dataclasses

import numpy as np
import pytest
import torch

from fer_utils.papers.abaw5_expression.task import MutexMatch, MutexMatchRecipe
from fer_utils.papers.cct.task import CCT, CCTRecipe
from fer_utils.papers.self_training.task import SelfTraining, SelfTrainingRecipe
from fer_utils.tasks import check_profiles, resolve_config
from fer_utils.train import DeviceData, Method, TrainConfig, fit
from tests.helpers import TinyNet


def recipe(cls, **over):
    return cls.from_config({"task": "x", "notebook": "nb", "name": "m", **over})


def test_mutexmatch_threshold_is_an_attribute_set_per_epoch():
    r = recipe(MutexMatchRecipe, dat_warmup_epochs=1)
    lab = DeviceData(torch.randint(0, 255, (16, 48, 48), dtype=torch.uint8), torch.arange(16) % 8)
    m = MutexMatch(r, lab)
    assert m.T is None
    m.on_epoch_start(TinyNet(), 0, [])
    assert torch.equal(m.T, torch.full((8,), 1.01))            # warm-up: no pseudo-label can pass
    m.on_epoch_start(TinyNet(), 1, [{}])
    assert m.T.shape == (8,) and bool((m.T < 1).all())        # Eq. 4 from the model's labelled predictions
    record = {}
    m.on_epoch_end(TinyNet(), 1, record)
    assert record["thresholds"] == m.T.tolist()
    fixed = MutexMatch(recipe(MutexMatchRecipe, threshold=0.95), lab)
    fixed.on_epoch_start(TinyNet(), 0, [])
    assert fixed.T == 0.95


def test_cct_lambda_ramps_to_its_maximum_and_is_zero_for_one_network():
    r = recipe(CCTRecipe, train={"epochs": 10})
    m = CCT(r, 3)
    lams = [m.lam(e) for e in range(10)]
    assert lams[0] < lams[5] < lams[9] and lams == sorted(lams)
    assert CCT(r, 1).lam(9) == 0.0 and CCT(dataclasses.replace(r, consistency=False), 3).lam(9) == 0.0


def test_self_training_state_is_its_targets_weights_and_active_set():
    r = recipe(SelfTrainingRecipe, train={"epochs": 4})
    labels = np.arange(10) % 8
    xval = type("X", (), {"labels": labels[:4], "images": np.zeros((4, 48, 48), np.uint8)})()
    m = SelfTraining(r, r.train, labels, 5, xval, 8, torch.device("cpu"))
    state = m.state()
    assert set(state) == {"q", "w", "active", "val_loss"}
    assert state["active"].tolist() == [True] * 10 + [False] * 5     # the unlabelled pool waits for round 1
    assert torch.allclose(state["q"][:10].sum(1), torch.ones(10)) and (state["w"] == 1).all()
    batches = m.batches(0, 3, torch.Generator().manual_seed(0), None, dataclasses.replace(r.train, batch_size=4))
    assert batches.shape == (3, 4) and int(batches.max()) < 10      # only the active set is sampled


def test_a_plain_loss_is_a_method_and_fit_takes_at_most_six_parameters():
    import inspect
    assert len(inspect.signature(fit).parameters) <= 6
    with pytest.raises(NotImplementedError, match="give a loss"):
        Method().loss(None, {}, 0)


@pytest.mark.parametrize("bad, match", [
    ({"train": {"lr": "0.1"}}, r"in 'train'.*lr='0.1' \(str\): expected float"),
    ({"train": {"epochs": 2.5}}, r"in 'train'.*epochs=2.5 \(float\): expected int"),
    ({"dropout": 1.5}, r"dropout=1.5: expected a value in \[0, 1\)"),
    ({"arch": "resnet19"}, r"arch='resnet19': expected one of"),
    ({"profile": "huge"}, r"profile='huge': expected one of"),
    ({"train": {"optimizer": "rmsprop"}}, r"optimizer='rmsprop'"),
    ({"labelled_fraction": 0.0}, r"labelled_fraction=0.0: expected a value in \(0, 1\]"),
])
def test_a_wrong_type_or_range_fails_at_config_time_naming_the_key(bad, match):
    config = {"task": "supervised", "notebook": "00_data", "name": "m", "profile": "cpu", **bad}
    with pytest.raises(ValueError, match=match):
        resolve_config(config)
    table = {p: {"row": {"task": "supervised", **({} if p != "cpu" else bad)}} for p in ("smoke", "cpu", "gpu")}
    if "profile" not in bad:
        with pytest.raises(ValueError, match=match):
            check_profiles(table, "00_data")


def test_profile_tables_must_cover_every_profile_and_name_real_tasks():
    with pytest.raises(ValueError, match="expected exactly smoke, cpu, gpu"):
        check_profiles({"cpu": {}}, "nb")
    with pytest.raises(ValueError, match="task='nosuch'"):
        check_profiles({p: {"row": {"task": "nosuch"}} for p in ("smoke", "cpu", "gpu")}, "nb")


def test_train_config_checks_itself_when_built():
    with pytest.raises(ValueError, match="TrainConfig: batch_size=0"):
        TrainConfig(batch_size=0)
    assert TrainConfig(views=["weak", "strong"]).views == ("weak", "strong")


def test_mutexmatch_counts_what_its_threshold_lets_through_per_class():
    r = recipe(MutexMatchRecipe, threshold=0.5)
    lab = DeviceData(torch.zeros(4, 48, 48, dtype=torch.uint8), torch.arange(4))
    truth = torch.tensor([0, 1, -1, 2])                    # the pool's hidden labels (-1: none)
    m = MutexMatch(r, lab, truth)
    m.on_epoch_start(TinyNet(), 0, [])
    logits = torch.full((4, 8), -10.0)
    logits[0, 0] = logits[1, 0] = logits[2, 2] = 10.0      # confident: class 0 (right), 0 (wrong), 2 (unknown)
    logits[3, 2] = logits[3, 3] = logits[3, 4] = 0.0        # class 2 first, at 1/3: below 0.5, not kept
    m.count_pseudo_labels(logits, torch.arange(4))
    record = {}
    m.on_epoch_end(TinyNet(), 0, record)
    assert record["pseudo_label_counts"][:3] == [2.0, 0.0, 1.0]
    assert record["mask_rate_per_class"][0] == 1.0 and record["mask_rate_per_class"][2] == 0.5
    assert record["pseudo_label_accuracy_per_class"][0] == 0.5 and record["pseudo_label_accuracy"] == 0.5
    assert float(m.counts["seen"].sum()) == 0.0            # counts restart every epoch


class _ByPixel(torch.nn.Module):
    """Predicts class (pixel value // 10) % 8 with confidence near 1 (the pixel value set per image by a test)."""

    def __init__(self):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        from fer_utils.augment import MEAN, STD
        value = ((x[:, 0, 0, 0] * STD + MEAN) * 255).round().long()
        return torch.nn.functional.one_hot((value // 10) % 8, 8).float() * 20 + self.anchor


def test_a_self_training_round_on_a_pool_holding_the_labelled_faces_records_what_it_selected():
    """Protocol 2's pool is FER+ train with labels hidden: one prediction pass serves the labelled images and the
    pool; the round records how many faces ST selected, their accuracy against the hidden labels, and whether
    the weights moved."""
    r = recipe(SelfTrainingRecipe, train={"epochs": 4}, init_epochs=1, replace=1.0, tau=0.9)  # 8 faces, 1 a class
    n = 16
    pool_images = torch.stack([torch.full((48, 48), 10 * i, dtype=torch.uint8) for i in range(n)])
    predicted = (np.arange(n)) % 8                                  # what the model will say for pool face i
    hidden = predicted.copy()
    hidden[:4] = (hidden[:4] + 1) % 8                               # 4 of 16 hidden labels disagree
    labelled_in_pool = np.arange(8)                                 # the labelled faces are pool faces 0..7
    labels = predicted[:8]
    xval = type("X", (), {"labels": labels[:4], "images": pool_images[:4].numpy()})()
    m = SelfTraining(r, r.train, labels, n, xval, 8, torch.device("cpu"), pool_labels=hidden,
                     labelled_in_pool=labelled_in_pool)
    m.images = torch.cat([pool_images[:8], pool_images])
    calls = []
    model = _ByPixel()
    original = model.forward
    model.forward = lambda x: (calls.append(len(x)), original(x))[1]
    record = {}
    m.on_epoch_end(model, 0, record)
    assert sum(calls) == 4 + n                                      # X_val, then the pool once (not 8 + 16)
    chosen = m.active[8:].nonzero().squeeze(1).numpy()
    assert record["n_selected"] == record["selected_known"] == len(chosen) == 8   # one confident face per class
    assert record["selected_accuracy"] == pytest.approx(np.mean(predicted[chosen] == hidden[chosen]))
    assert "weights_updated" in record and 0.0 <= record["w_moved"] <= 1.0
    plain = SelfTraining(dataclasses.replace(r, st=False, sw=False), r.train, labels, n, xval, 8,
                         torch.device("cpu"), pool_labels=hidden, labelled_in_pool=labelled_in_pool)
    plain.images = m.images
    calls.clear()
    record = {}
    plain.on_epoch_end(model, 0, record)
    assert sum(calls) == 4 and "n_selected" not in record and "val_loss" in record   # no round without ST or SW


def test_paper_000_mechanism_signals_need_the_selection_and_the_threshold_to_act():
    from types import SimpleNamespace

    from fer_utils.papers.abaw5_expression.signals import dat_signal, noise_aware_signal

    def run(history, predictions=None):
        return SimpleNamespace(history=history, predictions=lambda: predictions or {})
    warm = [{"epoch": e, "clean_rate": 1.0} for e in range(2)]
    acting = run(warm + [{"epoch": e, "clean_rate": 0.6} for e in range(2, 5)],
                 {"train_alpha": np.array([0.9, 0.8, 0.2, 0.1]), "train_label": np.array([0, 1, 2, 3]),
                  "train_majority": np.array([0, 1, 0, 0])})
    ok, text = noise_aware_signal([acting], warmup=2)
    assert ok and "kept 60%" in text and "AUC of 1 − α for the noisy labels 1.000" in text
    keeps_all = run(warm + [{"epoch": e, "clean_rate": 0.99} for e in range(2, 5)])
    assert noise_aware_signal([acting, keeps_all], warmup=2)[0] is False
    masked = run([{"epoch": 0, "mask_rate_per_class": [0.0] * 8, "pseudo_label_accuracy": 0.0}]
                 + [{"epoch": e, "mask_rate_per_class": [0.5] * 8, "pseudo_label_accuracy": 0.8} for e in (1, 2)])
    ok, text = dat_signal([masked], warmup=1)
    assert ok and "50% of the unlabelled faces" in text and "80% right" in text
    closed = run([{"epoch": e, "mask_rate_per_class": [0.01] * 8, "pseudo_label_accuracy": 0.9} for e in range(3)])
    assert dat_signal([closed], warmup=1)[0] is False and dat_signal([], 1) == (False, "no MutexMatch run stored")
