"""Run cache with provenance: ``run_or_load(config)`` trains once, then serves the stored result.

A run is keyed by a hash of its config and of the code its task executes: the task's module and every
fer_utils module it imports, transitively (``task_files``), with docstrings and comments left out. Rewording
a docstring or editing a module the task never imports (a figure, another method's loss) keeps the key; any
change of code the task runs invalidates it. A run folder::

    <results>/<notebook>/<name>-<key>/
        config.json       the full resolved recipe (every default filled in)
        metrics.json      {"final": {...test metrics...}, "best_epoch": .., "history": [per-epoch dicts]}
        predictions.npz   test-split logits, labels and names
        provenance.json   device, torch version, git commit, seed, wall time, images/s, data, code hash

cpu- and gpu-profile runs live under ``results/`` (committed); smoke runs under a cache folder, never in results/.
Notebooks build every table from these files.
"""
from __future__ import annotations

import ast
import datetime
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .paths import PACKAGE_DIR, PROJECT_DIR, RESULTS_DIR, cache_dir

FILES = ("config.json", "metrics.json", "predictions.npz", "provenance.json")
STORED_PROFILES = ("cpu", "gpu")   # profiles whose runs live under results/ (smoke runs: a cache folder)


class CacheMiss(LookupError):
    """No stored result for a config, and training was not allowed."""


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _module_file(parts: list[str], package_dir: Path) -> Path | None:
    """The file of module fer_utils.<parts> (a module file or a package's __init__.py), or None."""
    base = package_dir.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _imported_files(path: Path, package_dir: Path) -> set[Path]:
    """The fer_utils files that ``path`` imports directly, resolved by name: ``from ..losses import x``
    follows ``losses/x.py`` if x is a submodule, else the submodule that ``losses/__init__.py`` takes x
    from (so a package's __init__ does not drag in every module it re-exports)."""
    tree = ast.parse(path.read_text())
    here = list(path.relative_to(package_dir).parent.parts) if path.is_relative_to(package_dir) else []
    found: set[Path] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == package_dir.name:
                    f = _module_file(alias.name.split(".")[1:], package_dir)
                    found |= {f} if f else set()
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = here[:len(here) - node.level + 1] if node.level > 1 else list(here)
            mod = base + (node.module.split(".") if node.module else [])
        elif node.module and node.module.split(".")[0] == package_dir.name:
            mod = node.module.split(".")[1:]
        else:
            continue                                    # a third-party import
        target = _module_file(mod, package_dir)
        if target is None:
            continue
        if target.name != "__init__.py":
            found.add(target)
            continue
        found.add(target)                               # the package's own definitions (see _hash_source)
        reexports = _init_reexports(target, package_dir)
        for alias in node.names:
            sub = _module_file(mod + [alias.name], package_dir)
            if sub is not None:
                found.add(sub)
            elif alias.name in reexports:
                found.add(reexports[alias.name])
    return found


def _init_reexports(init: Path, package_dir: Path) -> dict[str, Path]:
    """{name: file} for the names a package's __init__.py imports from its own submodules."""
    out = {}
    pkg = list(init.relative_to(package_dir).parent.parts)
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            f = _module_file(pkg + node.module.split("."), package_dir)
            if f is not None:
                out.update({a.asname or a.name: f for a in node.names})
    return out


