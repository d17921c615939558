"""Replay input limits: bad JSON of any kind, non-regular files, deep images, a pixel budget.

The issue's probe: a ``burst.json`` nested 100,000 deep (RecursionError) or holding a
5,000-digit number (ValueError) ended the whole replay; a FIFO named ``.jpg`` gave a traceback;
a 16-bit PNG was read as white; a 10000 x 10000 PNG peaked at 1.43 GB. Each case here fails
only its own burst (or frame) with a reason naming the file, and the next burst still runs.
"""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
from burstkit import RED, burst_json, detector, write_burst
from PIL import Image

from camtrap.errors import BadFrameError, UsageError
from camtrap.sim.bursts import discover
from camtrap.sim.replay_camera import decode_frame, read_frame

try:
    from camtrap.replay import replay  # after the shell refactor (issue 9)
except ImportError:
    from camtrap.commands.replay import replay  # type: ignore[no-redef]


def _records(root: Path) -> dict[str, dict[str, object]]:
    return {Path(str(r["source"])).name: r for r in replay(discover([root]), detector())}


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deep"),
        (json.dumps(burst_json(frame_interval_s=7)).replace(": 7", ": " + "9" * 5000), "digits"),
        (json.dumps(burst_json(frame_interval_s=7)).replace(": 7", ": " + "9" * 400), "number"),
        ("\ufeff{}", "cannot read"),
        (" " * (1 << 20) + "{}", "over 1048576 bytes"),
    ],
)
def test_any_json_problem_fails_only_its_burst(tmp_path: Path, text: str, why: str):
    bad = write_burst(tmp_path / "a-bad", [RED, RED])
    (bad / "burst.json").write_text(text, encoding="utf-8")
    write_burst(tmp_path / "b-good", [RED, RED])
    records = _records(tmp_path)
    assert records["a-bad"]["verdict"] == "error"
    assert why in str(records["a-bad"]["error"]) and "burst.json" in str(records["a-bad"]["error"])
    assert records["b-good"]["verdict"] == "hit"


def test_a_fifo_named_like_a_frame_is_skipped_with_a_reason(tmp_path: Path, caplog):
    burst = write_burst(tmp_path / "a", [RED, RED])
    os.mkfifo(burst / "002.jpg")
    os.mkfifo(tmp_path / "loose.jpg")
    with caplog.at_level(logging.WARNING, logger="camtrap.sim.bursts"):
        found = discover([tmp_path])
    assert [b.n for b in found] == [2]  # the FIFO is not a frame, nor a one-frame burst
    assert "002.jpg: a FIFO, not a regular file" in caplog.text
    assert "loose.jpg: a FIFO, not a regular file or directory" in caplog.text
    with pytest.raises(UsageError, match=r"loose\.jpg: not a regular file or directory \(a FIFO\)"):
        discover([tmp_path / "loose.jpg"])
    with pytest.raises(BadFrameError, match="not a regular file"):  # and never blocks
        read_frame(burst / "002.jpg", 0, 0.0, None)


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def test_a_16_bit_png_is_scaled_to_8_bits_not_clipped_to_white():
    grey16 = (np.arange(256, dtype=np.uint16).reshape(16, 16) * 257).astype(np.uint16)
    frame = decode_frame(_png(grey16), 0, 0.0, "deep.png", None)
    assert frame.pixels.dtype == np.uint8 and frame.pixels.shape == (16, 16, 3)
    assert np.array_equal(frame.pixels[:, :, 0], (grey16 >> 8).astype(np.uint8))
    assert frame.pixels.mean() == pytest.approx(127.5, abs=0.6)  # not 255 (white)


def test_a_float_image_is_refused_with_its_mode():
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.float32)).save(buf, "TIFF")
    with pytest.raises(BadFrameError, match=r"deep\.png: image mode F"):
        decode_frame(buf.getvalue(), 0, 0.0, "deep.png", None)


def test_a_frame_over_the_pixel_budget_is_refused_from_its_header():
    # 9000 x 9000 (below Pillow's bomb limit): a small PNG that would decode to 243 MB of RGB
    big = Image.new("L", (9_000, 9_000))
    buf = io.BytesIO()
    big.save(buf, "PNG", optimize=False, compress_level=1)
    del big
    with pytest.raises(BadFrameError, match=r"huge\.png: 9000 x 9000 = 81000000 pixels"):
        decode_frame(buf.getvalue(), 0, 0.0, "huge.png", None)
    with pytest.raises(BadFrameError, match="over the budget of 1000"):
        decode_frame(_png(np.zeros((40, 40), np.uint8)), 0, 0.0, "x.png", None, max_pixels=1000)


def test_the_burst_with_a_huge_frame_fails_and_the_next_runs(tmp_path: Path):
    bad = write_burst(tmp_path / "a", [RED, RED])
    (bad / "001.jpg").unlink()
    Image.new("RGB", (6000, 5000), RED).save(bad / "001.png", compress_level=1)
    write_burst(tmp_path / "b", [RED, RED])
    records = _records(tmp_path)
    assert "over the budget" in str(records["a"]["error"])
    assert records["b"]["verdict"] == "hit"


def test_the_pixel_budget_comes_from_the_config(tmp_path: Path, capsys):
    from camtrap.cli import main

    model = Path(__file__).parents[2] / "models" / "camtrap-demo" / "model.tflite"
    if not model.exists():
        pytest.skip("no demo model")
    write_burst(tmp_path / "b" / "a", [RED, RED], size=(640, 480))
    cfg = tmp_path / "t.toml"
    cfg.write_text(f'[model]\npath = "{model}"\n[camera]\nmax_pixels = 300000\n')
    out = tmp_path / "out.jsonl"
    assert main(["replay", str(tmp_path / "b"), "--config", str(cfg), "--json-out", str(out)]) == 0
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["verdict"] == "error"
    assert "640 x 480 = 307200 pixels, over the budget of 300000" in record["error"]
