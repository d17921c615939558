"""Real photos end to end through the command line: label roll-up, --truth, model directories,
`camtrap card init`, `camtrap models fetch` over loopback HTTP, `camtrap adapt` bad input, and
the Amur preset's figures on the shared photos (docs/evaluation.md).

Tests that need ../shared skip where it is absent; the rest use the bundled demo model.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import http.server
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from camtrap.adapters.classifier import load_model
from camtrap.cli import main

ROOT = Path(__file__).parents[2]
DEMO = ROOT / "models" / "camtrap-demo"
DEMO_BURSTS = ROOT / "demo" / "bursts"
SHARED = ROOT.parent / "shared"
MNV2 = SHARED / "models" / "mobilenet_v2_imagenet_quant"
SMALL = SHARED / "models" / "mobilenet_v1_0.25_128_quant"
PHOTOS = SHARED / "realdata" / "photos"
AMUR = "leopard=leopard;jaguar;cheetah;snow leopard"
shared = pytest.mark.skipif(not MNV2.is_dir(), reason="../shared is not on this machine")
shared_small = pytest.mark.skipif(
    not SMALL.is_dir(), reason="../shared/models/mobilenet_v1_0.25_128_quant is not on this machine"
)


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


# --------------------------------------------------------------------------------------------
# Label roll-up with the demo model (labels: boar, deer, empty, leopard, person, ...)


def test_a_group_counts_its_members_as_one_target_and_records_name_the_member(tmp_path):
    out = tmp_path / "r.jsonl"
    argv = ["replay", str(DEMO_BURSTS), "--model", str(DEMO / "model.tflite"), "--k", "1"]
    argv += ["--target", "cats", "--target-group", "cats=leopard;small spotted cat"]
    # whole frames: judged by its crops, one bundled small spotted cat reads as a leopard, which
    # is the regions stage's business (tests/edge/test_replay.py), not the roll-up's
    argv += ["--regions", "off"]
    assert main([*argv, "--no-early-exit", "--json-out", str(out)]) == 0
    records = jsonl(out)
    hits = {r["label"] for r in records if r["verdict"] == "hit"}
    assert {"leopard", "small spotted cat"} <= hits
    spotted = [r for r in records if r["label"] == "small spotted cat" and r["verdict"] == "hit"]
    assert all(r["target"] == "cats" for r in spotted)
    assert all(r["target_label"] == "small spotted cat" for r in spotted)


def test_config_target_groups_are_honoured(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        '[model]\npath = "%s"\n[verdict]\ntargets = ["cats"]\nk = 1\n'
        '[verdict.target_groups]\ncats = ["leopard", "small spotted cat"]\n'
        % (DEMO / "model.tflite")
    )
    out = tmp_path / "r.jsonl"
    assert main(["replay", str(DEMO_BURSTS / "small spotted cat"), "--config", str(config),
                 "--json-out", str(out)]) == 0  # fmt: skip
    assert {r["target"] for r in jsonl(out)} == {"cats"}


def test_a_group_member_that_matches_no_label_is_one_line_exit_2(capsys):
    argv = ["replay", str(DEMO_BURSTS), "--model", str(DEMO / "model.tflite")]
    assert main([*argv, "--target", "cats", "--target-group", "cats=leopard;lynx"]) == 2
    assert "target group 'cats': member 'lynx' matches no label" in one_error_line(capsys)


def test_a_malformed_group_is_one_line_exit_2(capsys):
    argv = ["replay", str(DEMO_BURSTS), "--model", str(DEMO / "model.tflite")]
    assert main([*argv, "--target-group", "cats"]) == 2
    assert "--target-group: want NAME=LABEL;LABEL" in one_error_line(capsys)


# --------------------------------------------------------------------------------------------
# Ground truth without burst.json


def photo_tree(root: Path) -> Path:
    """Loose photos copied from the demo bursts: root/<label>/<name>.jpg, no burst.json."""
    for label in ("leopard", "deer"):
        for burst in sorted((DEMO_BURSTS / label).iterdir())[:2]:
            (root / label).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(burst / "001.jpg", root / label / f"{burst.name}.jpg")
    return root


def labels_of(records: list[dict]) -> dict[str, str | None]:
    return {Path(r["source"]).name: r.get("label") for r in records}


def test_truth_from_folders_labels_loose_photos(tmp_path):
    data = photo_tree(tmp_path / "photos")
    out = tmp_path / "r.jsonl"
    argv = ["replay", str(data), "--model", str(DEMO / "model.tflite"), "--truth", "folders"]
    assert main([*argv, "--json-out", str(out)]) == 0
    got = labels_of(jsonl(out))
    assert set(got.values()) == {"leopard", "deer"} and len(got) == 4
    assert all(name.startswith(label) for name, label in got.items() if label)


def test_truth_from_csv_and_coco_match_by_path_suffix(tmp_path):
    data = photo_tree(tmp_path / "photos")
    files = sorted(p.relative_to(data).as_posix() for p in data.rglob("*.jpg"))
    table = tmp_path / "truth.csv"
    with table.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "label"])
        w.writerows([(name, "empty" if "deer" in name else "leopard") for name in files])
    coco = tmp_path / "cct.json"
    coco.write_text(json.dumps({
        "images": [{"id": i, "file_name": name} for i, name in enumerate(files)],
        "annotations": [{"image_id": i, "category_id": 1 if "leopard" in n else 0}
                        for i, n in enumerate(files)],
        "categories": [{"id": 1, "name": "leopard"}],
    }))  # fmt: skip
    for spec in (f"csv:{table}", f"coco:{coco}"):
        out = tmp_path / "r.jsonl"
        argv = ["replay", str(data), "--model", str(DEMO / "model.tflite"), "--truth", spec]
        assert main([*argv, "--json-out", str(out)]) == 0
        got = labels_of(jsonl(out))
        assert {label for name, label in got.items() if "deer" in name} == {"empty"}, spec
        assert {label for name, label in got.items() if "leopard" in name} == {"leopard"}, spec


def test_a_bad_truth_spec_and_a_bad_csv_are_one_line_exit_2(tmp_path, capsys):
    argv = ["replay", str(DEMO_BURSTS), "--model", str(DEMO / "model.tflite")]
    assert main([*argv, "--truth", "yaml:x"]) == 2
    assert "--truth: want folders, csv:FILE or coco:FILE" in one_error_line(capsys)
    bad = tmp_path / "t.csv"
    bad.write_text("a.jpg,leopard,extra\n")
    assert main([*argv, "--truth", f"csv:{bad}"]) == 2
    assert f"{bad}: line 1: want file,label" in one_error_line(capsys)


def test_evaluate_headline_and_per_class_figures_agree(tmp_path):
    out = tmp_path / "eval"
    argv = ["evaluate", str(DEMO_BURSTS), "--model", str(DEMO / "model.tflite"), "--out", str(out)]
    assert main(argv) == 0
    m = json.loads((out / "metrics.json").read_text())
    leopard = next(c for c in m["evaluation"]["burst_classes"] if c["label"] == "leopard")
    assert leopard["correct"] == m["operating_point"]["recall"] * leopard["support"]
    if (out / "pr_curve.png").exists():  # with matplotlib: the plots are inlined, not linked
        assert 'src="data:image/png;base64,' in (out / "report.html").read_text()


# --------------------------------------------------------------------------------------------
# Model directories: card init, fetch


@shared
def test_card_init_writes_a_card_the_service_loads_and_calibrate_can_write(tmp_path, capsys):
    out = tmp_path / "mnv2"
    argv = ["card", "init", str(MNV2 / "mobilenet_v2_1.0_224_quant.tflite")]
    argv += ["--labels", str(MNV2 / "imagenet_labels.txt"), "--target", "leopard"]
    assert main([*argv, "--target-group", AMUR, "--threshold", "0.3", "--out", str(out)]) == 0
    card = json.loads((out / "model.json").read_text())
    data = (MNV2 / "mobilenet_v2_1.0_224_quant.tflite").read_bytes()
    assert card["sha256"] == hashlib.sha256(data).hexdigest()
    assert card["input"] == {"width": 224, "height": 224, "channels": 3, "dtype": "uint8",
                             "scale": 0.0078125, "zero_point": 128, "resize": "squash"}  # fmt: skip
    assert card["output"] == {"dtype": "uint8", "classes": 1001}
    assert card["target_groups"] == {"leopard": ["leopard", "jaguar", "cheetah", "snow leopard"]}
    loaded = load_model(out)  # the directory is the model
    assert loaded.card is not None and loaded.card.decision.threshold == 0.3
    records = tmp_path / "r.jsonl"
    photos = [str(MNV2 / "cat.bmp"), str(MNV2 / "bird.bmp")]
    assert main(["replay", *photos, "--model", str(out), "--json-out", str(records)]) == 0
    assert [r["verdict"] for r in jsonl(records)] == ["miss", "miss"]
    assert main([*argv, "--out", str(out)]) == 2  # an existing card is not replaced silently
    assert "exists (--force replaces it)" in capsys.readouterr().err


@shared
def test_card_init_refuses_a_labels_file_that_does_not_fit(tmp_path, capsys):
    labels = tmp_path / "labels.txt"
    labels.write_text("leopard\nother\n")
    argv = ["card", "init", str(MNV2 / "mobilenet_v2_1.0_224_quant.tflite"), "--labels"]
    assert main([*argv, str(labels), "--target", "leopard", "--out", str(tmp_path / "o")]) == 2
    assert "1001 output classes but 2 labels" in one_error_line(capsys)


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@shared_small
def test_models_fetch_checks_the_hash_and_writes_the_card(mirror, tmp_path, capsys):
    url, served = mirror
    for f in ("mobilenet_v1_0.25_128_quant.tflite", "imagenet_labels.txt"):
        shutil.copyfile(SMALL / f, served / f)
    argv = ["models", "fetch", "mobilenet-v1-0.25-128-imagenet", "--dir", str(tmp_path / "m")]
    assert main([*argv, "--mirror", url, "--no-progress"]) == 0
    out = tmp_path / "m" / "mobilenet-v1-0.25-128-imagenet"
    card = load_model(out).card
    assert card is not None and card.targets == ("leopard",)
    assert [g.name for g in card.target_groups] == ["leopard"]
    assert card.decision.threshold == 0.3


@shared
def test_models_fetch_refuses_a_tampered_file_and_installs_nothing(mirror, tmp_path, capsys):
    url, served = mirror
    (served / "mobilenet_v1_0.25_128_quant.tflite").write_bytes(b"not the model")
    argv = ["models", "fetch", "mobilenet-v1-0.25-128-imagenet", "--dir", str(tmp_path / "m")]
    assert main([*argv, "--mirror", url, "--no-progress"]) == 2
    assert "is not the catalogue's" in one_error_line(capsys)
    out = tmp_path / "m" / "mobilenet-v1-0.25-128-imagenet"
    assert not (out / "mobilenet_v1_0.25_128_quant.tflite").exists()


def test_models_list_and_an_unknown_name(capsys):
    assert main(["models", "list"]) == 0
    assert "mobilenet-v2-imagenet" in capsys.readouterr().out
    assert main(["models", "fetch", "resnet-9000"]) == 2
    assert "'resnet-9000' is not in the catalogue" in one_error_line(capsys)


# --------------------------------------------------------------------------------------------
# camtrap adapt: bad input that needs no extractor


def write_png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(path)


def test_adapt_refuses_a_base_that_is_a_classifier(tmp_path, capsys):
    for label in ("leopard", "other"):
        write_png(tmp_path / "data" / label / "a.png")
    argv = ["adapt", str(tmp_path / "data"), "--base", str(DEMO / "model.tflite")]
    assert main([*argv, "--target", "leopard", "--out", str(tmp_path / "o")]) == 2
    assert "not an embedding extractor" in one_error_line(capsys)


def test_adapt_refuses_one_label(tmp_path, capsys):
    write_png(tmp_path / "data" / "leopard" / "a.png")
    argv = ["adapt", str(tmp_path / "data"), "--base", str(DEMO / "model.tflite")]
    assert main([*argv, "--target", "leopard", "--out", str(tmp_path / "o")]) == 2
    assert "only one label ('leopard')" in one_error_line(capsys)


# --------------------------------------------------------------------------------------------
# The Amur preset on the shared real photos (the target in docs/evaluation.md)


@shared
@pytest.mark.skipif(not PHOTOS.is_dir(), reason="../shared/realdata is not on this machine")
def test_mobilenet_v2_with_the_amur_preset_finds_real_leopards_and_no_false_hits(tmp_path):
    out = tmp_path / "eval"
    argv = ["evaluate", str(PHOTOS), "--truth", "folders", "--out", str(out)]
    argv += ["--model", str(MNV2 / "mobilenet_v2_1.0_224_quant.tflite")]
    argv += ["--labels", str(MNV2 / "imagenet_labels.txt"), "--target", "leopard"]
    # with regions (the default): a single photo is judged whole and by the two squares of its
    # short side (docs/pipeline.md, one-frame bursts)
    assert main([*argv, "--target-group", AMUR, "--k", "1", "--threshold", "0.3"]) == 0
    op = json.loads((out / "metrics.json").read_text())["operating_point"]
    assert op["recall"] >= 0.93 and op["false_alert_rate"] == 0.0
    assert op["bursts"] == {"targets": 98, "non_targets": 49}
    m = json.loads((out / "metrics.json").read_text())
    leopard = next(c for c in m["evaluation"]["burst_classes"] if c["label"] == "leopard")
    assert leopard["correct"] == round(op["recall"] * 98) < 98  # headline = per-class
    html = (out / "report.html").read_text()
    assert html.count("<figure>") == 98 - leopard["correct"]  # every miss shown
