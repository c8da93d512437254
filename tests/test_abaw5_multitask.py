"""Paper 004: CE + Dice, focal, CCC and polarity losses against hand-computed values; the meta-classifier's
priority rules by class name; the 'Other' threshold scheme; the AU temporal model and the VA model."""
import math

import numpy as np
import pytest
import torch

from fer_utils.labels import ABAW_AUS, ABAW_CLASSES, FERPLUS_CLASSES
from fer_utils.losses import ccc_loss, ce_dice_loss, polarity_labels, sigmoid_focal_loss, soft_dice_loss
from fer_utils.metrics import ccc
from fer_utils.papers.abaw5_multitask.ensemble import (choose_other_threshold, majority_vote, predict_other_below,
                                                       priority_vote, probability_average)

LN2 = math.log(2)


def test_soft_dice_hand_computed():
    logits, y = torch.zeros(2, 2), torch.tensor([0, 1])      # p = 1/2 everywhere
    # class c: 2 TP = 2 * 0.5 = 1, sum P = 1, sum Y = 1: D = (1 + 1) / (2 + 1)
    assert soft_dice_loss(logits, y, 2).item() == pytest.approx(1 / 3)
    sure = torch.tensor([[50.0, 0.0], [0.0, 50.0]])
    assert soft_dice_loss(sure, y, 2).item() == pytest.approx(0.0, abs=1e-6)
    assert ce_dice_loss(logits, y, 2, lam=0.5).item() == pytest.approx(LN2 + 0.5 / 3)
    z = torch.zeros(2, 2, requires_grad=True)
    soft_dice_loss(z, y, 2).backward()
    assert z.grad[0, 0] < 0 and z.grad[1, 1] < 0               # the gradient raises the true classes


def test_sigmoid_focal_loss_hand_computed_and_masks_unknown():
    z = torch.zeros(1, 3)
    y = torch.tensor([[1, 0, -1]])
    # p = 1/2: positive 0.75 * 0.25 * ln 2, negative 0.25 * 0.25 * ln 2, the -1 entry left out
    assert sigmoid_focal_loss(z, y).item() == pytest.approx((0.75 + 0.25) * 0.25 * LN2 / 2)
    easy = sigmoid_focal_loss(torch.tensor([[4.0]]), torch.tensor([[1]]), gamma=2.0)
    plain = sigmoid_focal_loss(torch.tensor([[4.0]]), torch.tensor([[1]]), gamma=0.0)
    assert easy < 0.01 * plain                                  # easy examples are down-weighted
    assert sigmoid_focal_loss(z, torch.full((1, 3), -1)).item() == 0.0


def test_ccc_loss_matches_the_metric_and_hand_values():
    t = torch.tensor([0.0, 1.0, 2.0])
    assert ccc_loss(t, t).item() == pytest.approx(0.0, abs=1e-6)
    # shifted by 1: var 2/3 each, cov 2/3: CCC = (4/3) / (4/3 + 1) = 4/7
    assert ccc_loss(t + 1, t).item() == pytest.approx(3 / 7)
    assert 1 - ccc_loss(t + 1, t).item() == pytest.approx(ccc((t + 1).numpy(), t.numpy()))
    two = torch.stack([t, t], 1)
    assert ccc_loss(torch.stack([t, t + 1], 1), two).item() == pytest.approx((0 + 3 / 7) / 2)


def test_polarity_labels():
    assert polarity_labels(torch.tensor([-1.0, -0.99, 0.0, 0.5, 1.0])).tolist() == [0, 1, 1, 1, 2]


