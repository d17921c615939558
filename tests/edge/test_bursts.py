"""Finding and reading recorded bursts (the `camtrap replay PATH...` contract)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from burstkit import RED, burst_json, write_burst
from PIL import Image

from camtrap.errors import UsageError
from camtrap.sim.bursts import discover, parse_burst_json, read_burst


def test_a_burst_directory_is_one_burst_with_frames_in_name_order(tmp_path: Path):
    d = write_burst(tmp_path / "b", [RED, RED, RED], label="leopard", night=True, seed=7)
    (d / "notes.txt").write_text("ignored")
    [burst] = discover([d])
    assert [p.name for p in burst.frames] == ["000.jpg", "001.jpg", "002.jpg"]
    m = burst.meta
    assert (m.source, m.device_id, m.label, m.frame_interval_s) == (
        str(d),
        "sim-01",
        "leopard",
        0.5,
    )
    assert m.trigger_time == 1795144365.0 and m.pir_pulses == (0.0,)


def test_an_image_file_is_a_one_frame_burst(tmp_path: Path):
    Image.new("RGB", (4, 4)).save(tmp_path / "x.png")
    [burst] = discover([tmp_path / "x.png"])
    assert burst.n == 1 and burst.meta.label is None and burst.meta.source.endswith("x.png")


def test_other_directories_are_searched_recursively(tmp_path: Path):
    write_burst(tmp_path / "tree" / "a" / "b1", [RED])
    write_burst(tmp_path / "tree" / "b2", [RED, RED])
    Image.new("RGB", (4, 4)).save(tmp_path / "tree" / "loose.bmp")
    bursts = discover([tmp_path / "tree"])
    assert [(Path(b.meta.source).name, b.n) for b in bursts] == [
        ("b1", 1),
        ("b2", 2),
        ("loose.bmp", 1),
    ]


def test_dot_names_are_neither_bursts_nor_frames(tmp_path: Path):
    d = write_burst(tmp_path / "tree" / "b1", [RED, RED])
    (d / "._000.jpg").write_bytes(b"macOS resource fork, not a JPEG")
    write_burst(tmp_path / "tree" / ".tmp-b2", [RED])  # a burst the store never finished
    [burst] = discover([tmp_path / "tree"])
    assert [p.name for p in burst.frames] == ["000.jpg", "001.jpg"]


def test_missing_path_and_empty_tree_are_usage_errors(tmp_path: Path):
    with pytest.raises(UsageError, match="nothing: no such file"):
        discover([tmp_path / "nothing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="empty: no bursts or images found"):
        discover([tmp_path / "empty"])
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(UsageError, match=r"a\.txt: not an image"):
        discover([tmp_path / "a.txt"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schema": "camtrap-burst/2"}, r"b\.json: schema: must be 'camtrap-burst/1'"),
        ({"device_id": None}, r"b\.json: device_id: missing"),
        ({"frame_interval_s": None}, r"b\.json: frame_interval_s: missing"),
        ({"trigger_time": "yesterday"}, r"b\.json: trigger_time: not an ISO 8601 time"),
        ({"frame_interval_s": "0.5"}, r"b\.json: frame_interval_s: must be a number >= 0"),
        ({"frame_interval_s": -1}, r"frame_interval_s: must be a number >= 0, got -1"),
        ({"pir_pulses": [0.0, "x"]}, r"b\.json: pir_pulses\[1\]: must be a number"),
        ({"pir_pulses": [0.8, 0.0]}, r"pir_pulses: must be in increasing order"),
        ({"label": ""}, r"b\.json: label: must be a non-empty string"),
    ],
)
def test_bad_burst_json_names_the_file_and_key(changes, message):
    raw = burst_json(**changes)
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(UsageError, match=message):
        parse_burst_json(raw, "b.json", "b")


def test_informational_keys_are_ignored():
    meta = parse_burst_json(burst_json(generator="tools/gen_bursts.py", night=1), "b.json", "b")
    assert meta.device_id == "sim-01"


def test_unreadable_burst_json_is_a_usage_error(tmp_path: Path):
    d = write_burst(tmp_path / "b", [RED])
    (d / "burst.json").write_text("{")
    with pytest.raises(UsageError, match=r"burst\.json: cannot read"):
        read_burst(d)
    (d / "burst.json").write_text(json.dumps([1]))
    with pytest.raises(UsageError, match="must be a JSON object"):
        read_burst(d)
