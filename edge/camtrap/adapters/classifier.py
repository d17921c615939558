"""The TFLite classifier adapter: LiteRT (``ai_edge_litert``), else ``tflite_runtime``.

Loads a model once and classifies frames with it. Whatever the model's input type (uint8, int8
or float32), the tensor's own quantization parameters drive the conversion; outputs are
dequantized, and a softmax is applied only when they are not probabilities already. A model
whose output has one class more than the labels file has a leading background class.

Loading checks everything it can and raises `ModelError` naming the file and the problem: a
missing or corrupt model, labels or card; a sha256 that differs from the card's; tensor shapes
or types that differ from the card; an output size that is not the number of labels.

``model`` is a ``.tflite`` file (its card, if any, is ``model.json`` beside it) or a model
directory, whose ``model.json`` names the file to run. A card with a ``head`` key describes a
`camtrap adapt` model: the .tflite is an embedding extractor and the classifier is
`camtrap.adapters.embedding.HeadClassifier` (extractor, then the numpy head), checked alike
(the head's sha256, its labels against the labels file, its size against the extractor's).

    model = load_model("models/camtrap-demo/model.tflite", num_threads=2)
    probs = model.classifier.classify(pixels)   # pixels: H x W x 3 uint8 at input_size
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from camtrap.adapters.litert import open_interpreter
from camtrap.adapters.model_card import CARD_NAME, read_card
from camtrap.core.modelcard import ModelCard
from camtrap.core.preprocess import InputSpec, as_probabilities, dequantize, to_input
from camtrap.errors import ModelError

BACKGROUND = "background"


class TfliteClassifier:
    """The `Classifier` port over a TFLite interpreter."""

    labels: Sequence[str]
    input_size: tuple[int, int]

    def __init__(self, interpreter: Any, labels: tuple[str, ...], spec: InputSpec) -> None:
        self._it = interpreter
        self.labels = labels
        self.spec = spec
        self.input_size = spec.size
        self._in = interpreter.get_input_details()[0]
        self._out = interpreter.get_output_details()[0]
        self._out_q = _quant(self._out)
        self._softmax_output = _is_softmax_quantization(self._out)

    def classify(self, pixels: np.ndarray) -> np.ndarray:
        return self.probabilities(self.invoke(to_input(pixels, self.spec)))

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        """Run the model on an input tensor; returns the raw output tensor (one row)."""
        self._it.set_tensor(self._in["index"], tensor)
        self._it.invoke()
        return self._it.get_tensor(self._out["index"]).ravel()

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        """Dequantized class probabilities from a raw output row."""
        values = dequantize(raw, *self._out_q)
        if self._softmax_output:
            return np.clip(values, 0.0, 1.0)
        return as_probabilities(values)


@dataclass(frozen=True)
class LoadedModel:
    classifier: Any  # TfliteClassifier, or HeadClassifier for a `camtrap adapt` model
    card: ModelCard | None
    path: Path
    sha256: str

    @property
    def ident(self) -> str:
        """``name@sha256-prefix`` for provenance (the file stem when there is no card)."""
        name = self.card.name if self.card else self.path.stem
        return f"{name}@{self.sha256[:8]}"


def load_model(
    model: str | Path, labels: str | Path = "", num_threads: int = 2, check_hash: bool = True
) -> LoadedModel:
    """Load and check a model, its labels and its card (``model.json`` beside it, optional)."""
    path = model_file(Path(model))
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    data = _read_bytes(path)
    sha = hashlib.sha256(data).hexdigest()
    card = read_card(path.parent / CARD_NAME)
    if card is not None:
        _check_card_file(card, path, sha, check_hash)
    label_list = read_labels(_labels_path(path, labels, card))
    if card is not None and card.labels is not None and tuple(card.labels) != label_list:
        raise ModelError(f"{card.source}: labels: differ from the labels file")
    if card is not None and card.head is not None:
        return _load_adapted(path, data, sha, card, label_list, num_threads, check_hash)
    interpreter = open_interpreter(path, data, num_threads)
    spec = _input_spec(path, interpreter.get_input_details()[0], card)
    label_list = _match_output(path, interpreter.get_output_details()[0], label_list, card)
    return LoadedModel(TfliteClassifier(interpreter, label_list, spec), card, path, sha)


def model_file(path: Path) -> Path:
    """The .tflite to run: ``path`` itself, or the file a model directory's card names."""
    if not path.is_dir():
        return path
    card = read_card(path / CARD_NAME)
    if card is None:
        raise ModelError(
            f"{path}: a model directory needs a {CARD_NAME} (write one: camtrap card init)"
        )
    return path / card.file


