"""The outbox's degraded mode: what a storage fault is, the reserve that keeps room for the
outbox's own bookkeeping, and what it keeps aside while its database takes no writes (in
memory, bounded, and journalled to a fallback directory so a restart neither loses nor
re-sends it).

`Kept` holds what the database did not take (`camtrap.adapters.outbox.Outbox` puts it there):

* hits added (at most ``memory_hits``; past that the oldest is dropped, counted and logged),
  with their pictures;
* sent-marks for hits the database holds (a hit acknowledged by a sink is never offered
  again), the next event sequence it handed out, and the small values sinks store;
* each of those also as a line in the journal (``fallback_dir/outbox-fallback.jsonl``, e.g.
  ``/run/camtrap``, a tmpfs), when one is given and writable.

After a restart `read_journal` reads the lines back (marks first, so nothing is re-sent); once
the database takes writes again the outbox writes it all in and calls `clear`, which deletes
the journal.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from camtrap.adapters import outbox_db as sql
from camtrap.adapters.outbox_db import hit_from_dict, make_private_dir
from camtrap.core.types import Hit

log = logging.getLogger("camtrap.adapters.outbox")

JOURNAL = "outbox-fallback.jsonl"

# SQLite primary result codes that mean "the storage", not "the program"
FAULTS = {
    13: "disk full",  # SQLITE_FULL
    8: "read-only",  # SQLITE_READONLY
    10: "I/O error",  # SQLITE_IOERR
    14: "cannot open",  # SQLITE_CANTOPEN
    11: "corrupt",  # SQLITE_CORRUPT
    26: "not a database",  # SQLITE_NOTADB
}
OS_FAULTS = {errno.ENOSPC: "disk full", errno.EROFS: "read-only", errno.EIO: "I/O error"}


def fault_kind(e: BaseException) -> str | None:
    """The storage fault ``e`` is, or None for any other error."""
    if isinstance(e, sqlite3.Error):
        code = getattr(e, "sqlite_errorcode", None)
        if code is not None:
            return FAULTS.get(int(code) & 0xFF)
        text = str(e)
        for needle, kind in (
            ("disk is full", "disk full"),
            ("readonly", "read-only"),
            ("disk I/O", "I/O error"),
            ("unable to open", "cannot open"),
        ):
            if needle in text:
                return kind
        return None
    if isinstance(e, OSError):
        return OS_FAULTS.get(e.errno or 0)
    return None


class Reserve:
    """A preallocated file beside the database: on "disk full" it is released, so the
    outbox's own bookkeeping (a sent-mark is a delete, which still needs WAL pages) gets
    through; it is rebuilt once the outbox is healthy again."""

    def __init__(self, path: Path, size: int) -> None:
        self.path, self.size = path, size

    def ensure(self) -> None:
        if self.size <= 0:
            return
        try:
            if self.path.exists() and self.path.stat().st_size >= self.size:
                return
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.size)
            except OSError:  # no fallocate (some filesystems): write real blocks
                os.ftruncate(fd, 0)
                os.write(fd, bytes(self.size))
            finally:
                os.close(fd)
        except OSError as e:  # no room for it now: the next recovery tries again
            log.warning("outbox: cannot preallocate %s: %s", self.path, e)
            with contextlib.suppress(OSError):
                self.path.unlink()

    def release(self, db_path: Path) -> bool:
        try:
            self.path.unlink()
        except OSError:
            return False
        log.warning(
            "outbox %s: disk full: released the %d-byte reserve for its bookkeeping",
            db_path,
            self.size,
        )
        return True


Pending = tuple[Hit, "bytes | None"]  # a pending hit and its picture
SinksFor = Callable[[bytes | None], list[str]]  # the sinks a hit (with or without picture) gets


class Kept:
    """What the database did not take, in memory and in the journal."""

    def __init__(self, journal: Path | None, memory_hits: int, sinks_for: SinksFor) -> None:
        self.journal = journal
        self.memory_hits = memory_hits
        self.sinks_for = sinks_for
        self.hits: dict[str, tuple[Hit, set[str]]] = {}  # hits the database did not take
        self.images: dict[str, bytes] = {}  # their pictures
        self.values: dict[str, int] = {}  # values the database did not take
        self.marks: set[tuple[str, str]] = set()  # sent-marks the database did not take
        self.seq: int | None = None  # the next sequence, while the database took no write
        self.dropped = 0  # hits lost because memory was full as well (logged)

    def add(self, hit: Hit, sinks: set[str], image: bytes | None) -> None:
        """Keep a hit the database did not take, and journal it."""
        self.keep(hit, sinks, image)
        record: dict[str, Any] = {"add": asdict(hit)}
        if image is not None:
            record["image"] = base64.b64encode(image).decode("ascii")
        self.write(record)

    def keep(self, hit: Hit, sinks: set[str], image: bytes | None = None) -> None:
        if len(self.hits) >= self.memory_hits:
            oldest = next(iter(self.hits))
            self.forget(oldest)
            self.dropped += 1
            log.error(
                "outbox: %d hits kept in memory: dropping the oldest, %s", self.memory_hits, oldest
            )
        self.hits[hit.event_id] = (hit, sinks)
        if image is not None:
            self.images[hit.event_id] = image

    def forget(self, event_id: str) -> None:
        self.hits.pop(event_id, None)
        self.images.pop(event_id, None)

    def sent(self, event_id: str, sink: str) -> None:
        """``sink`` acknowledged a kept hit; it goes once every sink has."""
        _, sinks = self.hits[event_id]
        sinks.discard(sink)
        if not sinks:
            self.forget(event_id)

    def through(self, sink: str, stored: list[Pending]) -> list[Pending]:
        """The database's pending (hit, picture) for ``sink`` as the sink sees them: kept
        sent-marks taken off, kept hits added after them."""
        shown = [(h, image) for h, image in stored if (h.event_id, sink) not in self.marks]
        kept = [(h, self.images.get(h.event_id)) for h, s in self.hits.values() if sink in s]
        return shown + kept

    def count(self, stored: dict[str, set[str]], sink: str | None) -> int:
        """As `through`, counted: deliveries pending for ``sink``, or hits pending anywhere
        (``stored``: event id -> the sinks the database still has it for)."""
        if sink is None:
            left = sum(1 for e, s in stored.items() if any((e, x) not in self.marks for x in s))
            return left + len(self.hits)
        shown = sum(1 for e in stored if (e, sink) not in self.marks)
        return shown + sum(1 for _, s in self.hits.values() if sink in s)

    def write_to(self, db: sqlite3.Connection) -> None:
        """Write everything kept into the database (in the outbox's recovery transaction)."""
        for event_id, sink in self.marks:
            sql.delete_delivery(db, event_id, sink)
        for hit, sinks in self.hits.values():
            sql.insert_hit(db, hit, self.images.get(hit.event_id), sorted(sinks))
        for name, value in self.values.items():
            sql.put_value(db, name, value)
        if self.seq is not None and sql.ahead(self.seq, sql.counter(db)):
            sql.set_counter(db, self.seq)

    def clear(self) -> None:
        """All written to the database: nothing kept, no journal."""
        self.hits.clear()
        self.images.clear()
        self.values.clear()
        self.marks.clear()
        self.seq = None
        if self.journal is not None:
            with contextlib.suppress(OSError):
                self.journal.unlink()

    # -- the journal ---------------------------------------------------------------------------

    def write(self, record: dict[str, Any]) -> None:
        if self.journal is None:
            return
        try:
            make_private_dir(self.journal.parent)
            fd = os.open(self.journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            log.warning("outbox: fallback journal %s not written: %s", self.journal, e)

    def read_journal(self) -> bool:
        """After a restart: what a degraded run kept aside; True when there was a journal."""
        if self.journal is None or not self.journal.exists():
            return False
        try:
            lines = self.journal.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            log.warning("outbox: fallback journal %s unreadable: %s", self.journal, e)
            return False
        for line in lines:
            try:
                self._replay(json.loads(line))
            except (ValueError, TypeError, KeyError) as e:  # a torn last line after a crash
                log.warning("outbox: skipping a fallback journal line: %s", e)
        log.warning(
            "outbox: read %s: %d hit(s), %d mark(s) kept from a degraded run",
            self.journal,
            len(self.hits),
            len(self.marks),
        )
        return True

    def _replay(self, record: dict[str, Any]) -> None:
        if "add" in record:
            hit = hit_from_dict(record["add"])
            image = base64.b64decode(record["image"]) if "image" in record else None
            self.keep(hit, set(self.sinks_for(image)), image)
        elif "mark" in record:
            event_id, sink = (str(x) for x in record["mark"])
            if event_id in self.hits:
                self.sent(event_id, sink)
            else:
                self.marks.add((event_id, sink))
        elif "seq" in record:
            self.seq = int(record["seq"])
