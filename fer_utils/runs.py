"""The run cache: ``run_or_load(config)`` trains once, then serves the stored result.

A run is keyed by a hash of its config and of the code its task executes (``codekey``). A run folder::

    <results>/<notebook>/<name>-<key>/
        config.json       the full resolved recipe (every default filled in)
        metrics.json      {"final": {...test metrics...}, "best_epoch": .., "history": [per-epoch dicts]}
        predictions.npz   test-split logits, labels and names
        provenance.json   device, torch version, git commit, seed, wall time, images/s, data, code hash

cpu- and gpu-profile runs live under ``results/`` (committed); smoke runs under a cache folder, never in results/.
Notebooks build every table from these files.

The cache heals and locks: a folder that cannot be read is reported "corrupt" (with its path), set aside
(``<folder>.corrupt-<time>``, never deleted) and trained again; one process trains a run at a time (a lock
file in its ``.partial`` folder holding the owner's host and pid; a lock whose process is dead is taken over);
a checkpoint that cannot be read restarts its run from scratch (``train.fit`` warns, naming the file).
"""
from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import platform
import re
import shutil
import socket
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .codekey import task_code_hash
from .data.io import resolve_root
from .faces import imported_root
from .paths import RESULTS_DIR, cache_dir
from .provenance import machine_record
from .tasks import TASKS, resolve_config
from .train import fast_precision

FILES = ("config.json", "metrics.json", "predictions.npz", "provenance.json")
STORED_PROFILES = ("cpu", "gpu")   # profiles whose runs live under results/ (smoke runs: a cache folder)
LOCK = "lock"                      # in a run's .partial folder: "<host> <pid>" of the process training it


class CacheMiss(LookupError):
    """No stored result for a config, and training was not allowed."""


class CorruptRun(CacheMiss):
    """A run folder whose files cannot be read (the message names the file)."""


class RunLocked(CacheMiss):
    """Another live process is training this run (the message names it and the lock file)."""


def run_key(config: dict) -> str:
    """12 hex digits of the hash of the config and of the code its task executes."""
    config = resolve_config(config)
    payload = json.dumps(config, sort_keys=True, default=str) + task_code_hash(config["task"])
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def check_config(config: dict) -> dict:
    """Refuse a config its task's recipe does not accept (``tasks.resolve_config``); returns it resolved."""
    return resolve_config(config)


def default_results_dir(profile: str) -> Path:
    """results/ for the cpu and gpu profiles; a cache folder for smoke runs (never committed). On a data root
    of your own faces (``fer_utils.faces``, found through $FER_DATA_ROOT) cpu and gpu runs go to
    ``<root>/results`` instead: their run keys equal the book's FER+ runs' (same config, same code), so they
    must never share a folder with them."""
    if profile in STORED_PROFILES:
        root, origin = resolve_root()
        return root / "results" if origin != "sample" and imported_root(root) is not None else RESULTS_DIR
    return cache_dir() / "runs"


_SAFE = re.compile(r"[A-Za-z0-9_+=-][A-Za-z0-9_.+=-]*")


def run_dir(config: dict, results_dir=None) -> Path:
    """The folder of a run: <results>/<notebook>/<name>-<key of the resolved config and the task's code>.
    A notebook or run name that would leave the results folder (a '/', '..', a leading dot) is refused."""
    config = resolve_config(config)
    base = Path(results_dir) if results_dir else default_results_dir(config.get("profile", "smoke"))
    for key in ("notebook", "name"):
        if not _SAFE.fullmatch(str(config[key])):
            raise ValueError(f"run config {config['notebook']!r}/{config['name']!r}: {key}={config[key]!r} is not a "
                             f"folder name (letters, digits and _.+=- only, no leading dot): run folders must stay "
                             f"inside the results folder")
    target = base / config["notebook"] / f"{config['name']}-{run_key(config)}"
    if not target.resolve().is_relative_to(base.resolve()):
        raise ValueError(f"run folder {target} is outside the results folder {base}")
    return target


@dataclass
class Run:
    dir: Path
    config: dict
    metrics: dict
    provenance: dict

    @property
    def final(self) -> dict:
        return self.metrics["final"]

    @property
    def history(self) -> list[dict]:
        return self.metrics["history"]

    def predictions(self) -> dict[str, np.ndarray]:
        with np.load(self.dir / "predictions.npz", allow_pickle=False) as z:
            return {k: z[k] for k in z.files}


