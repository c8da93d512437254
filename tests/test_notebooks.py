"""The committed notebooks: cpu- or gpu-profile executions (never smoke), parameterised, error-free, in the
book, with one parameters cell shown to the reader."""
import json
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((TOP / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/*.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_is_a_stored_profile_execution(path):
    nb = json.loads(path.read_text())
    params = nb["metadata"].get("papermill", {}).get("parameters")
    assert params is not None, f"{path.name} was not executed through papermill"
    assert params.get("profile") in ("cpu", "gpu"), f"{path.name} was executed with profile={params.get('profile')!r}"
    assert params.get("train_missing") is False, f"{path.name}: a committed chapter renders stored runs only"
    injected = [c for c in nb["cells"] if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    assert injected and all("remove-cell" in c["metadata"]["tags"] for c in injected), \
        f"{path.name}: render it with `python -m fer_utils.render` (the site shows one parameters cell)"
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and "profile" in "".join(tagged[0]["source"])
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), f"{path.name} has unexecuted cells"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name} has error outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_in_the_table_of_contents(path):
    assert f"notebooks/{path.stem}" in (TOP / "_toc.yml").read_text()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_sources_hold_no_control_characters(path):
    """A LaTeX command written through a Python string without a raw prefix turns into a control character
    (``"\\approx"`` holds BEL + "pprox"; ``"\\beta"`` a backspace): the site then shows broken maths."""
    import re
    nb = json.loads(path.read_text())
    bad = [(i, repr(m.group())) for i, c in enumerate(nb["cells"])
           for m in re.finditer(r"[\x00-\x08\x0b-\x1f]", "".join(c["source"]))]
    assert not bad, f"{path.name}: control characters in cells (index, char): {bad}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_is_folded_so_the_chapter_reads_prose_figures_and_tables_first(path):
    """Every code cell but the parameters cell sits behind a "show code" toggle (hide-input)."""
    nb = json.loads(path.read_text())
    shown = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and not {"parameters", "hide-input", "remove-input", "remove-cell"} & set(c["metadata"].get("tags", []))]
    assert not shown, f"{path.name}: code cells shown in full: {shown}"
