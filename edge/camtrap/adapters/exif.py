"""Put a frame's EXIF (`camtrap.core.exif`) into its encoded bytes, and read it back.

JPEG: the EXIF goes in as an APP1 segment right after SOI, the scan data untouched (no
re-encoding, so no generation loss). PNG: an ``eXIf`` chunk before the first ``IDAT``. BMP has
no place for EXIF, so a BMP frame is stored as a (lossless) PNG carrying it. A frame that
already carries EXIF (a trail camera's photo replayed) keeps its own, byte for byte: the
original camera's record is the evidence; the burst record still names the event.

    data = with_exif(jpeg_bytes, frame_exif(stamp, trap, deployment))
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from camtrap.core.exif import EXIF_IFD, GPS_IFD, ExifSpec

_SOI = b"\xff\xd8"
_PNG = b"\x89PNG\r\n\x1a\n"
_EXIF_HEADER = b"Exif\x00\x00"
_MAX_SEGMENT = 0xFFFF - 2


def with_exif(data: bytes, spec: ExifSpec) -> bytes:
    """``data`` with ``spec`` written in; unchanged when it already has EXIF."""
    if data.startswith(_SOI):
        return data if _jpeg_has_exif(data) else _jpeg_insert(data, _tiff(spec))
    if data.startswith(_PNG):
        return data if _png_has_exif(data) else _png_insert(data, _tiff(spec)[len(_EXIF_HEADER) :])
    return _as_png(data, _tiff(spec))


def encode_jpeg(pixels: Any, quality: int, spec: ExifSpec) -> bytes:
    """An RGB array as JPEG carrying ``spec`` (frames that arrive without encoded bytes)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality, exif=_pillow_exif(spec))
    return buf.getvalue()


def read_exif(data: bytes) -> dict[str, dict[int, Any]]:
    """The 0th, Exif and GPS IFDs of an encoded image (what a viewer shows)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        exif = im.getexif()
        return {
            "0th": dict(exif),
            "exif": dict(exif.get_ifd(EXIF_IFD)),
            "gps": dict(exif.get_ifd(GPS_IFD)),
        }


# --------------------------------------------------------------------------------------------


def _pillow_exif(spec: ExifSpec) -> Any:
    from PIL import Image

    exif = Image.Exif()
    for tag, value in spec.ifd0.items():
        exif[tag] = value
    if spec.exif:
        exif.get_ifd(EXIF_IFD).update(spec.exif)
    if spec.gps:
        exif.get_ifd(GPS_IFD).update(spec.gps)
    return exif


def _tiff(spec: ExifSpec) -> bytes:
    """``Exif\\0\\0`` + the TIFF structure, as Pillow serialises it."""
    raw = _pillow_exif(spec).tobytes()
    if not raw.startswith(_EXIF_HEADER):  # Pillow < 8 returned the bare TIFF
        raw = _EXIF_HEADER + raw
    if len(raw) > _MAX_SEGMENT:
        raise ValueError(f"EXIF too large for one APP1 segment: {len(raw)} bytes")
    return raw


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of the header segments before the scan."""
    out, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker in (0xDA, 0xD9):  # start of scan / end of image: headers are over
            break
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        out.append((marker, i, i + 2 + length))
        i += 2 + length
    return out


def _jpeg_has_exif(data: bytes) -> bool:
    return any(
        m == 0xE1 and data[s + 4 : s + 10] == _EXIF_HEADER for m, s, _ in _jpeg_segments(data)
    )


def _jpeg_insert(data: bytes, tiff: bytes) -> bytes:
    segment = b"\xff\xe1" + struct.pack(">H", len(tiff) + 2) + tiff
    segments = _jpeg_segments(data)
    at = segments[0][2] if segments and segments[0][0] == 0xE0 else 2  # after JFIF APP0
    return data[:at] + segment + data[at:]


def _png_chunks(data: bytes) -> list[tuple[bytes, int]]:
    """(type, start offset) of each chunk."""
    out, i = [], len(_PNG)
    while i + 8 <= len(data):
        length = struct.unpack(">I", data[i : i + 4])[0]
        out.append((data[i + 4 : i + 8], i))
        i += 12 + length
    return out


def _png_has_exif(data: bytes) -> bool:
    return any(kind == b"eXIf" for kind, _ in _png_chunks(data))


def _png_insert(data: bytes, tiff: bytes) -> bytes:
    at = next((start for kind, start in _png_chunks(data) if kind == b"IDAT"), None)
    if at is None:
        raise ValueError("PNG without image data")
    chunk = struct.pack(">I", len(tiff)) + b"eXIf" + tiff
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + tiff) & 0xFFFFFFFF)
    return data[:at] + chunk + data[at:]


def _as_png(data: bytes, tiff: bytes) -> bytes:
    """A format without EXIF (BMP) re-encoded losslessly as PNG, with the EXIF."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        buf = io.BytesIO()
        im.save(buf, "PNG")
    return _png_insert(buf.getvalue(), tiff[len(_EXIF_HEADER) :])
