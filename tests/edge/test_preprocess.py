"""Preprocessing: resize modes and quantization from the tensor's own parameters."""

from __future__ import annotations

import numpy as np
import pytest

from camtrap.core.preprocess import (
    InputSpec,
    as_probabilities,
    dequantize,
    real_range,
    resize,
    softmax,
    to_input,
)

PIXELS = np.array([[[0, 1, 127], [128, 254, 255]]], dtype=np.uint8)  # 1 x 2 x 3


def test_int8_keras_input_maps_pixels_0_255_onto_minus128_127():
    spec = InputSpec(2, 1, "int8", scale=1 / 255, zero_point=-128)
    assert to_input(PIXELS, spec).ravel().tolist() == [-128, -127, -1, 0, 126, 127]


def test_uint8_mobilenet_input_keeps_pixel_values():
    spec = InputSpec(2, 1, "uint8", scale=1 / 128, zero_point=128)
    out = to_input(PIXELS, spec)
    assert out.dtype == np.uint8 and out.shape == (1, 1, 2, 3)
    assert np.abs(out.astype(int) - PIXELS.astype(int)).max() <= 1


def test_quantized_input_dequantizes_to_the_real_range_within_half_a_step():
    spec = InputSpec(2, 1, "int8", scale=0.02, zero_point=-5)
    lo, hi = real_range(spec)
    real = dequantize(to_input(PIXELS, spec), spec.scale, spec.zero_point)
    want = lo + PIXELS.astype(np.float32) * (hi - lo) / 255
    assert np.abs(real - want).max() <= spec.scale / 2 + 1e-6


def test_float_input_uses_the_float_range():
    unit = to_input(PIXELS, InputSpec(2, 1, "float32"))
    assert unit.dtype == np.float32
    assert unit.ravel()[[0, 5]].tolist() == [0.0, 1.0]
    signed = to_input(PIXELS, InputSpec(2, 1, "float32", float_range=(-1.0, 1.0)))
    assert signed.ravel()[[0, 5]].tolist() == [-1.0, 1.0]


def test_to_input_refuses_pixels_of_another_size():
    with pytest.raises(ValueError, match="want 2x2x3"):
        to_input(PIXELS, InputSpec(2, 2, "int8", scale=1 / 255, zero_point=-128))


def test_quantized_spec_without_scale_is_refused():
    with pytest.raises(ValueError, match="positive scale"):
        InputSpec(2, 2, "uint8")


def test_squash_resize_stretches_the_whole_frame():
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, :20] = 255  # a white band on the left quarter
    out = resize(img, (10, 10), "squash")
    assert out.shape == (10, 10, 3)
    assert out[:, 0].min() == 255  # the band is still there


def test_crop_resize_takes_the_centre_region():
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, :20] = 255  # outside the centred 40x40 square
    out = resize(img, (10, 10), "crop")
    assert out.shape == (10, 10, 3) and out.max() == 0


def test_resize_is_a_no_op_at_the_target_size():
    img = np.zeros((6, 8, 3), np.uint8)
    assert resize(img, (8, 6)) is img


def test_probabilities_pass_through_and_logits_get_a_softmax():
    probs = np.array([0.1, 0.7, 0.2], np.float32)
    assert np.array_equal(as_probabilities(probs), probs)
    logits = np.array([2.0, -1.0, 5.0], np.float32)
    out = as_probabilities(logits)
    assert abs(float(out.sum()) - 1) < 1e-6 and int(out.argmax()) == 2
    assert np.allclose(out, softmax(logits))


def test_dequantize_float_output_passes_through():
    values = np.array([0.25, 0.75], np.float32)
    assert np.array_equal(dequantize(values, 0.0, 0), values)
    assert dequantize(np.array([-128, 127], np.int8), 1 / 256, -128).tolist() == [0.0, 255 / 256]


@pytest.mark.parametrize(
    "spec",
    [
        InputSpec(16, 16, "uint8", scale=1 / 255, zero_point=0),  # identity shortcut
        InputSpec(16, 16, "int8", scale=1 / 255, zero_point=-128),  # top-bit shortcut
        InputSpec(16, 16, "uint8", scale=1 / 128, zero_point=128),  # general table
        InputSpec(16, 16, "int8", scale=0.03, zero_point=7),
    ],
)
def test_every_conversion_path_equals_the_quantization_formula(spec):
    pixels = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    lo, hi = real_range(spec)
    real = lo + pixels.astype(np.float64) * (hi - lo) / 255
    qmin, qmax = (0, 255) if spec.dtype == "uint8" else (-128, 127)
    want = np.clip(np.rint(real / spec.scale + spec.zero_point), qmin, qmax)
    got = to_input(pixels, spec)
    assert got.dtype == np.dtype(spec.dtype) and np.array_equal(got[0], want.astype(spec.dtype))
