"""A tiny end-to-end training run: generated bursts -> Keras -> int8 .tflite -> model card."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from tools import gen_bursts
from tools.train.__main__ import main as train_main

pytestmark = [
    pytest.mark.train,
    pytest.mark.skipif(
        importlib.util.find_spec("tensorflow") is None,
        reason="TensorFlow not installed (the [train] extra: make train-deps)",
    ),
]

CLASSES = ("leopard", "deer", "empty")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("e2e")
    data = root / "data"
    gen_bursts.generate(data, seed=11, per_class=4, size=(160, 120), classes=CLASSES)
    out = root / "model"
    argv = [
        "fit",
        "--data",
        str(data),
        "--out",
        str(out),
        "--target",
        "leopard",
        "--epochs",
        "1",
        "--size",
        "96",
        "--batch-size",
        "16",
        "--quiet",
        "--name",
        "tiny",
    ]
    assert train_main(argv) == 0
    return data, out


def test_training_writes_a_loadable_full_int8_model(trained: tuple[Path, Path]) -> None:
    from ai_edge_litert.interpreter import Interpreter

    _, out = trained
    interp = Interpreter(model_path=str(out / "model.tflite"))
    interp.allocate_tensors()
    inp, outp = interp.get_input_details()[0], interp.get_output_details()[0]
    assert list(inp["shape"]) == [1, 96, 96, 3] and inp["dtype"] == np.int8
    assert list(outp["shape"]) == [1, 3] and outp["dtype"] == np.int8
    assert inp["quantization"][1] == -128 and abs(inp["quantization"][0] - 1 / 255) < 1e-6
    interp.set_tensor(inp["index"], np.zeros((1, 96, 96, 3), np.int8))
    interp.invoke()
    assert interp.get_tensor(outp["index"]).shape == (1, 3)


def test_model_card_matches_the_model_and_the_data(trained: tuple[Path, Path]) -> None:
    _, out = trained
    card = json.loads((out / "model.json").read_text())
    assert card["schema"] == "camtrap-model-card/1" and card["name"] == "tiny"
    assert card["sha256"] == hashlib.sha256((out / "model.tflite").read_bytes()).hexdigest()
    labels = (out / "labels.txt").read_text().splitlines()
    assert card["labels"] == labels == sorted(CLASSES)
    assert card["input"] == {
        "width": 96,
        "height": 96,
        "channels": 3,
        "dtype": "int8",
        "scale": 1 / 255,
        "zero_point": -128,
        "resize": "squash",
    }
    assert card["output"] == {"dtype": "int8", "classes": 3}
    assert card["targets"] == ["leopard"]
    assert card["decision"] == {"rule": "k_of_n", "k": 2, "threshold": 0.5, "early_exit": True}
    frame = card["metrics"]["frame"]
    assert set(frame["per_class"]) == set(CLASSES)
    assert len(frame["confusion"]["matrix"]) == 3
    assert 0 <= card["metrics"]["float_int8_top1_agreement"] <= 1
    data = card["training"]["data"]
    assert data["generator_seeds"] == [11] and data["split_by"] == "sequence"
    counts = data["counts"]
    assert sum(sum(c.values()) for c in counts.values()) == data["images"]


def test_the_service_loads_the_trained_model_and_its_card(trained: tuple[Path, Path]) -> None:
    from camtrap.adapters.classifier import load_model

    _, out = trained
    loaded = load_model(out / "model.tflite")
    assert loaded.card is not None and loaded.card.name == "tiny"
    assert loaded.card.decision.describe() == "k_of_n:2/0.50"


def test_evaluate_adds_burst_metrics_to_the_card(trained: tuple[Path, Path], capsys) -> None:
    data, out = trained
    assert train_main(["evaluate", str(out), "--bursts", str(data), "--update-card"]) == 0
    burst = json.loads((out / "model.json").read_text())["metrics"]["burst"]
    assert burst["bursts"] == 12 and burst["target_bursts"] == 4
    assert burst["generator_seeds"] == [11] and burst["rule"] == "k_of_n:2/0.50"
    assert "precision" in capsys.readouterr().out