def module_closure(path, package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """``path`` and every fer_utils module it imports, transitively: the code a task executes."""
    path = Path(path).resolve()
    package_dir = Path(package_dir).resolve()
    seen, todo = set(), [path]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        if f.name == "__init__.py" and f != path:
            continue                                    # its re-exports were resolved by the importer
        todo.extend(_imported_files(f, package_dir) - seen)
    return sorted(seen)


def _hash_source(path: Path) -> str:
    """The AST of a module without docstrings (comments never reach the AST); for a package __init__, only
    its own definitions (its imports are followed by name, not hashed)."""
    tree = _strip_docstrings(ast.parse(path.read_text()))
    if path.name == "__init__.py":
        tree.body = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
    return ast.dump(tree)


_HASHES: dict[tuple, str] = {}  # memo: (path, mtime, size) of every file -> hash; an edit changes the key


def code_hash(files=None, package_dir: Path = PACKAGE_DIR) -> str:
    """Hash of the code in ``files`` (default: every fer_utils module) as ASTs without docstrings."""
    package_dir = Path(package_dir).resolve()
    files = sorted(Path(f).resolve() for f in files) if files is not None else sorted(package_dir.rglob("*.py"))
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    if stamp not in _HASHES:
        h = hashlib.sha256()
        for path in files:
            inside = path.is_relative_to(package_dir)
            h.update(str(path.relative_to(package_dir) if inside else path.name).encode())
            h.update(_hash_source(path).encode())
        _HASHES[stamp] = h.hexdigest()
    return _HASHES[stamp]


_CLOSURES: dict[tuple, list[Path]] = {}  # memo: (task, package stamp) -> task_files; an edit changes the stamp


def _package_stamp(package_dir: Path) -> tuple:
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(package_dir.rglob("*.py")))