def test_priority_vote_by_class_name():
    names = FERPLUS_CLASSES  # neutral, happiness, surprise, sadness, anger, disgust, fear, contempt
    c = {n: i for i, n in enumerate(names)}
    preds = [torch.tensor([c["happiness"], c["neutral"], c["sadness"], c["fear"], c["neutral"]]),
             torch.tensor([c["happiness"], c["neutral"], c["fear"], c["sadness"], c["happiness"]]),
             torch.tensor([c["anger"], c["happiness"], c["disgust"], c["happiness"], c["surprise"]])]
    out = priority_vote(preds, names).tolist()
    assert out == [c["anger"], c["neutral"], c["disgust"], c["fear"], c["neutral"]]  # last: a 3-way tie -> lowest
    probs = [torch.full((5, 8), 0.1) for _ in preds]
    probs[0][4, c["surprise"]] = 0.9
    assert priority_vote(preds, names, probs=probs)[4] == c["surprise"]               # tie broken by probability
    abaw = {n: i for i, n in enumerate(ABAW_CLASSES)}                                  # another order, same names
    out = priority_vote([torch.tensor([abaw["happiness"]]), torch.tensor([abaw["anger"]])], ABAW_CLASSES)
    assert out.tolist() == [abaw["anger"]]
    with pytest.raises(ValueError, match="not in class_names"):
        priority_vote(preds, ("a", "b"))


def test_majority_vote_and_probability_average():
    preds = [torch.tensor([0, 1]), torch.tensor([0, 2]), torch.tensor([1, 2])]
    assert majority_vote(preds, 3).tolist() == [0, 2]
    probs = [torch.tensor([[0.6, 0.4], [0.1, 0.9]]), torch.tensor([[0.2, 0.8], [0.3, 0.7]])]
    assert probability_average(probs).tolist() == [1, 1]


def test_other_by_threshold():
    probs = torch.tensor([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05], [0.2, 0.2, 0.6]])   # class 2 = Other
    # Other's own column is ignored: sample 3's best remaining class is 0.2 < 0.45 -> Other
    assert predict_other_below(probs, 2, 0.45).tolist() == [0, 0, 2]
    t, scores = choose_other_threshold(probs, np.array([2, 0, 2]), 2, grid=[0.3, 0.6])
    assert t == 0.6 and scores[0.6] == pytest.approx(2 / 3) and scores[0.3] == pytest.approx(4 / 9)  # class 1: F1 0


def test_au_temporal_net_three_pipelines_fused():
    from fer_utils.papers.abaw5_multitask.models import AUTemporalNet
    net = AUTemporalNet(16, 12, heads=4, ff=32, max_len=8)
    out = net(torch.randn(2, 3, 16))
    assert set(out) == {"p1", "p2", "p3", "fused"} and all(v.shape == (2, 3, 12) for v in out.values())
    with pytest.raises(ValueError, match="heads"):
        AUTemporalNet(10, heads=4)


def test_va_model_feeds_valence_features_to_arousal_and_polarity_overrides():
    from fer_utils.papers.abaw5_multitask.models import VAModel, va_predict
    m = VAModel(6, hidden=4)
    out = m(torch.randn(5, 6))
    assert out["valence"].shape == (5,) and out["pol_arousal"].shape == (5, 3)
    assert (out["valence"].abs() <= 1).all()
    out["arousal"].sum().backward()  # the valence hidden features reach the arousal head detached
    assert m.valence_hidden[0].weight.grad is None and m.arousal_hidden[0].weight.grad is not None
    fake = {"valence": torch.tensor([0.3, 0.3, 0.3]), "arousal": torch.tensor([0.1, 0.1, 0.1]),
            "pol_valence": torch.tensor([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0]]),
            "pol_arousal": torch.tensor([[0, 5.0, 0]] * 3)}
    torch.testing.assert_close(va_predict(fake), torch.tensor([[-1.0, 0.1], [0.3, 0.1], [1.0, 0.1]]))


def test_au_temporal_net_can_project_wide_features():
    from fer_utils.papers.abaw5_multitask.models import AUTemporalNet
    wide, narrow = AUTemporalNet(2048, width=64, heads=8, ff=32), AUTemporalNet(64, heads=8, ff=32)
    assert wide(torch.randn(1, 3, 2048))["fused"].shape == (1, 3, 12)
    extra = sum(p.numel() for p in wide.parameters()) - sum(p.numel() for p in narrow.parameters())
    assert extra == 2048 * 64 + 64  # only the projection differs


