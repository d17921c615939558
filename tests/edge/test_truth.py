"""Ground truth from folders, a CSV or COCO Camera Traps JSON."""

from __future__ import annotations

import pytest

from camtrap.core.truth import (
    TruthSpec,
    burst_label,
    folder_label,
    parse_truth_spec,
    truth_from_coco,
    truth_from_csv,
)
from camtrap.errors import UsageError


def test_truth_specs_parse_and_bad_ones_are_refused():
    assert parse_truth_spec("folders") == TruthSpec("folders")
    assert parse_truth_spec("csv:labels.csv") == TruthSpec("csv", "labels.csv")
    assert parse_truth_spec("COCO:/a/cct.json") == TruthSpec("coco", "/a/cct.json")
    for bad in ("csv", "csv:", "json:x", "folders:x"):
        with pytest.raises(UsageError, match="--truth: want folders, csv:FILE or coco:FILE"):
            parse_truth_spec(bad)


def test_folder_label_is_the_first_folder_under_the_argument():
    assert folder_label("/d/photos/leopard/a.jpg", "/d/photos") == "leopard"
    assert folder_label("/d/photos/leopard/site1/b01", "/d/photos") == "leopard"
    assert folder_label("/d/photos/leopard/a.jpg", "/d/photos/leopard") == "leopard"
    assert folder_label("/d/photos/leopard/a.jpg", "/d/photos/leopard/a.jpg") == "leopard"
    assert folder_label("/elsewhere/a.jpg", "/d/photos") is None


def test_csv_matches_whole_path_components_from_the_end_longest_first():
    t = truth_from_csv("a.jpg,empty\nsite2/a.jpg,leopard\n", "t.csv")
    assert t.label_of("/x/site2/a.jpg") == "leopard"
    assert t.label_of("/x/site1/a.jpg") == "empty"
    assert t.label_of("/x/site1/ba.jpg") is None


def test_csv_header_is_optional_and_matching_ignores_case():
    assert truth_from_csv("File,Label\nA.JPG,deer\n", "t.csv").label_of("x/a.jpg") == "deer"


def test_a_bad_csv_row_names_its_line():
    with pytest.raises(UsageError, match=r"t.csv: line 3: want file,label"):
        truth_from_csv("file,label\na.jpg,deer\nb.jpg\n", "t.csv")


def test_one_file_with_two_labels_is_refused():
    with pytest.raises(UsageError, match="labelled both 'deer' and 'boar'"):
        truth_from_csv("a.jpg,deer\nA.jpg,boar\n", "t.csv")


def test_an_empty_csv_is_refused():
    with pytest.raises(UsageError, match=r"t\.csv: no labelled files"):
        truth_from_csv("file,label\n", "t.csv")


COCO = {
    "images": [
        {"id": 1, "file_name": "loc1/img1.jpg"},
        {"id": 2, "file_name": "loc1/img2.jpg"},
        {"id": 3, "file_name": "loc2/img3.jpg"},
    ],
    "annotations": [
        {"image_id": 1, "category_id": 7},
        {"image_id": 2, "category_id": 0},
        {"image_id": 3, "category_id": 7},
        {"image_id": 3, "category_id": 8},
    ],
    "categories": [{"id": 7, "name": "leopard"}, {"id": 8, "name": "deer"}],
}


def test_coco_images_take_their_category_and_id_zero_is_empty():
    t = truth_from_coco(COCO, "cct.json")
    assert t.label_of("/data/loc1/img1.jpg") == "leopard"
    assert t.label_of("/data/loc1/img2.jpg") == "empty"
    assert t.label_of("/data/loc2/img3.jpg") is None  # two animals in one image


def test_coco_annotation_with_an_unknown_category_names_it():
    doc = {**COCO, "annotations": [{"image_id": 1, "category_id": 99}]}
    with pytest.raises(UsageError, match=r"annotations\[0\]: category_id 99 not in categories"):
        truth_from_coco(doc, "cct.json")


def test_coco_without_images_is_refused():
    with pytest.raises(UsageError, match=r"cct\.json: images: missing or not a list"):
        truth_from_coco({"annotations": [], "categories": []}, "cct.json")


def test_burst_label_is_its_one_animal_else_empty_else_none():
    assert burst_label(["empty", "leopard", None, "leopard"]) == "leopard"
    assert burst_label(["empty", None]) == "empty"
    assert burst_label(["deer", "leopard"]) is None
    assert burst_label([None]) is None
