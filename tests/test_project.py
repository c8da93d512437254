"""The project's set-up promises: pins agree, the README's commands are what CI runs."""
import re
from pathlib import Path

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