def test_by_seed_keeps_only_seeds_every_member_has_and_rules_combine():
    from types import SimpleNamespace

    from fer_utils.papers.abaw5_multitask.ensemble import RULES, by_seed, rule_predictions
    run = lambda seed: SimpleNamespace(config={"seed": seed})
    a0, a1, b1 = run(0), run(1), run(1)
    assert by_seed({"a": [a0, a1], "b": [b1]}) == {1: [a1, b1]}
    names = ("happiness", "anger", "disgust", "fear", "sadness")
    probs = [torch.tensor([[0.6, 0.4, 0, 0, 0]]), torch.tensor([[0.7, 0.3, 0, 0, 0]]), torch.tensor([[0.2, 0.8, 0, 0, 0]])]
    out = rule_predictions(probs, names)
    assert set(out) == set(RULES)
    # two votes for happiness, one for anger: anger has priority; the majority and the mean say happiness
    assert out["priority rules"].tolist() == [1] and out["majority vote"].tolist() == [0]
    assert out["probability average"].tolist() == [0]


def test_au_frame_net_sees_no_other_frame_while_the_temporal_net_does():
    """The per-frame baseline is the temporal model with time removed: changing frame 2 of a clip leaves
    the per-frame logits of frame 0 unchanged, and changes the temporal model's."""
    from fer_utils.papers.abaw5_multitask.models import AUFrameNet, AUTemporalNet
    torch.manual_seed(0)
    x = torch.randn(2, 3, 16)
    y = x.clone()
    y[:, 2] += 1.0
    frame, temporal = AUFrameNet(16, 12).eval(), AUTemporalNet(16, 12, heads=4, ff=32, max_len=3).eval()
    with torch.no_grad():
        assert frame(x).shape == (2, 3, 12)
        assert torch.allclose(frame(x)[:, :2], frame(y)[:, :2])
        assert not torch.allclose(frame(x)[:, 2], frame(y)[:, 2])
        assert not torch.allclose(temporal(x)["fused"][:, 0], temporal(y)["fused"][:, 0])
    assert AUFrameNet(2048, 12, width=64).fc.in_features == 64


@pytest.mark.slow
def test_au_task_scores_the_temporal_model_and_the_per_frame_baseline(tmp_path):
    """The AU task end to end on the bundled sample (smoke budget): both models' per-AU F1 are stored and
    agree with the stored probabilities."""
    from fer_utils import runs as R
    from fer_utils.experiments import run_config
    from fer_utils.metrics import au_f1
    config = run_config("05_abaw5_multitask", "au-common", "smoke")[0]
    run = R.run_or_load(config, tmp_path, progress=False)
    pred = run.predictions()
    labels = pred["au_labels"].astype(np.int64)
    for probs, key in (("au_probs", "per_au_f1"), ("au_probs_frame", "frame_per_au_f1")):
        per_au = au_f1(labels, (pred[probs].astype(np.float32) >= 0.5).astype(np.int64))
        assert list(run.final[key]) == list(ABAW_AUS)
        assert np.allclose(list(run.final[key].values()), per_au)
    assert run.final["frame_mean_au_f1"] == pytest.approx(np.mean(list(run.final["frame_per_au_f1"].values())))
    assert not np.array_equal(pred["au_probs"], pred["au_probs_frame"])


@pytest.mark.parametrize("arch", ["mobilenet_v2_x035_s2", "mobilenet_v2_x035_s4", "densenet_k8_3-6-8-6_s2",
                                  "shufflenet_v2_x050_s2", "regnet_y_200mf_s2", "regnet_y_200mf_s4", "vgg_w16_s2",
                                  "resnet18_w16_s2", "mobilenet_v2_x035_s4_h128", "regnet_y_200mf_s4_h128"])
def test_ensemble_members_take_48px_faces_and_give_fernet_outputs(arch):
    from fer_utils.papers.abaw5_multitask.members import build_member, member_family
    torch.manual_seed(0)
    net = build_member(arch, 8, dropout=0.5).eval()
    logits, features, maps = net(torch.randn(2, 1, 48, 48), return_features=True)
    assert logits.shape == (2, 8) and features.shape == (2, net.feature_dim) and maps.shape[:2] == (2, net.feature_dim)
    assert member_family(arch) == {"m": "MobileNet", "d": "DenseNet", "s": "ShuffleNet", "r": ("RegNet" if arch[:3] == "reg" else "ResNet"),
                                   "v": "VGG"}[arch[0]]


