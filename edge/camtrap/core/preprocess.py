"""Turn a camera frame into the model's input tensor: resize, then quantize.

Pure: arrays in, arrays out. The quantization comes from the input tensor's own parameters
(``real = scale * (q - zero_point)``), never from a guess about the model family:

* uint8 / int8 input: pixels 0..255 are mapped linearly onto the real range the tensor can
  represent (the range the converter calibrated on), then quantized with the tensor's scale and
  zero point. For MobileNet's uint8 input (scale 1/128, zero point 128, real range -1..1) and for
  a Keras int8 input (scale 1/255, zero point -128, real range 0..1) this is what the model was
  trained on.
* float32 input: pixels are mapped onto ``InputSpec.float_range`` (0..1 unless the model card
  says otherwise).

>>> spec = InputSpec(2, 1, "int8", scale=1 / 255, zero_point=-128)
>>> to_input(np.array([[[0, 128, 255], [255, 255, 255]]], np.uint8), spec).ravel().tolist()
[-128, 0, 127, 127, 127, 127]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

InputDtype = Literal["uint8", "int8", "float32"]
ResizeMode = Literal["squash", "crop"]

_QRANGE = {"uint8": (0, 255), "int8": (-128, 127)}


@dataclass(frozen=True)
class InputSpec:
    """The model's input tensor: size, element type and quantization."""

    width: int
    height: int
    dtype: InputDtype
    scale: float = 0.0  # quantized types only
    zero_point: int = 0
    float_range: tuple[float, float] = (0.0, 1.0)  # float32 only: real value of pixels 0 / 255

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1:
            raise ValueError(f"input size must be positive, got {self.width}x{self.height}")
        if self.dtype not in ("uint8", "int8", "float32"):
            raise ValueError(f"unsupported input dtype {self.dtype!r}")
        if self.dtype != "float32" and not self.scale > 0:
            raise ValueError(f"{self.dtype} input needs a positive scale, got {self.scale}")

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


def resize(
    pixels: np.ndarray,
    size: tuple[int, int],
    mode: ResizeMode = "squash",
    reducing_gap: float | None = None,
) -> np.ndarray:
    """Resize an H x W x 3 uint8 image to ``size`` = (width, height).

    ``squash`` stretches the whole frame (aspect ratio not kept); ``crop`` takes the largest
    centred region with the target aspect ratio first. ``reducing_gap`` lets Pillow reduce a
    large frame by a whole factor first (much cheaper from a full-resolution frame).
    """
    h, w = pixels.shape[:2]
    if (w, h) == tuple(size):
        return pixels
    img = Image.fromarray(pixels)
    if mode == "crop":
        img = img.crop(centre_box(w, h, size[0] / size[1]))
    return np.asarray(img.resize(size, Image.Resampling.BILINEAR, reducing_gap=reducing_gap))


def centre_box(w: int, h: int, aspect: float) -> tuple[int, int, int, int]:
    if w / h > aspect:
        cw = max(1, round(h * aspect))
        left = (w - cw) // 2
        return (left, 0, left + cw, h)
    ch = max(1, round(w / aspect))
    top = (h - ch) // 2
    return (0, top, w, top + ch)


def real_range(spec: InputSpec) -> tuple[float, float]:
    """The real values that pixels 0 and 255 stand for."""
    if spec.dtype == "float32":
        return spec.float_range
    qmin, qmax = _QRANGE[spec.dtype]
    return (spec.scale * (qmin - spec.zero_point), spec.scale * (qmax - spec.zero_point))


def to_input(pixels: np.ndarray, spec: InputSpec) -> np.ndarray:
    """A 1 x H x W x 3 tensor of the spec's dtype from H x W x 3 uint8 pixels at the spec's size."""
    if pixels.shape != (spec.height, spec.width, 3) or pixels.dtype != np.uint8:
        raise ValueError(
            f"want {spec.height}x{spec.width}x3 uint8 pixels, got {pixels.shape} {pixels.dtype}"
        )
    shortcut = _shortcut(spec)
    if shortcut == "same":  # uint8 input whose values are the pixels themselves
        return np.ascontiguousarray(pixels)[np.newaxis]
    if shortcut == "xor":  # int8 input = pixel - 128: flip the top bit, reinterpret
        return (pixels ^ np.uint8(0x80)).view(np.int8)[np.newaxis]
    return lookup_table(spec)[pixels][np.newaxis]


@functools.lru_cache(maxsize=8)
def _shortcut(spec: InputSpec) -> str | None:
    """A cheaper exact equivalent of the lookup table, when there is one."""
    table = lookup_table(spec).astype(np.int16)
    pixels = np.arange(256, dtype=np.int16)
    if spec.dtype == "uint8" and np.array_equal(table, pixels):
        return "same"
    if spec.dtype == "int8" and np.array_equal(table, pixels - 128):
        return "xor"
    return None


@functools.lru_cache(maxsize=8)
def lookup_table(spec: InputSpec) -> np.ndarray:
    """The input value of each of the 256 pixel values (one table lookup per frame is cheap)."""
    lo, hi = real_range(spec)
    real = lo + np.arange(256, dtype=np.float64) * ((hi - lo) / 255.0)
    if spec.dtype == "float32":
        return real.astype(np.float32)
    qmin, qmax = _QRANGE[spec.dtype]
    q = np.rint(real / spec.scale + spec.zero_point)
    return np.clip(q, qmin, qmax).astype(spec.dtype)


def dequantize(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Real values of a quantized output tensor (float tensors pass through, scale 0)."""
    if scale == 0:
        return values.astype(np.float32)
    return (values.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64) - np.max(logits)
    e = np.exp(z)
    return (e / e.sum()).astype(np.float32)


def as_probabilities(values: np.ndarray, tolerance: float = 0.02) -> np.ndarray:
    """``values`` if they already are probabilities (0..1, summing to 1), else their softmax."""
    v = values.astype(np.float32).ravel()
    if v.size and v.min() >= -1e-6 and v.max() <= 1 + 1e-6 and abs(float(v.sum()) - 1) <= tolerance:
        return v
    return softmax(v)
