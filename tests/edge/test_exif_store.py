"""Stored frames carry EXIF (time, trap, event, frame, GPS); a recorded frame keeps its own."""

from __future__ import annotations

import doctest
import importlib
import io
import json
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image

from camtrap.adapters.exif import read_exif, with_exif
from camtrap.adapters.store import BurstStore
from camtrap.core import exif as tags
from camtrap.core.deployment import Deployment, deployment_record, from_record
from camtrap.core.exif import FrameStamp, TrapIdentity, frame_exif, from_dms
from camtrap.core.timebase import BurstTime, TimeStatus
from camtrap.core.types import BurstMeta, Frame, FrameScore, Verdict

T0 = datetime(2026, 11, 24, 6, 19, 33, 250000, tzinfo=UTC).timestamp()
DEP = Deployment(
    id="amur-2026-A07",
    latitude=43.1021,
    longitude=131.5412,
    coordinate_uncertainty_m=15,
    utc_offset="+10:00",
)
TRAP = TrapIdentity("trap-07", model="camtrap Pi Zero 2 W + HQ camera", software="camtrap 0.1.0")


def encoded(fmt: str, exif: Image.Exif | None = None) -> bytes:
    buf = io.BytesIO()
    im = Image.new("RGB", (40, 30), (120, 80, 20))
    if exif is None:
        im.save(buf, fmt)
    else:
        im.save(buf, fmt, exif=exif)
    return buf.getvalue()


def verdict(n: int) -> Verdict:
    scores = tuple(FrameScore(i, 0.9, "leopard", 0.9) for i in range(n))
    return Verdict("hit", 0.9, "leopard", 0.9, n, n, scores, n, "k_of_n:2/0.50")


def save(tmp_path, images: list[bytes], time: BurstTime | None = None, pixels_only: bool = False):
    store = BurstStore(tmp_path, 10**9, trap=TRAP, deployment=DEP)
    px = np.full((24, 32, 3), 90, np.uint8)
    frames = [
        Frame(i, i * 0.5, px, "", b"" if pixels_only else img) for i, img in enumerate(images)
    ]
    meta = BurstMeta("camera", "trap-07", T0, 0.5)
    return store.save("trap-07-42", meta, verdict(len(frames)), frames, time=time)


def test_a_stored_frame_read_back_with_pillow_shows_time_trap_event_and_gps(tmp_path):
    path = save(
        tmp_path, [encoded("JPEG"), encoded("JPEG")], BurstTime(TimeStatus("mcu", 2.0), 50.0)
    )
    with Image.open(path / "001.jpg") as im:
        exif = im.getexif()
        sub, gps = exif.get_ifd(tags.EXIF_IFD), exif.get_ifd(tags.GPS_IFD)
        assert im.size == (40, 30)
    assert sub[tags.DATETIME_ORIGINAL] == "2026:11:24 16:19:33"  # 06:19:33.75 UTC, local +10:00
    assert sub[tags.SUBSEC_ORIGINAL] == "750" and sub[tags.OFFSET_ORIGINAL] == "+10:00"
    assert (exif[tags.MAKE], exif[tags.MODEL]) == ("camtrap", "camtrap Pi Zero 2 W + HQ camera")
    assert sub[tags.BODY_SERIAL] == "trap-07"
    assert exif[tags.IMAGE_DESCRIPTION] == "event trap-07-42 frame 1"
    assert len(sub[tags.IMAGE_UNIQUE_ID]) == 32
    assert (gps[tags.GPS_LAT_REF], gps[tags.GPS_LON_REF]) == ("N", "E")
    assert from_dms(gps[tags.GPS_LAT], "N") == pytest.approx(43.1021, abs=1e-6)
    assert from_dms(gps[tags.GPS_LON], "E") == pytest.approx(131.5412, abs=1e-6)
    assert float(gps[tags.GPS_H_ERROR]) == 15.0
    record = json.loads((path / "burst.json").read_text())
    assert record["time_source"] == "mcu" and record["time_uncertainty_s"] == 2.0
    assert record["deployment"]["deployment_id"] == "amur-2026-A07"
    assert [f["name"] for f in record["verdict"]["frames"]] == ["000.jpg", "001.jpg"]