def test_h128_members_keep_the_classifier_step_of_the_baseline():
    """One SGD step of the linear classifier moves a logit by about lr x |features|^2. At initialisation (training
    mode) the stock MobileNet-V2 (1,280 features) and RegNetY (an unnormalised residual sum) give |f|^2 over 5x
    the baseline ResNet's, and they did not learn on the common recipe; their _h128 forms (128 batch-normalised
    features) stay within 1.5x of it, as do every cpu member's."""
    from fer_utils.papers.abaw5_multitask.members import HEAD, build_member
    from fer_utils.papers.abaw5_multitask.runs import MEMBER_ARCHS
    from fer_utils.profiles import CPU_ARCH
    x = torch.randn(64, 1, 48, 48, generator=torch.Generator().manual_seed(0))

    def sq_norm(arch):
        torch.manual_seed(0)
        with torch.no_grad():
            return float((build_member(arch, 8).train()(x, return_features=True)[1] ** 2).sum(1).mean())

    base = sq_norm(CPU_ARCH)
    for arch in ("mobilenet_v2_x035_s4_h128", "mobilenet_v2_x035_s2_h128", "regnet_y_200mf_s4_h128",
                 *MEMBER_ARCHS["cpu"].values()):
        assert sq_norm(arch) <= 1.5 * base, arch
    for arch in ("mobilenet_v2_x035_s4", "regnet_y_200mf_s4"):
        assert sq_norm(arch) > 5 * base, arch
    assert build_member("regnet_y_200mf_s4_h128").feature_dim == build_member("mobilenet_v2_x035_s4_h128").feature_dim == HEAD


def test_unknown_member_is_an_error_naming_both_lists():
    from fer_utils.papers.abaw5_multitask.members import build_member
    with pytest.raises(ValueError, match=r"arch='mobilenet_v9'.*or an ensemble member: mobilenet_v2_x035_s2"):
        build_member("mobilenet_v9")


def test_ce_dice_smooths_only_the_cross_entropy():
    """L_C with label smoothing eps: CE against (1 - eps) one-hot + eps / C; the Dice term unchanged."""
    z, y = torch.tensor([[2.0, 0.0]]), torch.tensor([0])
    logp = torch.log_softmax(z, 1)[0]
    ce_smooth = -(0.95 * logp[0] + 0.05 * logp[1])              # eps = 0.1, C = 2
    assert ce_dice_loss(z, y, 2, label_smoothing=0.1).item() == pytest.approx(
        ce_smooth.item() + soft_dice_loss(z, y, 2).item(), abs=1e-6)
    assert ce_dice_loss(z, y, 2).item() == pytest.approx(-logp[0].item() + soft_dice_loss(z, y, 2).item(), abs=1e-6)


def _member(seed, valid_f1, test_f1, logits):
    from types import SimpleNamespace
    logits = np.asarray(logits, dtype=np.float32)
    return SimpleNamespace(config={"seed": seed}, final={"best_valid_macro_f1": valid_f1, "macro_f1": test_f1,
                                                          "accuracy": 0.5},
                           predictions=lambda: {"logits": logits})


def test_ensemble_scores_signals_and_the_best_member_on_valid():
    from fer_utils.papers.abaw5_multitask.ensemble import (best_on_valid, ensemble_scores, member_disagreement,
                                                           rule_overrides)
    eye = np.eye(8) * 5
    labels = np.array([0, 1, 4, 5, -1])                 # neutral, happiness, anger, disgust; one face unlabelled
    a = _member(0, 0.40, 0.30, eye[[0, 1, 0, 5, 0]])     # right on 3 of 4
    b = _member(0, 0.45, 0.20, eye[[0, 1, 0, 0, 0]])     # best on Valid, worse on Test
    c = _member(0, 0.30, 0.10, eye[[0, 0, 4, 5, 1]])
    assert best_on_valid([a, b, c]) is b                 # chosen on Valid, never on Test
    out = ensemble_scores([a, b, c], labels)
    assert out["best sub-classifier (Valid)"]["macro_f1"] == 0.20
    # priority rules: anger (face 2) and disgust (face 3) win over the majority; face 1 stays happiness
    assert out["priority rules"]["accuracy"] == 1.0
    assert out["majority vote"]["accuracy"] == pytest.approx(0.75)   # face 2: neutral by 2 votes to 1
    # the rules changed the majority's class on face 2 only (face 3: disgust is also the majority)
    assert rule_overrides([a, b, c]) == pytest.approx(1 / 5)
    assert member_disagreement([a, b, c]) == pytest.approx(4 / 5)    # only face 0 is unanimous
    assert member_disagreement([a, a, a]) == 0.0


