"""Durable outbox: hits wait here (SQLite, WAL) until every configured sink has acknowledged.

* ``add(hit)`` commits with ``synchronous=FULL`` before it returns: a process killed right
  after ``add`` loses nothing. It is idempotent on ``event_id`` while the hit is pending.
* Each hit gets one delivery row per sink (``mqtt``, ``lora``...); ``mark_sent`` deletes the
  sink's row, and the hit itself goes when its last delivery row goes.
* ``next_event_seq()`` hands out the persistent event sequence (0 .. 2^24-1, then wraps), safe
  across processes (``BEGIN IMMEDIATE``).
* A hit may carry its picture (``add(hit, image)``): it waits in the same row, so an outage
  delays the picture as it delays the hit. Sinks named in ``IMAGE_SINKS`` (the MQTT picture
  topic) get a delivery row only when there is a picture.
* ``read_value``/``write_value``: small persistent integers a sink keeps beside its queue (the
  notifier's last send time, so a power-gated Pi that boots per event still rate-limits).
* Schema changes migrate the file in place: a database written by an older camtrap opens and
  keeps its pending hits.

Storage faults are a state, not an exception. A full disk, a read-only remount or an I/O error
on the database puts the outbox in a degraded mode (`fault` says why) instead of raising
(`camtrap.adapters.outbox_degraded`): a released reserve file (``RESERVE_BYTES``) lets its
bookkeeping through a full disk; what still cannot be written is kept aside (at most
``MEMORY_HITS`` hits, journalled to ``fallback_dir`` when one is given), and `pending` and
`count_pending` see the database through it, so an acknowledged hit is never offered again,
not even after a restart. Every call first tries to recover: once the database takes writes
again, what was kept goes in and `fault` is None.

The schema, its migrations and the statements are `camtrap.adapters.outbox_db`.
The database and its WAL files are 0600 and a directory it creates 0700, whatever the umask.
Safe to share between the service thread and a publisher's network thread (one connection,
one lock) and between processes (SQLite file locking, a busy timeout).

    >>> import tempfile, os
    >>> box = Outbox(os.path.join(tempfile.mkdtemp(), "outbox.db"), sinks=("mqtt", "lora"))
    >>> box.next_event_seq(), box.next_event_seq()
    (0, 1)
    >>> box.fault is None
    True
    >>> box.close()
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from camtrap.adapters import outbox_db as sql
from camtrap.adapters.outbox_db import make_private_dir
from camtrap.adapters.outbox_degraded import JOURNAL, OS_FAULTS, Kept, Reserve, fault_kind
from camtrap.core.types import Hit
from camtrap.errors import PeerError

log = logging.getLogger(__name__)

__all__ = ["IMAGE_SINKS", "JOURNAL", "Outbox", "OutboxError", "fallback_dir"]

RESERVE_BYTES = 512 * 1024  # enough WAL pages for many thousand sent-marks
MEMORY_HITS = 256  # hits kept in memory while the database takes no writes
RETRY_S = 5.0  # a degraded outbox tries to recover at most this often
IMAGE_SINKS = frozenset({"mqtt_image"})  # sinks that deliver the picture, not the hit


def fallback_dir() -> Path | None:
    """Where a degraded outbox journals what the SD card does not take: systemd's
    ``RuntimeDirectory`` (``/run/camtrap``, a tmpfs; the unit sets it), else none (memory)."""
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    return Path(runtime) if runtime else None


T = TypeVar("T")


class OutboxError(PeerError):
    """The outbox could not be opened or used for a reason other than a storage fault."""


class Outbox:
    def __init__(
        self,
        path: str | Path,
        sinks: Sequence[str] = ("mqtt",),
        *,
        fallback_dir: str | Path | None = None,
        reserve_bytes: int = RESERVE_BYTES,
        memory_hits: int = MEMORY_HITS,
        retry_s: float = RETRY_S,
    ) -> None:
        if not sinks or len(set(sinks)) != len(sinks):
            raise ValueError(f"outbox sinks must be distinct and non-empty, got {sinks!r}")
        self.path = Path(path)
        self.sinks = tuple(sinks)
        self.reserve = Reserve(self.path.with_name(self.path.name + ".reserve"), reserve_bytes)
        self.retry_s = retry_s
        self._next_try = 0.0  # monotonic time of the next recovery attempt
        journal = None if fallback_dir is None else Path(fallback_dir) / JOURNAL
        self.fault: str | None = None  # why the outbox is degraded; None when healthy
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._kept = Kept(journal, memory_hits, self._sinks_for)  # what the database did not take
        self._image_column = True  # False: an old read-only file (no picture column)
        self._logged: str | None = None  # the fault last logged (once per fault, not per call)
        self._seen_seq = 0  # the next sequence as last seen in the database (a lower bound)
        try:
            make_private_dir(self.path.parent)
        except OSError as e:
            if e.errno not in OS_FAULTS:
                raise OutboxError(f"outbox {self.path}: cannot open: {e}") from None
            self._enter_fault(OS_FAULTS[e.errno], e)
        if self._kept.read_journal():
            self.fault = self.fault or "recovering the fallback journal"
        with self._lock:
            if self._db is None and (self.fault is None or journal is not None):
                self._open(strict=self.fault is None)
            self._recover()

    @property
    def journal(self) -> Path | None:
        """The fallback journal (None: what the database does not take is kept in memory)."""
        return self._kept.journal

    @property
    def dropped(self) -> int:
        """Hits lost because memory was full as well (logged)."""
        return self._kept.dropped

    # ----------------------------------------------------------------------------------------

    def next_event_seq(self) -> int:
        """Reserve and return the next event sequence number (persistent, wraps at 2^24)."""
        with self._lock:
            self._recover()
            kept = self._kept
            if kept.seq is None:
                ok, seq = self._write(sql.take_seq)
                if ok:
                    self._seen_seq = sql.next_seq(seq)
                    return seq
                stored = self._read_seq()
                kept.seq = self._seen_seq if stored is None else stored
            seq = kept.seq
            kept.seq = sql.next_seq(seq)
            kept.write({"seq": kept.seq})
            return seq

    def add(self, hit: Hit, image: bytes | None = None) -> bool:
        """Queue a hit (and its picture) for every sink; durable on return when healthy (else
        kept, see module). Without a picture the `IMAGE_SINKS` get no delivery row.

        False when it was already queued.
        """
        sinks = self._sinks_for(image)

        def insert(db: sqlite3.Connection) -> bool:
            return sql.insert_hit(db, hit, image, sinks)

        with self._lock:
            self._recover()
            if hit.event_id in self._kept.hits:
                return False
            ok, added = self._write(insert)
            if ok:
                return added
            if hit.event_id in {h.event_id for h in sql.pending_hits(self._query, None, 10_000)}:
                return False
            self._kept.add(hit, set(sinks), image)
            return True

    def _sinks_for(self, image: bytes | None) -> list[str]:
        return [s for s in self.sinks if image is not None or s not in IMAGE_SINKS]

    def pending(self, sink: str, limit: int = 100) -> list[Hit]:
        """Hits not yet acknowledged by ``sink``, oldest first."""
        with self._lock:
            self._recover()
            stored = sql.pending_hits(self._query, sink, limit + len(self._kept.marks))
            return [h for h, _ in self._kept.through(sink, [(h, None) for h in stored])][:limit]

    def pending_with_images(self, sink: str, limit: int = 100) -> list[tuple[Hit, bytes | None]]:
        """As `pending`, each hit with its picture (None when it has none)."""
        with self._lock:
            self._recover()
            n = limit + len(self._kept.marks)
            stored = sql.pending_images(self._query, sink, n, self._image_column)
            return self._kept.through(sink, stored)[:limit]

    def read_value(self, name: str) -> int | None:
        """A persistent integer a sink stored with `write_value`, or None."""
        with self._lock:
            if name in self._kept.values:
                return self._kept.values[name]
            return sql.stored_value(self._query, f"value:{name}")

    def write_value(self, name: str, value: int) -> None:
        """Store ``value`` under ``name``; kept in memory while the database takes no write."""

        def put(db: sqlite3.Connection) -> None:
            sql.put_value(db, name, int(value))

        with self._lock:
            self._recover()
            ok, _ = self._write(put)
            if ok:
                self._kept.values.pop(name, None)
            else:
                self._kept.values[name] = int(value)

    def mark_sent(self, event_id: str, sink: str) -> None:
        """``sink`` acknowledged ``event_id``; the hit goes once every sink has. Idempotent."""

        def delete(db: sqlite3.Connection) -> None:
            sql.delete_delivery(db, event_id, sink)

        with self._lock:
            kept = self._kept
            if event_id in kept.hits:
                kept.sent(event_id, sink)
                kept.write({"mark": [event_id, sink]})
                return
            self._recover()
            ok, _ = self._write(delete)
            if not ok:
                kept.marks.add((event_id, sink))
                kept.write({"mark": [event_id, sink]})

    def count_pending(self, sink: str | None = None) -> int:
        """Pending deliveries for ``sink``, or hits still pending anywhere when None."""
        with self._lock:
            self._recover()
            return self._kept.count(sql.pending_sinks(self._query, sink), sink)

    def health(self) -> dict[str, int | str | None]:
        """For telemetry and doctor: the fault (None when healthy) and what is kept aside."""
        with self._lock:
            self._recover()
            return {
                "outbox_fault": self.fault,
                "outbox_kept_hits": len(self._kept.hits),
                "outbox_kept_marks": len(self._kept.marks),
                "outbox_dropped": self.dropped,
            }

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- the database ------------------------------------------------------------------------

    def _open(self, strict: bool = False) -> None:
        """Connect; a storage fault degrades, other errors raise when ``strict`` (start-up)."""
        try:
            db = sql.connect(self.path)
        except (sqlite3.Error, OSError) as e:
            self._open_failed(e, strict)
            return
        try:
            sql.configure(db)
            self._image_column = False  # until the migration says it is there
            db.executescript(sql.SCHEMA)
            self._image_column = sql.migrate(db)
        except sqlite3.Error as e:
            # a read-only or full disk may still let an existing database be read
            kind = fault_kind(e)
            if kind is None and strict:
                db.close()
                raise OutboxError(f"outbox {self.path}: cannot open: {e}") from None
            self._enter_fault(kind or "cannot open", e)
        self._db = db
        sql.private_wal(self.path)
        self._ensure_reserve()

    def _open_failed(self, e: BaseException, strict: bool) -> None:
        kind = fault_kind(e)
        if kind is None and strict:
            raise OutboxError(f"outbox {self.path}: cannot open: {e}") from None
        self._enter_fault(kind or "cannot open", e)

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> tuple[bool, Any]:
        """Run ``fn`` in a ``BEGIN IMMEDIATE`` transaction: (True, result), or (False, None)
        on a storage fault (entered); a full disk first releases the reserve and retries."""
        for attempt in (0, 1):
            db = self._db
            if db is None:
                return False, None
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(db)
                    db.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                    raise
                return True, result
            except sqlite3.Error as e:
                kind = fault_kind(e)
                if kind is None and self.fault is None:
                    raise OutboxError(f"outbox {self.path}: {e}") from None
                if kind is None:  # e.g. no schema yet: the database never took a write
                    return False, None
                if kind == "disk full" and attempt == 0 and self.reserve.release(self.path):
                    continue
                self._enter_fault(kind, e)
                return False, None
        return False, None

    def _query(self, statement: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        db = self._db
        if db is None:
            return []
        try:
            return db.execute(statement, params).fetchall()
        except sqlite3.Error as e:
            kind = fault_kind(e)
            if kind is None and self.fault is None:
                raise OutboxError(f"outbox {self.path}: {e}") from None
            if kind is not None:
                self._enter_fault(kind, e)
            return []  # degraded: what the database holds is unreadable for now

    def _read_seq(self) -> int | None:
        if self._db is None:
            return None
        seq = sql.stored_value(self._query, "event_seq")
        return self._seen_seq if seq is None else seq

    # -- faults and recovery -----------------------------------------------------------------

    def _enter_fault(self, kind: str, e: BaseException) -> None:
        fault = f"{kind}: {e}"
        if self._logged != fault:
            self._logged = fault
            log.error(
                "outbox %s: %s: degraded (hits kept in memory until it recovers)", self.path, fault
            )
        self.fault = fault

    def _recover(self) -> None:
        """When degraded: try to write what was kept; healthy again on success."""
        if self.fault is None or time.monotonic() < self._next_try:
            return
        self._next_try = time.monotonic() + self.retry_s
        if self._db is not None and not self.fault.startswith("disk full"):
            # a connection opened on a read-only card stays read-only: open it again
            self._db.close()
            self._db = None
        if self._db is None:
            try:
                make_private_dir(self.path.parent)
            except OSError:
                return
            self._open()
            if self._db is None:
                return

        kept = self._kept

        def flush(db: sqlite3.Connection) -> None:
            for statement in sql.SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            self._image_column = sql.migrate(db)
            kept.write_to(db)

        before = self.fault
        self.fault = None  # _write re-enters the fault if the database still takes nothing
        ok, _ = self._write(flush)
        if not ok:
            return
        log.warning(
            "outbox %s: recovered from %s; %d kept hit(s), %d mark(s) written",
            self.path,
            before,
            len(kept.hits),
            len(kept.marks),
        )
        self._logged = None
        kept.clear()
        self._ensure_reserve()

    def _ensure_reserve(self) -> None:
        if self.fault is None:
            self.reserve.ensure()
