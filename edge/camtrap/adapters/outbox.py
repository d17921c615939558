"""Durable outbox: hits wait here (SQLite, WAL) until every configured sink has acknowledged.

* ``add(hit)`` commits with ``synchronous=FULL`` before it returns: a process killed right
  after ``add`` loses nothing. It is idempotent on ``event_id`` while the hit is pending.
* Each hit gets one delivery row per sink (``mqtt``, ``lora``...); ``mark_sent`` deletes the
  sink's row, and the hit itself goes when its last delivery row goes.
* ``next_event_seq()`` hands out the persistent event sequence (0 .. 2^24-1, then wraps), safe
  across processes (``BEGIN IMMEDIATE``).

Safe to share between the service thread and a publisher's network thread (one connection,
one lock) and between processes (SQLite file locking, a busy timeout).

    >>> import tempfile, os
    >>> box = Outbox(os.path.join(tempfile.mkdtemp(), "outbox.db"), sinks=("mqtt", "lora"))
    >>> box.next_event_seq(), box.next_event_seq()
    (0, 1)
    >>> box.close()
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from camtrap.core.types import EVENT_SEQ_MAX, Hit
from camtrap.errors import PeerError

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


class OutboxError(PeerError):
    """The outbox database could not be opened or written (disk, permissions, corruption)."""


class Outbox:
    def __init__(self, path: str | Path, sinks: Sequence[str] = ("mqtt",)) -> None:
        if not sinks or len(set(sinks)) != len(sinks):
            raise ValueError(f"outbox sinks must be distinct and non-empty, got {sinks!r}")
        self.path = Path(path)
        self.sinks = tuple(sinks)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as e:
            raise OutboxError(f"outbox {self.path}: cannot open: {e}") from None

    # ----------------------------------------------------------------------------------------

    def next_event_seq(self) -> int:
        """Reserve and return the next event sequence number (persistent, wraps at 2^24)."""
        with self._tx() as db:
            row = db.execute("SELECT value FROM counters WHERE name = 'event_seq'").fetchone()
            seq = 0 if row is None else int(row[0])
            nxt = 0 if seq >= EVENT_SEQ_MAX else seq + 1
            db.execute(
                "INSERT INTO counters(name, value) VALUES ('event_seq', ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (nxt,),
            )
        return seq

    def add(self, hit: Hit) -> bool:
        """Queue a hit for every sink; durable on return. False when it was already queued."""
        body = json.dumps(asdict(hit), sort_keys=True)
        with self._tx() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO hits(event_id, body) VALUES (?, ?)", (hit.event_id, body)
            )
            if cur.rowcount == 0:
                return False
            db.executemany(
                "INSERT OR IGNORE INTO deliveries(event_id, sink) VALUES (?, ?)",
                [(hit.event_id, s) for s in self.sinks],
            )
        return True

    def pending(self, sink: str, limit: int = 100) -> list[Hit]:
        """Hits not yet acknowledged by ``sink``, oldest first."""
        with self._lock:
            rows = self._query(
                "SELECT h.body FROM hits h JOIN deliveries d ON d.event_id = h.event_id "
                "WHERE d.sink = ? ORDER BY h.id LIMIT ?",
                (sink, limit),
            )
        return [_hit_from_json(str(r[0])) for r in rows]

    def mark_sent(self, event_id: str, sink: str) -> None:
        """``sink`` acknowledged ``event_id``; the hit goes once every sink has. Idempotent."""
        with self._tx() as db:
            db.execute("DELETE FROM deliveries WHERE event_id = ? AND sink = ?", (event_id, sink))
            db.execute(
                "DELETE FROM hits WHERE event_id = ? AND NOT EXISTS "
                "(SELECT 1 FROM deliveries d WHERE d.event_id = ?)",
                (event_id, event_id),
            )

    def count_pending(self, sink: str | None = None) -> int:
        """Pending deliveries for ``sink``, or hits still pending anywhere when None."""
        with self._lock:
            if sink is None:
                rows = self._query("SELECT COUNT(*) FROM hits", ())
            else:
                rows = self._query("SELECT COUNT(*) FROM deliveries WHERE sink = ?", (sink,))
        return int(rows[0][0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ----------------------------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise OutboxError(f"outbox {self.path}: {e}") from None

    def _tx(self) -> _Transaction:
        return _Transaction(self)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` under the outbox lock; rollback on any error."""

    def __init__(self, box: Outbox) -> None:
        self._box = box

    def __enter__(self) -> sqlite3.Connection:
        self._box._lock.acquire()
        try:
            self._box._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            self._box._lock.release()
            raise OutboxError(f"outbox {self._box.path}: {e}") from None
        return self._box._db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        db = self._box._db
        try:
            if exc_type is None:
                db.execute("COMMIT")
            else:
                db.execute("ROLLBACK")
        except sqlite3.Error as e:
            if exc_type is None:
                raise OutboxError(f"outbox {self._box.path}: {e}") from None
        finally:
            self._box._lock.release()
        if isinstance(exc, sqlite3.Error):
            raise OutboxError(f"outbox {self._box.path}: {exc}") from None


def _hit_from_json(text: str) -> Hit:
    """A stored hit; keys a newer or older `Hit` does not know are ignored."""
    known = {f.name for f in fields(Hit)}
    return Hit(**{k: v for k, v in json.loads(text).items() if k in known})
