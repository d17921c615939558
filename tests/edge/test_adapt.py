"""`camtrap adapt`'s workflow: embed real photos with the shared int8 extractor, fit, calibrate.

The end-to-end runs use ../shared (models and real photos) and skip where it is absent; the
bad-input checks that need no extractor run everywhere.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from camtrap.adapt import read_data, run_adapt, target_index
from camtrap.adapters.embedding import EmbeddingExtractor, HeadClassifier, load_head
from camtrap.core.modelcard import parse_card
from camtrap.errors import ModelError, UsageError

ROOT = Path(__file__).parents[2]
SHARED = ROOT.parent / "shared"
EXTRACTOR = (
    SHARED
    / "models"
    / "mobilenet_v1_embedding_extractor"
    / "mobilenet_v1_1.0_224_quant_embedding_extractor.tflite"
)
PHOTOS = SHARED / "realdata" / "photos"
DEMO = ROOT / "models" / "camtrap-demo" / "model.tflite"


def write_png(path: Path, value: int) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((16, 16, 3), value, np.uint8)).save(path)


def test_one_label_is_refused_naming_the_folder(tmp_path):
    write_png(tmp_path / "leopard" / "a.png", 10)
    with pytest.raises(UsageError, match=r"only one label \('leopard'\)"):
        read_data(tmp_path)


def test_an_empty_label_folder_is_refused_naming_it(tmp_path):
    write_png(tmp_path / "leopard" / "a.png", 10)
    write_png(tmp_path / "other" / "b.png", 10)
    (tmp_path / "deer").mkdir()
    with pytest.raises(UsageError, match=r"deer: empty label folder"):
        read_data(tmp_path)


def test_a_target_that_is_no_label_is_refused():
    with pytest.raises(UsageError, match=r"target 'tiger' is none of the labels"):
        target_index("tiger", ("leopard", "other"), Path("DATA"))


def test_a_classifier_is_not_an_extractor():
    with pytest.raises(ModelError, match=r"not an embedding extractor: its output is a softmax"):
        EmbeddingExtractor.open(DEMO)


def small_data(tmp_path: Path, per_label: int) -> Path:
    data = tmp_path / "data"
    for label in ("leopard", "other"):
        for p in sorted((PHOTOS / label).iterdir())[:per_label]:
            (data / label).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, data / label / p.name)
    return data


@pytest.fixture(scope="module")
def adapted(tmp_path_factory):
    if not EXTRACTOR.is_file() or not PHOTOS.is_dir():
        pytest.skip("../shared is not on this machine")
    tmp = tmp_path_factory.mktemp("adapt")
    data = small_data(tmp, 24)
    (data / "other" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    run = run_adapt(data, EXTRACTOR, "leopard", tmp / "site-model", progress=False)
    return run


@pytest.mark.shared
def test_adapt_writes_a_model_directory_the_card_describes(adapted):
    out = adapted.out
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["head.npz", "labels.txt", "model.json", EXTRACTOR.name]
    )
    raw = json.loads((out / "model.json").read_text())
    card = parse_card(raw, "model.json")
    assert card.head is not None and card.head.embedding == 1024 and card.targets == ("leopard",)
    assert card.decision.name == "k_of_n" and card.decision.k == 1
    assert 0 < card.decision.threshold < 1
    held = raw["metrics"]["held_out"]
    assert held["split"] == "test" and len(held["recall_ci95"]) == 2
    assert raw["training"]["data"]["skipped"] == {"undecodable": 1}


@pytest.mark.shared
def test_adapt_never_scores_the_test_split_it_reports_on_in_training(adapted):
    train, val, test = adapted.parts
    assert not set(train.groups) & set(test.groups)
    assert not set(val.groups) & set(test.groups)
    assert len(test) > 0 and adapted.adapted.held_out.targets > 0


@pytest.mark.shared
def test_the_adapted_head_finds_held_out_leopards(adapted):
    held = adapted.adapted.held_out
    assert held.recall >= 0.8 and held.fp <= 1


@pytest.mark.shared
def test_the_head_classifier_runs_extractor_then_head(adapted):
    out = adapted.out
    card = parse_card(json.loads((out / "model.json").read_text()), "model.json")
    assert card.head is not None
    head = load_head(out / "head.npz", card.head.sha256)
    classifier = HeadClassifier(EmbeddingExtractor.open(out / EXTRACTOR.name), head)
    from PIL import Image

    photo = sorted((PHOTOS / "leopard").iterdir())[-1]  # not among the 24 trained on
    pixels = np.asarray(Image.open(photo).convert("RGB").resize(classifier.input_size))
    probs = classifier.classify(pixels)
    assert probs.shape == (2,) and classifier.labels == ("leopard", "other")
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.shared
def test_a_stale_head_is_refused(adapted, tmp_path):
    with pytest.raises(ModelError, match="differs from the card's"):
        load_head(adapted.out / "head.npz", "0" * 64)
