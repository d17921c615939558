"""Model card parsing: known keys typed and ranged, errors name the card and the key."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from camtrap.core.modelcard import EXAMPLE, parse_card
from camtrap.errors import ModelError

DEMO_CARD = Path(__file__).parents[2] / "models" / "camtrap-demo" / "model.json"


def card(**changes: object) -> dict:
    raw = copy.deepcopy(EXAMPLE)
    for dotted, value in changes.items():
        *path, key = dotted.split("__")
        node = raw
        for p in path:
            node = node[p]
        if value is None:
            del node[key]
        else:
            node[key] = value
    return raw


def test_example_card_parses():
    c = parse_card(card(), "m.json")
    assert c.targets == ("leopard",) and c.input.dtype == "int8" and c.output_classes == 2
    assert c.decision.describe() == "k_of_n:2/0.50" and c.ident == "demo@00112233"


@pytest.mark.skipif(not DEMO_CARD.exists(), reason="no bundled demo model")
def test_bundled_demo_card_parses():
    c = parse_card(json.loads(DEMO_CARD.read_text()), str(DEMO_CARD))
    assert c.name == "camtrap-demo" and len(c.sha256) == 64


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schema": "camtrap-model-card/9"}, r"m\.json: schema: must be"),
        ({"name": None}, r"m\.json: name: missing"),
        ({"sha256": "abc"}, r"sha256: must be 64 hex digits"),
        ({"input__dtype": "int16"}, r"input\.dtype: must be one of uint8, int8, float32"),
        ({"input__width": 0}, r"input\.width: must be in 1\.\.10000, got 0"),
        ({"input__scale": None}, r"input\.scale: missing"),
        ({"input__resize": "pad"}, r"input\.resize: must be one of squash, crop"),
        ({"output__classes": "7"}, r"output\.classes: must be a number, got '7'"),
        ({"decision__rule": "vote"}, r"decision\.rule: must be one of k_of_n, mean_top_k"),
        ({"decision__threshold": 2}, r"decision\.threshold: must be in 0\.\.1"),
        ({"decision__early_exit": "yes"}, r"decision\.early_exit: must be true or false"),
        ({"targets": "leopard"}, r"targets: must be a list"),
        ({"labels": ["a", 3]}, r"labels: must be a list of strings"),
        ({"colour": "red"}, r"colour: unknown key"),
    ],
)
def test_bad_card_names_the_file_and_key(changes, message):
    with pytest.raises(ModelError, match=message):
        parse_card(card(**changes), "m.json")


def test_float_card_needs_no_quantization_and_may_give_a_range():
    c = parse_card(
        card(
            input__dtype="float32", input__scale=None, input__zero_point=None, input__range=[-1, 1]
        ),
        "m.json",
    )
    assert c.input.range == (-1.0, 1.0) and c.input.scale == 0.0


def test_card_must_be_an_object():
    with pytest.raises(ModelError, match=r"m\.json: \(root\): must be an object"):
        parse_card([], "m.json")


# --------------------------------------------------------------------------------------------
# Label roll-up groups, adapted heads, and new cards from a model's tensors


def test_card_groups_parse_and_a_bad_group_names_its_key():
    card = parse_card({**EXAMPLE, "target_groups": {"cats": ["leopard", "jaguar"]}}, "m.json")
    assert [(g.name, g.members) for g in card.target_groups] == [("cats", ("leopard", "jaguar"))]
    with pytest.raises(ModelError, match=r"m\.json: target_groups\.cats: must be a non-empty"):
        parse_card({**EXAMPLE, "target_groups": {"cats": []}}, "m.json")


def test_a_head_needs_its_sha256():
    head = {"file": "head.npz", "sha256": "ab" * 32, "embedding": 1024, "classes": 2}
    assert parse_card({**EXAMPLE, "head": head}).head is not None
    with pytest.raises(ModelError, match=r"head\.sha256: missing"):
        parse_card({**EXAMPLE, "head": {k: v for k, v in head.items() if k != "sha256"}})


def test_new_card_describes_a_uint8_model_with_a_background_class():
    from camtrap.core.modelcard import TensorFacts, new_card
    from camtrap.core.targets import parse_group

    facts = TensorFacts((1, 224, 224, 3), "uint8", 0.0078125, 128, (1, 1001), "uint8")
    labels = tuple(f"class {i}" for i in range(1000))
    card = new_card(
        "mnv2", "m.tflite", "cd" * 32, facts, labels, ("cats",), (parse_group("cats=class 1"),)
    )
    assert card["background_class"] is True and card["output"] == {
        "dtype": "uint8",
        "classes": 1001,
    }
    assert card["input"]["scale"] == 0.0078125 and card["input"]["zero_point"] == 128
    assert card["target_groups"] == {"cats": ["class 1"]}
    assert parse_card(card).decision.k == 1


def test_new_card_refuses_an_input_that_is_not_an_image():
    from camtrap.core.modelcard import TensorFacts, new_card

    facts = TensorFacts((1, 100), "float32", 0.0, 0, (1, 2), "float32")
    with pytest.raises(ModelError, match=r"input shape \[1, 100\]"):
        new_card("x", "x.tflite", "cd" * 32, facts, ("a", "b"))
