"""The committed notebooks: full-profile executions (never smoke), parameterised, error-free, in the book."""
import json
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((TOP / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/*.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_is_a_full_profile_execution(path):
    nb = json.loads(path.read_text())
    params = nb["metadata"].get("papermill", {}).get("parameters")
    assert params is not None, f"{path.name} was not executed through papermill"
    assert params.get("profile") == "full", f"{path.name} was executed with profile={params.get('profile')!r}"
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and "profile" in "".join(tagged[0]["source"])
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), f"{path.name} has unexecuted cells"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name} has error outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_in_the_table_of_contents(path):
    assert f"notebooks/{path.stem}" in (TOP / "_toc.yml").read_text()
