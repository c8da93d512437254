"""Paper 002: the teacher/student losses (Eq. 1-6) against hand-computed values, the temporal helpers
(sliding-window vote, windows, stand-in clips, Aff-Wild2 video clips) and the task end to end."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import fer_utils.tasks  # noqa: F401  (the registry first: the package's one import cycle, fer_utils/tasks)
from fer_utils.losses import (feedback_coefficient, student_pseudo_label_loss, teacher_consistency_loss,
                               teacher_feedback_loss, teacher_loss, teacher_supervised_loss)
from fer_utils.papers.ssl_temporal.clips import segment_lengths, standin_clips, video_chunks
from fer_utils.papers.ssl_temporal.models import (TemporalEncoder, clip_logits, sliding_window_vote, vote_per_video,
                                                  window_starts)
from tests.helpers import save_jpg, some_faces

LN2, LN3 = math.log(2), math.log(3)


def test_student_loss_uses_the_teachers_hard_label_on_the_weak_view():
    teacher_weak = torch.tensor([[0.0, 2.0], [3.0, 0.0]], requires_grad=True)
    student_strong = torch.tensor([[0.0, 0.0], [LN3, 0.0]])         # p = (1/2, 1/2) and (3/4, 1/4)
    loss = student_pseudo_label_loss(student_strong, teacher_weak)  # targets 1 and 0
    assert loss.item() == pytest.approx((LN2 + math.log(4 / 3)) / 2)
    assert not loss.requires_grad  # the teacher gets no gradient through Eq. 1


def test_teacher_supervised_and_consistency_losses():
    z, y = torch.tensor([[LN3, 0.0]]), torch.tensor([1])
    assert teacher_supervised_loss(z, y).item() == pytest.approx(math.log(4))
    weak = torch.tensor([[LN3, 0.0]], requires_grad=True)            # target q = (3/4, 1/4)
    strong = torch.tensor([[0.0, 0.0]], requires_grad=True)          # p = (1/2, 1/2)
    cons = teacher_consistency_loss(weak, strong)
    assert cons.item() == pytest.approx(LN2)                         # -(3/4 + 1/4) ln 1/2
    cons.backward()
    assert weak.grad is None and strong.grad is not None             # only the prediction side learns


def test_feedback_sign_and_loss():
    f = feedback_coefficient(torch.tensor(1.25), torch.tensor(1.0))  # the student improved: f > 0
    assert f.item() == pytest.approx(0.25) and not f.requires_grad
    strong = torch.tensor([[LN3, 0.0]], requires_grad=True)          # own pseudo-label 0, p0 = 3/4
    lf = teacher_feedback_loss(strong, f)
    assert lf.item() == pytest.approx(0.25 * math.log(4 / 3))
    lf.backward()
    assert strong.grad[0, 0] < 0  # f > 0: gradient descent raises the logit of the teacher's own pseudo-label
    neg = torch.tensor([[LN3, 0.0]], requires_grad=True)
    teacher_feedback_loss(neg, -f).backward()
    assert neg.grad[0, 0] > 0     # f < 0: pushed away from it


def test_teacher_loss_sums_eq_2_and_drops_feedback_in_the_ablation():
    zl, y = torch.tensor([[LN3, 0.0]]), torch.tensor([1])
    weak, strong = torch.tensor([[LN3, 0.0]]), torch.tensor([[0.0, 0.0]])
    t = teacher_loss(zl, y, weak, strong, torch.tensor(0.5))
    assert t["total"].item() == pytest.approx(math.log(4) + LN2 + 0.5 * LN2)
    off = teacher_loss(zl, y, weak, strong, torch.tensor(0.5), feedback=False)
    assert off["total"].item() == pytest.approx(math.log(4) + LN2) and off["feedback"].item() == 0


def test_fit_steps_each_optimiser_with_its_own_lr_in_the_order_the_step_gives():
    """The teacher/student step: two optimisers in fit, the student's update first (its lr 0 here: it must
    not move), then the teacher's; no update hidden in a forward."""
    from torch import nn

    from fer_utils.train import DeviceData, Method, TrainConfig, fit
    torch.manual_seed(0)
    net = nn.ModuleDict({"student": nn.Linear(3, 2), "teacher": nn.Linear(3, 2)})
    data = DeviceData(torch.randn(32, 3), torch.randint(0, 2, (32,)))
    order = []

    class TwoUpdates(Method):
        def param_groups(self, model):
            return {"teacher": [{"params": list(model["teacher"].parameters())}],
                    "student": [{"params": list(model["student"].parameters()), "lr": 0.0}]}

        def step(self, m, batch, epoch, update):
            update(F.cross_entropy(m["student"](batch["x"]), batch["y"]), "student")
            order.append("student")
            loss = F.cross_entropy(m["teacher"](batch["x"]), batch["y"])
            update(loss, "teacher")
            order.append("teacher")
            return loss, {}

    s0, t0 = net["student"].weight.detach().clone(), net["teacher"].weight.detach().clone()
    cfg = TrainConfig(epochs=1, batch_size=8, optimizer="sgd", lr=0.1, schedule="none", views=(), device="cpu")
    fit(net, (data, None), TwoUpdates(), cfg, progress=False)
    assert order == ["student", "teacher"] * 4
    assert torch.equal(net["student"].weight, s0) and not torch.equal(net["teacher"].weight, t0)


