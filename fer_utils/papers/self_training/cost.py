"""Paper 003's cost model: one pass per labelled image of the active set, the validation passes, and each
round's predictions (forward only) on the pool, the labelled images (unless the pool holds them) and X_val."""
from __future__ import annotations

from ...cost import FORWARD_SHARE, N_CKPLUS, N_FERPLUS, arch_of, eval_images, minutes, sizes, train_budget

# unlabelled pool sizes: FER+ Test, every FER+ train face, the train faces without a majority label, CK+48
POOL = {"ferplus_test": N_FERPLUS["test"], "ferplus_train": N_FERPLUS["train"] + 181, "ferplus_pool": 181,
        "ckplus": N_CKPLUS}


def self_training_budget(config: dict) -> dict:
    """One network on the labelled faces (1 pass per image), plus each round's forward-only predictions over
    the unlabelled pool (and the labelled faces, for the sample weights) and the validation split, counted at
    FORWARD_SHARE of a training pass."""
    n_train, n_valid = sizes(config)
    train = config.get("train", {})
    ck = config.get("dataset") == "ckplus"
    n = int(N_CKPLUS * 0.8) if ck else int(n_train * (1 - config.get("val_fraction", 0.1)))
    pool = N_CKPLUS // 10 if ck else POOL.get(config.get("unlabelled", "ferplus_test"), N_FERPLUS["test"])
    predicted = config.get("st", True) or config.get("sw", True)   # a round predicts only for ST or SW
    per_round = (pool + (0 if config.get("unlabelled") == "ferplus_train" else n)) * predicted + n_valid
    rounds = max(0, train["epochs"] - config.get("init_epochs", 5) + 1)
    return train_budget(train, n, 1.0, extra_passes=rounds * per_round * FORWARD_SHARE)


def self_training_minutes(config: dict) -> float:
    n_train, n_valid = sizes(config)
    return minutes(self_training_budget(config)["passes"] + eval_images(config.get("train", {}), n_valid),
                   arch_of(config))


COSTS = {"self_training": self_training_minutes}
BUDGETS = {"self_training": self_training_budget}