def load_run(path) -> Run:
    """The stored run in folder ``path``. A folder missing one of ``FILES`` is a CacheMiss; a folder whose
    files cannot be read (truncated JSON, a JSON file that is not an object, a predictions file that is not a
    whole zip archive) is a CorruptRun naming the file and what is wrong."""
    path = Path(path)
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise CacheMiss(f"{path}: incomplete run folder, missing {', '.join(missing)}")
    parsed = {}
    for f in ("config.json", "metrics.json", "provenance.json"):
        try:
            parsed[f] = json.loads((path / f).read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CorruptRun(f"{path / f}: unreadable ({e})") from None
        if not isinstance(parsed[f], dict):
            raise CorruptRun(f"{path / f}: expected a JSON object, got {type(parsed[f]).__name__}")
    if "final" not in parsed["metrics.json"]:
        raise CorruptRun(f"{path / 'metrics.json'}: no 'final' entry")
    try:
        with zipfile.ZipFile(path / "predictions.npz") as z:
            z.namelist()
    except (zipfile.BadZipFile, OSError) as e:
        raise CorruptRun(f"{path / 'predictions.npz'}: unreadable ({e})") from None
    return Run(path, parsed["config.json"], parsed["metrics.json"], parsed["provenance.json"])


def set_aside(folder: Path) -> Path:
    """Move a corrupt run folder out of the way (never deleted): <folder>.corrupt-<UTC time>; git ignores it."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    aside = folder.with_name(f"{folder.name}.corrupt-{stamp}")
    os.replace(folder, aside)
    return aside


def run_status(config: dict, results_dir=None) -> str:
    """"stored" (a readable folder under the current config and code key), "corrupt" (that folder exists but
    cannot be read: ``reproduce`` sets it aside and trains the run again), "stale" (a folder of the same config
    stored under an older code key: its code changed, it trains again and is never shown as a current result)
    or "missing"."""
    config = resolve_config(config)
    target = run_dir(config, results_dir)
    if all((target / f).is_file() for f in FILES):
        try:
            load_run(target)
        except CorruptRun:
            return "corrupt"
        return "stored"
    base = Path(results_dir) if results_dir else default_results_dir(config["profile"])
    want = json.dumps(config, sort_keys=True, default=str)
    for other in (base / config["notebook"]).glob(f"{config['name']}-*/config.json"):
        if other.parent == target or other.parent.suffix.startswith(".corrupt"):
            continue
        try:
            if json.dumps(json.loads(other.read_text()), sort_keys=True) == want:
                return "stale"
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue                                      # an older folder's broken config: not this run's
    return "missing"


STATUSES = ("stored", "stale", "corrupt", "missing")


def count_status(statuses) -> dict[str, int]:
    """{status: count} over ``STATUSES`` (every key present): the one count reproduce, the chapters' status
    lines and chapter 6's run-status table print."""
    statuses = list(statuses)
    unknown = set(statuses) - set(STATUSES)
    if unknown:
        raise ValueError(f"unknown run status(es) {sorted(unknown)}: expected {', '.join(STATUSES)}")
    return {k: statuses.count(k) for k in STATUSES}


def stored_runs(configs, results_dir=None, train: bool = False, progress: bool = False):
    """Every config with its status, through the run cache: a list of (config, status, Run or None). With
    ``train`` the missing, stale and corrupt runs are trained first (the smoke profile's notebooks)."""
    out = []
    for config in configs:
        status = run_status(config, results_dir)
        run = None
        if status == "stored" or train:
            try:
                run = run_or_load(config, results_dir, train=train, progress=progress)
                status = "stored"
            except CacheMiss:
                pass
        out.append((config, status, run))
    return out


def save_predictions(path, arrays: dict) -> Path:
    """Write ``arrays`` as an .npz that ``np.load`` reads, its members LZMA-compressed (about 20% smaller
    than ``np.savez_compressed``'s deflate on the book's float logits; the arrays are stored unchanged).
    Object arrays are refused, as ``np.load(allow_pickle=False)`` would refuse them."""
    path = Path(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_LZMA) as z:
        for name, value in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(value), allow_pickle=False)
            z.writestr(f"{name}.npy", buf.getvalue())
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_lock(work: Path) -> Path:
    """Take the lock of a run's partial folder for this process, or raise RunLocked naming the live owner.
    A lock left by a dead process on this host is taken over (with a warning); a lock from another host is
    respected (its process cannot be checked from here)."""
    work.mkdir(parents=True, exist_ok=True)
    lock, me = work / LOCK, f"{socket.gethostname()} {os.getpid()}"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                host, pid = lock.read_text().split()
                pid = int(pid)
            except (OSError, ValueError):
                host, pid = socket.gethostname(), -1     # unreadable or half-written: no live owner known
            if host == socket.gethostname() and (pid == os.getpid() or pid < 0 or not _alive(pid)):
                warnings.warn(f"{lock}: taking over the lock of process {pid} on {host}, which is not running",
                              stacklevel=2)
                lock.unlink(missing_ok=True)
                continue
            raise RunLocked(f"{work.parent.name}/{work.name.removesuffix('.partial')} is being trained by process "
                            f"{pid} on {host} (lock file {lock})") from None
        with os.fdopen(fd, "w") as f:
            f.write(me)
        return lock
    raise RunLocked(f"{lock}: could not take the lock")