def test_feedback_is_zero_for_an_update_that_changes_nothing_and_ignores_batch_statistics():
    """Eq. 6's before and after are measured with eval-mode BatchNorm on the labelled batch alone, both after
    the student's Eq. 1 forward has moved the running statistics: an update that changes nothing gives
    f = 0 exactly, whatever else shares the student's batches (issue: a biased f)."""
    from fer_utils.models import build_model
    from fer_utils.papers.ssl_temporal.task import labelled_loss
    torch.manual_seed(0)
    net = build_model("resnet18_w4_s2", 8)
    x, y = torch.randn(16, 1, 48, 48), torch.randint(0, 8, (16,))
    stale = labelled_loss(net, x, y)
    net(torch.randn(64, 1, 48, 48) * 3)           # the student's train-mode forward on the unlabelled faces
    before = labelled_loss(net, x, y)
    after = labelled_loss(net, x, y)              # no update in between
    assert net.training                           # the mode is restored
    assert feedback_coefficient(before, after).item() == 0.0
    assert stale.item() != before.item()          # measured across that forward, f would see the BN change


def test_sliding_window_vote_hand_computed():
    labels = torch.tensor([0, 1, 1, 2, 2, 0, 3])
    assert sliding_window_vote(labels, 3).tolist() == [1, 1, 1, 2, 2, 2, 3]
    assert sliding_window_vote(labels, 1).tolist() == labels.tolist()
    assert sliding_window_vote(labels, 10).tolist() == [0] * 7      # 0, 1, 2 tie at 2 votes: lowest index
    probs = torch.full((7, 4), 0.1)
    probs[:, 2] = 0.7                                                # ... unless the probabilities say 2
    assert sliding_window_vote(labels, 10, probs).tolist() == [2] * 7
    tie = torch.tensor([[.6, .4], [.3, .7], [.2, .8], [.9, .1]])   # windows [0, 1] and [1, 0]: both tied
    assert sliding_window_vote(torch.tensor([0, 1, 1, 0]), 2, tie).tolist() == [1, 1, 0, 0]  # 0.9 < 1.1; 1.1 > 0.9
    with pytest.raises(ValueError, match="window=0"):
        sliding_window_vote(labels, 0)


def test_vote_per_video_never_crosses_a_video():
    labels = torch.tensor([0, 0, 1, 1, 1, 1])
    assert vote_per_video(labels, ["a", "a", "a", "b", "b", "b"], 3).tolist() == [0, 0, 0, 1, 1, 1]
    assert sliding_window_vote(labels, 3).tolist() == [0, 0, 0, 1, 1, 1]
    assert vote_per_video(labels, ["a", "a", "b", "b", "b", "b"], 4).tolist() == [0, 0, 1, 1, 1, 1]


def test_windows_cover_every_frame_and_clip_logits_average_them():
    assert window_starts(100, 64, 32) == [0, 32, 36]
    assert window_starts(10, 64, 32) == [0]
    enc = TemporalEncoder(6, 3, d_model=16, heads=2, ff=32, max_len=8)
    x = torch.randn(2, 12, 6)
    z = clip_logits(enc, x, 8, 4)                                    # windows at 0 and 4: frames 4-7 in both
    enc.eval()
    with torch.no_grad():
        a, b = enc(x[:, :8]), enc(x[:, 4:12])
    torch.testing.assert_close(z[:, :4], a[:, :4])
    torch.testing.assert_close(z[:, 4:8], (a[:, 4:] + b[:, :4]) / 2)
    with pytest.raises(ValueError, match="max_len"):
        enc(torch.randn(1, 9, 6))


