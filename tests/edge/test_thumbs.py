"""Inline images for the self-contained HTML report."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from PIL import Image

from camtrap.adapters.thumbs import thumbnail_uri


def test_a_thumbnail_fits_its_box_and_is_a_jpeg_data_uri(tmp_path: Path):
    path = tmp_path / "big.png"
    Image.fromarray(np.zeros((600, 1000, 3), np.uint8)).save(path)
    uri = thumbnail_uri(path)
    assert uri is not None and uri.startswith("data:image/jpeg;base64,")
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as img:
        assert img.size == (240, 144)


def test_an_unreadable_image_gives_no_thumbnail(tmp_path: Path):
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    assert thumbnail_uri(tmp_path / "bad.jpg") is None
