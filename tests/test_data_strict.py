"""Strict loaders (issue 36): an empty or header-only label file, a file that is not UTF-8, a FER+ vote row that
no annotator filled, and a CK+ FACS row no image joins are errors naming the file, or counted, listed skips."""
import csv

import pytest

from fer_utils.data import DataError, load_ckplus, load_ferplus
from fer_utils.data.ferplus import load_ferplus_csv
from tests.conftest import ROOT
from tests.helpers import write_ferplus_fixture
from tests.test_data_ckplus import copy_ckplus


@pytest.mark.parametrize("text", ["", "\n\n"])
def test_an_empty_ferplus_label_file_is_an_error(tmp_path, text):
    folders, _ = write_ferplus_fixture(ROOT, tmp_path)
    label_csv = folders / "ferplus" / "FER2013Valid" / "label.csv"
    label_csv.write_text(text)
    with pytest.raises(DataError, match=r"FER2013Valid/label.csv: no data rows \(the file is empty\)"):
        load_ferplus("valid", root=folders, cache=False)


def test_a_header_only_table_is_an_error(tmp_path):
    _, csv_dir = write_ferplus_fixture(ROOT, tmp_path)
    new = csv_dir / "fer2013new.csv"
    new.write_text(new.read_text().splitlines()[0] + "\n")
    with pytest.raises(DataError, match=r"fer2013new.csv: no data rows \(the file is empty or holds only its header\)"):
        load_ferplus_csv("valid", csv_dir / "fer2013.csv", new, cache=False)


def test_non_utf8_bytes_name_the_file(tmp_path):
    folders, _ = write_ferplus_fixture(ROOT, tmp_path)
    label_csv = folders / "ferplus" / "FER2013Test" / "label.csv"
    label_csv.write_bytes(label_csv.read_bytes() + b"fer\xff\xfe.png,x\n")
    with pytest.raises(DataError, match=r"FER2013Test/label.csv: not UTF-8 text"):
        load_ferplus("test", root=folders, cache=False)


def test_a_vote_row_no_annotator_filled_is_a_listed_skip_not_neutral(tmp_path):
    folders, _ = write_ferplus_fixture(ROOT, tmp_path)
    label_csv = folders / "ferplus" / "FER2013Test" / "label.csv"
    rows = list(csv.reader(label_csv.read_text().splitlines()))
    rows[2] = rows[2][:2] + ["0"] * 10                 # line 3: all ten counts zero
    rows[4] = rows[4][:2] + ["3"] * 10                 # line 5: 30 votes from 10 annotators
    with open(label_csv, "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    d = load_ferplus("test", root=folders, cache=False)
    assert len(d) == len(rows) - 2
    assert [(s.line, s.reason) for s in d.skipped] == [
        (3, "vote counts total 0: expected 1..10 (one vote per annotator, 10 annotators)"),
        (5, "vote counts total 30: expected 1..10 (one vote per annotator, 10 annotators)")]
    assert "skipped 2" in d.summary()


def test_a_facs_row_no_image_joins_is_a_listed_skip(tmp_path):
    dst = copy_ckplus(tmp_path)
    facs = dst / "ckplus_facs.csv"
    lines = facs.read_text().splitlines()
    fields = lines[1].split(",")
    fields[1] = "S777_777"                              # a sequence with no image in CK+48
    facs.write_text("\n".join(lines + [",".join(fields)]) + "\n")
    d = load_ckplus(tmp_path, cache=False)
    assert [(s.line, s.reason) for s in d.skipped] == [
        (len(lines) + 1, "no images: sequence S777_777 has no CK+48 image")]