def test_standin_clips_are_piecewise_constant_and_use_only_their_split():
    labels = np.repeat(np.arange(4), [50, 30, 15, 5])
    labels[:3] = -1                                                  # unusable images are never drawn
    index, frame_labels = standin_clips(labels, 30, 200, 20, seed=0)
    assert index.shape == frame_labels.shape == (30, 200)
    assert (labels[index] == frame_labels).all() and (index >= 3).all()
    runs = segment_lengths(frame_labels)
    assert runs.min() >= 1 and 12 < runs.mean() < 22                 # clipped at the clip ends
    assert (np.diff(frame_labels, axis=1) != 0).sum() < 30 * 200 / 5  # persistence, not per-frame noise
    again, _ = standin_clips(labels, 30, 200, 20, seed=0)
    assert (again == index).all()


def test_video_chunks_keep_frame_order_and_count_the_rest():
    videos = np.array(["a"] * 5 + ["b"] * 3)
    frames = np.array([5, 1, 2, 3, 4, 1, 2, 3])
    labels = np.array([4, 0, 1, 2, 3, 7, 7, -1])
    index, y, dropped = video_chunks(videos, frames, labels, 2)
    assert index.tolist() == [[1, 2], [3, 4], [5, 6]] and dropped == 2
    assert y.tolist() == [[0, 1], [2, 3], [7, 7]]
    with pytest.raises(ValueError, match="no video"):
        video_chunks(videos, frames, labels, 6)


def _affwild2(root, n_frames=24):
    """Aff-Wild2 in its real layout: EXPR annotations for a train and a validation split, cropped_aligned
    frames (real faces), piecewise-constant labels with some -1 frames."""
    faces = some_faces(40)
    header = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"
    videos = {"Train_Set": {"v1": [0] * 8 + [4] * 8 + [-1] * 2 + [5] * 6, "v2": [1] * 12 + [0] * 12},
              "Validation_Set": {"v3": [4] * 12 + [6] * 12}}
    k = 0
    for split, table in videos.items():
        for video, labels in table.items():
            folder = root / "6th_ABAW_Annotations" / "EXPR_Classification_Challenge" / split
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{video}.txt").write_text(header + "\n" + "\n".join(map(str, labels)) + "\n")
            for frame in range(1, n_frames + 1):
                save_jpg(faces[k % len(faces)], root / "cropped_aligned" / video / f"{frame:05d}.jpg")
                k += 1
    return root


SMOKE = {"epochs": 1, "batch_size": 8, "steps_per_epoch": 1, "mu": 2, "sampler": "balanced", "optimizer": "sgd",
         "lr": 1e-2, "weight_decay": 5e-4}
TEMPORAL = {"epochs": 1, "steps_per_epoch": 2, "batch_size": 2, "window": 8, "stride": 4}


@pytest.mark.slow
def test_ssl_temporal_task_on_ferplus_standin_clips(tmp_path):
    from fer_utils.tasks import TASKS
    cfg = {"task": "ssl_temporal", "notebook": "t", "name": "x", "profile": "smoke", "data": "sample", "seed": 0,
           "labels": "single_annotator", "labelled_fraction": 0.25, "unlabelled": "ferplus+ckplus",
           "train": {**SMOKE, "epochs": 2}, "temporal": TEMPORAL,
           "clips": {"n_train": 3, "n_valid": 2, "n_test": 2, "length": 24, "mean_segment": 8}}
    out = TASKS["ssl_temporal"](cfg, tmp_path, progress=False)
    h = out["history"]
    assert {"sup", "cons", "feedback_loss", "f", "f_positive", "valid_teacher_macro_f1"} <= set(h[0])
    assert sum(h[0]["pseudo_label_counts"]) == 2 * 8  # mu * batch unlabelled faces labelled per step
    assert out["data"]["n_unlabelled"] > 42  # the rest of FER+ train plus all 42 CK+ faces
    p = out["predictions"]
    assert p["test_clip_temporal_logits"].shape == (2, 24, 8) and p["test_clip_index"].max() < 58
    assert 0 <= out["final"]["clip_temporal_macro_f1"] <= 1 and len(out["temporal_history"]) == 1