def run_or_load(config: dict, results_dir=None, *, train: bool = True, progress: bool = True) -> Run:
    """The stored run for ``config`` if there is one; otherwise train it (if ``train``) and store it.

    config: a JSON-able dict with at least "task" (a name in fer_utils.tasks.TASKS), "notebook", "name",
    "profile" and "seed"; the task's recipe checks it and fills in the defaults (``resolve_config``).
    Raises CacheMiss when nothing is stored and ``train`` is False (CorruptRun when the stored folder cannot
    be read), RunLocked when another live process is training the run.
    """
    config = resolve_config(config)
    target = run_dir(config, results_dir)
    if all((target / f).is_file() for f in FILES):
        try:
            return load_run(target)
        except CorruptRun as e:
            if not train:
                raise
            aside = set_aside(target)
            warnings.warn(f"corrupt run folder: {e}; moved aside to {aside.name} and trained again", stacklevel=2)
    if not train:
        raise CacheMiss(f"no stored run for {config['notebook']}/{config['name']} (key {run_key(config)}): "
                        f"train it with `python -m fer_utils.reproduce notebooks/{config['notebook']}.ipynb "
                        f"--profile {config.get('profile', 'smoke')}`")
    work = target.with_name(target.name + ".partial")
    lock = acquire_lock(work)
    try:
        if all((target / f).is_file() for f in FILES):   # another process stored it while we waited for the lock
            return load_run(target)
        started = time.time()
        out = TASKS[config["task"]](config, work, progress=progress)
        wall = time.time() - started
        _store(work, config, out, wall)
        lock.unlink()
        if target.exists():
            shutil.rmtree(target)
        os.replace(work, target)
    finally:
        if lock.is_file() and lock.read_text() == f"{socket.gethostname()} {os.getpid()}":
            lock.unlink()
    return load_run(target)


def _own_faces(config: dict) -> dict:
    """For a run on an imported-faces root (``fer_utils.faces``): its source and fingerprint, for provenance."""
    if config.get("data") != "full":
        return {}
    root, _ = resolve_root()
    m = imported_root(root)
    return {} if m is None else {"own_faces": {"source": m["source"], "fingerprint": m["fingerprint"],
                                               "faces": m["faces"]}}


def _store(work: Path, config: dict, out: dict, wall: float) -> None:
    """Write a finished task's files into its partial folder and drop its checkpoints."""
    (work / "config.json").write_text(json.dumps(config, indent=1, sort_keys=True))
    histories = {k: v for k, v in out.items() if k.endswith("_history")}  # e.g. a second phase's epochs
    (work / "metrics.json").write_text(json.dumps({"final": out["final"], "best_epoch": out.get("best_epoch"),
                                                   "history": out.get("history", []), **histories}, indent=1))
    save_predictions(work / "predictions.npz", out["predictions"])
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    provenance = {**machine_record(), "python": platform.python_version(), "precision": fast_precision(dev),
                  "code_hash": task_code_hash(config["task"])[:16], "seed": config.get("seed"),
                  "profile": config.get("profile"), "wall_seconds": round(wall, 2),
                  "train_seconds": round(out.get("train_seconds", float("nan")), 2),
                  "images_per_s": round(out.get("images_per_s", float("nan")), 1),
                  "data": {**out.get("data", {}), **_own_faces(config)},
                  "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    (work / "provenance.json").write_text(json.dumps(provenance, indent=1))
    for leftover in [*work.rglob("*.pt"), *work.rglob("*.pt.unreadable")]:  # checkpoints are for resuming only
        leftover.unlink()
    for folder in sorted((d for d in work.rglob("*") if d.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
