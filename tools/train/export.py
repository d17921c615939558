"""Full-integer int8 export of a trained Keras model (int8 input and output).

The representative dataset is a sample of real training images, so the converter calibrates
every activation range on the data the trap will see. The input is pixels/255 quantized with
scale 1/255 and zero point -128 (pixel value - 128), exactly what the service computes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf  # pyright: ignore[reportMissingImports]

from tools.train.model import as_float, keras


def representative(images: np.ndarray, limit: int = 200, seed: int = 0) -> Iterator[list]:
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(images))[:limit]
    for i in pick:
        yield [as_float(images[i : i + 1])]


def to_int8_tflite(model: keras.Model, calibration: np.ndarray, seed: int = 0) -> bytes:
    """The model as a full-integer int8 TFLite flatbuffer."""
    with tempfile.TemporaryDirectory() as tmp:
        saved = os.path.join(tmp, "saved")
        model.export(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: representative(calibration, seed=seed)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        return bytes(converter.convert())


def write_tflite(data: bytes, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
