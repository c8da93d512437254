"""What every training task shares: the recipe every run carries, where the data is, the final test
metrics, what a task returns."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

from ..data import DataError, load_ckplus, load_ferplus
from ..data.io import SAMPLE_ROOT, resolve_root
from ..labels import CKPLUS_CLASSES, FERPLUS_CLASSES, noise_report, training_labels
from ..losses import supervised_ce
from ..metrics import abaw_overall, accuracy, macro_f1, per_class_f1
from ..models import build_model, check_arch
from ..profiles import PROFILES
from ..train import DeviceData, Method, TrainConfig, fit, seed_everything
from ..typecheck import check_choice, check_range, check_types


def block(kind, default=None):
    """A recipe field holding a nested block (a TrainConfig, or a method's spec dataclass) given as a dict in
    run configs; ``default`` None means the block is absent unless given."""
    if default is None:
        return field(default=None, metadata={"block": kind})
    return field(default_factory=lambda: dataclasses.replace(default), metadata={"block": kind})


def _resolve_block(kind, value, where: str, name: str, seed: int, base=None):
    """A block dict (or instance) checked against ``kind``'s fields and filled with the defaults of the
    recipe's own default block ``base`` (e.g. the noise-aware model's two views), else of ``kind``."""
    if isinstance(value, kind):
        value = dataclasses.asdict(value)
    if not isinstance(value, dict):
        raise ValueError(f"run config {where}: {name!r} must be a dict of {kind.__name__} fields, got {value!r}")
    names = {f.name for f in dataclasses.fields(kind)}
    bad = sorted(set(value) - names)
    if bad:
        shown = sorted(names - {"seed", "device"})
        raise ValueError(f"run config {where}: unknown key(s) {', '.join(map(repr, bad))} in {name!r}; "
                         f"{kind.__name__} has: {', '.join(shown)}")
    if value.get("seed", seed) != seed:
        raise ValueError(f"run config {where}: {name}.seed={value['seed']} differs from the run's seed {seed}")
    value = {**(dataclasses.asdict(base) if base is not None else {}), **value}
    if "seed" in names:
        value["seed"] = seed
    if "views" in value:
        value["views"] = tuple(value["views"])
    try:
        return kind(**value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"run config {where}: in {name!r}: {e}") from None


@dataclass(frozen=True)
class Recipe:
    """The keys every run config carries. A task's recipe subclasses it with its method's knobs, each with
    exactly one default (unit and the paper's value in its comment). ``from_config`` refuses a key the
    recipe does not have (a misspelt knob would otherwise fall back to its default) and fills in every
    default; ``to_config`` is the full resolved recipe (what config.json stores and the run key hashes)."""
    task: str = ""
    notebook: str = ""
    name: str = ""
    profile: str = "smoke"             # "smoke" | "cpu" | "gpu" (fer_utils.profiles.PROFILES)
    seed: int = 0
    data: str = "sample"               # "sample": the bundled sample; "full": the real FER+ / CK+ data

    @classmethod
    def from_config(cls, given: dict) -> "Recipe":
        where = f"{given.get('notebook', '?')}/{given.get('name', '?')}"
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(given) - allowed)
        if unknown:
            raise ValueError(f"run config {where}: unknown key(s) {', '.join(map(repr, unknown))} for task "
                             f"{given.get('task')!r}; allowed: {', '.join(sorted(allowed))}")
        missing = [k for k in ("task", "notebook", "name") if not given.get(k)]
        if missing:
            raise ValueError(f"run config {where}: no {', '.join(map(repr, missing))} key")
        seed = given.get("seed", 0)
        values = {}
        for f in dataclasses.fields(cls):
            kind = f.metadata.get("block")
            base = f.default_factory() if kind is not None and f.default_factory is not dataclasses.MISSING else None
            if f.name in given:
                v = given[f.name]
                values[f.name] = _resolve_block(kind, v, where, f.name, seed, base) if kind and v is not None else v
            elif base is not None:
                values[f.name] = _resolve_block(kind, base, where, f.name, seed)
        recipe = cls(**values)
        check_types(recipe, f"run config {where}")
        recipe.check(where)
        return recipe

    def check(self, where: str) -> None:
        """Refuse values outside a knob's choices or range (a recipe adds its own checks)."""
        where = f"run config {where}"
        check_choice(where, "data", self.data, ("sample", "full"))
        check_choice(where, "profile", self.profile, PROFILES)
        check_range(where, "seed", self.seed, lo=0)
        for name in ("dropout",):
            check_range(where, name, getattr(self, name, None), lo=0, hi=1, hi_open=True)
        for name in ("labelled_fraction",):
            check_range(where, name, getattr(self, name, None), lo=0, hi=1, lo_open=True)
        if getattr(self, "arch", None) is not None:
            try:
                check_arch(self.arch)
            except ValueError as e:
                raise ValueError(f"{where}: {e}") from None

    def to_config(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FERPlusRecipe(Recipe):
    """A run trained on FER+ (``training_split``): its training labels and backbone."""
    labels: str = "majority"           # "majority" | "single_annotator" | "symmetric:<rate>" (labels.training_labels)
    label_seed: int = 0                # the draw of single-annotator / synthetic labels
    arch: str = "resnet18"             # backbone (models.build_backbone); the cpu profile: profiles.CPU_ARCH
    dropout: float = 0.0               # before the classifier
    split_seed: int = 0                # labelled-fraction and validation holdout draws
    train: TrainConfig = block(TrainConfig, TrainConfig())


def data_root_for(config):
    """"sample" = the bundled sample (smoke runs); "full" = the real data, never silently the sample."""
    data = config.data if isinstance(config, Recipe) else config["data"]
    if data == "sample":
        return SAMPLE_ROOT
    if data == "full":
        root, origin = resolve_root()
        if origin == "sample":
            raise DataError("data='full' needs the real FER+ data ($FER_DATA_ROOT or ../shared/data); "
                            "only the bundled sample was found")
        return root
    raise ValueError(f"config data={data!r}: expected 'sample' or 'full'")


def require(value, what: str, key: str, holds: str):
    """A path a non-default data source needs (e.g. Aff-Wild2's root): an error naming the key if absent."""
    if not value:
        raise ValueError(f"{what} needs config {key}: the folder holding {holds}")
    return value


def load_ferplus_splits(config):
    root = data_root_for(config)
    return load_ferplus("train", root), load_ferplus("valid", root), load_ferplus("test", root)


def training_split(train, config: FERPlusRecipe):
    """The training labels a recipe asks for (``labels``, ``label_seed``), restricted to labelled images.
    Returns (train subset with those labels, indices of the subset in the split, NoiseReport)."""
    y = training_labels(train.votes, train.labels, config.labels, 8, config.label_seed)
    noise = noise_report(train.labels, y, 8)
    keep = np.flatnonzero(y >= 0)
    return train.with_labels(y).subset(keep), keep, noise


def final_test_metrics(labels: np.ndarray, logits: torch.Tensor, class_names=FERPLUS_CLASSES) -> dict:
    """The book's final metrics on FER+ Test (majority labels; unlabelled test images left out)."""
    pred = logits.argmax(1).cpu().numpy()
    keep = labels >= 0
    y, p = labels[keep], pred[keep]
    c = len(class_names)
    table = per_class_f1(y, p, class_names)
    return {"macro_f1": macro_f1(y, p, c), "accuracy": accuracy(y, p), "abaw_overall": abaw_overall(y, p, c),
            "per_class_f1": {k: float(v) for k, v in table["f1"].items()}, "n_test": int(keep.sum())}


def outcome(final: dict, result, predictions: dict, train, valid, test, noise) -> dict:
    """What a task returns to run_or_load: test metrics, history, predictions, speed and data facts."""
    return {"final": {**final, "best_valid_macro_f1": result.best_score}, "history": result.history,
            "best_epoch": result.best_epoch, "predictions": predictions, "train_seconds": result.train_seconds,
            "images_per_s": result.images_per_s,
            "data": {"source": train.source_name, "n_train": len(train), "n_valid": len(valid), "n_test": len(test),
                     "label_noise_rate": noise.rate}}


def pretrain_on_ckplus(config: FERPlusRecipe, pretrain: TrainConfig, device) -> dict:
    """A backbone (``config.arch``) trained on all of CK+48 (7 posed expressions): the book's stand-in for
    pretraining on another expression dataset (the papers use AffectNet or RAF-DB). Returns its state dict."""
    ck = load_ckplus(data_root_for(config))
    seed_everything(config.seed + 10_000)
    model = build_model(config.arch, len(CKPLUS_CLASSES), dropout=config.dropout)
    fit(model, (DeviceData.from_record(ck, device), None), Method(supervised_ce, num_classes=len(CKPLUS_CLASSES)),
        dataclasses.replace(pretrain, device=str(device)), progress=False)
    return model.state_dict()
