"""Burst store: layout, atomic sidecar, quota eviction order, ENOSPC, and the pure policy."""

from __future__ import annotations

import errno
import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from camtrap.adapters.store import BurstStore, StorageError, write_durably
from camtrap.core.outbox_policy import StoredBurst, eviction_order, plan_eviction, plan_free
from camtrap.core.types import BurstMeta, Frame, FrameScore, Verdict

T0 = datetime(2026, 11, 24, 6, 19, 33, tzinfo=UTC).timestamp()
PIXELS = np.zeros((8, 8, 3), np.uint8)


def jpeg(size: int = 8, shade: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (shade, 80, 20)).save(buf, "JPEG")
    return buf.getvalue()


def without_app1(data: bytes) -> bytes:
    """A JPEG with its APP1 (EXIF) segments cut out."""
    out, i = data[:2], 2
    while data[i] == 0xFF and data[i + 1] not in (0xDA, 0xD9):
        end = i + 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        out += b"" if data[i + 1] == 0xE1 else data[i:end]
        i = end
    return out + data[i:]


def meta(t: float = T0, label: str | None = "leopard") -> BurstMeta:
    return BurstMeta("camera", "trap-07", t, 0.5, (0.0, 0.8), label)


def verdict(decision: str = "hit") -> Verdict:
    scores = (FrameScore(0, 0.9, "leopard", 0.9), FrameScore(1, 0.8, "leopard", 0.8))
    return Verdict(decision, 0.8, "leopard", 0.9, 2, 2, scores, 2, "k_of_n:2/0.50")  # type: ignore[arg-type]


def frames(n: int = 2, pad: int = 0) -> list[Frame]:
    img = jpeg() + b"\0" * pad  # padding after the JPEG end marker: a bigger, still valid file
    return [Frame(i, i * 0.5, PIXELS, f"{i:03d}.jpg", img) for i in range(n)]


def test_burst_is_stored_as_a_dated_directory_with_frames_and_sidecar(tmp_path):
    store = BurstStore(tmp_path, quota_bytes=10**9)
    path = store.save("trap-07-42", meta(), verdict(), frames(3))
    assert path == tmp_path / "20261124" / "trap-07-42"
    assert sorted(p.name for p in path.iterdir()) == ["000.jpg", "001.jpg", "002.jpg", "burst.json"]
    stored, original = (path / "001.jpg").read_bytes(), frames()[1].image
    assert without_app1(stored) == original  # the frame's own bytes, only an EXIF segment added
    record = json.loads((path / "burst.json").read_text())
    assert record["schema"] == "camtrap-burst/1"
    assert record["trigger_time"] == "2026-11-24T06:19:33Z"
    assert record["device_id"] == "trap-07" and record["label"] == "leopard"
    assert record["frame_interval_s"] == 0.5 and record["pir_pulses"] == [0.0, 0.8]
    assert record["event_id"] == "trap-07-42"
    assert record["verdict"]["verdict"] == "hit"
    assert record["verdict"]["frames_agreeing"] == 2
    assert [f["index"] for f in record["verdict"]["frames"]] == [0, 1]
    assert not list(tmp_path.rglob(".tmp-*"))


def test_frames_without_stored_bytes_are_encoded_and_png_keeps_its_extension(tmp_path):
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    fs = [Frame(0, 0.0, PIXELS), Frame(1, 0.5, PIXELS, "x.png", png.getvalue())]
    path = BurstStore(tmp_path, 10**9).save("trap-07-1", meta(), verdict(), fs)
    assert sorted(p.name for p in path.iterdir()) == ["000.jpg", "001.png", "burst.json"]
    assert Image.open(path / "000.jpg").size == (8, 8)


