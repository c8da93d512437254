"""Strict loaders (issue 36): an empty or header-only label file, a file that is not UTF-8, a FER+ vote row that
no annotator filled, and a CK+ FACS row no image joins are errors naming the file, or counted, listed skips."""
import csv

import pytest

from fer_utils.data import DataError, load_abaw, load_affectnet, load_ckplus, load_ferplus, load_rafdb
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


def test_rafdb_duplicates_and_names_of_no_split_are_counted_and_conflicts_are_errors(rafdb):
    label_file = rafdb / "EmoLabel" / "list_patition_label.txt"
    rows = label_file.read_text().splitlines()
    label_file.write_text("\n".join(rows + ["train_00001.jpg 1", "00009.jpg 3"]) + "\n")
    d = load_rafdb("train", rafdb)
    reasons = [(s.line, s.reason) for s in d.skipped]
    assert (6, "duplicate row: train_00001.jpg already on line 1") in reasons
    assert (7, "not a split's image: 00009.jpg starts with neither train_ nor test_") in reasons
    label_file.write_text("\n".join(rows + ["train_00001.jpg 2"]) + "\n")
    with pytest.raises(DataError, match=r"list_patition_label.txt:6: train_00001.jpg is labelled 2 here but 1 on line 1"):
        load_rafdb("train", rafdb)
    label_file.write_text("")
    with pytest.raises(DataError, match="list_patition_label.txt: no data rows"):
        load_rafdb("train", rafdb)
    label_file.write_bytes(b"train_00001.jpg 1\n\xff\xfe 2\n")
    with pytest.raises(DataError, match="list_patition_label.txt: not UTF-8 text"):
        load_rafdb("train", rafdb)


@pytest.mark.parametrize("row, match", [
    ("700/e.jpg,1,1,50,50,x,6,7.0,0.9", r"validation.csv:1: expected valence in \[-1.0, 1.0\] or -2.0, got 7.0"),
    ("700/e.jpg,1,1,50,50,x,6,nan,0.9", r"validation.csv:1: expected a finite number for valence, got 'nan'"),
    ("../../../../etc/hostname,1,1,50,50,x,6,0.1,0.9", r"validation.csv:1: .*hostname is outside the data folder"),
])
def test_affectnet_refuses_values_out_of_range_and_paths_outside_the_data(affectnet, row, match):
    csv_file = affectnet / "Manually_Annotated_file_lists" / "validation.csv"
    csv_file.write_text(row + "\n")
    with pytest.raises(DataError, match=match):
        load_affectnet("valid", affectnet)


def test_affectnet_duplicates_and_header_only_files(affectnet):
    csv_file = affectnet / "Manually_Annotated_file_lists" / "validation.csv"
    rows = csv_file.read_text().splitlines()
    csv_file.write_text("\n".join(rows + [rows[0]]) + "\n")
    v = load_affectnet("valid", affectnet)
    assert [(s.line, s.reason) for s in v.skipped] == [(3, "duplicate row: 700/e.jpg already on line 1")]
    csv_file.write_text("\n".join(rows + [rows[0].replace(",6,", ",5,")]) + "\n")
    with pytest.raises(DataError, match="validation.csv:3: 700/e.jpg is labelled .* conflicting duplicate rows"):
        load_affectnet("valid", affectnet)
    train = affectnet / "Manually_Annotated_file_lists" / "training.csv"
    train.write_text(train.read_text().splitlines()[0] + "\n")
    with pytest.raises(DataError, match="training.csv: no data rows"):
        load_affectnet("train", affectnet)


def test_an_abaw_file_with_only_its_header_is_an_error(affwild2):
    f = affwild2 / "6th_ABAW_Annotations" / "EXPR_Classification_Challenge" / "Train_Set" / "video_b_left.txt"
    f.write_text(f.read_text().splitlines()[0] + "\n")
    with pytest.raises(DataError, match=r"video_b_left.txt: no data rows \(the file holds only its header\)"):
        load_abaw("EXPR", "train", affwild2)
