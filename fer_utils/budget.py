"""CPU-minute estimates of a run from its config, for ``reproduce --dry-run`` and the budget checks.

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
FORWARD_SHARE = 1 / 3          # an evaluation image costs about a third of a training image
N_FERPLUS = {"train": 28_377, "valid": 3_555, "test": 3_545}   # labelled images per split (majority labels)
N_CKPLUS = 981
CKPLUS_SEQUENCES = {"full": 327, "sample": 8}   # CK+ clips (three apex frames each) the AU folds split
# chapter 5's AU phase: per fold, a temporal model and its per-frame baseline train on frozen features; a step
# of such a small model costs about the same whatever the backbone, so it is counted in seconds per step
# (measured: 10 folds x 60 epochs x 18 steps x 2 models in 23-30 min, bf16, 1 thread beside another run)
AU_STEP_SECONDS = 0.07
# chapter 5's VA run, after its backbones: their features of every FER+ split (forward passes), then for each
# of 3 head variants a heads fit of ``epochs`` x (train // batch) steps on those features, and a polarity fit as
# long where the targets hold extremes (the derived FER+ targets hold none: no polarity fit runs)
# (measured: 3 x 50 x 110 heads steps in 248 s, bf16, 1 thread beside another run)
VA_VARIANTS = 3
VA_STEP_SECONDS = 0.015
SETUP_MINUTES = 0.3            # data loading and model building per run


def img_per_s(arch: str) -> float:
    return CPU_TRAIN_IMG_PER_S.get(arch, CPU_TRAIN_IMG_PER_S["resnet18"])


def _phase_images(train: dict, n_train: int, per_image: float = 1.0) -> float:
    """Training images of one fit phase: epochs x steps x batch x (network passes per labelled image)."""
    steps = train.get("steps_per_epoch") or max(1, n_train // train["batch_size"])
    return train["epochs"] * steps * train["batch_size"] * per_image


def _eval_images(train: dict, n_valid: int) -> float:
    return train["epochs"] * n_valid * FORWARD_SHARE * (2 if train.get("flip_tta") else 1)


def estimate_minutes(config: dict) -> float:
    """Estimated CPU minutes of a run on the reference 2-core machine (smoke configs: the same formula)."""
    task = config["task"]
    arch = config.get("arch") or (config.get("archs") or ["resnet18"])[0]
    ips = img_per_s(arch)
    n_train, n_valid = N_FERPLUS["train"], N_FERPLUS["valid"]
    if config.get("data") == "sample":
        n_train, n_valid = 200, 58
    if config.get("dataset") == "ckplus":   # a CK+ fold: its own small validation split
        n_valid = N_CKPLUS // 10
    frac = config.get("labelled_fraction", 1.0)
    train = config.get("train", {})
    images = 0.0
    if task in ("supervised", "expression_subclassifier", "frozen_baseline"):
        per = FORWARD_SHARE + 0.1 if task == "frozen_baseline" else 1.0
        images += _phase_images(train, int(n_train * frac), per) + _eval_images(train, n_valid)
        if task == "frozen_baseline":
            images += _phase_images(config["pretrain"], N_CKPLUS)
    elif task == "cct":
        k = config.get("networks", 3)
        images += _phase_images(train, n_train, k) + _eval_images(train, n_valid) * k
        if config.get("init") == "ckplus":
            images += _phase_images(config["pretrain"], N_CKPLUS)
    elif task == "mutexmatch":
        mu = train.get("mu", 7)
        images += _phase_images(train, n_train, 1 + 2 * mu) + _eval_images(train, n_valid)
    elif task == "noise_aware":
        images += _phase_images(train, n_train, 2) + _eval_images(train, n_valid)
    elif task == "self_training":
        n = N_CKPLUS * 0.8 if config.get("dataset") == "ckplus" else n_train
        images += _phase_images(train, int(n), 1.0) + _eval_images(train, n_valid) * 2   # + the pool's scores
    elif task in ("ssl_temporal", "ssl_all_labels"):
        mu = train.get("mu", 7)
        # teacher on [x; u_w; u_s], student on u_s, the student's labelled loss before and after its step
        per = (1 + 2 * mu) + mu + 2 * FORWARD_SHARE if config.get("method") != "supervised" else 1.0
        images += _phase_images(train, int(n_train * frac), per) + _eval_images(train, n_valid) * 2
        if config.get("temporal"):
            images += n_train * FORWARD_SHARE + _phase_images(config["temporal"], 1, 0.05)
    elif task == "au_temporal":
        images += _phase_images(config["pretrain"], n_train)
        return SETUP_MINUTES + images / ips / 60 + au_fold_seconds(config) / 60
    elif task == "va_fusion":
        n_all = n_train + n_valid + (N_FERPLUS["test"] if config.get("data") != "sample" else n_valid)
        for a in config["archs"]:
            images += (_phase_images(config["pretrain"], n_train) + _eval_images(config["pretrain"], n_valid)
                       + n_all * FORWARD_SHARE) * ips / img_per_s(a)
        return SETUP_MINUTES + images / ips / 60 + va_heads_seconds(config, n_train) / 60
    else:
        raise ValueError(f"estimate_minutes: no estimate for task {task!r}")
    return SETUP_MINUTES + images / ips / 60


def au_fold_seconds(config: dict) -> float:
    """Seconds of chapter 5's AU phase: folds x epochs x steps (a fold trains on the clips of the other folds,
    full batches of ``batch_size`` clips) x 2 models (the temporal model and its per-frame baseline)."""
    au, folds = config["au_model"], config.get("folds", 10)
    n_train = CKPLUS_SEQUENCES["sample" if config.get("data") == "sample" else "full"] * (folds - 1) // folds
    steps = max(1, n_train // au["batch_size"])   # as fit() counts them: full batches only
    return folds * au["epochs"] * steps * 2 * AU_STEP_SECONDS


def va_heads_seconds(config: dict, n_train: int = N_FERPLUS["train"]) -> float:
    """Seconds of chapter 5's VA heads: 3 variants x (heads fit + polarity fit, where the targets hold extremes)
    x epochs x full batches."""
    heads = config["heads"]
    epochs = heads["epochs"]
    if config.get("va_source", "ferplus_votes") != "ferplus_votes":   # real VA labels reach -1 and +1
        epochs += heads.get("polarity_epochs") or heads["epochs"]
    return VA_VARIANTS * epochs * max(1, n_train // heads["batch_size"]) * VA_STEP_SECONDS


def measured_factors(records) -> dict[tuple[str, int], tuple[float, int]]:
    """How much longer stored runs took than their estimates, on the machine that trained them:
    ``records`` = (provenance dict, estimated minutes) per stored run. Groups the runs by (precision, torch
    threads) and returns {(precision, threads): (median of measured minutes / estimate, number of runs)}.
    Measured = the run's ``wall_seconds`` (data loading, training and evaluation, like the estimate), else
    its ``train_seconds``; runs with neither (or NaN) are left out."""
    ratios: dict = {}
    for prov, est in records:
        seconds = prov.get("wall_seconds", prov.get("train_seconds"))
        if seconds is None or seconds != seconds or est <= 0:
            continue
        key = (str(prov.get("precision", "?")), int(prov.get("threads") or 0))
        ratios.setdefault(key, []).append(seconds / 60 / est)
    out = {}
    for key, r in sorted(ratios.items()):
        r = sorted(r)
        mid = len(r) // 2
        out[key] = ((r[mid] if len(r) % 2 else (r[mid - 1] + r[mid]) / 2), len(r))
    return out