def test_stored_burst_reads_back_as_a_recorded_burst_for_replay(tmp_path):
    bursts = pytest.importorskip("camtrap.sim.bursts")
    BurstStore(tmp_path, 10**9).save("trap-07-42", meta(), verdict(), frames(3))
    [found] = bursts.discover([tmp_path])
    assert found.meta.trigger_time == T0 and found.meta.label == "leopard"
    assert found.meta.device_id == "trap-07" and found.meta.pir_pulses == (0.0, 0.8)
    assert [p.name for p in found.frames] == ["000.jpg", "001.jpg", "002.jpg"]


def test_over_quota_the_oldest_non_hits_go_first(tmp_path):
    store = BurstStore(tmp_path, quota_bytes=10**9)
    kinds = ["miss", "hit", "miss", "error", "hit"]
    for i, kind in enumerate(kinds):
        store.save(f"trap-07-{i}", meta(T0 + i), verdict(kind), frames(pad=1000))
    size = store.bursts()[0].size
    store.quota_bytes = 3 * size + size // 2  # room for 3 of 5: two must go
    store.save("trap-07-5", meta(T0 + 5), verdict("hit"), frames(pad=1000))
    kept = [b.key.split("/")[1] for b in store.bursts()]
    assert kept == ["trap-07-1", "trap-07-4", "trap-07-5"]  # the 3 non-hits went, oldest first
    assert sorted(p.name for p in (tmp_path / "20261124").iterdir()) == kept


def test_hits_are_evicted_only_when_no_non_hit_is_left_and_that_is_logged(tmp_path, caplog):
    store = BurstStore(tmp_path, quota_bytes=10**9)
    for i in range(3):
        store.save(f"trap-07-{i}", meta(T0 + i), verdict("hit"), frames(pad=1000))
    size = store.bursts()[0].size
    store.quota_bytes = 3 * size + size // 2  # room for 3
    with caplog.at_level(logging.WARNING, "camtrap.adapters.store"):
        store.save("trap-07-3", meta(T0 + 3), verdict("miss"), frames(pad=1000))
    assert [b.key.split("/")[1] for b in store.bursts()] == [f"trap-07-{i}" for i in range(3)]
    assert "hit burst" not in caplog.text  # the new non-hit itself went, no hit
    with caplog.at_level(logging.WARNING, "camtrap.adapters.store"):
        store.save("trap-07-4", meta(T0 + 4), verdict("hit"), frames(pad=1000))
    assert [b.key.split("/")[1] for b in store.bursts()] == ["trap-07-1", "trap-07-2", "trap-07-4"]
    assert "evicting 1 hit burst(s): 20261124/trap-07-0" in caplog.text


def test_store_reopened_knows_its_bursts_and_removes_incomplete_ones(tmp_path):
    BurstStore(tmp_path, 10**9).save("trap-07-1", meta(), verdict("miss"), frames())
    stale = tmp_path / "20261124" / ".tmp-trap-07-2-123"
    stale.mkdir()
    (stale / "000.jpg").write_bytes(b"half")
    store = BurstStore(tmp_path, 10**9)
    assert [(b.key, b.is_hit, b.created) for b in store.bursts()] == [
        ("20261124/trap-07-1", False, T0)
    ]
    assert not stale.exists()


