"""Self-training with successive label smoothing (ST) and sample importance weights (SW) (Happy et al.;
paper 003), as a training task, on FER+ or on one subject-independent CK+ fold.

Epochs 0 .. init_epochs-1 train the initial model on label-smoothed targets (Eq. 2). After that, every
epoch is one self-training round (method notes B-003.1): at its end, in eval mode and without
augmentation, the model predicts the labelled, unlabelled and held-out validation images; then
* SW: the weights are updated (Eq. 7-8) when the mean validation loss over the last T rounds rises;
* ST: labelled targets follow Eq. 4-5, 2% of the labelled samples sit out the next round and as many
  confident unlabelled images (max p > tau), equal per class, join it with their predictions as targets.
The loss is Eq. 6 (weighted soft CE, normalised by the batch size). Targets, weights and the active set
are checkpointed with the model, so a resumed run continues exactly.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from ...data import load_ckplus, load_ferplus
from ...data.sampling import plain_batches
from ...labels import (CKPLUS_CLASSES, FERPLUS_CLASSES, class_index_map, map_labels, noise_report, stratified_holdout,
                       subject_holdout, subject_kfold)
from ...metrics import accuracy, macro_f1
from ...models import build_model
from ...tasks import task
from ...tasks.common import (FERPlusRecipe, data_root_for, final_test_metrics, load_ferplus_splits, outcome,
                             training_split)
from ...train import DeviceData, Method, fit, predict, seed_everything
from .losses import (sample_weight_update, smooth_labels, soft_cross_entropy, successive_label_update,
                     validation_loss_rising, weighted_soft_ce)


UNLABELLED = ("ferplus_test", "ferplus_train", "ferplus_pool", "ckplus")


@dataclass(frozen=True)
class SelfTrainingRecipe(FERPlusRecipe):
    """Paper 003's knobs (Eq. 2-8), the paper's value beside each default."""
    labels: str = "single_annotator"   # FER+ training labels
    dropout: float = 0.5               # before the classifier                           paper: VGG-Face's
    dataset: str = "ferplus"           # "ferplus" | "ckplus" (one subject-independent fold)
    fold: int = 0                      # the CK+ test fold, 0..9                         paper: 10 folds
    ckplus_contempt: bool = False      # keep CK+'s contempt class                       paper: excluded
    st: bool = True                    # successive label smoothing (Table I switch)
    sw: bool = True                    # sample importance weights (Table I switch)
    eps: float = 0.05                  # label smoothing epsilon (Eq. 2)                 paper: 0.05
    tau: float = 0.9                   # confidence an unlabelled image needs (ST)       paper: 0.9
    alpha: float = 0.7                 # weight of the given label in Eq. 4-5            paper: 0.7
    replace: float = 0.02              # fraction of labelled samples swapped per round  paper: 2%
    c: float = 0.3                     # weight update constant (Eq. 7-8)                paper: 0.3
    sigma: float = 2.0                 # weight update spread (Eq. 7-8)                  paper: 2
    window: int = 3                    # T, rounds of validation loss the trigger looks at  paper: 3
    init_epochs: int = 5               # epochs of the initial model before round 1      paper: until convergence
    val_fraction: float = 0.1          # held-out validation (X_val; CK+: whole subjects)   paper: 10%
    unlabelled: str = "ferplus_test"   # "ferplus_test" (the paper's, transductive) | "ferplus_train" (every FER+
                                       # train face, its label hidden: Protocol 2) | "ferplus_pool" | "ckplus"
    cross_eval: bool = False           # also score the other dataset (Table III)
    save_train_weights: bool = False   # store every labelled image's final weight (Fig. 3)

    def check(self, where):
        super().check(where)
        if self.dataset not in ("ferplus", "ckplus"):
            raise ValueError(f"run config {where}: dataset={self.dataset!r}: expected 'ferplus' or 'ckplus'")
        if self.unlabelled not in UNLABELLED:
            raise ValueError(f"run config {where}: unlabelled={self.unlabelled!r}: expected one of "
                             f"{', '.join(UNLABELLED)}")


@dataclass
class Splits:
    """What a self-training run trains and scores on. ``pool_labels``: the hidden (majority) label of every
    unlabelled image, -1 where none is known (the accuracy of the faces ST selects); ``labelled_in_pool``: where
    each labelled image sits in the pool when the pool holds the labelled images themselves ("ferplus_train"),
    else None; ``majority``: the majority label of each labelled image (FER+; None on CK+)."""
    labelled: object
    select_on: object
    xval: object
    test: object
    unlabelled: np.ndarray
    classes: tuple
    noise: object
    pool_labels: np.ndarray
    labelled_in_pool: np.ndarray | None = None
    majority: np.ndarray | None = None


def _splits(config: SelfTrainingRecipe) -> Splits:
    """The labelled train split, the validation split for selection, X_val for the trigger, test, the unlabelled
    pool and its hidden labels. Every CK+ split is subject-independent: the test fold, and the validation
    subjects held out of the rest."""
    if config.dataset == "ckplus":   # CK+48 holds the last three frames of each sequence: no neutral frame
        ck = load_ckplus(data_root_for(config))
        classes = CKPLUS_CLASSES
        if not config.ckplus_contempt:   # the paper's protocol: contempt excluded (6 classes here)
            classes = tuple(c for c in CKPLUS_CLASSES if c != "contempt")
            ck = ck.subset(ck.labels != CKPLUS_CLASSES.index("contempt"))
            ck = ck.with_labels(map_labels(ck.labels, CKPLUS_CLASSES, classes, other=None), classes)
        folds = subject_kfold(ck.subjects, 10, seed=config.split_seed)
        test, rest = ck.subset(folds == config.fold), ck.subset(folds != config.fold)
        keep, held = subject_holdout(rest.subjects, config.val_fraction, seed=config.split_seed)
        val = rest.subset(held)   # unlabelled = the test fold (transductive, as the paper)
        return Splits(rest.subset(keep), val, val, test, test.images, classes, None, test.labels)
    train, valid, test = load_ferplus_splits(config)
    majority = train.labels
    labelled, in_train, noise = training_split(train, config)
    keep, held = stratified_holdout(labelled.labels, config.val_fraction, seed=config.split_seed)
    none = lambda n: np.full(n, -1, dtype=np.int64)   # noqa: E731 - no hidden label known
    if config.unlabelled == "ferplus_train":   # every train face, label hidden (FixMatch's convention)
        pool, pool_labels, in_pool = train.images, majority, in_train[keep]
    elif config.unlabelled == "ferplus_test":
        pool, pool_labels, in_pool = test.images, test.labels, None
    elif config.unlabelled == "ferplus_pool":   # the train faces without a majority label
        pool, in_pool = train.subset(majority < 0).images, None
        pool_labels = none(len(pool))
    else:
        pool, in_pool = load_ckplus(data_root_for(config)).images, None
        pool_labels = none(len(pool))
    return Splits(labelled.subset(keep), valid, labelled.subset(held), test, pool, FERPLUS_CLASSES, noise,
                  pool_labels, in_pool, majority[in_train[keep]])


def cross_dataset_scores(logits: torch.Tensor, labels: np.ndarray, model_classes, data_classes) -> dict:
    """Accuracy / macro F1 of a model on another dataset over the classes both share (mapped by name):
    samples whose class the model lacks are left out, and predictions are restricted to shared classes."""
    to_model = map_labels(labels, data_classes, model_classes, other=None)
    shared = sorted(int(i) for i in class_index_map(data_classes, model_classes, other=None) if i >= 0)
    keep = to_model >= 0
    pred = torch.as_tensor(shared)[logits[:, shared].argmax(1).cpu()].numpy()
    y, p = to_model[keep], pred[keep]
    remap = {c: i for i, c in enumerate(shared)}
    return {"accuracy": accuracy(y, p), "macro_f1": macro_f1([remap[v] for v in y], [remap[v] for v in p], len(shared)),
            "n": int(keep.sum()), "classes": [model_classes[c] for c in shared]}


class SelfTraining(Method):
    """Paper 003's rounds (Eq. 2-8). The loss is Eq. 6 (weighted soft CE) over the active set; after the initial
    model (epochs 0 .. init_epochs-1), every epoch's end is a round: the model predicts the labelled,
    unlabelled and held-out validation images in eval mode, then SW updates the weights (Eq. 7-8) when the
    validation loss has risen over the last T rounds, and ST moves the labelled targets (Eq. 4-5) and swaps
    ``replace`` x n_l labelled samples out of the active set for as many confident unlabelled images (max p >
    tau, equal per class) with their predictions as targets. Its state (targets ``q``, weights ``w``, the
    ``active`` set, the per-round validation losses) is checkpointed, so a resumed run continues exactly."""

    def __init__(self, config, cfg, labels: np.ndarray, n_u: int, xval, k: int, device, pool_labels=None,
                 labelled_in_pool=None):
        super().__init__(num_classes=k)
        self.config, self.cfg, self.k = config, cfg, k
        n_l = len(labels)
        self.n_l = n_l
        self.y_l = torch.as_tensor(labels, device=device)
        self.q = torch.cat([smooth_labels(labels, k, config.eps), torch.zeros(n_u, k)]).to(device)
        self.w = torch.ones(n_l + n_u, device=device)
        self.active = torch.cat([torch.ones(n_l, dtype=torch.bool), torch.zeros(n_u, dtype=torch.bool)]).to(device)
        self.val_loss = torch.full((cfg.epochs,), float("nan"), device=device)
        self.q_val = smooth_labels(xval.labels, k, config.eps).to(device)
        self.xval_images = torch.as_tensor(xval.images).to(device)
        self.images: torch.Tensor | None = None      # labelled then unlabelled images (set by the task)
        # the hidden label of each unlabelled image (-1: unknown), to score what ST selects; never trained on
        self.pool_labels = torch.as_tensor(np.full(n_u, -1) if pool_labels is None else pool_labels,
                                           dtype=torch.long, device=device)
        # where each labelled image sits in the pool when the pool holds them (one prediction pass serves both)
        self.labelled_in_pool = (None if labelled_in_pool is None
                                 else torch.as_tensor(labelled_in_pool, dtype=torch.long, device=device))

    def state(self):
        return {"q": self.q, "w": self.w, "active": self.active, "val_loss": self.val_loss}

    def loss(self, outputs, batch, epoch):
        return weighted_soft_ce(outputs, batch["q"], batch["w"])

    def batches(self, epoch, steps, gen, train, cfg):
        active = self.active.nonzero().squeeze(1)
        return active[plain_batches(len(active), cfg.batch_size, steps, gen)]

    def on_epoch_end(self, model, epoch, record):
        c, cfg, k, n_l = self.config, self.cfg, self.k, self.n_l
        if epoch < c.init_epochs - 1:
            return
        device = self.q.device
        gen = torch.Generator(device=device).manual_seed(c.seed * 1_000_003 + epoch + 77)
        val_loss = soft_cross_entropy(predict(model, self.xval_images, cfg.eval_batch_size), self.q_val).mean()
        self.val_loss[epoch] = val_loss
        record["val_loss"] = float(val_loss)
        if not (c.st or c.sw):   # neither switch: the plain model, no round to predict for
            return
        if self.labelled_in_pool is not None:   # the pool holds the labelled images: predict it once
            p_u = predict(model, self.images[n_l:], cfg.eval_batch_size).softmax(1)
            p_l = p_u[self.labelled_in_pool]
        else:
            p_all = predict(model, self.images, cfg.eval_batch_size).softmax(1)
            p_l, p_u = p_all[:n_l], p_all[n_l:]
        if c.sw:
            history = self.val_loss[:epoch + 1]
            fired = validation_loss_rising(history[~history.isnan()].cpu().numpy(), c.window)
            if fired:
                f_l = soft_cross_entropy(p_l.clamp_min(1e-12).log(), self.q[:n_l])
                self.w[:n_l] = sample_weight_update(self.w[:n_l], f_l, c.c, c.sigma).to(device)
            record["weights_updated"] = bool(fired)
        record["w_mean"] = float(self.w[:n_l].mean())
        record["w_low"] = int((self.w[:n_l] < 0.5).sum())
        record["w_moved"] = float(((self.w[:n_l] - 1).abs() > 1e-3).float().mean())   # share of weights moved
        if c.st:
            self.q[:n_l] = successive_label_update(p_l, self.y_l, c.alpha).to(device)
            n_rep = int(round(c.replace * n_l))
            conf, pred = p_u.max(1)
            chosen = []
            for cls in range(k):  # equal per class from the confident candidates (what is there if fewer)
                cand = ((conf > c.tau) & (pred == cls)).nonzero().squeeze(1)
                take = min(len(cand), n_rep // k)
                chosen.append(cand[torch.randperm(len(cand), generator=gen, device=device)[:take]])
            chosen = torch.cat(chosen)
            self.active[n_l:] = False
            self.active[n_l + chosen] = True
            self.q[n_l + chosen] = p_u[chosen]
            out = torch.randperm(n_l, generator=gen, device=device)[:len(chosen)]  # displaced labelled samples
            self.active[:n_l] = True
            self.active[out] = False
            record["n_selected"] = int(len(chosen))
            hidden = self.pool_labels[chosen]
            known = hidden >= 0   # the selected faces' accuracy against their hidden (majority) labels
            record["selected_known"] = int(known.sum())
            record["selected_accuracy"] = (float((pred[chosen][known] == hidden[known]).float().mean())
                                           if bool(known.any()) else None)


@task("self_training", SelfTrainingRecipe)
def self_training(config: SelfTrainingRecipe, work_dir, progress: bool = True) -> dict:
    """Paper 003 (Eq. 2-8) on FER+ or one CK+ fold; the knobs are SelfTrainingRecipe's."""
    sp = _splits(config)
    labelled, select_on, xval, test, unl_images, classes, noise = (sp.labelled, sp.select_on, sp.xval, sp.test,
                                                                   sp.unlabelled, sp.classes, sp.noise)
    k = len(classes)
    n_l, n_u = len(labelled), len(unl_images)
    cfg = config.train   # an epoch: one pass over the labelled images (the active set is as large)
    cfg = cfg if cfg.steps_per_epoch else dataclasses.replace(cfg, steps_per_epoch=max(1, n_l // cfg.batch_size))
    device = cfg.resolved_device()
    init_epochs = config.init_epochs
    method = SelfTraining(config, cfg, labelled.labels, n_u, xval, k, device, pool_labels=sp.pool_labels,
                          labelled_in_pool=sp.labelled_in_pool)
    images = torch.as_tensor(np.concatenate([labelled.images, unl_images])).to(device)
    method.images = images
    data = DeviceData(images, torch.cat([method.y_l, torch.full((n_u,), -1, device=device)]),
                      {"q": method.q, "w": method.w})
    seed_everything(config.seed)
    model = build_model(config.arch, k, dropout=config.dropout)
    result = fit(model, (data, DeviceData.from_record(select_on, device)), method, cfg, ckpt_dir=work_dir,
                 progress=progress)
    logits = predict(result.model, torch.as_tensor(test.images).to(device), cfg.eval_batch_size, flip_tta=cfg.flip_tta)
    final = final_test_metrics(test.labels, logits, classes)
    # the first round acts at the end of epoch init_epochs - 1: a model selected at or before it is the
    # initial model, on which neither ST nor SW had any effect (the chapter counts such runs)
    final["selected_epoch"] = int(result.best_epoch)
    final["selected_before_first_round"] = bool(result.best_epoch <= init_epochs - 1)
    if config.cross_eval:  # Table III: the other dataset, shared classes mapped by name
        other = (load_ckplus(data_root_for(config)) if classes == FERPLUS_CLASSES
                 else load_ferplus("test", data_root_for(config)))
        other_logits = predict(result.model, torch.as_tensor(other.images).to(device), cfg.eval_batch_size,
                               flip_tta=cfg.flip_tta)
        final["cross"] = cross_dataset_scores(other_logits, other.labels, classes, other.class_names)
    predictions = {"logits": logits.cpu().numpy().astype(np.float32), "labels": test.labels, "names": test.names}
    if config.save_train_weights:  # the final weight of every labelled training image (Fig. 3), and the
        # unweighted loss f_i (Eq. 6) of the kept model against the final targets: the ranking an Eq. 8 update
        # acts on, so it can be scored against the noisy labels even where the trigger never fired
        f_kept = soft_cross_entropy(predict(result.model, images[:n_l], cfg.eval_batch_size), method.q[:n_l])
        predictions.update({"train_weight": method.w[:n_l].cpu().numpy().astype(np.float16),
                            "train_loss": f_kept.float().cpu().numpy().astype(np.float32),
                            "train_label": labelled.labels.astype(np.int8), "train_names": labelled.names})
        if sp.majority is not None:   # FER+: which training labels differ from the crowd's majority (Fig. 3's AUC)
            predictions["train_majority"] = sp.majority.astype(np.int8)
    if noise is None:  # CK+ labels are expert FACS-based labels: no label noise is injected
        noise = noise_report(labelled.labels, labelled.labels, k)
    out = outcome(final, result, predictions, labelled, select_on, test, noise)
    out["data"]["n_unlabelled"] = n_u
    return out
