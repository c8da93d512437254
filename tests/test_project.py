"""The project's set-up promises: pins agree, the README's commands are what CI runs."""
import re
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[1]


def pins(text: str) -> dict[str, str]:
    return {m.group(1).lower(): m.group(2) for m in re.finditer(r"^[\s-]*([A-Za-z0-9_.\-]+)==([^\s#]+)", text, re.M)}


def test_environment_yml_carries_the_same_pins_as_requirements():
    req = pins((TOP / "requirements.txt").read_text())
    env = pins((TOP / "environment.yml").read_text())
    assert req == env
    for name in ("torch", "torchvision", "jupyter-book", "sphinx", "myst-nb", "papermill", "jupyterlab",
                 "ipykernel", "matplotlib", "seaborn", "scikit-learn", "pandas", "tqdm", "pytest"):
        assert name in req, f"{name} is not pinned"
    assert req["torch"] == "2.14.1" and req["torchvision"] == "0.29.1" and req["jupyter-book"] == "1.0.4"
    assert req["sphinx"].startswith("7.4.") and req["myst-nb"].startswith("1.")


def readme_commands() -> list[str]:
    block = re.search(r"## Set-up\n.*?```bash\n(.*?)```", (TOP / "README.md").read_text(), re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_setup_is_two_commands_and_ci_runs_them():
    install, test = readme_commands()
    assert install.startswith("python -m pip install") and "requirements.txt" in install
    ci = (TOP / ".ci" / "run").read_text()
    assert install in ci and test in ci


# What a clone weighs. The tracked tree travels whole with every call to a GPU machine that takes at most
# 64 MiB a call, beside one part of the packed data (`python -m fer_utils.data.pack --part-mib 24`), so
# results/ must stay small: run folders keep test-split predictions (LZMA-compressed), never checkpoints,
# and no tracked file may be a data set in disguise.
TREE_BUDGET_BYTES = 32 * 2**20
TREE_TARGET_KIB = 20_000   # the project's budget, counted like `du -k` (4 KiB blocks per file)
FILE_BUDGET_BYTES = 2 * 2**20


def tracked_files() -> list[Path]:
    import subprocess
    out = subprocess.run(["git", "ls-files", "-z"], cwd=TOP, capture_output=True, check=True).stdout
    return [TOP / p for p in out.decode().split("\0") if p and (TOP / p).is_file()]


def test_tracked_tree_stays_within_its_size_budget():
    files = tracked_files()
    assert len(files) > 100, "git ls-files listed almost nothing: not a checkout of this project?"
    sizes = {f.relative_to(TOP).as_posix(): f.stat().st_size for f in files}
    big = {p: s for p, s in sizes.items() if s > FILE_BUDGET_BYTES}
    assert not big, f"tracked files over {FILE_BUDGET_BYTES >> 20} MiB: {big}"
    total = sum(sizes.values())
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    assert total <= TREE_BUDGET_BYTES, f"tracked tree {total / 2**20:.1f} MiB > {TREE_BUDGET_BYTES >> 20} MiB; largest: {top}"
    assert not [p for p in sizes if p.endswith((".pt", ".pth", ".ckpt"))], "a checkpoint is tracked"


def test_tracked_tree_meets_the_20_mb_target():
    """The project's size budget as the maintainers measure it (`git ls-files | xargs du -k`)."""
    kib = sum(-(-f.stat().st_size // 4096) * 4 for f in tracked_files())
    assert kib <= TREE_TARGET_KIB, f"tracked tree {kib} KiB in 4 KiB blocks > {TREE_TARGET_KIB} KiB"


def test_the_readme_package_map_matches_the_package():
    """Every module and paper folder of fer_utils is in the README's package map, and everything the map
    names exists."""
    import importlib
    text = (TOP / "README.md").read_text()
    block = text[text.index("## Package map"):text.index("## Profiles and results")]
    named = set(re.findall(r"`fer_utils\.([a-z_]+)`", block))
    folders = set(re.findall(r"`fer_utils/((?:papers/)?[a-z_0-9]+)/`", block))
    pkg = TOP / "fer_utils"
    modules = {p.stem for p in pkg.glob("*.py") if p.stem not in ("__init__", "build_sample")}
    modules |= {p.name for p in pkg.iterdir() if (p / "__init__.py").is_file() and p.name not in ("papers", "baseline")}
    assert modules <= named | {"paths"}, f"not in the README's package map: {sorted(modules - named - {'paths'})}"
    for name in named:
        importlib.import_module(f"fer_utils.{name}")
    papers = {f"papers/{p.name}" for p in (pkg / "papers").iterdir() if (p / "__init__.py").is_file()}
    assert folders == papers | {"baseline"}
    for folder in papers | {"baseline"}:
        # paper 003 trains the common network (models.build_model): it has no models.py of its own
        own_model = folder not in ("baseline", "papers/self_training")
        for part in ("task.py", "cost.py", "runs.py") + (("losses.py",) if folder != "baseline" else ()) + \
                (("models.py",) if own_model else ()):
            assert (pkg / folder / part).is_file(), f"fer_utils/{folder}/{part} is missing"
