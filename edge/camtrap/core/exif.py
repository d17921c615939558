"""The EXIF a stored frame carries, as plain tag values. Pure (no Pillow here).

A frame copied off the card must still say when, by which trap, in which event and where it
was taken. `frame_exif` gives the tags in three IFDs (0th, Exif, GPS) with the numeric tag ids
of EXIF 2.32; `camtrap.adapters.exif` writes them with Pillow's ``Image.Exif``.

* ``DateTimeOriginal`` / ``SubSecTimeOriginal`` / ``OffsetTimeOriginal``: the frame's capture
  time in the deployment's local offset (camera-trap software reads local time plus offset).
  Left out when the trap's clock is not trusted (``time_source`` ``none``): an unknown clock is
  never written as a real date.
* ``Make`` / ``Model`` / ``BodySerialNumber``: the trap (``camtrap``, its model, device id).
* ``ImageDescription``: ``event <event id> frame <index>``; ``ImageUniqueID``: a 32-hex id
  derived from both (EXIF wants 128 bits in hex), so duplicates are recognised across copies.
* GPS latitude/longitude (and ``GPSHPositioningError`` from the coordinate uncertainty) when
  the deployment has coordinates.

    >>> spec = frame_exif(FrameStamp("trap-07-42", 3, 1795500000.25, True), TrapIdentity("trap-07"))
    >>> spec.exif[DATETIME_ORIGINAL], spec.exif[SUBSEC_ORIGINAL], spec.exif[OFFSET_ORIGINAL]
    ('2026:11:24 06:00:00', '250', '+00:00')
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from camtrap.core.deployment import Deployment, offset_tz

# 0th IFD
IMAGE_DESCRIPTION = 0x010E
MAKE = 0x010F
MODEL = 0x0110
SOFTWARE = 0x0131
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
# Exif IFD
DATETIME_ORIGINAL = 0x9003
OFFSET_ORIGINAL = 0x9011
SUBSEC_ORIGINAL = 0x9291
IMAGE_UNIQUE_ID = 0xA420
BODY_SERIAL = 0xA431
# GPS IFD
GPS_VERSION = 0x0000
GPS_LAT_REF = 0x0001
GPS_LAT = 0x0002
GPS_LON_REF = 0x0003
GPS_LON = 0x0004
GPS_MAP_DATUM = 0x0012
GPS_H_ERROR = 0x001F

MAKE_NAME = "camtrap"


@dataclass(frozen=True)
class TrapIdentity:
    """Who took the frame: the device id is the serial number."""

    device_id: str
    model: str = "camtrap Raspberry Pi trap"
    software: str = ""


@dataclass(frozen=True)
class FrameStamp:
    """One stored frame: its event, index, capture time and whether that time is trusted."""

    event_id: str
    index: int
    time: float  # unix seconds UTC (trigger time + the frame's offset)
    trusted: bool  # False when the clock's source is unknown: no date is written


@dataclass(frozen=True)
class ExifSpec:
    """Tag id -> value for the 0th, Exif and GPS IFDs."""

    ifd0: dict[int, Any] = field(default_factory=dict)
    exif: dict[int, Any] = field(default_factory=dict)
    gps: dict[int, Any] = field(default_factory=dict)


def frame_exif(
    stamp: FrameStamp, trap: TrapIdentity, deployment: Deployment | None = None
) -> ExifSpec:
    """Every tag for one frame."""
    dep = deployment or Deployment()
    ifd0: dict[int, Any] = {
        MAKE: MAKE_NAME,
        MODEL: trap.model,
        IMAGE_DESCRIPTION: f"event {stamp.event_id} frame {stamp.index}",
    }
    if trap.software:
        ifd0[SOFTWARE] = trap.software
    exif: dict[int, Any] = {
        BODY_SERIAL: trap.device_id,
        IMAGE_UNIQUE_ID: unique_id(stamp.event_id, stamp.index),
    }
    if stamp.trusted:
        exif |= _capture_time(stamp.time, dep.utc_offset)
    return ExifSpec(ifd0, exif, gps_tags(dep))


def _capture_time(t: float, utc_offset: str) -> dict[int, Any]:
    local = datetime.fromtimestamp(t, offset_tz(utc_offset))
    return {
        DATETIME_ORIGINAL: local.strftime("%Y:%m:%d %H:%M:%S"),
        SUBSEC_ORIGINAL: f"{local.microsecond // 1000:03d}",
        OFFSET_ORIGINAL: utc_offset,
    }


def gps_tags(d: Deployment) -> dict[int, Any]:
    """The GPS IFD of a deployment with coordinates; empty without."""
    if d.latitude is None or d.longitude is None:
        return {}
    tags: dict[int, Any] = {
        GPS_VERSION: b"\x02\x03\x00\x00",
        GPS_LAT_REF: "N" if d.latitude >= 0 else "S",
        GPS_LAT: dms(abs(d.latitude)),
        GPS_LON_REF: "E" if d.longitude >= 0 else "W",
        GPS_LON: dms(abs(d.longitude)),
        GPS_MAP_DATUM: "WGS-84",
    }
    if d.coordinate_uncertainty_m is not None:
        tags[GPS_H_ERROR] = float(d.coordinate_uncertainty_m)
    return tags


def dms(degrees: float) -> tuple[float, float, float]:
    """Decimal degrees -> (degrees, minutes, seconds), seconds to 1/100 s (~0.3 m).

    >>> dms(43.11)
    (43.0, 6.0, 36.0)
    """
    hundredths = round(degrees * 360_000)
    d, rest = divmod(hundredths, 360_000)
    m, s = divmod(rest, 6_000)
    return float(d), float(m), s / 100


def from_dms(value: Any, ref: str) -> float:
    """The inverse of `dms` with its N/S/E/W reference (for reading frames back)."""
    d, m, s = (float(x) for x in value)
    sign = -1.0 if ref in ("S", "W") else 1.0
    return sign * (d + m / 60 + s / 3600)


def unique_id(event_id: str, index: int) -> str:
    """ImageUniqueID: 128 bits as 32 hex digits, the same for the same event and frame."""
    return hashlib.blake2b(f"{event_id}/{index}".encode(), digest_size=16).hexdigest()
