"""The LiteRT classifier adapter on real .tflite files: types, labels, card checks, errors.

The int8 path runs on the bundled demo model; the float/logits path on a tiny model built with
TensorFlow when it is installed (skipped otherwise); uint8 is in test_third_party_model.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from camtrap.adapters.classifier import load_model
from camtrap.errors import ModelError

DEMO = Path(__file__).parents[2] / "models" / "camtrap-demo"
needs_demo = pytest.mark.skipif(not (DEMO / "model.tflite").exists(), reason="no demo model")


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A writable copy of the demo model folder."""
    if not (DEMO / "model.tflite").exists():
        pytest.skip("no demo model")
    for name in ("model.tflite", "labels.txt", "model.json"):
        shutil.copy(DEMO / name, tmp_path / name)
    return tmp_path


def edit_card(folder: Path, **changes: object) -> None:
    path = folder / "model.json"
    card = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            card.pop(key, None)
        else:
            card[key] = value
    path.write_text(json.dumps(card))


@needs_demo
def test_demo_model_is_int8_with_card_labels_and_probabilities():
    m = load_model(DEMO / "model.tflite", num_threads=1)
    clf = m.classifier
    assert clf.spec.dtype == "int8" and clf.input_size == m.card.input.size
    assert clf.spec.zero_point == -128 and clf.spec.scale == pytest.approx(1 / 255)
    assert "leopard" in clf.labels and len(clf.labels) == m.card.output_classes
    w, h = clf.input_size
    probs = clf.classify(np.full((h, w, 3), 90, np.uint8))
    assert probs.dtype == np.float32 and probs.shape == (len(clf.labels),)
    assert abs(float(probs.sum()) - 1) < 0.05 and probs.min() >= 0
    assert m.ident == f"camtrap-demo@{m.card.sha256[:8]}"


def test_model_that_differs_from_the_card_hash_is_refused(model_dir: Path):
    data = bytearray((model_dir / "model.tflite").read_bytes())
    data[-1] ^= 0xFF
    (model_dir / "model.tflite").write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"model\.tflite: sha256 .* differs from the card's"):
        load_model(model_dir / "model.tflite")


def test_hash_check_can_be_turned_off(model_dir: Path):
    edit_card(model_dir, sha256="0" * 64)
    assert load_model(model_dir / "model.tflite", check_hash=False).card is not None
    with pytest.raises(ModelError, match="sha256"):
        load_model(model_dir / "model.tflite")


def test_card_for_another_file_is_refused(model_dir: Path):
    edit_card(model_dir, file="other.tflite")
    with pytest.raises(ModelError, match=r"model\.json: file: card is for 'other\.tflite'"):
        load_model(model_dir / "model.tflite")


def test_output_size_must_equal_the_number_of_labels(model_dir: Path):
    edit_card(model_dir, labels=None)
    labels = (model_dir / "labels.txt").read_text().splitlines()
    (model_dir / "labels.txt").write_text("\n".join([*labels, "extra"]))
    with pytest.raises(ModelError, match=r"7 output classes but 8 labels"):
        load_model(model_dir / "model.tflite")


def test_labels_that_differ_from_the_card_are_refused(model_dir: Path):
    (model_dir / "labels.txt").write_text("a\nb\nc\nd\ne\nf\ng\n")
    with pytest.raises(ModelError, match=r"model\.json: labels: differ from the labels file"):
        load_model(model_dir / "model.tflite")


def test_one_label_short_means_a_leading_background_class(model_dir: Path):
    (model_dir / "model.json").unlink()
    labels = (model_dir / "labels.txt").read_text().splitlines()
    (model_dir / "labels.txt").write_text("\n".join(labels[1:]) + "\n")
    clf = load_model(model_dir / "model.tflite").classifier
    assert clf.labels[0] == "background" and clf.labels[1:] == tuple(labels[1:])


def test_card_input_size_must_match_the_tensor(model_dir: Path):
    card = json.loads((model_dir / "model.json").read_text())
    card["input"]["width"] += 32
    (model_dir / "model.json").write_text(json.dumps(card))
    want = f"{card['input']['width']}x{card['input']['height']}"
    with pytest.raises(ModelError, match=rf"model\.json: input: card says {want}"):
        load_model(model_dir / "model.tflite")


def test_corrupt_card_is_a_model_error(model_dir: Path):
    (model_dir / "model.json").write_text("{not json")
    with pytest.raises(ModelError, match=r"model\.json: cannot read the model card"):
        load_model(model_dir / "model.tflite")


def test_missing_model_and_labels_are_named(tmp_path: Path):
    with pytest.raises(ModelError, match=r"nope\.tflite: model file not found"):
        load_model(tmp_path / "nope.tflite")
    (tmp_path / "m.tflite").write_bytes(b"x")
    with pytest.raises(ModelError, match=r"labels\.txt: labels file not found"):
        load_model(tmp_path / "m.tflite")


def test_corrupt_model_file_is_a_model_error(tmp_path: Path):
    (tmp_path / "m.tflite").write_bytes(b"\x00garbage" * 100)
    (tmp_path / "labels.txt").write_text("a\nb\n")
    with pytest.raises(ModelError, match=r"m\.tflite: not a usable TFLite model"):
        load_model(tmp_path / "m.tflite")


def test_blank_label_inside_the_file_is_refused(tmp_path: Path):
    (tmp_path / "m.tflite").write_bytes(b"x")
    (tmp_path / "labels.txt").write_text("a\n\nb\n")
    with pytest.raises(ModelError, match=r"labels\.txt: line 2: empty label"):
        load_model(tmp_path / "m.tflite")


@pytest.fixture(scope="module")
def float_logits_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny float32 model whose output is logits (no softmax), built with TensorFlow."""
    tf = pytest.importorskip("tensorflow", reason="TensorFlow ([train] extra) not installed")
    inp = tf.keras.Input((8, 8, 3), batch_size=1)
    x = tf.keras.layers.GlobalAveragePooling2D()(inp)
    out = tf.keras.layers.Dense(3, kernel_initializer="ones", bias_initializer="zeros")(x)
    model = tf.keras.Model(inp, out)
    model.layers[-1].set_weights(
        [np.array([[4, 0, 0], [0, 4, 0], [0, 0, 4]], np.float32), np.zeros(3, np.float32)]
    )
    data = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    folder = tmp_path_factory.mktemp("float")
    (folder / "model.tflite").write_bytes(data)
    (folder / "labels.txt").write_text("red\ngreen\nblue\n")
    return folder / "model.tflite"


@pytest.mark.train
def test_float_model_with_logits_gets_a_softmax(float_logits_model: Path):
    clf = load_model(float_logits_model).classifier
    assert clf.spec.dtype == "float32"
    pixels = np.zeros((8, 8, 3), np.uint8)
    pixels[..., 0] = 255  # red: real input 1.0 -> logits (4, 0, 0)
    probs = clf.classify(pixels)
    want = np.exp([4.0, 0, 0]) / np.exp([4.0, 0, 0]).sum()
    assert np.allclose(probs, want, atol=1e-5)
