"""Paper 004's valence/arousal path: the category norms and the derived FER+ targets against hand-computed
values, the heads' training (polarity first, then CCC) on features with a known answer, and the VA task end to
end on the FER+ stand-in and on AffectNet and Aff-Wild2 fixtures in their real layouts."""
import numpy as np
import pytest
import torch

from fer_utils.labels import ABAW_CLASSES, FERPLUS_CLASSES, category_va, expected_va, va_from_votes
from fer_utils.papers.abaw5_multitask.models import VAModel
from fer_utils.papers.abaw5_multitask.task import train_va_heads, va_scores
from fer_utils.tasks import TASKS
from tests.helpers import save_jpg, some_faces


def test_category_va_maps_the_word_norms_to_minus_one_one():
    t = category_va(FERPLUS_CLASSES)
    # happiness: valence 8.48, arousal 6.50 on 1-9 (Warriner et al. 2013) -> (x - 5) / 4
    np.testing.assert_allclose(t[1], [0.87, 0.375])
    np.testing.assert_allclose(t[3], [(2.40 - 5) / 4, (2.81 - 5) / 4])        # sadness
    abaw = category_va(ABAW_CLASSES)                                         # same words, ABAW's order
    np.testing.assert_allclose(abaw[ABAW_CLASSES.index("happiness")], t[1])
    assert np.isnan(abaw[ABAW_CLASSES.index("other")]).all()


def test_va_from_votes_hand_computed():
    votes = np.array([[6, 4, 0, 0, 0, 0, 0, 0, 2, 0],      # 60% neutral, 40% happiness (unknown left out)
                      [0, 0, 0, 0, 0, 0, 0, 0, 3, 7]])     # no emotion vote
    va = va_from_votes(votes)
    # valence 0.6 * 0.125 + 0.4 * 0.87; arousal 0.6 * -0.3875 + 0.4 * 0.375
    np.testing.assert_allclose(va[0], [0.423, -0.0825])
    assert np.isnan(va[1]).all()


def test_expected_va_renormalises_over_the_named_classes():
    p = np.zeros((1, 8))
    p[0, ABAW_CLASSES.index("other")] = 0.5
    p[0, ABAW_CLASSES.index("sadness")] = 0.5
    np.testing.assert_allclose(expected_va(p, ABAW_CLASSES)[0], category_va(FERPLUS_CLASSES)[3])
    only_other = np.eye(8)[[ABAW_CLASSES.index("other")]]
    assert np.isnan(expected_va(only_other, ABAW_CLASSES)).all()


def test_va_model_without_the_valence_link():
    m = VAModel(6, hidden=4, feed_valence=False)
    assert m.arousal_hidden[0].in_features == 6 and VAModel(6, hidden=4).arousal_hidden[0].in_features == 10
    out = m(torch.randn(3, 6))
    assert out["arousal"].shape == (3,)


