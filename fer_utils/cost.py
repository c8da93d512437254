"""The shared cost model: what every paper's ``cost.py`` counts its runs with (CPU-minute estimates for
``reproduce --dry-run`` and the budget checks; ``budget.estimate_minutes`` dispatches to the papers).

An estimate counts the images each training phase pushes through a network (forward + backward), divides
by the backbone's measured training throughput on the book's 2-core CPU, and adds evaluation (forward only,
about a third of a training step per image). The throughputs come from ``benchmarks/backbone_sweep.py``
(bf16 autocast + channels_last, batch 128, 2 threads); an architecture not measured counts as the
full-width ResNet-18. Chapter 5's small models on frozen features (the AU folds, the VA heads) are
counted in measured seconds per step instead. Estimates are planning figures; chapter 0 sets them beside its runs' measured minutes
(``provenance.json``).
"""
from __future__ import annotations

# training images/s on the 2-core reference CPU (AVX512-BF16), benchmarks/backbone_sweep.py
CPU_TRAIN_IMG_PER_S = {"resnet18_w16_s2": 1200.0, "resnet18_w24_s2": 640.0, "resnet18_w32_s2": 430.0,
                       "resnet18_w16_s1": 420.0, "resnet18": 40.0, "regnet_y_400mf_s2": 380.0,
                       "mobilenet_v2_s2": 210.0, "efficientnet_b0_s2": 120.0, "densenet_k12_s2": 136.0,
                       "resnet50_s2": 60.0}
# chapter 5's ensemble members: the baseline's rate over each member's measured cost relative to it
# (benchmarks/ensemble_members.py, results/benchmarks/ensemble-members-cpu.json)
MEMBER_COST = {"mobilenet_v2_x035_s2_h128": 2.25, "densenet_k8_2-4-6-4_s2": 0.95, "regnet_y_200mf_s4_h128": 1.17,
               "vgg_w16_s2": 0.53}
CPU_TRAIN_IMG_PER_S.update({a: CPU_TRAIN_IMG_PER_S["resnet18_w16_s2"] / c for a, c in MEMBER_COST.items()})
FORWARD_SHARE = 1 / 3          # an evaluation image costs about a third of a training image
N_FERPLUS = {"train": 28_377, "valid": 3_555, "test": 3_545}   # labelled images per split (majority labels)
N_CKPLUS = 981
CKPLUS_SEQUENCES = {"full": 327, "sample": 8}   # CK+ clips (three apex frames each) the AU folds split
SETUP_MINUTES = 0.3            # data loading and model building per run


def img_per_s(arch: str) -> float:
    return CPU_TRAIN_IMG_PER_S.get(arch, CPU_TRAIN_IMG_PER_S["resnet18"])


def phase_images(train: dict, n_train: int, per_image: float = 1.0) -> float:
    """Training images of one fit phase: epochs x steps x batch x (network passes per labelled image)."""
    steps = train.get("steps_per_epoch") or max(1, n_train // train["batch_size"])
    return train["epochs"] * steps * train["batch_size"] * per_image


def train_budget(train: dict, n_train: int, per_image: float = 1.0, extra_passes: float = 0.0) -> dict:
    """What one fit phase trains on, as the leaderboard states it: optimiser ``steps``, ``labelled images``
    drawn (steps x batch) and network ``passes`` (images through a network forward and backward: labelled
    images x ``per_image``, plus ``extra_passes``, e.g. a second network or an unlabelled batch)."""
    n_steps = train["epochs"] * (train.get("steps_per_epoch") or max(1, n_train // train["batch_size"]))
    labelled = n_steps * train["batch_size"]
    return {"steps": int(n_steps), "labelled images": int(labelled), "passes": float(labelled * per_image + extra_passes)}


def add_budgets(*phases: dict) -> dict:
    """The budget of a run of several fit phases (e.g. a pretraining phase, then the method)."""
    return {k: sum(p[k] for p in phases) for k in ("steps", "labelled images", "passes")}


def eval_images(train: dict, n_valid: int) -> float:
    return train["epochs"] * n_valid * FORWARD_SHARE * (2 if train.get("flip_tta") else 1)


def sizes(config: dict) -> tuple[int, int]:
    """(training images, validation images) a FER+ run sees: the real splits, the sample's, or a CK+ fold's
    small validation split."""
    n_train, n_valid = N_FERPLUS["train"], N_FERPLUS["valid"]
    if config.get("data") == "sample":
        n_train, n_valid = 200, 58
    if config.get("dataset") == "ckplus":
        n_valid = N_CKPLUS // 10
    return n_train, n_valid


def arch_of(config: dict) -> str:
    return config.get("arch") or (config.get("archs") or ["resnet18"])[0]


def minutes(images: float, arch: str) -> float:
    """Setup plus ``images`` training-image equivalents at the backbone's measured throughput."""
    return SETUP_MINUTES + images / img_per_s(arch) / 60
