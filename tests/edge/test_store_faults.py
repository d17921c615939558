"""The burst store on a real small filesystem: space kept free for the outbox, a read-only
card as a reported fault that clears itself, private files whatever the umask."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from smallfs import remount, small_fs
from test_store import frames, meta, verdict

from camtrap.adapters.outbox import Outbox
from camtrap.adapters.store import BurstStore, StorageError
from camtrap.core.types import Hit

MiB = 1024 * 1024


@pytest.fixture
def disk(tmp_path: Path):
    with small_fs(tmp_path / "sd", 4 * MiB) as mnt:
        yield mnt


def _free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def test_the_store_evicts_before_the_outbox_is_starved(disk):
    store = BurstStore(disk / "bursts", quota_bytes=10**9, min_free_bytes=MiB)
    box = Outbox(disk / "outbox.db", reserve_bytes=64 * 1024)
    for i in range(40):  # 40 x ~100 KiB of non-hits on a 4 MiB card, quota never reached
        store.save(f"trap-07-{i}", meta(), verdict("miss"), frames(2, pad=50 * 1024))
        assert _free(disk) >= MiB - 110 * 1024, i  # at most one burst below the floor
    assert len(store.bursts()) < 40  # the oldest went
    for i in range(200):  # the outbox still has room for its hits and marks
        box.add(Hit(f"trap-07-h{i}", i, "trap-07", 1.0, "leopard", 0.9, 3, 4, "m@1"))
        box.mark_sent(f"trap-07-h{i}", "mqtt")
    assert box.fault is None
    assert store.health()["store_fault"] is None


def test_a_read_only_card_is_a_fault_that_clears_when_it_is_writable_again(disk):
    store = BurstStore(disk / "bursts", quota_bytes=10**9, min_free_bytes=0)
    store.save("trap-07-1", meta(), verdict(), frames(1))
    remount(disk, ro=True)
    try:
        with pytest.raises(StorageError, match="Read-only file system"):
            store.save("trap-07-2", meta(), verdict(), frames(1))
        assert "Read-only" in str(store.health()["store_fault"])
    finally:
        remount(disk, ro=False)
    store.save("trap-07-3", meta(), verdict(), frames(1))
    assert store.fault is None


def test_stored_bursts_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        path = BurstStore(tmp_path / "bursts", quota_bytes=10**9).save(
            "trap-07-1", meta(), verdict(), frames(2)
        )
    finally:
        os.umask(old)
    for d in (tmp_path / "bursts", path.parent, path):
        assert d.stat().st_mode & 0o777 == 0o700, d
    for f in path.iterdir():
        assert f.stat().st_mode & 0o777 == 0o600, f