def test_ssl_temporal_task_runs_on_affwild2_videos(tmp_path):
    from fer_utils.tasks import TASKS
    root = _affwild2(tmp_path / "affwild2")
    cfg = {"task": "ssl_temporal", "notebook": "t", "name": "x", "profile": "smoke", "data": "sample", "seed": 0,
           "video": "affwild2", "affwild2_root": str(root), "method": "supervised", "train": SMOKE,
           "temporal": TEMPORAL, "clips": {"length": 12}}
    out = TASKS["ssl_temporal"](cfg, tmp_path / "run", progress=False)
    p = out["predictions"]
    assert p["test_clip_labels"].tolist() == [[4] * 12, [6] * 12]     # the validation video, in frame order
    assert p["logits"].shape == (24, 8)
    with pytest.raises(ValueError, match="affwild2_root"):
        TASKS["ssl_temporal"]({**cfg, "affwild2_root": None}, tmp_path / "r2", progress=False)


def test_vote_clips_votes_each_clip_with_probability_ties():
    from fer_utils.papers.ssl_temporal.models import vote_clips
    logits = np.log(np.array([[[.6, .4], [.3, .7], [.2, .8], [.9, .1]]], dtype=np.float32))
    assert vote_clips(logits, 1).tolist() == [[0, 1, 1, 0]]
    assert vote_clips(logits, 2).tolist() == [[1, 1, 0, 0]]  # both windows tied: summed probability decides


@pytest.mark.slow
def test_all_labels_pool_hides_every_train_label_once(tmp_path):
    """Chapter 6's all-labels row: FixMatch's convention, every FER+ train face in the unlabelled stream with
    its majority label hidden (kept only to score pseudo-labels), CK+ appended; the labelled set is all of it."""
    from fer_utils.data import load_ckplus
    from fer_utils.papers.ssl_temporal.all_labels import SSLAllLabelsRecipe, hidden_label_pool_data
    from fer_utils.tasks import TASKS
    from fer_utils.tasks.common import data_root_for, load_ferplus_splits, training_split
    cfg = {"task": "ssl_all_labels", "notebook": "t", "name": "x", "profile": "smoke", "data": "sample", "seed": 0,
           "labels": "single_annotator", "unlabelled": "ferplus+ckplus", "train": SMOKE}
    recipe = SSLAllLabelsRecipe.from_config(cfg)
    assert recipe.labelled_fraction == 1.0 and recipe.temporal is None
    labelled, _, _, pool, truth, _ = hidden_label_pool_data(recipe)
    train = load_ferplus_splits(recipe)[0]
    n_ck = len(load_ckplus(data_root_for(recipe)))
    assert len(labelled) == len(training_split(train, recipe)[0])            # every labelled face, labelled
    assert len(pool) == len(train) + n_ck and np.array_equal(pool[:len(train)], train.images)
    assert np.array_equal(truth[:len(train)], train.labels) and (truth[len(train):] == -1).all()
    out = TASKS["ssl_all_labels"](cfg, tmp_path, progress=False)
    assert out["data"]["n_unlabelled"] == len(pool) and out["predictions"]["logits"].shape[1] == 8
    assert out["data"]["n_unlabelled_with_hidden_label"] == int((train.labels >= 0).sum()) > 0
    assert 0 <= out["final"]["macro_f1"] <= 1 and "f" in out["history"][0]
    with pytest.raises(ValueError, match="spatial phase only"):
        TASKS["ssl_all_labels"]({**cfg, "temporal": TEMPORAL}, tmp_path / "r2", progress=False)


def test_total_variation_hand_computed():
    from fer_utils.papers.ssl_temporal.task import total_variation
    assert total_variation(torch.tensor([2, 2, 0]), torch.tensor([1, 0, 1])) == pytest.approx(0.5)
    assert total_variation(torch.tensor([3, 1]), torch.tensor([6, 2])) == pytest.approx(0.0)
    assert total_variation(torch.tensor([1, 0]), torch.tensor([0, 5])) == pytest.approx(1.0)
    assert math.isnan(total_variation(torch.zeros(3), torch.tensor([1, 0, 0])))


