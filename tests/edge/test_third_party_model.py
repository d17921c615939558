"""A model nobody in this project trained: MobileNetV2 uint8 (ImageNet, background class 0).

Uses ../shared/models/ where it exists (development and CI machines); skips cleanly elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from camtrap.adapters.classifier import load_model

SHARED = Path(__file__).parents[2].parent / "shared" / "models" / "mobilenet_v2_imagenet_quant"
pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/models is not on this machine"),
]


@pytest.fixture(scope="module")
def mobilenet():
    return load_model(
        SHARED / "mobilenet_v2_1.0_224_quant.tflite", SHARED / "imagenet_labels.txt", num_threads=2
    ).classifier


def top1(classifier, image: str) -> tuple[int, str]:
    pixels = np.asarray(Image.open(SHARED / image).convert("RGB").resize((224, 224)))
    probs = classifier.classify(pixels)
    return int(np.argmax(probs)), classifier.labels[int(np.argmax(probs))]


def test_mobilenet_reads_as_uint8_with_background_class(mobilenet):
    assert mobilenet.spec.dtype == "uint8" and mobilenet.input_size == (224, 224)
    assert len(mobilenet.labels) == 1001 and mobilenet.labels[0] == "background"
    assert mobilenet.labels[289] == "leopard, Panthera pardus"


def test_cat_is_an_egyptian_cat(mobilenet):
    assert top1(mobilenet, "cat.bmp") == (286, "Egyptian cat")


def test_bird_is_a_chickadee(mobilenet):
    assert top1(mobilenet, "bird.bmp") == (20, "chickadee")


def test_replay_cli_runs_any_classifier_with_a_labels_file(tmp_path, capsys):
    from camtrap.cli import main

    out = tmp_path / "r.jsonl"
    args = ["replay", str(SHARED / "cat.bmp"), str(SHARED / "bird.bmp")]
    args += ["--model", str(SHARED / "mobilenet_v2_1.0_224_quant.tflite")]
    args += ["--labels", str(SHARED / "imagenet_labels.txt"), "--target", "egyptian cat"]
    assert main([*args, "--k", "1", "--json-out", str(out)]) == 0
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(r["verdict"], r["top_label"]) for r in records] == [
        ("hit", "Egyptian cat"),
        ("miss", "chickadee"),
    ]
    assert "2 bursts: 1 hit, 1 miss, 0 error" in capsys.readouterr().out