def _load_adapted(
    path: Path,
    data: bytes,
    sha: str,
    card: ModelCard,
    labels: tuple[str, ...],
    num_threads: int,
    check_hash: bool,
) -> LoadedModel:
    """A `camtrap adapt` model: the extractor at ``path`` and the head the card names."""
    from camtrap.adapters.embedding import (
        EmbeddingExtractor,
        HeadClassifier,
        check_extractor,
        facts_of,
        input_spec,
        load_head,
    )

    assert card.head is not None
    interpreter = open_interpreter(path, data, num_threads)
    dims = check_extractor(path, interpreter)
    spec = input_spec(path, facts_of(interpreter))
    _check_card_input(card, path, spec.size, spec.dtype)
    head = load_head(path.parent / card.head.file, card.head.sha256 if check_hash else None)
    if head.labels != labels:
        raise ModelError(f"{path.parent / card.head.file}: labels differ from the labels file")
    if card.head.embedding != dims or card.output_classes != len(labels):
        raise ModelError(
            f"{card.source}: head: card says {card.head.embedding} values in, "
            f"{card.output_classes} classes out; model gives {dims}, labels {len(labels)}"
        )
    classifier = HeadClassifier(EmbeddingExtractor(interpreter, spec, dims), head)
    return LoadedModel(classifier, card, path, sha)


def read_labels(path: Path) -> tuple[str, ...]:
    """One label per line; blank lines at the end are ignored, blank lines inside are errors."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ModelError(f"{path}: labels file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ModelError(f"{path}: cannot read the labels file: {e}") from None
    while lines and not lines[-1].strip():
        lines.pop()
    for i, line in enumerate(lines, 1):
        if not line.strip():
            raise ModelError(f"{path}: line {i}: empty label")
    if not lines:
        raise ModelError(f"{path}: no labels")
    return tuple(line.strip() for line in lines)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise ModelError(f"{path}: cannot read: {e}") from None


def _check_card_file(card: ModelCard, path: Path, sha: str, check_hash: bool) -> None:
    if card.file != path.name:
        raise ModelError(f"{card.source}: file: card is for {card.file!r}, not {path.name!r}")
    if check_hash and card.sha256 != sha:
        raise ModelError(
            f"{path}: sha256 {sha[:12]}... differs from the card's {card.sha256[:12]}... "
            f"({card.source}); the model or the card is stale"
        )


def _labels_path(path: Path, labels: str | Path, card: ModelCard | None) -> Path:
    if labels:
        return Path(labels)
    return path.parent / (card.labels_file if card else "labels.txt")


def _quant(detail: dict[str, Any]) -> tuple[float, int]:
    scale, zero_point = detail.get("quantization", (0.0, 0))
    return float(scale), int(zero_point)


def _is_softmax_quantization(detail: dict[str, Any]) -> bool:
    """Quantized softmax outputs use scale 1/256 (uint8 zero point 0, int8 zero point -128)."""
    scale, zp = _quant(detail)
    kind = np.dtype(detail["dtype"]).name
    return abs(scale - 1 / 256) < 1e-9 and (kind, zp) in (("uint8", 0), ("int8", -128))


def _input_spec(path: Path, detail: dict[str, Any], card: ModelCard | None) -> InputSpec:
    shape = tuple(int(x) for x in detail["shape"])
    kind = np.dtype(detail["dtype"]).name
    if len(shape) != 4 or shape[0] != 1 or shape[3] != 3:
        raise ModelError(f"{path}: input shape {list(shape)}: want [1, height, width, 3]")
    if kind not in ("uint8", "int8", "float32"):
        raise ModelError(f"{path}: input dtype {kind}: want uint8, int8 or float32")
    scale, zp = _quant(detail)
    if kind != "float32" and scale <= 0:
        raise ModelError(f"{path}: {kind} input without quantization parameters")
    if card is not None:
        _check_card_input(card, path, (shape[2], shape[1]), kind)
    rng = card.input.range if card is not None and card.input.range else (0.0, 1.0)
    return InputSpec(shape[2], shape[1], kind, scale, zp, rng)  # type: ignore[arg-type]


def _check_card_input(card: ModelCard, path: Path, size: tuple[int, int], kind: str) -> None:
    if card.input.size != size:
        raise ModelError(
            f"{card.source}: input: card says {card.input.width}x{card.input.height}, "
            f"{path.name} takes {size[0]}x{size[1]}"
        )
    if card.input.dtype != kind:
        raise ModelError(f"{card.source}: input.dtype: card says {card.input.dtype}, model {kind}")


def _match_output(
    path: Path, detail: dict[str, Any], labels: tuple[str, ...], card: ModelCard | None
) -> tuple[str, ...]:
    shape = tuple(int(x) for x in detail["shape"])
    if len(shape) != 2 or shape[0] != 1:
        raise ModelError(f"{path}: output shape {list(shape)}: want [1, classes]")
    classes = shape[1]
    if card is not None and card.output_classes != classes:
        raise ModelError(
            f"{card.source}: output.classes: card says {card.output_classes}, model has {classes}"
        )
    if classes == len(labels) + 1:  # a leading background class the labels file leaves out
        return (BACKGROUND, *labels)
    if classes != len(labels):
        raise ModelError(f"{path}: {classes} output classes but {len(labels)} labels")
    return labels
