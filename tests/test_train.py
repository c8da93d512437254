import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fer_utils.data import load_ferplus
from fer_utils.losses import supervised_ce
from fer_utils.train import DeviceData, FitData, Method, TrainConfig, fit, make_batch, predict
from tests.helpers import TinyNet

TOP = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def faces():
    d = load_ferplus("valid")
    return d.subset(d.labels >= 0)


@pytest.mark.slow
def test_training_loss_falls(faces):
    torch.manual_seed(0)
    small = faces.subset(np.arange(min(64, len(faces))))   # the bundled sample's valid split has 56
    data = DeviceData.from_record(small, "cpu")
    # 240 steps however large the split (the real valid split gives 2 batches an epoch, the sample's 1)
    cfg = TrainConfig(epochs=120, batch_size=32, steps_per_epoch=2, lr=1e-2, schedule="none", views=("plain",), seed=0)
    result = fit(TinyNet(), (data, data), supervised_ce, cfg, progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < 0.6 * losses[0]
    assert result.best_epoch >= 0 and 0 <= result.best_score <= 1
    assert {"valid_macro_f1", "valid_accuracy", "images_per_s", "lr"} <= set(result.history[0])


def test_balanced_sampler_and_views(faces):
    data = DeviceData.from_record(faces, "cpu", weight=np.arange(len(faces), dtype=np.float32))
    cfg = TrainConfig(views=("weak", "strong", "plain"))
    gen = torch.Generator().manual_seed(0)
    idx = torch.arange(8)
    batch = make_batch(data, idx, cfg, gen)
    assert batch["x"] is batch["weak"] and batch["strong"].shape == (8, 1, 48, 48)
    assert torch.equal(batch["weight"], torch.arange(8, dtype=torch.float32))
    assert not torch.equal(batch["weak"], batch["strong"])
    again = make_batch(data, idx, cfg, torch.Generator().manual_seed(0))
    assert torch.equal(batch["strong"], again["strong"])  # deterministic under a seed


def test_predict_is_eval_mode_and_batched(faces):
    model = TinyNet()
    images = torch.as_tensor(faces.images[:50])
    a = predict(model, images, batch_size=7)
    b = predict(model, images, batch_size=50)
    assert a.shape == (50, 8) and torch.allclose(a, b, atol=1e-5)
    assert model.training  # restored


def run_script(tmp_path, ckpt, out, kill):
    return subprocess.run([sys.executable, str(TOP / "tests" / "train_script.py"), str(ckpt), str(out), kill],
                          cwd=TOP, env={**__import__("os").environ, "PYTHONPATH": str(TOP)}, capture_output=True)


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_result(tmp_path):
    plain = run_script(tmp_path, "none", tmp_path / "uninterrupted.pt", "none")
    assert plain.returncode == 0, plain.stderr.decode()[-2000:]
    killed = run_script(tmp_path, tmp_path / "ckpt", tmp_path / "never.pt", "1,2")
    assert killed.returncode == -9 and not (tmp_path / "never.pt").exists()
    assert (tmp_path / "ckpt" / "last.pt").is_file()  # epoch 0 was checkpointed
    resumed = run_script(tmp_path, tmp_path / "ckpt", tmp_path / "resumed.pt", "none")
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    a, b = torch.load(tmp_path / "uninterrupted.pt"), torch.load(tmp_path / "resumed.pt")
    assert a["best_epoch"] == b["best_epoch"]
    for k in a["state"]:
        assert torch.equal(a["state"][k], b["state"][k]), k
    assert [h["train_loss"] for h in a["history"]] == [h["train_loss"] for h in b["history"]]


def test_unlabelled_stream_and_aligned_flipped_strong_view(faces):
    lab = DeviceData.from_record(faces.subset(np.arange(16)), "cpu")
    unl = DeviceData.from_record(faces.subset(np.arange(16, 56)), "cpu")
    cfg = TrainConfig(views=("weak", "flipped_strong"), mu=2, strong_ops=1)
    gen = torch.Generator().manual_seed(0)
    batch = make_batch(lab, torch.arange(4), cfg, gen, unlabelled=unl, u_idx=torch.arange(8))
    assert batch["u_weak"].shape == (8, 1, 48, 48) and batch["u_strong"].shape == (8, 1, 48, 48)
    # flipped_strong = photometric ops on the same weak image, flipped: flipping it back aligns the edges
    from fer_utils import augment as A
    weak = batch["weak"] * A.STD + A.MEAN
    back = (batch["flipped_strong"] * A.STD + A.MEAN).flip(-1)
    edges = lambda x: (x[..., 1:] - x[..., :-1]).abs().flatten(1)  # noqa: E731
    corr = torch.nn.functional.cosine_similarity(edges(weak), edges(back)).mean()
    shuffled = torch.nn.functional.cosine_similarity(edges(weak), edges(back.roll(1, 0))).mean()
    assert corr > shuffled + 0.1


def test_fit_draws_unlabelled_batches_and_calls_epoch_start(faces):
    lab = DeviceData.from_record(faces.subset(np.arange(32)), "cpu")
    unl = DeviceData.from_record(faces.subset(np.arange(32, 56)), "cpu")
    seen, starts = [], []

    class Spy(Method):
        def loss(self, outputs, batch, epoch):
            seen.append(batch["u_index"].clone())
            return supervised_ce(outputs, batch, epoch)

        def on_epoch_start(self, model, epoch, history):
            starts.append((epoch, len(history)))

    cfg = TrainConfig(epochs=2, batch_size=8, steps_per_epoch=2, mu=2, views=("weak",))
    fit(TinyNet(), FitData(lab, None, unl), Spy(), cfg, progress=False)
    assert starts == [(0, 0), (1, 1)]
    assert all(len(u) == 16 for u in seen) and len(torch.cat(seen[:1]).unique()) == 16


def test_method_state_is_checkpointed_and_restored_on_resume(faces, tmp_path):
    data = DeviceData.from_record(faces.subset(np.arange(16)), "cpu")
    cfg = TrainConfig(epochs=2, batch_size=8, steps_per_epoch=1, views=("plain",))

    class Bump(Method):
        """A method whose state (a weight vector) moves at the end of every epoch."""

        def __init__(self, w):
            super().__init__(supervised_ce)
            self.w = w

        def state(self):
            return {"w": self.w}

        def on_epoch_end(self, model, epoch, record):
            self.w += 1

    method = Bump(torch.ones(4))
    fit(TinyNet(), (data, None), method, cfg, ckpt_dir=tmp_path, progress=False)
    assert (method.w == 3).all()
    fresh = Bump(torch.zeros(4))
    fit(TinyNet(), (data, None), fresh, cfg, ckpt_dir=tmp_path, progress=False)  # resumes at the end
    assert (fresh.w == 3).all()


def test_batches_fn_replaces_the_sampler(faces):
    data = DeviceData.from_record(faces.subset(np.arange(16)), "cpu")
    seen = []
    only = torch.tensor([3, 5, 7, 9])

    class Only(Method):
        def loss(self, outputs, batch, epoch):
            seen.append(batch["index"].clone())
            return supervised_ce(outputs, batch, epoch)

        def batches(self, epoch, steps, gen, train, cfg):
            return only.repeat(steps, 1)

    fit(TinyNet(), (data, None), Only(), TrainConfig(epochs=1, batch_size=4, steps_per_epoch=2, views=("plain",)),
        progress=False)
    assert all(torch.equal(s, only) for s in seen) and len(seen) == 2
