"""camtrap.datasets (tools.train, camtrap adapt): folders, COCO, splits and bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from camtrap import datasets as ds
from camtrap.core.verdict import Rule
from tools.train.__main__ import main as train_main
from tools.train.evaluate import BurstResult, burst_summary, frame_metrics

CATS = [{"id": 0, "name": "empty"}, {"id": 1, "name": "leopard"}, {"id": 2, "name": "deer"}]


def write_jpeg(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 24), (value, value // 2, 40)).save(path)


def coco_doc(root: Path, locations: int = 4, seqs_per_class: int = 2, frames: int = 3) -> dict:
    """Every location has sequences of every class; images are real tiny JPEGs."""
    images, annotations = [], []
    for loc in range(locations):
        for cat in CATS:
            for s in range(seqs_per_class):
                seq = f"L{loc}-c{cat['id']}-s{s}"
                for f in range(frames):
                    iid = f"{seq}-f{f}"
                    name = f"{loc}/{iid}.jpg"
                    write_jpeg(root / name, 40 * cat["id"] + f)
                    images.append(
                        {
                            "id": iid,
                            "file_name": name,
                            "seq_id": seq,
                            "frame_num": f,
                            "location": f"site-{loc}",
                        }
                    )
                    annotations.append(
                        {"id": f"a-{iid}", "image_id": iid, "category_id": cat["id"]}
                    )
    return {"images": images, "annotations": annotations, "categories": CATS}


def write_coco(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "cct.json"
    path.write_text(json.dumps(doc))
    return path


def parts_of(split: ds.Split) -> dict[str, tuple[ds.Sample, ...]]:
    return {"train": split.train, "val": split.val, "test": split.test}


def test_coco_import_reads_labels_sequences_and_locations(tmp_path: Path) -> None:
    path = write_coco(tmp_path, coco_doc(tmp_path / "img"))
    samples = ds.load_coco(path, tmp_path / "img")
    assert len(samples) == 4 * 3 * 2 * 3
    assert ds.labels_of(samples) == ["deer", "empty", "leopard"]
    s = next(s for s in samples if s.sequence == "L1-c1-s0" and s.frame == 2)
    assert (s.label, s.location, s.path.is_file()) == ("leopard", "site-1", True)


@pytest.mark.parametrize("zero", [None, "blank"])
def test_coco_category_0_is_empty_even_when_undefined_or_named_otherwise(tmp_path: Path, zero):
    doc = coco_doc(tmp_path / "img", locations=1)
    doc["categories"] = [c for c in CATS if c["id"]] + ([{"id": 0, "name": zero}] if zero else [])
    samples = ds.load_coco(write_coco(tmp_path, doc), tmp_path / "img")
    assert ds.labels_of(samples) == ["deer", "empty", "leopard"]


@pytest.mark.parametrize("by", ["location", "sequence"])
def test_coco_split_never_puts_a_sequence_or_location_in_two_splits(tmp_path: Path, by) -> None:
    samples = ds.load_coco(
        write_coco(tmp_path, coco_doc(tmp_path / "i", locations=6)), tmp_path / "i"
    )
    split = ds.split_samples(samples, seed=1, by=by, min_per_class=4)
    owner: dict[str, str] = {}
    for part, members in parts_of(split).items():
        for s in members:
            key = s.location if by == "location" else s.sequence
            assert owner.setdefault(str(key), part) == part, (
                f"{key} in {owner[str(key)]} and {part}"
            )
    seq_owner: dict[str, str] = {}
    for part, members in parts_of(split).items():
        for s in members:
            assert seq_owner.setdefault(s.sequence, part) == part
    assert split.by == by
    assert sum(len(m) for m in parts_of(split).values()) == len(samples)
    assert split.train and split.test


def test_auto_split_uses_locations_when_every_image_has_one(tmp_path: Path) -> None:
    samples = ds.load_coco(
        write_coco(tmp_path, coco_doc(tmp_path / "i", locations=5)), tmp_path / "i"
    )
    assert ds.split_samples(samples, min_per_class=4).by == "location"
    no_loc = [ds.Sample(s.path, s.label, s.sequence) for s in samples]
    assert ds.split_samples(no_loc, min_per_class=4).by == "sequence"


def test_coco_with_dangling_image_ids_is_refused_naming_them(tmp_path: Path) -> None:
    doc = coco_doc(tmp_path / "i", locations=1)
    doc["annotations"] += [
        {"id": "x1", "image_id": "ghost-7", "category_id": 1},
        {"id": "x2", "image_id": "ghost-9", "category_id": 0},
    ]
    with pytest.raises(
        ds.DatasetError, match=r"cct\.json: annotations: image_id not in images: ghost-7, ghost-9"
    ):
        ds.load_coco(write_coco(tmp_path, doc), tmp_path / "i")


def test_coco_with_unknown_categories_is_refused_naming_them(tmp_path: Path) -> None:
    doc = coco_doc(tmp_path / "i", locations=1)
    doc["annotations"][0]["category_id"] = 42
    with pytest.raises(ds.DatasetError, match=r"unknown category_id: 42"):
        ds.load_coco(write_coco(tmp_path, doc), tmp_path / "i")


def test_coco_structure_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ds.DatasetError, match="annotations: missing or not a list"):
        ds.load_coco(write_coco(tmp_path, {"images": [], "categories": []}), tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ds.DatasetError, match=r"bad\.json: not valid JSON"):
        ds.load_coco(bad, tmp_path)


def test_coco_images_with_mixed_or_no_annotations_are_skipped_and_counted(tmp_path: Path) -> None:
    doc = coco_doc(tmp_path / "i", locations=1)
    first, second = doc["images"][0]["id"], doc["images"][1]["id"]
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] != second]
    doc["annotations"].append({"id": "dup", "image_id": first, "category_id": 2})
    skipped = ds.Skipped()
    samples = ds.load_coco(write_coco(tmp_path, doc), tmp_path / "i", skipped)
    assert len(samples) == len(doc["images"]) - 2
    assert skipped.reasons == {"ambiguous": 1, "unannotated": 1}


def test_a_class_with_too_few_examples_is_named(tmp_path: Path) -> None:
    samples = ds.load_coco(
        write_coco(tmp_path, coco_doc(tmp_path / "i", locations=3)), tmp_path / "i"
    )
    few = [s for s in samples if s.label != "deer"] + [s for s in samples if s.label == "deer"][:3]
    with pytest.raises(
        ds.DatasetError, match=r"too few images \(need >= 8 per class\): 'deer' \(3\)"
    ):
        ds.split_samples(few, min_per_class=8)
    one_seq = [s for s in samples if s.label != "deer"] + [
        s for s in samples if s.sequence == "L0-c2-s0"
    ]
    with pytest.raises(ds.DatasetError, match=r"too few sequences to hold one out.*'deer' \(1\)"):
        ds.split_samples(one_seq, min_per_class=3, by="sequence")


def make_folder(root: Path) -> None:
    for label in ("leopard", "small spotted cat"):
        for b in range(3):
            for f in range(3):
                write_jpeg(root / label / f"burst-{b}" / f"{f:03d}.jpg", 10 * b + f)
    write_jpeg(root / "leopard" / "loose.png", 99)
    (root / "leopard" / "notes.txt").write_text("not an image")


def test_folder_dataset_labels_by_folder_and_sequences_by_burst_directory(tmp_path: Path) -> None:
    make_folder(tmp_path)
    samples = ds.load_folder(tmp_path)
    assert ds.labels_of(samples) == ["leopard", "small spotted cat"]
    assert len(samples) == 2 * 9 + 1
    seqs = {s.sequence for s in samples if s.label == "leopard"}
    assert seqs == {"leopard/burst-0", "leopard/burst-1", "leopard/burst-2", "leopard/loose"}
    split = ds.split_samples(samples, min_per_class=3)
    assert split.by == "sequence"
    train_seqs = {s.sequence for s in split.train}
    assert not train_seqs & {s.sequence for s in (*split.val, *split.test)}


def test_folder_dataset_errors_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ds.DatasetError, match="nope: not a directory"):
        ds.load_folder(tmp_path / "nope")
    with pytest.raises(ds.DatasetError, match="no class folders"):
        ds.load_folder(tmp_path)


def test_undecodable_images_are_skipped_and_counted(tmp_path: Path) -> None:
    make_folder(tmp_path)
    (tmp_path / "leopard" / "burst-0" / "001.jpg").write_bytes(b"\xff\xd8 truncated jpeg")
    (tmp_path / "leopard" / "burst-1" / "002.jpg").write_bytes(b"")
    samples = ds.load_folder(tmp_path)
    skipped = ds.Skipped()
    x, y, kept = ds.decode_images(samples, ds.labels_of(samples), (16, 12), skipped)
    assert skipped.reasons == {"undecodable": 2}
    assert x.shape == (len(samples) - 2, 12, 16, 3) and x.dtype == np.uint8
    assert len(y) == len(kept) == len(samples) - 2


def test_fit_cli_refuses_bad_coco_with_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    doc = coco_doc(tmp_path / "i", locations=1)
    doc["annotations"].append({"id": "x", "image_id": "ghost", "category_id": 1})
    path = write_coco(tmp_path, doc)
    argv = [
        "fit",
        "--coco",
        str(path),
        "--images",
        str(tmp_path / "i"),
        "--out",
        str(tmp_path / "m"),
        "--target",
        "leopard",
    ]
    assert train_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "ghost" in err and "cct.json" in err
    assert not (tmp_path / "m").exists()


def test_fit_cli_refuses_a_target_that_names_no_class(tmp_path: Path, capsys) -> None:
    make_folder(tmp_path / "data")
    argv = [
        "fit",
        "--data",
        str(tmp_path / "data"),
        "--out",
        str(tmp_path / "m"),
        "--target",
        "lion",
    ]
    assert train_main(argv) == 2
    assert "'lion' matches no label" in capsys.readouterr().err


def test_frame_metrics_give_per_class_precision_recall_and_confusion() -> None:
    m = frame_metrics(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]), ["a", "b", "c"])
    assert m["confusion"]["matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert m["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "support": 2}
    assert m["per_class"]["b"] == {"precision": 0.6667, "recall": 1.0, "support": 2}
    assert m["per_class"]["c"] == {"precision": None, "recall": 0.0, "support": 1}
    assert m["accuracy"] == 0.6


def test_burst_summary_counts_target_hits_as_precision_and_recall() -> None:
    results = [
        BurstResult("1", "leopard", 0.9, True, "leopard"),
        BurstResult("2", "leopard", 0.2, False, "deer"),
        BurstResult("3", "deer", 0.7, True, "leopard"),
        BurstResult("4", "deer", 0.1, False, "deer"),
    ]
    s = burst_summary(results, ["leopard"], ["deer", "leopard"], Rule("k_of_n", 2, 0.5))
    assert (s["precision"], s["recall"]) == (0.5, 0.5)
    assert s["per_label"] == {"deer": {"bursts": 2, "hits": 1}, "leopard": {"bursts": 2, "hits": 1}}
    assert s["rule"] == "k_of_n:2/0.50"


def test_fit_without_tensorflow_says_how_to_install_it(tmp_path: Path, monkeypatch, capsys) -> None:
    for name in ("tensorflow", "tools.train.model", "tools.train.export"):
        monkeypatch.setitem(sys.modules, name, None)  # import of these now raises ImportError
    make_folder(tmp_path / "data")
    argv = [
        "fit",
        "--data",
        str(tmp_path / "data"),
        "--out",
        str(tmp_path / "m"),
        "--target",
        "leopard",
        "--min-per-class",
        "3",
    ]
    assert train_main(argv) == 2
    assert "training needs TensorFlow (pip install -e '.[train]')" in capsys.readouterr().err


DEMO_MODEL = Path(__file__).resolve().parents[2] / "models" / "camtrap-demo"


def test_evaluate_runs_the_demo_model_on_bursts_and_fails_bursts_with_bad_frames(
    tmp_path: Path, capsys
) -> None:
    if not (DEMO_MODEL / "model.tflite").is_file():
        pytest.skip("models/camtrap-demo not present")
    from tools import gen_bursts

    model = tmp_path / "model"
    model.mkdir()
    for name in ("model.tflite", "labels.txt", "model.json"):
        (model / name).write_bytes((DEMO_MODEL / name).read_bytes())
    bursts = gen_bursts.generate(tmp_path / "b", seed=31, per_class=1, classes=["leopard", "deer"])
    (bursts[1] / "001.jpg").write_bytes(b"not a jpeg")
    assert (
        train_main(["evaluate", str(model), "--bursts", str(tmp_path / "b"), "--update-card"]) == 0
    )
    burst = json.loads((model / "model.json").read_text())["metrics"]["burst"]
    assert burst["bursts"] == 2 and burst["errors"] == 1 and burst["generator_seeds"] == [31]
    assert burst["per_label"]["deer"] == {"bursts": 1, "hits": 0}
    assert "bursts" in capsys.readouterr().out


def test_evaluate_refuses_a_missing_model_directory_with_exit_2(tmp_path: Path, capsys) -> None:
    assert train_main(["evaluate", str(tmp_path / "none"), "--bursts", str(tmp_path)]) == 2
    assert "model.json" in capsys.readouterr().err