def _linear_problem(n, extremes=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = torch.tanh(torch.stack([x[:, 0] - 0.5 * x[:, 1], x[:, 2]], 1) * 0.6)
    if extremes:                                # a quarter of the valence targets at the ends of the scale
        top, bottom = torch.arange(n) % 8 == 0, torch.arange(n) % 8 == 1
        y[top, 0], y[bottom, 0] = 1.0, -1.0
        x[top, 3], x[bottom, 3] = 4.0, -4.0
    return x, y


def test_va_heads_learn_a_known_mapping_and_select_on_validation():
    x, y = _linear_problem(600)
    spec = {"epochs": 40, "batch_size": 64, "lr": 3e-3, "hidden": 32, "dropout": 0.0}
    model, history, counts = train_va_heads(x[:500], y[:500], x[500:], y[500:], spec, seed=0)
    assert counts == {"valence": 0, "arousal": 0}
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert max(h["valid_ccc_mean"] for h in history) > 0.9
    with torch.no_grad():                        # no extreme in training: the polarity heads never fire
        assert (model(x * 10)["pol_valence"].argmax(1) == 1).all()
    assert va_scores(y[500:].numpy(), y[500:].numpy())["ccc_mean"] == pytest.approx(1.0)


def test_va_heads_train_polarity_first_and_predict_the_extremes():
    x, y = _linear_problem(800, extremes=True)
    spec = {"epochs": 30, "polarity_epochs": 30, "batch_size": 64, "lr": 3e-3, "hidden": 32, "dropout": 0.0}
    model, history, counts = train_va_heads(x[:700], y[:700], x[700:], y[700:], spec, seed=0)
    assert counts == {"valence": 176, "arousal": 0}              # 88 rows at +1 and 88 at -1 out of 700
    from fer_utils.papers.abaw5_multitask.models import va_predict
    with torch.no_grad():
        pred = va_predict(model(x[700:]))
    top, bottom = torch.arange(700, 800) % 8 == 0, torch.arange(700, 800) % 8 == 1
    assert (pred[top, 0] == 1.0).all() and (pred[bottom, 0] == -1.0).all()
    assert ((pred[~(top | bottom), 0].abs() < 1)).float().mean() > 0.95
    assert not any(p.requires_grad for p in model.pol_valence.parameters())   # frozen after Eq. 1


SMOKE = {"epochs": 1, "batch_size": 8, "steps_per_epoch": 1}
HEADS = {"epochs": 2, "batch_size": 32, "lr": 1e-3, "hidden": 16}


def _cfg(**over):
    cfg = {"task": "va_fusion", "notebook": "t", "name": "x", "profile": "smoke", "data": "sample", "seed": 0,
           "archs": ["resnet18", "regnet_y_400mf"], "pretrain": SMOKE, "heads": HEADS}
    cfg.update(over)
    return cfg


@pytest.mark.slow
def test_va_task_on_the_derived_ferplus_standin(tmp_path):
    out = TASKS["va_fusion"](_cfg(), tmp_path, progress=False)
    f = out["final"]
    assert f["derived_targets"] and set(f["variants"]) == {"fusion", "fusion_no_feed", "single_resnet18"}
    assert f["variants"]["fusion"]["feature_dim"] == 512 + 440 and f["variants"]["single_resnet18"]["feature_dim"] == 512
    assert f["n_extreme_train"] == {"valence": 0, "arousal": 0}   # vote averages never reach -1 or +1
    p = out["predictions"]
    assert p["va_fusion"].shape == p["va_target"].shape == p["va_via_expression"].shape == (out["data"]["n_test"], 2)
    assert np.abs(p["va_target"]).max() < 0.9 and len(out["va_history"]["fusion"]) == HEADS["epochs"]


def _affectnet(root, n_per_class=10):
    faces = some_faces(40)
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True)
    lm = '"1.0;2.0"'
    rng = np.random.default_rng(0)
    rows, k = {"training.csv": [], "validation.csv": []}, 0
    for split, per in (("training.csv", n_per_class), ("validation.csv", 1)):
        for cls in range(8):
            for _ in range(per):
                v, a = rng.uniform(-1, 1, 2).round(3)
                if k == 0:
                    v, a = 1.0, 0.5                                           # an extreme valence
                if k == 1:
                    v, a = -2, -2                                             # not annotated
                name = f"{cls}/{k}.jpg"
                rows[split].append(f"{name},0,0,40,40,{lm},{cls},{v},{a}")
                save_jpg(faces[k % len(faces)], root / "Manually_Annotated_Images" / name, size=64)
                k += 1
    header = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
    (lists / "training.csv").write_text(header + "\n" + "\n".join(rows["training.csv"]) + "\n")
    (lists / "validation.csv").write_text("\n".join(rows["validation.csv"]) + "\n")
    return root


@pytest.mark.slow
def test_va_task_on_affectnet(tmp_path):
    root = _affectnet(tmp_path / "AffectNet")
    out = TASKS["va_fusion"](_cfg(va_source="affectnet", affectnet_root=str(root)), tmp_path / "run", progress=False)
    f = out["final"]
    assert not f["derived_targets"] and f["n_excluded"]["train"] + f["n_excluded"]["valid"] == 1
    assert f["n_extreme_train"]["valence"] == 1 and out["data"]["n_test"] == 8
    assert out["data"]["n_train"] + out["data"]["n_valid"] == 79   # 80 listed, one not annotated
    with pytest.raises(ValueError, match="affectnet_root"):
        TASKS["va_fusion"](_cfg(va_source="affectnet"), tmp_path / "r2", progress=False)
    with pytest.raises(ValueError, match="va_source"):
        TASKS["va_fusion"](_cfg(va_source="nope"), tmp_path / "r3", progress=False)


def test_va_task_on_affwild2_holds_out_whole_videos(tmp_path):
    from tests.test_ssl_temporal import _affwild2
    root = _affwild2(tmp_path / "affwild2")
    rng = np.random.default_rng(1)
    for split, videos in (("Train_Set", ("v1", "v2")), ("Validation_Set", ("v3",))):
        folder = root / "6th_ABAW_Annotations" / "VA_Estimation_Challenge" / split
        folder.mkdir(parents=True)
        for video in videos:
            va = rng.uniform(-1, 1, (24, 2)).round(3)
            va[0] = -5                                                         # an invalid frame
            (folder / f"{video}.txt").write_text("valence,arousal\n" + "\n".join(f"{v},{a}" for v, a in va) + "\n")
    out = TASKS["va_fusion"](_cfg(va_source="affwild2", affwild2_root=str(root)), tmp_path / "run", progress=False)
    assert out["data"]["n_train"] == out["data"]["n_valid"] == 23 and out["data"]["n_test"] == 23
    assert out["final"]["n_excluded"] == {"train": 1, "valid": 1, "test": 1}
