"""Replayed photos are decoded upright (EXIF orientation applied); stored bytes stay as recorded."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from camtrap.sim.replay_camera import ORIENTATION, decode_frame

ODD = Path(__file__).parents[2].parent / "shared" / "realdata" / "odd"


def sideways_jpeg(orientation: int) -> bytes:
    """A 64x32 picture: left half red, right half blue, tagged with an EXIF orientation."""
    pixels = np.zeros((32, 64, 3), np.uint8)
    pixels[:, :32] = (255, 0, 0)
    pixels[:, 32:] = (0, 0, 255)
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


def test_orientation_6_turns_the_picture_upright_and_keeps_the_bytes():
    data = sideways_jpeg(6)  # "rotate 90 CW to view": the left (red) half ends on top
    frame = decode_frame(data, 0, 0.0, "a.jpg", draft_size=None)
    assert frame.pixels.shape == (64, 32, 3)
    assert frame.pixels[5, 16, 0] > 200 and frame.pixels[58, 16, 2] > 200
    assert frame.image == data


def test_orientation_1_leaves_the_picture_as_stored():
    frame = decode_frame(sideways_jpeg(1), 0, 0.0, "a.jpg", draft_size=(32, 32))
    assert frame.pixels.shape == (32, 64, 3)


@pytest.mark.shared
@pytest.mark.skipif(not ODD.is_dir(), reason="../shared/realdata is not on this machine")
def test_the_shared_rotated_elephants_decode_upright():
    data = (ODD / "st_african_elephants_with_exif_orientation.jpg").read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        stored, orientation = img.size, img.getexif().get(ORIENTATION, 1)
    frame = decode_frame(data, 0, 0.0, "e.jpg", draft_size=None)
    h, w = frame.pixels.shape[:2]
    turned = orientation in (5, 6, 7, 8)
    assert orientation != 1 and (w, h) == (stored[::-1] if turned else stored)
