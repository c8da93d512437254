"""Rendering a chapter: the page shows the values it ran with, and a render that changes nothing but
timestamps leaves the committed file as it was."""
import json

from fer_utils.render import hide_injected_parameters, keep_if_unchanged, show_executed_values


def notebook(params: str, injected: str, start: str = "2026-01-01") -> dict:
    return {"metadata": {"papermill": {"start_time": start, "input_path": "/home/me/nb.ipynb"}},
            "nbformat": 4, "nbformat_minor": 5,
            "cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": params, "outputs": []},
                      {"cell_type": "code", "metadata": {"tags": ["injected-parameters"],
                                                         "papermill": {"duration": 0.1, "start_time": start}},
                       "source": injected, "outputs": []}]}


def test_the_visible_parameters_cell_shows_the_executed_values():
    params = ('profile = "cpu"          # which profile\n'
              'train_missing = True     # train runs that are not stored yet\n')
    shown = show_executed_values(params, '# Parameters\nprofile = "cpu"\ntrain_missing = False\n')
    assert shown == ('profile = "cpu"          # which profile\n'
                     'train_missing = False    # train runs that are not stored yet\n')


def test_render_hides_the_injected_cell_and_keeps_no_machine_path(tmp_path):
    path = tmp_path / "00_data.ipynb"
    path.write_text(json.dumps(notebook('train_missing = True  # x\n', "train_missing = False\n")))
    assert hide_injected_parameters(path) == 1
    nb = json.loads(path.read_text())
    assert "remove-cell" in nb["cells"][1]["metadata"]["tags"]
    assert "".join(nb["cells"][0]["source"]) == "train_missing = False # x\n"   # the comment keeps its column
    assert nb["metadata"]["papermill"]["input_path"] == "notebooks/00_data.ipynb"


def test_a_render_that_changes_only_timestamps_leaves_the_file_alone(tmp_path):
    path = tmp_path / "nb.ipynb"
    before = json.dumps(notebook("a = 1\n", "a = 1\n", start="2026-01-01"))
    path.write_text(json.dumps(notebook("a = 1\n", "a = 1\n", start="2026-12-07")))
    assert keep_if_unchanged(path, before) and path.read_text() == before
    path.write_text(json.dumps(notebook("a = 2\n", "a = 2\n", start="2026-12-07")))    # a real change stays
    assert not keep_if_unchanged(path, before) and path.read_text() != before