@pytest.mark.slow
def test_a_member_trains_on_the_common_recipe_with_dice_and_flip_tta(tmp_path):
    """A non-ResNet member end to end on the bundled sample (smoke budget): the config names the member network,
    the stored Test logits (flip TTA) give the stored macro F1, and the Valid F1 of the kept epoch is stored."""
    from fer_utils import runs as R
    from fer_utils.experiments import run_config
    from fer_utils.metrics import macro_f1
    config = run_config("05_abaw5_multitask", "mobilenet-single_annotator", "smoke")[0]
    assert config["arch"] == "mobilenet_v2_x035_s2_h128" and config["train"]["flip_tta"] and config["label_smoothing"] == 0.1
    run = R.run_or_load(config, tmp_path, progress=False)
    pred = run.predictions()
    keep = pred["labels"] >= 0
    assert run.final["macro_f1"] == pytest.approx(macro_f1(pred["labels"][keep], pred["logits"].argmax(1)[keep], 8))
    assert 0.0 <= run.final["best_valid_macro_f1"] <= 1.0 and run.history[0]["train_loss"] > 0


def test_the_cpu_ensemble_fits_its_cost_cap_by_the_committed_record():
    """Protocol 2: one ensemble (the cpu profile's five members, one seed) costs at most ENSEMBLE_COST_CAP x the
    baseline network's training, by results/benchmarks/ensemble-members-cpu.json; the cost model uses the same
    ratios (within the record's rounding)."""
    import json

    from fer_utils import cost as C
    from fer_utils.papers.abaw5_multitask.members import ENSEMBLE_COST_CAP, member_family
    from fer_utils.papers.abaw5_multitask.runs import MEMBER_ARCHS
    from fer_utils.paths import RESULTS_DIR
    from fer_utils.profiles import CPU_ARCH
    record = json.loads((RESULTS_DIR / "benchmarks" / "ensemble-members-cpu.json").read_text())
    assert record["baseline"] == CPU_ARCH and not record["smoke"] and "+dirty" not in record["commit"]
    cost = {r["arch"]: r["cost_vs_baseline"] for r in record["rows"]}
    members = list(MEMBER_ARCHS["cpu"].values())
    assert len({member_family(a) for a in members}) == 5 and CPU_ARCH in members
    assert sum(cost[a] for a in members) <= ENSEMBLE_COST_CAP
    assert all(abs(C.MEMBER_COST[a] - cost[a]) <= 0.1 for a in members if a != CPU_ARCH)


def test_every_cpu_member_learns_on_the_common_recipe_by_the_committed_record():
    """results/benchmarks/member-learning-cpu.json (benchmarks/ensemble_members.py --learn): each of the cpu
    profile's five members ends a short common-recipe run at least the margin under the class-prior loss; the
    stock MobileNet-V2 and RegNetY heads the _h128 forms replace did not."""
    import json
    import math

    from fer_utils.papers.abaw5_multitask.runs import MEMBER_ARCHS
    from fer_utils.paths import RESULTS_DIR
    record = json.loads((RESULTS_DIR / "benchmarks" / "member-learning-cpu.json").read_text())
    assert not record["smoke"] and "+dirty" not in record["commit"]
    rows = {r["arch"]: r for r in record["rows"]}
    for arch in MEMBER_ARCHS["cpu"].values():
        r = rows[arch]
        assert r["learns"] and r["train_loss"][-1] <= r["prior_loss"] - record["learn_margin"], arch
    for stock in ("mobilenet_v2_x035_s4", "regnet_y_200mf_s4"):
        last = rows[stock]["train_loss"][-1]
        assert not rows[stock]["learns"] and (math.isnan(last) or last > rows[stock]["prior_loss"] - record["learn_margin"])