def test_an_unknown_clock_writes_no_date_but_still_names_the_trap_and_event(tmp_path):
    path = save(tmp_path, [encoded("JPEG")], BurstTime(TimeStatus("none", None, "b"), 3.0))
    assert path.parent.name == "undated"
    read = read_exif((path / "000.jpg").read_bytes())
    assert tags.DATETIME_ORIGINAL not in read["exif"]
    assert read["0th"][tags.IMAGE_DESCRIPTION] == "event trap-07-42 frame 0"


def test_a_recorded_frame_that_has_exif_keeps_its_own_bytes(tmp_path):
    camera = Image.Exif()
    camera[tags.MAKE] = "RECONYX"
    camera.get_ifd(tags.EXIF_IFD)[tags.DATETIME_ORIGINAL] = "2024:06:01 04:12:00"
    original = encoded("JPEG", camera)
    path = save(tmp_path, [original])
    assert (path / "000.jpg").read_bytes() == original
    assert read_exif(original)["0th"][tags.MAKE] == "RECONYX"


def test_png_gets_an_exif_chunk_bmp_becomes_png_pixels_only_frames_are_encoded_with_it(tmp_path):
    path = save(tmp_path, [encoded("PNG"), encoded("BMP")])
    assert sorted(p.name for p in path.iterdir()) == ["000.png", "001.png", "burst.json"]
    for name in ("000.png", "001.png"):
        data = (path / name).read_bytes()
        assert read_exif(data)["0th"][tags.IMAGE_DESCRIPTION].startswith("event trap-07-42")
        with Image.open(io.BytesIO(data)) as im:
            assert im.getpixel((3, 3)) == (120, 80, 20)  # lossless
    path = save(tmp_path / "px", [b"", b""], pixels_only=True)
    assert read_exif((path / "000.jpg").read_bytes())["exif"][tags.BODY_SERIAL] == "trap-07"


def test_with_exif_leaves_the_jpeg_scan_untouched():
    original = encoded("JPEG")
    spec = frame_exif(FrameStamp("e-1", 0, T0, True), TRAP, DEP)
    out = with_exif(original, spec)
    assert out[-200:] == original[-200:] and len(out) > len(original)
    with Image.open(io.BytesIO(out)) as a, Image.open(io.BytesIO(original)) as b:
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"latitude": 91.0}, "latitude: must be in -90..90"),
        ({"longitude": None}, "longitude: give both or neither"),
        ({"camera_tilt_deg": 1.5}, "camera_tilt_deg: must be int"),
        ({"camera_heading_deg": 361}, "camera_heading_deg: must be in 0..360"),
        ({"coordinate_uncertainty_m": 0}, "coordinate_uncertainty_m: must be in 1"),
        ({"start": "2026-11-01"}, "start: must be ISO 8601 with an offset"),
        ({"end": "2026-10-01T00:00:00Z", "start": "2026-11-01T00:00:00Z"}, "end: is before start"),
        ({"utc_offset": "+25:00"}, "utc_offset"),
        ({"id": ""}, "id: missing"),
        ({"latitude": float("inf")}, "latitude: must be a finite number"),
    ],
)
def test_deployment_values_are_strict(change, message):
    values = {**deployment_record(DEP), **change}
    values["id"] = values.pop("deployment_id")
    values |= change
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        Deployment(**values)


def test_deployment_round_trips_through_the_stored_record():
    assert from_record(json.loads(json.dumps(deployment_record(DEP)))) == DEP
    with pytest.raises(ValueError, match="unknown key elevation"):
        from_record({"deployment_id": "x", "elevation": 3})


@pytest.mark.parametrize(
    "name",
    [
        "camtrap.core.deployment",
        "camtrap.core.exif",
        "camtrap.core.survey",
        "camtrap.core.timebase",
    ],
)
def test_docstring_examples(name: str):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0


def test_the_winning_region_goes_into_the_stored_record(tmp_path):
    from camtrap.core.burst_sidecar import burst_record
    from camtrap.core.types import Where

    where = Where((0.1, 0.2, 0.3, 0.4), "motion", regions=2)
    scored = FrameScore(0, 0.9, "leopard", 0.9, where=where)
    v = Verdict("hit", 0.9, "leopard", 0.9, 1, 1, (scored,), 1, "k")
    record = burst_record("e-1", BurstMeta("camera", "trap-07", T0, 0.5), v)
    (frame,) = record["verdict"]["frames"]
    assert frame["box"] == [0.1, 0.2, 0.3, 0.4] and frame["region_source"] == "motion"
    assert record["verdict"]["box"] == [0.1, 0.2, 0.3, 0.4]  # the burst's best frame's region
