"""The model card (``model.json``, schema ``camtrap-model-card/1``) and the model directory.

A model directory holds ``model.tflite``, ``labels.txt`` (one label per line, in output order)
and ``model.json``. The card's ``sha256`` is the hash of the .tflite bytes, which the service
checks at load.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SCHEMA = "camtrap-model-card/1"
INPUT_SCALE = 1 / 255
INPUT_ZERO_POINT = -128


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_card(
    *,
    name: str,
    version: str,
    sha256: str,
    labels: Sequence[str],
    size: int,
    input_quant: tuple[float, int],
    targets: Sequence[str],
    decision: Mapping[str, Any],
    metrics: Mapping[str, Any],
    training: Mapping[str, Any],
) -> dict[str, Any]:
    """A model card per the shared contract."""
    scale, zero_point = input_quant
    return {
        "schema": SCHEMA,
        "name": name,
        "version": version,
        "file": "model.tflite",
        "sha256": sha256,
        "labels_file": "labels.txt",
        "labels": list(labels),
        "background_class": False,
        "input": {
            "width": size,
            "height": size,
            "channels": 3,
            "dtype": "int8",
            "scale": scale,
            "zero_point": zero_point,
            "resize": "squash",
        },
        "output": {"dtype": "int8", "classes": len(labels)},
        "targets": list(targets),
        "decision": dict(decision),
        "metrics": dict(metrics),
        "training": dict(training),
    }


def default_decision(k: int = 2, threshold: float = 0.5) -> dict[str, Any]:
    return {"rule": "k_of_n", "k": k, "threshold": threshold, "early_exit": True}


def write_model_dir(out: Path, tflite: bytes, labels: Sequence[str], card: dict[str, Any]) -> None:
    """Write model.tflite, labels.txt and model.json (the card gets the file's sha256)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.tflite").write_bytes(tflite)
    (out / "labels.txt").write_text("".join(f"{label}\n" for label in labels))
    card = {**card, "sha256": hashlib.sha256(tflite).hexdigest()}
    write_card(out, card)


def read_card(model_dir: Path) -> dict[str, Any]:
    """The card's JSON (the service's card reader), refused unless it is this schema."""
    from camtrap.adapters.model_card import CARD_NAME, read_card_json
    from camtrap.errors import UsageError

    path = model_dir / CARD_NAME
    card = read_card_json(path)
    if card.get("schema") != SCHEMA:
        raise UsageError(f"{path}: schema: want {SCHEMA!r}")
    return card


def write_card(model_dir: Path, card: Mapping[str, Any]) -> None:
    from camtrap.adapters.model_card import CARD_NAME, write_card_json

    write_card_json(model_dir / CARD_NAME, dict(card))
