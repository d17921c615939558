"""An int8/uint8 TFLite embedding extractor and the numpy head on it, as one `Classifier`.

`camtrap adapt` trains a head (`camtrap.core.head`) on the embeddings of a site's photos; the
model directory it writes holds the extractor, the head (``head.npz``) and a card whose
``head`` key names it. `HeadClassifier` runs extractor then head, so replay, run, evaluate,
calibrate and regions use it like any classifier. `tensor_facts` reads what a .tflite says
about its tensors (for `camtrap card init`), and `check_extractor` refuses a model that is a
classifier (softmax output) rather than an embedding extractor.

    extractor = EmbeddingExtractor.open(Path("extractor.tflite"))
    vector = extractor.embed(pixels)            # pixels: H x W x 3 uint8 at input_size
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from camtrap.adapters.litert import open_interpreter
from camtrap.core.head import Head, HeadError, head_from_arrays
from camtrap.core.modelcard import TensorFacts
from camtrap.core.preprocess import InputSpec, dequantize, to_input
from camtrap.errors import ModelError

MIN_EMBEDDING = 16  # fewer output values than this is a tiny classifier, not an embedding


def read_model_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    try:
        return path.read_bytes()
    except OSError as e:
        raise ModelError(f"{path}: cannot read: {e}") from None


def _quant(detail: dict[str, Any]) -> tuple[float, int]:
    scale, zero_point = detail.get("quantization", (0.0, 0))
    return float(scale), int(zero_point)


def facts_of(interpreter: Any) -> TensorFacts:
    i, o = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    scale, zp = _quant(i)
    return TensorFacts(
        input_shape=tuple(int(x) for x in i["shape"]),
        input_dtype=np.dtype(i["dtype"]).name,
        input_scale=scale,
        input_zero_point=zp,
        output_shape=tuple(int(x) for x in o["shape"]),
        output_dtype=np.dtype(o["dtype"]).name,
    )


def tensor_facts(path: Path, num_threads: int = 1) -> tuple[TensorFacts, str]:
    """The tensors of a .tflite file and the sha256 of its bytes."""
    data = read_model_bytes(path)
    return facts_of(open_interpreter(path, data, num_threads)), hashlib.sha256(data).hexdigest()


def is_softmax_output(detail: dict[str, Any]) -> bool:
    """Quantized softmax outputs use scale 1/256 (uint8 zero point 0, int8 zero point -128)."""
    scale, zp = _quant(detail)
    kind = np.dtype(detail["dtype"]).name
    return abs(scale - 1 / 256) < 1e-9 and (kind, zp) in (("uint8", 0), ("int8", -128))


def check_extractor(path: Path, interpreter: Any) -> int:
    """The embedding size, or a `ModelError` saying why the model is not an extractor."""
    o = interpreter.get_output_details()[0]
    shape = [int(x) for x in o["shape"]]
    values = int(np.prod(shape[1:])) if len(shape) >= 2 else 0
    if is_softmax_output(o):
        raise ModelError(
            f"{path}: not an embedding extractor: its output is a softmax over {values} classes "
            "(give the extractor, e.g. mobilenet_v1_1.0_224_quant_embedding_extractor.tflite)"
        )
    if shape[0] != 1 or any(d != 1 for d in shape[1:-1]) or values < MIN_EMBEDDING:
        raise ModelError(
            f"{path}: not an embedding extractor: output shape {shape}, want [1, D] or "
            f"[1, 1, 1, D] with D >= {MIN_EMBEDDING}"
        )
    return values


class EmbeddingExtractor:
    """The penultimate layer of a network: pixels in, a float32 embedding out."""

    def __init__(self, interpreter: Any, spec: InputSpec, dims: int) -> None:
        self._it = interpreter
        self.spec = spec
        self.input_size = spec.size
        self.dims = dims
        self._in = interpreter.get_input_details()[0]
        self._out = interpreter.get_output_details()[0]
        self._q = _quant(self._out)

    @classmethod
    def open(cls, path: Path, num_threads: int = 2) -> EmbeddingExtractor:
        interpreter = open_interpreter(path, read_model_bytes(path), num_threads)
        dims = check_extractor(path, interpreter)
        return cls(interpreter, input_spec(path, facts_of(interpreter)), dims)

    def embed(self, pixels: np.ndarray) -> np.ndarray:
        return self.values(self.invoke(to_input(pixels, self.spec)))

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        """Run the extractor on an input tensor; returns the raw output (one row)."""
        self._it.set_tensor(self._in["index"], tensor)
        self._it.invoke()
        return self._it.get_tensor(self._out["index"]).reshape(-1)

    def values(self, raw: np.ndarray) -> np.ndarray:
        """The embedding (float32) from a raw output row."""
        return dequantize(raw, *self._q)


def input_spec(path: Path, facts: TensorFacts) -> InputSpec:
    shape = facts.input_shape
    if len(shape) != 4 or shape[0] != 1 or shape[3] != 3:
        raise ModelError(f"{path}: input shape {list(shape)}: want [1, height, width, 3]")
    if facts.input_dtype not in ("uint8", "int8", "float32"):
        raise ModelError(f"{path}: input dtype {facts.input_dtype}: want uint8, int8 or float32")
    kind = facts.input_dtype
    return InputSpec(shape[2], shape[1], kind, facts.input_scale, facts.input_zero_point)  # type: ignore[arg-type]


class HeadClassifier:
    """The `Classifier` port: extractor, then the numpy head; probabilities in head label order."""

    labels: Sequence[str]
    input_size: tuple[int, int]

    def __init__(self, extractor: EmbeddingExtractor, head: Head) -> None:
        if head.dims != extractor.dims:
            raise ModelError(
                f"head takes {head.dims}-value embeddings, the extractor gives {extractor.dims}"
            )
        self.extractor, self.head = extractor, head
        self.labels = head.labels
        self.input_size = extractor.input_size
        self.spec = extractor.spec

    def classify(self, pixels: np.ndarray) -> np.ndarray:
        return self.head.probabilities(self.extractor.embed(pixels))

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        """The extractor's raw output (what `camtrap bench` times as inference)."""
        return self.extractor.invoke(tensor)

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        """The head's class probabilities from the extractor's raw output."""
        return self.head.probabilities(self.extractor.values(raw))


def load_head(path: Path, sha256: str | None = None) -> Head:
    """A head file (``numpy.savez``, no pickles); the card's sha256 is checked when given."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{path}: head file not found") from None
    except OSError as e:
        raise ModelError(f"{path}: cannot read: {e}") from None
    sha = hashlib.sha256(data).hexdigest()
    if sha256 is not None and sha != sha256:
        raise ModelError(
            f"{path}: sha256 {sha[:12]}... differs from the card's {sha256[:12]}...; "
            "the head or the card is stale"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as f:
            return head_from_arrays({k: f[k] for k in f.files}, str(path))
    except HeadError as e:
        raise ModelError(str(e)) from None
    except (OSError, ValueError) as e:
        raise ModelError(f"{path}: not a head file: {e}") from None
