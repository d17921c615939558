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
* Schema changes migrate the file in place (``PRAGMA user_version``): a database written by an
  older camtrap opens and keeps its pending hits.

Storage faults are a state, not an exception. A full disk, a read-only remount or an I/O error
on the database puts the outbox in a degraded mode (`fault` says why) instead of raising:

* Space for its own bookkeeping is kept in a preallocated reserve file beside the database
  (``RESERVE_BYTES``); on "disk full" the reserve is released and the write retried, so a
  sent-mark (a delete, which still needs WAL pages) gets through when the disk fills.
* What still cannot be written is kept in memory, bounded (``MEMORY_HITS`` hits), and appended
  to a journal in ``fallback_dir`` when one is given and writable (e.g. ``/run/camtrap``, a
  tmpfs): hits added, sent-marks, handed-out sequence numbers. `pending` and `count_pending`
  see the database through these, so a hit a sink acknowledged is never offered again, and
  a restart reads the journal back, so it does not re-send it either.
* Every call first tries to recover: once the database takes writes again, the kept hits,
  marks and sequence go in, the journal is deleted, the reserve is rebuilt, `fault` is None.

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

import base64
import contextlib
import errno
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, TypeVar

from camtrap.core.types import EVENT_SEQ_MAX, Hit
from camtrap.errors import PeerError

log = logging.getLogger(__name__)

RESERVE_BYTES = 512 * 1024  # enough WAL pages for many thousand sent-marks
MEMORY_HITS = 256  # hits kept in memory while the database takes no writes
WAL_LIMIT_BYTES = 256 * 1024
RETRY_S = 5.0  # a degraded outbox tries to recover at most this often
JOURNAL = "outbox-fallback.jsonl"


def fallback_dir() -> Path | None:
    """Where a degraded outbox journals what the SD card does not take: systemd's
    ``RuntimeDirectory`` (``/run/camtrap``, a tmpfs; the unit sets it), else none (memory)."""
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    return Path(runtime) if runtime else None


IMAGE_SINKS = frozenset({"mqtt_image"})  # sinks that deliver the picture, not the hit
SCHEMA_VERSION = 1  # 1: hits.image (the hit picture, JPEG bytes or NULL)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    event_id TEXT NOT NULL REFERENCES hits(event_id),
    sink TEXT NOT NULL,
    PRIMARY KEY (event_id, sink)
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

_MIGRATIONS = {1: "ALTER TABLE hits ADD COLUMN image BLOB"}  # version -> the step to it