def task_files(task: str, package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The files a task executes: its module in fer_utils/tasks and what it imports, transitively."""
    key = (task, _package_stamp(Path(package_dir).resolve()))
    if key not in _CLOSURES:
        _CLOSURES[key] = _task_files(task, package_dir)
    return _CLOSURES[key]


def _task_files(task: str, package_dir: Path) -> list[Path]:
    from .tasks import TASKS
    if task not in TASKS:
        raise ValueError(f"config task={task!r}: expected one of {', '.join(TASKS)}")
    fn, package_dir = TASKS[task], Path(package_dir).resolve()
    if fn.__module__.split(".")[0] == package_dir.name:
        source = _module_file(fn.__module__.split(".")[1:], package_dir)
    else:  # a task registered from outside the package (a reader's own, or a test's)
        import inspect
        source = Path(inspect.getsourcefile(fn))
    return module_closure(source, package_dir)


def task_code_hash(task: str, package_dir: Path = PACKAGE_DIR) -> str:
    """The code key of a task: a change to a module the task does not import leaves it unchanged."""
    return code_hash(task_files(task, package_dir), package_dir)


def run_key(config: dict) -> str:
    """12 hex digits of the hash of the config and of the code its task executes."""
    config = resolve_config(config)
    payload = json.dumps(config, sort_keys=True, default=str) + task_code_hash(config["task"])
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def resolve_config(config: dict) -> dict:
    """The full resolved recipe of a run config: checked by its task's recipe class (an unknown or misspelt
    key, or a training-block key TrainConfig lacks, is an error naming the key and the allowed ones) with
    every default filled in. This is what the run key hashes and config.json stores. A task registered
    without a recipe (a reader's own) keeps its config as given."""
    from .tasks import TASKS
    where = f"{config.get('notebook', '?')}/{config.get('name', '?')}"
    if "task" not in config:
        raise ValueError(f"run config {where}: no 'task' key")
    if config["task"] not in TASKS:
        raise ValueError(f"run config {where}: task={config['task']!r}: expected one of {', '.join(TASKS)}")
    recipe = getattr(TASKS[config["task"]], "recipe", None)
    return recipe.from_config(config).to_config() if recipe is not None else dict(config)


def check_config(config: dict) -> dict:
    """Refuse a config its task's recipe does not accept (see ``resolve_config``); returns it resolved."""
    return resolve_config(config)


def default_results_dir(profile: str) -> Path:
    """results/ for the cpu and gpu profiles; a cache folder for smoke runs (never committed)."""
    if profile in STORED_PROFILES:
        return RESULTS_DIR
    return cache_dir() / "runs"


def run_dir(config: dict, results_dir=None) -> Path:
    """The folder of a run: <results>/<notebook>/<name>-<key of the resolved config and the task's code>."""
    config = resolve_config(config)
    base = Path(results_dir) if results_dir else default_results_dir(config.get("profile", "smoke"))
    return base / config["notebook"] / f"{config['name']}-{run_key(config)}"


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
    path = Path(path)
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise CacheMiss(f"{path}: incomplete run folder, missing {', '.join(missing)}")
    read = lambda f: json.loads((path / f).read_text())  # noqa: E731
    return Run(path, read("config.json"), read("metrics.json"), read("provenance.json"))


def git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "fer_utils"], cwd=PROJECT_DIR,
                               capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("FER_GIT_COMMIT", "unknown")


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def machine_record() -> dict:
    """What a measurement ran on: device, CPU capability, threads, torch and the git commit (the run
    provenance and every benchmark record start with it)."""
    return {"device": device_name(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "torch": torch.__version__, "commit": git_commit()}


def write_record(path, record: dict) -> Path:
    """Write a benchmark record as JSON (creating its folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


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


def run_or_load(config: dict, results_dir=None, *, train: bool = True, progress: bool = True) -> Run:
    """The stored run for ``config`` if there is one; otherwise train it (if ``train``) and store it.

    config: a JSON-able dict with at least "task" (a name in fer_utils.tasks.TASKS), "notebook", "name",
    "profile" and "seed"; the task's recipe checks it and fills in the defaults (``resolve_config``).
    Raises CacheMiss when nothing is stored and ``train`` is False.
    """
    config = resolve_config(config)
    target = run_dir(config, results_dir)
    if all((target / f).is_file() for f in FILES):
        return load_run(target)
    if not train:
        raise CacheMiss(f"no stored run for {config['notebook']}/{config['name']} (key {run_key(config)}): "
                        f"train it with `python -m fer_utils.reproduce notebooks/{config['notebook']}.ipynb "
                        f"--profile {config.get('profile', 'smoke')}`")
    from .tasks import TASKS
    if config["task"] not in TASKS:
        raise ValueError(f"config task={config['task']!r}: expected one of {', '.join(TASKS)}")
    work = target.with_name(target.name + ".partial")
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    out = TASKS[config["task"]](config, work, progress=progress)
    wall = time.time() - started
    (work / "config.json").write_text(json.dumps(config, indent=1, sort_keys=True))
    histories = {k: v for k, v in out.items() if k.endswith("_history")}  # e.g. a second phase's epochs
    (work / "metrics.json").write_text(json.dumps({"final": out["final"], "best_epoch": out.get("best_epoch"),
                                                   "history": out.get("history", []), **histories}, indent=1))
    save_predictions(work / "predictions.npz", out["predictions"])
    from .train import fast_precision
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    provenance = {**machine_record(), "python": platform.python_version(), "precision": fast_precision(dev),
                  "code_hash": task_code_hash(config["task"])[:16], "seed": config.get("seed"),
                  "profile": config.get("profile"), "wall_seconds": round(wall, 2),
                  "train_seconds": round(out.get("train_seconds", float("nan")), 2),
                  "images_per_s": round(out.get("images_per_s", float("nan")), 1),
                  "data": out.get("data", {}),
                  "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    (work / "provenance.json").write_text(json.dumps(provenance, indent=1))
    for leftover in work.rglob("*.pt"):  # checkpoints (also a phase's, in a subfolder) are for resuming only
        leftover.unlink()
    for folder in sorted((d for d in work.rglob("*") if d.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    if target.exists():
        shutil.rmtree(target)
    os.replace(work, target)
    return load_run(target)


def aggregate(runs: list[Run], metrics=("macro_f1", "accuracy")):
    """Mean and std over seeds of each group of runs sharing a name; one row per name."""
    import pandas as pd
    rows = [{"name": r.config["name"], "seed": r.config.get("seed"), **{m: r.final.get(m) for m in metrics},
             "train_seconds": r.provenance.get("train_seconds"), "images_per_s": r.provenance.get("images_per_s")}
            for r in runs]
    df = pd.DataFrame(rows)
    out = df.groupby("name", sort=False).agg(
        seeds=("seed", "count"), **{f"{m}_mean": (m, "mean") for m in metrics},
        **{f"{m}_std": (m, lambda s: float(np.std(s, ddof=1)) if len(s) > 1 else 0.0) for m in metrics},
        train_seconds=("train_seconds", "mean"), images_per_s=("images_per_s", "mean"))
    return out


def mean_std(values, digits: int = 3, scale: float = 1.0) -> str:
    """'m ± s' over seeds (sample std), e.g. for a table cell; one value gives just 'm'."""
    v = np.asarray(values, dtype=float) * scale
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"