def test_feedback_step_warm_starts_on_labels_then_records_the_pseudo_labels():
    """Protocol 2's warm start: in the first warmup_fraction of the epochs both networks take a CE step on the
    labelled batch (no pseudo-label, no feedback); afterwards the step is Eq. 1-6 and the epoch record holds
    the pseudo-labels' counts, accuracy on the faces whose label is known, and the total variation."""
    from fer_utils.papers.ssl_temporal.models import TeacherStudent
    from fer_utils.papers.ssl_temporal.task import FeedbackSSL, SSLTemporalRecipe
    recipe = SSLTemporalRecipe.from_config({"task": "ssl_temporal", "notebook": "t", "name": "x", "seed": 0,
                                            "warmup_fraction": 0.5, "label_smoothing": 0.1,
                                            "train": {"epochs": 4}})
    torch.manual_seed(0)
    model = TeacherStudent(8, "resnet18_w4_s2")
    truth = torch.tensor([0, 1, 2, -1, 3, 3])
    method = FeedbackSSL(recipe, truth)
    assert method.warmup == 2
    opts = {n: torch.optim.SGD([p for p in getattr(model, n).parameters()], lr=0.1) for n in ("teacher", "student")}
    order = []

    def update(loss, name):
        order.append(name)
        opts[name].zero_grad()
        loss.backward()
        opts[name].step()

    batch = {"x": torch.randn(4, 1, 48, 48), "y": torch.tensor([0, 1, 2, 3]), "u_weak": torch.randn(6, 1, 48, 48),
             "u_strong": torch.randn(6, 1, 48, 48), "u_index": torch.arange(6)}
    student_before = [p.detach().clone() for p in model.student.parameters()]
    loss, terms = method.step(model, batch, 1, update)
    assert order == ["teacher", "student"] and set(terms) == {"sup", "student_loss"}
    assert any(not torch.equal(a, b) for a, b in zip(student_before, model.student.parameters()))
    record = {}
    method.on_epoch_end(model, 1, record)
    assert record == {"phase": "warm-up"}                       # nothing pseudo-labelled during the warm start
    order.clear()
    loss, terms = method.step(model, batch, 2, update)
    assert order == ["student", "teacher"] and {"f", "f_active", "feedback_loss", "cons"} <= set(terms)
    record = {}
    method.on_epoch_end(model, 2, record)
    assert record["phase"] == "feedback" and sum(record["pseudo_label_counts"]) == 6
    assert 0 <= record["pseudo_label_tv"] <= 1 and 0 <= record["pseudo_label_accuracy"] <= 1
    assert method.counts["pseudo_known"].sum() == 0             # reset for the next epoch


class _Run:
    def __init__(self, history, best):
        self.history, self.metrics = history, {"best_epoch": best}


def _hist(f_active, warm=1, valid=None):
    h = [{"epoch": e, "phase": "warm-up", "valid_macro_f1": 0.4} for e in range(warm)]
    valid = valid or [0.3] * len(f_active)
    return h + [{"epoch": warm + i, "phase": "feedback", "f_active": a, "pseudo_label_accuracy": 0.5,
                 "pseudo_label_tv": 0.2, "pseudo_label_counts": [3, 1], "valid_macro_f1": v,
                 "valid_teacher_macro_f1": 0.45 + i / 100} for i, (a, v) in enumerate(zip(f_active, valid))]


def test_feedback_signal_says_whether_the_feedback_acted():
    from fer_utils.papers.ssl_temporal.signals import feedback_signal, pseudo_label_distribution
    acted, text = feedback_signal([_Run(_hist([0.2, 0.1]), 2), _Run(_hist([0.3, 0.3]), 1)])
    assert acted and "15%, 30% of the feedback steps" in text and "kept epochs 2, 1" in text
    assert "50.0% correct" in text and "total variation 0.200" in text and "warm start" not in text
    assert "the teacher's best Valid macro F1 0.460, 0.460" in text
    idle, text = feedback_signal([_Run(_hist([0.2, 0.1]), 2), _Run(_hist([0.0, 0.02]), 1)])
    assert not idle and "1%" in text and "warm start" not in text
    # the feedback acted in both runs, but one run's kept student is a warm-start one: not the method's network
    warm, text = feedback_signal([_Run(_hist([0.2, 0.1], valid=[0.3, 0.5]), 2),
                                  _Run(_hist([0.3, 0.3], valid=[0.35, 0.38]), 0)])
    assert not warm and "kept epochs 2, 0 (1 in the warm start:" in text and "0.380 vs 0.400" in text
    assert feedback_signal([]) == (False, "no teacher/student run stored")
    np.testing.assert_allclose(pseudo_label_distribution(_Run(_hist([0.2, 0.1]), 2)), [0.75, 0.25])
