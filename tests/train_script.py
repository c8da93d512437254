"""Run by tests/test_train.py in a subprocess: a small deterministic training that may be killed."""
import os
import signal
import sys

import torch

from fer_utils.data import load_ferplus
from fer_utils.losses import supervised_ce
from fer_utils.train import DeviceData, Method, TrainConfig, fit
from tests.helpers import TinyNet

ckpt_dir, out, kill_at = sys.argv[1], sys.argv[2], sys.argv[3]
torch.set_num_threads(1)
tr = load_ferplus("valid")
tr = tr.subset(tr.labels >= 0)
data = DeviceData.from_record(tr, "cpu")
cfg = TrainConfig(epochs=3, batch_size=16, steps_per_epoch=4, lr=3e-3, seed=7, views=("strong",), erasing=True)
kill = tuple(map(int, kill_at.split(","))) if kill_at != "none" else None


class Killable(Method):
    def after_step(self, epoch, step):
        if (epoch, step) == kill:
            os.kill(os.getpid(), signal.SIGKILL)  # a crash in the middle of an epoch


result = fit(TinyNet(), (data, data), Killable(supervised_ce), cfg, ckpt_dir=ckpt_dir if ckpt_dir != "none" else None,
             progress=False)
torch.save({"state": result.model.state_dict(), "history": result.history, "best_epoch": result.best_epoch}, out)
