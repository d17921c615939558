"""A real small filesystem for storage-fault tests: a tmpfs mounted in the test (root needed).

``small_fs(dir, size)`` mounts a tmpfs of ``size`` bytes on ``dir`` and unmounts it after;
``remount(dir, ro=True)`` makes it read-only or writable again (only with no file open for
writing); ``fill(dir)`` writes a filler file until the disk is full. ``ext4_card(dir, image)``
mounts an ext4 loop image with ``errors=remount-ro`` like a Pi's root, ``card_error(dir)``
makes the kernel remount it read-only under open files (``trigger_fs_error``: what an SD card's
I/O error does), and ``card_reboot(dir, image)`` unmounts, fscks and mounts it again. Where
mount is not permitted (not root, a restricted container) the test is skipped with the reason,
except under ``CI=true`` (CI runs as root), where it fails.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _refuse(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"a real small filesystem is required on CI: {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def small_fs(path: Path, size: int) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        _refuse("mounting a tmpfs needs root")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        _refuse(f"mount not permitted here: {proc.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def remount(path: Path, *, ro: bool) -> None:
    mode = "ro" if ro else "rw"
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True, capture_output=True)


def fill(path: Path, name: str = "filler") -> Path:
    """Write zeros into ``path/name`` until ENOSPC; returns the filler (delete it to free)."""
    filler = path / name
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (64 * 1024, 4096, 512, 1):  # down to the last byte
            while True:
                try:
                    os.write(fd, bytes(size))
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return filler


@contextlib.contextmanager
def ext4_card(path: Path, image: Path, size: int = 16 * 1024 * 1024) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        _refuse("mounting a loop image needs root")
    with open(image, "wb") as f:
        f.truncate(size)
    mkfs = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, text=True)
    if mkfs.returncode != 0:
        _refuse(f"mkfs.ext4 failed: {mkfs.stderr.strip()}")
    _mount_card(path, image)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def _mount_card(path: Path, image: Path) -> None:
    proc = subprocess.run(
        ["mount", "-o", "loop,errors=remount-ro", str(image), str(path)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        _refuse(f"loop mount not permitted here: {proc.stderr.strip()}")


def card_error(path: Path) -> None:
    """The kernel sees an ext4 error and remounts the card read-only, files still open."""
    dev = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    trigger = Path("/sys/fs/ext4") / Path(dev).name / "trigger_fs_error"
    if not trigger.exists():
        _refuse(f"{trigger} missing (kernel without ext4 error injection)")
    trigger.write_text("robust test\n")


def card_reboot(path: Path, image: Path) -> None:
    """Unmount, fsck and mount again: what a reboot does for a card remounted read-only."""
    subprocess.run(["umount", str(path)], check=True, capture_output=True)
    subprocess.run(["e2fsck", "-fy", str(image)], check=False, capture_output=True)
    _mount_card(path, image)
