"""Which runs each notebook needs, per profile. ``python -m fer_utils.reproduce`` and the notebooks read
the same lists, so the GPU job trains exactly what the notebook renders."""
from __future__ import annotations

PROFILES = ("smoke", "full")


def _check(profile: str) -> None:
    if profile not in PROFILES:
        raise ValueError(f"profile={profile!r}: expected one of {', '.join(PROFILES)}")


def supervised_baseline(profile: str) -> dict:
    """The book's common supervised recipe (paper 000's fully supervised model): ResNet-18 (48x48), dropout
    0.5, Adam lr 5e-4, weight decay 1e-4, weak view (flip + random crop)."""
    _check(profile)
    if profile == "smoke":
        train = {"epochs": 2, "batch_size": 32, "steps_per_epoch": 3, "lr": 5e-4, "weight_decay": 1e-4}
        return {"profile": profile, "data": "sample", "train": train, "seeds": [0]}
    train = {"epochs": 30, "batch_size": 256, "lr": 5e-4, "weight_decay": 1e-4, "compile": True}
    return {"profile": profile, "data": "full", "train": train, "seeds": [0, 1, 2]}


def data_chapter(profile: str) -> list[dict]:
    """00_data: the supervised baseline trained on clean (majority) and on single-annotator labels."""
    base = supervised_baseline(profile)
    return [{"task": "supervised", "notebook": "00_data", "name": f"resnet18-{labels}", "profile": profile,
             "data": base["data"], "labels": labels, "label_seed": 0, "arch": "resnet18", "dropout": 0.5,
             "seed": seed, "train": base["train"]}
            for labels in ("majority", "single_annotator") for seed in base["seeds"]]


NOTEBOOKS = {"00_data": data_chapter}


def runs_for(notebook: str, profile: str) -> list[dict]:
    """The configs of every run ``notebook`` (a name like "00_data" or a path to the .ipynb) needs."""
    name = notebook.rsplit("/", 1)[-1].removesuffix(".ipynb")
    if name not in NOTEBOOKS:
        raise ValueError(f"notebook {name!r}: expected one of {', '.join(NOTEBOOKS)}")
    return NOTEBOOKS[name](profile)