# SQLite primary result codes that mean "the storage", not "the program"
_FAULTS = {
    13: "disk full",  # SQLITE_FULL
    8: "read-only",  # SQLITE_READONLY
    10: "I/O error",  # SQLITE_IOERR
    14: "cannot open",  # SQLITE_CANTOPEN
    11: "corrupt",  # SQLITE_CORRUPT
    26: "not a database",  # SQLITE_NOTADB
}
_OS_FAULTS = {errno.ENOSPC: "disk full", errno.EROFS: "read-only", errno.EIO: "I/O error"}

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
        self.reserve_path = self.path.with_name(self.path.name + ".reserve")
        self.reserve_bytes = reserve_bytes
        self.memory_hits = memory_hits
        self.retry_s = retry_s
        self._next_try = 0.0  # monotonic time of the next recovery attempt
        self.journal = None if fallback_dir is None else Path(fallback_dir) / JOURNAL
        self.fault: str | None = None  # why the outbox is degraded; None when healthy
        self.dropped = 0  # hits lost because memory was full as well (logged)
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._mem: dict[str, tuple[Hit, set[str]]] = {}  # hits the database did not take
        self._mem_images: dict[str, bytes] = {}  # their pictures
        self._values: dict[str, int] = {}  # values the database did not take
        self._image_column = True  # False: an old read-only file (no picture column)
        self._marks: set[tuple[str, str]] = set()  # sent-marks the database did not take
        self._seq: int | None = None  # the next sequence, while the database took no write
        self._logged: str | None = None  # the fault last logged (once per fault, not per call)
        self._seen_seq = 0  # the next sequence as last seen in the database (a lower bound)
        try:
            _make_private_dir(self.path.parent)
        except OSError as e:
            if e.errno not in _OS_FAULTS:
                raise OutboxError(f"outbox {self.path}: cannot open: {e}") from None
            self._enter_fault(_OS_FAULTS[e.errno], e)
        self._read_journal()
        with self._lock:
            if self._db is None and (self.fault is None or self.journal is not None):
                self._open(strict=self.fault is None)
            self._recover()

    # ----------------------------------------------------------------------------------------

    def next_event_seq(self) -> int:
        """Reserve and return the next event sequence number (persistent, wraps at 2^24)."""
        with self._lock:
            self._recover()
            if self._seq is None:
                ok, seq = self._write(self._take_seq)
                if ok:
                    self._seen_seq = _next(seq)
                    return seq
                stored = self._read_seq()
                self._seq = self._seen_seq if stored is None else stored
            seq = self._seq
            self._seq = _next(seq)
            self._journal({"seq": self._seq})
            return seq

    def add(self, hit: Hit, image: bytes | None = None) -> bool:
        """Queue a hit (and its picture) for every sink; durable on return when healthy (else
        kept, see module). Without a picture the `IMAGE_SINKS` get no delivery row.

        False when it was already queued.
        """
        sinks = self._sinks_for(image)

        def insert(db: sqlite3.Connection) -> bool:
            return _insert_hit(db, hit, image, sinks)

        with self._lock:
            self._recover()
            if hit.event_id in self._mem:
                return False
            ok, added = self._write(insert)
            if ok:
                return added
            if hit.event_id in {h.event_id for h in self._db_pending(None, 10_000)}:
                return False
            self._keep(hit, set(sinks), image)
            record: dict[str, Any] = {"add": asdict(hit)}
            if image is not None:
                record["image"] = base64.b64encode(image).decode("ascii")
            self._journal(record)
            return True

    def _sinks_for(self, image: bytes | None) -> list[str]:
        return [s for s in self.sinks if image is not None or s not in IMAGE_SINKS]

    def pending(self, sink: str, limit: int = 100) -> list[Hit]:
        """Hits not yet acknowledged by ``sink``, oldest first."""
        with self._lock:
            self._recover()
            stored = [
                h
                for h in self._db_pending(sink, limit + len(self._marks))
                if (h.event_id, sink) not in self._marks
            ]
            kept = [h for h, sinks in self._mem.values() if sink in sinks]
        return (stored + kept)[:limit]

    def pending_with_images(self, sink: str, limit: int = 100) -> list[tuple[Hit, bytes | None]]:
        """As `pending`, each hit with its picture (None when it has none)."""
        with self._lock:
            self._recover()
            stored = [
                (h, image)
                for h, image in self._db_pending_images(sink, limit + len(self._marks))
                if (h.event_id, sink) not in self._marks
            ]
            kept = [
                (h, self._mem_images.get(h.event_id))
                for h, sinks in self._mem.values()
                if sink in sinks
            ]
        return (stored + kept)[:limit]

    def read_value(self, name: str) -> int | None:
        """A persistent integer a sink stored with `write_value`, or None."""
        with self._lock:
            if name in self._values:
                return self._values[name]
            rows = self._query("SELECT value FROM counters WHERE name = ?", (f"value:{name}",))
        return int(rows[0][0]) if rows else None

    def write_value(self, name: str, value: int) -> None:
        """Store ``value`` under ``name``; kept in memory while the database takes no write."""

        def put(db: sqlite3.Connection) -> None:
            _put_value(db, name, int(value))

        with self._lock:
            self._recover()
            ok, _ = self._write(put)
            if ok:
                self._values.pop(name, None)
            else:
                self._values[name] = int(value)

    def mark_sent(self, event_id: str, sink: str) -> None:
        """``sink`` acknowledged ``event_id``; the hit goes once every sink has. Idempotent."""

        def delete(db: sqlite3.Connection) -> None:
            _delete_delivery(db, event_id, sink)

        with self._lock:
            if event_id in self._mem:
                _, sinks = self._mem[event_id]
                sinks.discard(sink)
                if not sinks:
                    self._forget(event_id)
                self._journal({"mark": [event_id, sink]})
                return
            self._recover()
            ok, _ = self._write(delete)
            if not ok:
                self._marks.add((event_id, sink))
                self._journal({"mark": [event_id, sink]})

    def count_pending(self, sink: str | None = None) -> int:
        """Pending deliveries for ``sink``, or hits still pending anywhere when None."""
        with self._lock:
            self._recover()
            rows = self._db_rows(sink)
            if sink is None:
                stored = sum(
                    1 for e, sinks in rows.items() if any((e, s) not in self._marks for s in sinks)
                )
                return stored + len(self._mem)
            stored = sum(1 for e in rows if (e, sink) not in self._marks)
            return stored + sum(1 for _, sinks in self._mem.values() if sink in sinks)

    def health(self) -> dict[str, int | str | None]:
        """For telemetry and doctor: the fault (None when healthy) and what is kept aside."""
        with self._lock:
            self._recover()
            return {
                "outbox_fault": self.fault,
                "outbox_kept_hits": len(self._mem),
                "outbox_kept_marks": len(self._marks),
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
            _create_private(self.path)
            db = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
        except (sqlite3.Error, OSError) as e:
            self._open_failed(e, strict)
            return
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            # a small card: keep the WAL small (checkpoint every 64 pages, truncate to 256 KiB)
            # instead of SQLite's default of up to 1000 pages between checkpoints
            db.execute("PRAGMA wal_autocheckpoint=64")
            db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
            self._image_column = False  # until the migration says it is there
            db.executescript(_SCHEMA)
            self._image_column = _migrate(db)
        except sqlite3.Error as e:
            # a read-only or full disk may still let an existing database be read
            kind = _fault_kind(e)
            if kind is None and strict:
                db.close()
                raise OutboxError(f"outbox {self.path}: cannot open: {e}") from None
            self._enter_fault(kind or "cannot open", e)
        self._db = db
        for suffix in ("-wal", "-shm"):  # SQLite gives them the database's mode; be sure
            with contextlib.suppress(OSError):
                os.chmod(f"{self.path}{suffix}", 0o600)
        self._ensure_reserve()

    def _open_failed(self, e: BaseException, strict: bool) -> None:
        kind = _fault_kind(e)
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
                kind = _fault_kind(e)
                if kind is None and self.fault is None:
                    raise OutboxError(f"outbox {self.path}: {e}") from None
                if kind is None:  # e.g. no schema yet: the database never took a write
                    return False, None
                if kind == "disk full" and attempt == 0 and self._release_reserve():
                    continue
                self._enter_fault(kind, e)
                return False, None
        return False, None

    def _query(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        db = self._db
        if db is None:
            return []
        try:
            return db.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            kind = _fault_kind(e)
            if kind is None and self.fault is None:
                raise OutboxError(f"outbox {self.path}: {e}") from None
            if kind is not None:
                self._enter_fault(kind, e)
            return []  # degraded: what the database holds is unreadable for now

    def _db_pending(self, sink: str | None, limit: int) -> list[Hit]:
        if sink is None:
            rows = self._query("SELECT body FROM hits ORDER BY id LIMIT ?", (limit,))
        else:
            rows = self._query(
                "SELECT h.body FROM hits h JOIN deliveries d ON d.event_id = h.event_id "
                "WHERE d.sink = ? ORDER BY h.id LIMIT ?",
                (sink, limit),
            )
        return [_hit_from_json(str(r[0])) for r in rows]

    def _db_pending_images(self, sink: str, limit: int) -> list[tuple[Hit, bytes | None]]:
        image = "h.image" if self._image_column else "NULL"
        rows = self._query(
            f"SELECT h.body, {image} FROM hits h JOIN deliveries d ON d.event_id = h.event_id "
            "WHERE d.sink = ? ORDER BY h.id LIMIT ?",
            (sink, limit),
        )
        return [(_hit_from_json(str(r[0])), None if r[1] is None else bytes(r[1])) for r in rows]

    def _db_rows(self, sink: str | None) -> dict[str, set[str]]:
        """event id -> sinks still pending, from the database (for one sink, or all)."""
        if sink is None:
            rows = self._query("SELECT event_id, sink FROM deliveries", ())
            out: dict[str, set[str]] = {}
            for e, s in rows:
                out.setdefault(str(e), set()).add(str(s))
            return out
        rows = self._query("SELECT event_id FROM deliveries WHERE sink = ?", (sink,))
        return {str(e): {sink} for (e,) in rows}

    def _take_seq(self, db: sqlite3.Connection) -> int:
        seq = _counter(db)
        db.execute(
            "INSERT INTO counters(name, value) VALUES ('event_seq', ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (_next(seq),),
        )
        return seq

    def _read_seq(self) -> int | None:
        if self._db is None:
            return None
        rows = self._query("SELECT value FROM counters WHERE name = 'event_seq'", ())
        return int(rows[0][0]) if rows else self._seen_seq

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
                _make_private_dir(self.path.parent)
            except OSError:
                return
            self._open()
            if self._db is None:
                return

        def flush(db: sqlite3.Connection) -> None:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            self._image_column = _migrate(db)
            for event_id, sink in self._marks:
                _delete_delivery(db, event_id, sink)
            for hit, sinks in self._mem.values():
                _insert_hit(db, hit, self._mem_images.get(hit.event_id), sorted(sinks))
            for name, value in self._values.items():
                _put_value(db, name, value)
            if self._seq is not None and _ahead(self._seq, _counter(db)):
                db.execute(
                    "INSERT INTO counters(name, value) VALUES ('event_seq', ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    (self._seq,),
                )

        before = self.fault
        self.fault = None  # _write re-enters the fault if the database still takes nothing
        ok, _ = self._write(flush)
        if not ok:
            return
        log.warning(
            "outbox %s: recovered from %s; %d kept hit(s), %d mark(s) written",
            self.path,
            before,
            len(self._mem),
            len(self._marks),
        )
        self._logged = None
        self._mem.clear()
        self._mem_images.clear()
        self._values.clear()
        self._marks.clear()
        self._seq = None
        if self.journal is not None:
            with contextlib.suppress(OSError):
                self.journal.unlink()
        self._ensure_reserve()

    def _keep(self, hit: Hit, sinks: set[str], image: bytes | None = None) -> None:
        if len(self._mem) >= self.memory_hits:
            oldest = next(iter(self._mem))
            self._forget(oldest)
            self.dropped += 1
            log.error(
                "outbox: %d hits kept in memory: dropping the oldest, %s", self.memory_hits, oldest
            )
        self._mem[hit.event_id] = (hit, sinks)
        if image is not None:
            self._mem_images[hit.event_id] = image

    def _forget(self, event_id: str) -> None:
        self._mem.pop(event_id, None)
        self._mem_images.pop(event_id, None)

    # -- the reserve ---------------------------------------------------------------------------

    def _ensure_reserve(self) -> None:
        if self.reserve_bytes <= 0 or self.fault is not None:
            return
        try:
            if (
                self.reserve_path.exists()
                and self.reserve_path.stat().st_size >= self.reserve_bytes
            ):
                return
            fd = os.open(self.reserve_path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.reserve_bytes)
            except OSError:  # no fallocate (some filesystems): write real blocks
                os.ftruncate(fd, 0)
                os.write(fd, bytes(self.reserve_bytes))
            finally:
                os.close(fd)
        except OSError as e:  # no room for it now: the next recovery tries again
            log.warning("outbox: cannot preallocate %s: %s", self.reserve_path, e)
            with contextlib.suppress(OSError):
                self.reserve_path.unlink()

    def _release_reserve(self) -> bool:
        try:
            self.reserve_path.unlink()
        except OSError:
            return False
        log.warning(
            "outbox %s: disk full: released the %d-byte reserve for its bookkeeping",
            self.path,
            self.reserve_bytes,
        )
        return True

    # -- the journal ---------------------------------------------------------------------------

    def _journal(self, record: dict[str, Any]) -> None:
        if self.journal is None:
            return
        try:
            _make_private_dir(self.journal.parent)
            fd = os.open(self.journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            log.warning("outbox: fallback journal %s not written: %s", self.journal, e)

    def _read_journal(self) -> None:
        """After a restart: what a degraded run kept aside (marks first: never re-send)."""
        if self.journal is None or not self.journal.exists():
            return
        try:
            lines = self.journal.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            log.warning("outbox: fallback journal %s unreadable: %s", self.journal, e)
            return
        for line in lines:
            try:
                self._replay(json.loads(line))
            except (ValueError, TypeError, KeyError) as e:  # a torn last line after a crash
                log.warning("outbox: skipping a fallback journal line: %s", e)
        self.fault = self.fault or "recovering the fallback journal"
        log.warning(
            "outbox: read %s: %d hit(s), %d mark(s) kept from a degraded run",
            self.journal,
            len(self._mem),
            len(self._marks),
        )

    def _replay(self, record: dict[str, Any]) -> None:
        if "add" in record:
            hit = _hit_from_dict(record["add"])
            image = base64.b64decode(record["image"]) if "image" in record else None
            self._keep(hit, set(self._sinks_for(image)), image)
        elif "mark" in record:
            event_id, sink = (str(x) for x in record["mark"])
            if event_id in self._mem:
                self._mem[event_id][1].discard(sink)
                if not self._mem[event_id][1]:
                    self._forget(event_id)
            else:
                self._marks.add((event_id, sink))
        elif "seq" in record:
            self._seq = int(record["seq"])


# --------------------------------------------------------------------------------------------


def _fault_kind(e: BaseException) -> str | None:
    """The storage fault ``e`` is, or None for any other error."""
    if isinstance(e, sqlite3.Error):
        code = getattr(e, "sqlite_errorcode", None)
        if code is not None:
            return _FAULTS.get(int(code) & 0xFF)
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
        return _OS_FAULTS.get(e.errno or 0)
    return None


def _migrate(db: sqlite3.Connection) -> bool:
    """Bring an older file up to `SCHEMA_VERSION`, one step per version, in one transaction.
    Returns whether the picture column is there (an old file on a read-only card has none)."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    columns = {str(r[1]) for r in db.execute("PRAGMA table_info(hits)")}
    if version >= SCHEMA_VERSION:
        return "image" in columns
    try:
        db.execute("BEGIN IMMEDIATE")
        if int(db.execute("PRAGMA user_version").fetchone()[0]) < SCHEMA_VERSION:
            for target in range(version + 1, SCHEMA_VERSION + 1):
                if not (target == 1 and "image" in columns):
                    db.execute(_MIGRATIONS[target])
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except sqlite3.Error:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        if "image" not in columns and _readonly(db):
            return False  # read what is there; the next recovery migrates it
        raise
    return True


def _readonly(db: sqlite3.Connection) -> bool:
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
    except sqlite3.Error:
        return True
    return False


def _insert_hit(
    db: sqlite3.Connection, hit: Hit, image: bytes | None, sinks: Sequence[str]
) -> bool:
    body = json.dumps(asdict(hit), sort_keys=True)
    cur = db.execute(
        "INSERT OR IGNORE INTO hits(event_id, body, image) VALUES (?, ?, ?)",
        (hit.event_id, body, image),
    )
    if cur.rowcount == 0:
        return False
    db.executemany(
        "INSERT OR IGNORE INTO deliveries(event_id, sink) VALUES (?, ?)",
        [(hit.event_id, s) for s in sinks],
    )
    return True


def _put_value(db: sqlite3.Connection, name: str, value: int) -> None:
    db.execute(
        "INSERT INTO counters(name, value) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (f"value:{name}", value),
    )


def _delete_delivery(db: sqlite3.Connection, event_id: str, sink: str) -> None:
    db.execute("DELETE FROM deliveries WHERE event_id = ? AND sink = ?", (event_id, sink))
    db.execute(
        "DELETE FROM hits WHERE event_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM deliveries d WHERE d.event_id = ?)",
        (event_id, event_id),
    )


def _counter(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT value FROM counters WHERE name = 'event_seq'").fetchone()
    return 0 if row is None else int(row[0])


def _next(seq: int) -> int:
    return 0 if seq >= EVENT_SEQ_MAX else seq + 1


def _ahead(a: int, b: int) -> bool:
    """``a`` is after ``b`` on the wrapping sequence (within half its range)."""
    return 0 < (a - b) % (EVENT_SEQ_MAX + 1) < (EVENT_SEQ_MAX + 1) // 2


def _make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) 0700 whatever the umask; an existing one is left alone."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _create_private(path: Path) -> None:
    """The database file exists and is 0600 before SQLite opens it (WAL files inherit it)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        if e.errno == errno.EROFS and path.exists():
            return  # read-only: SQLite may still read it
        raise
    os.close(fd)
    if (os.stat(path).st_mode & 0o777) != 0o600:
        os.chmod(path, 0o600)


def _hit_from_json(text: str) -> Hit:
    """A stored hit; keys a newer or older `Hit` does not know are ignored."""
    return _hit_from_dict(json.loads(text))


def _hit_from_dict(record: dict[str, Any]) -> Hit:
    known = {f.name for f in fields(Hit)}
    return Hit(**{k: v for k, v in record.items() if k in known})
