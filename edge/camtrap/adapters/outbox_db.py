"""The outbox's SQLite file: its schema and migrations, the statements and queries the outbox
runs, and the private modes of the file and its directory.

Schema changes migrate the file in place (``PRAGMA user_version``): a database written by an
older camtrap opens and keeps its pending hits. The statements take a connection inside the
outbox's transaction (`camtrap.adapters.outbox.Outbox`), so they run together or not at all.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from camtrap.core.types import EVENT_SEQ_MAX, Hit

SCHEMA_VERSION = 1  # 1: hits.image (the hit picture, JPEG bytes or NULL)
WAL_LIMIT_BYTES = 256 * 1024

SCHEMA = """
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

MIGRATIONS = {1: "ALTER TABLE hits ADD COLUMN image BLOB"}  # version -> the step to it


def connect(path: Path) -> sqlite3.Connection:
    """The database, created 0600 first; autocommit (the outbox opens its transactions),
    shared between threads under the outbox's lock."""
    create_private(path)
    return sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)


def private_wal(path: Path) -> None:
    for suffix in ("-wal", "-shm"):  # SQLite gives them the database's mode; be sure
        with contextlib.suppress(OSError):
            os.chmod(f"{path}{suffix}", 0o600)


def configure(db: sqlite3.Connection) -> None:
    """WAL, every commit synced, and a small WAL for a small card."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    # a small card: keep the WAL small (checkpoint every 64 pages, truncate to 256 KiB)
    # instead of SQLite's default of up to 1000 pages between checkpoints
    db.execute("PRAGMA wal_autocheckpoint=64")
    db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")


def migrate(db: sqlite3.Connection) -> bool:
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
                    db.execute(MIGRATIONS[target])
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except sqlite3.Error:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        if "image" not in columns and readonly(db):
            return False  # read what is there; the next recovery migrates it
        raise
    return True


def readonly(db: sqlite3.Connection) -> bool:
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
    except sqlite3.Error:
        return True
    return False


Query = Callable[[str, tuple[object, ...]], list[tuple[Any, ...]]]  # rows, or [] degraded


def pending_hits(query: Query, sink: str | None, limit: int) -> list[Hit]:
    """Hits pending for ``sink`` (any sink when None), oldest first."""
    if sink is None:
        rows = query("SELECT body FROM hits ORDER BY id LIMIT ?", (limit,))
    else:
        rows = query(
            "SELECT h.body FROM hits h JOIN deliveries d ON d.event_id = h.event_id "
            "WHERE d.sink = ? ORDER BY h.id LIMIT ?",
            (sink, limit),
        )
    return [hit_from_json(str(r[0])) for r in rows]


def pending_images(
    query: Query, sink: str, limit: int, image_column: bool
) -> list[tuple[Hit, bytes | None]]:
    """As `pending_hits`, each with its picture (None without one, or without the column)."""
    image = "h.image" if image_column else "NULL"
    rows = query(
        f"SELECT h.body, {image} FROM hits h JOIN deliveries d ON d.event_id = h.event_id "
        "WHERE d.sink = ? ORDER BY h.id LIMIT ?",
        (sink, limit),
    )
    return [(hit_from_json(str(r[0])), None if r[1] is None else bytes(r[1])) for r in rows]


def pending_sinks(query: Query, sink: str | None) -> dict[str, set[str]]:
    """event id -> sinks still pending (for one sink, or all)."""
    if sink is None:
        out: dict[str, set[str]] = {}
        for e, s in query("SELECT event_id, sink FROM deliveries", ()):
            out.setdefault(str(e), set()).add(str(s))
        return out
    rows = query("SELECT event_id FROM deliveries WHERE sink = ?", (sink,))
    return {str(e): {sink} for (e,) in rows}


def stored_value(query: Query, name: str) -> int | None:
    rows = query("SELECT value FROM counters WHERE name = ?", (name,))
    return int(rows[0][0]) if rows else None


def insert_hit(db: sqlite3.Connection, hit: Hit, image: bytes | None, sinks: Sequence[str]) -> bool:
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


def put_value(db: sqlite3.Connection, name: str, value: int) -> None:
    db.execute(
        "INSERT INTO counters(name, value) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (f"value:{name}", value),
    )


def delete_delivery(db: sqlite3.Connection, event_id: str, sink: str) -> None:
    db.execute("DELETE FROM deliveries WHERE event_id = ? AND sink = ?", (event_id, sink))
    db.execute(
        "DELETE FROM hits WHERE event_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM deliveries d WHERE d.event_id = ?)",
        (event_id, event_id),
    )


def counter(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT value FROM counters WHERE name = 'event_seq'").fetchone()
    return 0 if row is None else int(row[0])


def set_counter(db: sqlite3.Connection, seq: int) -> None:
    db.execute(
        "INSERT INTO counters(name, value) VALUES ('event_seq', ?) "
        "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (seq,),
    )


def take_seq(db: sqlite3.Connection) -> int:
    """The next event sequence, moved on by one in the same transaction."""
    seq = counter(db)
    set_counter(db, next_seq(seq))
    return seq


def next_seq(seq: int) -> int:
    return 0 if seq >= EVENT_SEQ_MAX else seq + 1


def ahead(a: int, b: int) -> bool:
    """``a`` is after ``b`` on the wrapping sequence (within half its range)."""
    return 0 < (a - b) % (EVENT_SEQ_MAX + 1) < (EVENT_SEQ_MAX + 1) // 2


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) 0700 whatever the umask; an existing one is left alone."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def create_private(path: Path) -> None:
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


def hit_from_json(text: str) -> Hit:
    """A stored hit; keys a newer or older `Hit` does not know are ignored."""
    return hit_from_dict(json.loads(text))


def hit_from_dict(record: dict[str, Any]) -> Hit:
    known = {f.name for f in fields(Hit)}
    return Hit(**{k: v for k, v in record.items() if k in known})
