"""One service per data directory: an exclusive lock on ``<data dir>/camtrap.lock``.

Two services on one data directory share the outbox and the MQTT client id: in the issue's
probe that gave 723 duplicate sends and a client id flapping between them. The lock is a
``flock`` on a file in the data directory, so it goes with the process (a SIGKILL or a crash
frees it; nothing stale to clean up) and works on any local filesystem. The holder writes its
pid and command line into the file, so the second service can name it:

    with DataDirLock(data_dir):    # DataDirBusy (exit 2) naming the holder when taken
        run_service()
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import sys
import time
from pathlib import Path
from types import TracebackType

from camtrap.errors import UsageError

log = logging.getLogger(__name__)

LOCK_NAME = "camtrap.lock"


class DataDirBusy(UsageError):
    """Another process holds the data directory."""


class DataDirLock:
    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = self._open()
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise DataDirBusy(
                f"{self.path.parent}: data directory in use by {holder}; "
                "one service per data directory (stop it, or give this one another "
                "service.data_dir)"
            ) from None
        except OSError as e:
            os.close(fd)
            raise DataDirBusy(f"{self.path}: cannot lock: {e.strerror}") from None
        record = f"pid {os.getpid()} ({' '.join(sys.argv)[:200]}) since {_utc()}\n"
        # best effort: a full or read-only card must not stop the service taking its own lock
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, record.encode(), 0)
        self._fd = fd

    def _open(self) -> int | None:
        """The lock file's descriptor; on a read-only card the existing file, read-only (flock
        works on it), or None when there is none: the service then runs degraded, unlocked."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            if e.errno not in (errno.EROFS, errno.ENOSPC, errno.EIO):
                raise DataDirBusy(f"{self.path}: cannot open: {e.strerror}") from None
            why = e.strerror
        try:
            return os.open(self.path, os.O_RDONLY)
        except OSError:
            log.warning("%s: cannot create the lock (%s): running without it", self.path, why)
            return None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 400, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another process (it wrote no pid)"


def _utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# -- probes for `camtrap doctor` ----------------------------------------------------------------


def lock_holder(data: Path) -> str:
    """Who holds the data directory's lock, as a phrase ("in use by ...", "no service holds
    it"), without taking it."""
    lock = data / LOCK_NAME
    try:
        with open(lock, "rb") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return "in use by " + (
                    f.read(200).decode("utf-8", "replace").strip() or "a service"
                )
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    except OSError:
        pass
    return "no service holds it"


def read_only(data: Path) -> bool:
    """Whether the filesystem under ``data`` is mounted read-only (an OSError if unknown)."""
    return bool(os.statvfs(data).f_flag & os.ST_RDONLY)


def write_probe(data: Path) -> None:
    """Write and remove a 4 KiB file in ``data``; an OSError says why it cannot be written."""
    probe = data / f".doctor-{os.getpid()}"
    probe.write_bytes(b"x" * 4096)
    probe.unlink()