class FakeDisk:
    """A writer with a capacity: raises ENOSPC when the files under root would exceed it."""

    def __init__(self, root: Path, capacity: int) -> None:
        self.root, self.capacity, self.refusals = root, capacity, 0

    def used(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def __call__(self, path: Path, data: bytes) -> None:
        if self.used() + len(data) > self.capacity:
            self.refusals += 1
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        write_durably(path, data)


def test_disk_full_evicts_oldest_non_hits_and_retries_once(tmp_path, caplog):
    disk = FakeDisk(tmp_path, capacity=10**9)
    store = BurstStore(tmp_path, quota_bytes=10**9, writer=disk)
    for i, kind in enumerate(["miss", "hit", "miss", "miss"]):
        store.save(f"trap-07-{i}", meta(T0 + i), verdict(kind), frames(pad=200_000))
    disk.capacity = disk.used() + 100_000  # the next burst (~400 kB) does not fit
    with caplog.at_level(logging.WARNING, "camtrap.adapters.store"):
        path = store.save("trap-07-9", meta(T0 + 9), verdict("hit"), frames(pad=200_000))
    assert disk.refusals == 1 and path.is_dir()
    assert "disk full" in caplog.text
    kept = [b.key.split("/")[1] for b in store.bursts()]
    assert "trap-07-1" in kept and "trap-07-0" not in kept and kept[-1] == "trap-07-9"
    assert not list(tmp_path.rglob(".tmp-*"))


def test_disk_full_with_only_hits_stored_fails_clearly_and_keeps_them(tmp_path):
    disk = FakeDisk(tmp_path, capacity=10**9)
    store = BurstStore(tmp_path, quota_bytes=10**9, writer=disk)
    store.save("trap-07-1", meta(), verdict("hit"), frames())
    disk.capacity = disk.used()
    with pytest.raises(StorageError, match="still failing after eviction"):
        store.save("trap-07-2", meta(T0 + 1), verdict("miss"), frames())
    assert [b.key for b in store.bursts()] == ["20261124/trap-07-1"]
    assert not list(tmp_path.rglob(".tmp-*"))


def test_other_write_errors_are_storage_errors_without_eviction(tmp_path):
    def broken(path: Path, data: bytes) -> None:
        raise OSError(errno.EIO, "I/O error")

    store = BurstStore(tmp_path, 10**9, writer=broken)
    with pytest.raises(StorageError, match="I/O error"):
        store.save("trap-07-1", meta(), verdict(), frames())


# --------------------------------------------------------------------------------------------
# The pure eviction policy

bursts_strategy = st.lists(
    st.builds(
        StoredBurst,
        key=st.text("abcdef", min_size=1, max_size=4),
        created=st.floats(0, 1e6),
        size=st.integers(0, 1000),
        is_hit=st.booleans(),
    ),
    max_size=25,
    unique_by=lambda b: b.key,
)


@given(bursts_strategy, st.integers(0, 10_000))
def test_policy_never_evicts_a_hit_while_a_non_hit_remains(bursts, quota):
    plan = plan_eviction(bursts, quota)
    evicted = {b.key for b in plan.evict}
    if plan.evicts_hits:
        assert all(b.key in evicted for b in bursts if not b.is_hit)


@given(bursts_strategy, st.integers(0, 10_000))
def test_policy_stays_under_quota_and_evicts_no_more_than_needed(bursts, quota):
    plan = plan_eviction(bursts, quota)
    kept = sum(b.size for b in bursts) - sum(b.size for b in plan.evict)
    assert plan.total_after == kept and plan.fits == (kept <= quota)
    assert plan.fits  # nothing protected: always possible
    if plan.evict:  # stopping one eviction earlier would still be over quota
        assert kept + plan.evict[-1].size > quota
    assert list(plan.evict) == eviction_order(plan.evict)  # in order: oldest non-hit first


@given(bursts_strategy, st.integers(0, 10_000), st.data())
def test_policy_keeps_protected_bursts(bursts, quota, data):
    protect = {b.key for b in bursts if data.draw(st.booleans())}
    plan = plan_eviction(bursts, quota, protect)
    assert not protect & {b.key for b in plan.evict}
    protected_size = sum(b.size for b in bursts if b.key in protect)
    assert plan.fits == (plan.total_after <= quota)
    if protected_size <= quota:
        assert plan.fits


@given(bursts_strategy, st.integers(0, 5000))
def test_full_disk_policy_evicts_only_non_hits_oldest_first(bursts, need):
    chosen = plan_free(bursts, need)
    assert not any(b.is_hit for b in chosen)
    non_hits = eviction_order(b for b in bursts if not b.is_hit)
    assert list(chosen) == non_hits[: len(chosen)]
    assert sum(b.size for b in chosen) >= need or len(chosen) == len(non_hits)
