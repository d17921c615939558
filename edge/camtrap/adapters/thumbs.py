"""Images for the self-contained HTML report: thumbnails and PNGs as ``data:`` URIs.

The report must be one file a survey team can mail or open offline, so every picture in it is
inlined. Thumbnails are decoded upright (EXIF orientation), fitted into a box and re-encoded
as JPEG; a file that cannot be read gives None (its burst is already listed as an error).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

THUMB_BOX = (240, 180)


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def png_uri(path: Path) -> str | None:
    try:
        return data_uri(path.read_bytes(), "image/png")
    except OSError:
        return None


def thumbnail_uri(path: Path, box: tuple[int, int] = THUMB_BOX, quality: int = 80) -> str | None:
    """A JPEG thumbnail of the image at ``path``, at most ``box`` (w, h), as a data URI."""
    try:
        with Image.open(path) as img:
            img.draft("RGB", (box[0] * 2, box[1] * 2))
            upright = ImageOps.exif_transpose(img) or img
            small = upright.convert("RGB")
            small.thumbnail(box, Image.Resampling.BILINEAR)
            buf = io.BytesIO()
            small.save(buf, "JPEG", quality=quality)
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
        return None
    return data_uri(buf.getvalue(), "image/jpeg")
