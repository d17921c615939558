"""Durable outbox: per-sink delivery, idempotence, persistent event sequence, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from camtrap.adapters.outbox import Outbox, OutboxError
from camtrap.core.types import EVENT_SEQ_MAX, Hit

REPO = Path(__file__).resolve().parents[2]


def hit(seq: int, device: str = "trap-07") -> Hit:
    return Hit(f"{device}-{seq}", seq, device, 1795500000.0 + seq, "leopard", 0.9, 3, 4, "m@1")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "outbox.db"


def test_added_hit_is_pending_for_every_sink_until_each_acknowledges(db):
    box = Outbox(db, sinks=("mqtt", "lora"))
    assert box.add(hit(1))
    assert box.pending("mqtt") == [hit(1)] and box.pending("lora") == [hit(1)]
    box.mark_sent("trap-07-1", "mqtt")
    assert box.pending("mqtt") == [] and box.pending("lora") == [hit(1)]
    assert box.count_pending() == 1 and box.count_pending("mqtt") == 0
    box.mark_sent("trap-07-1", "lora")
    assert box.count_pending() == 0 and box.count_pending("lora") == 0


def test_pending_is_oldest_first_and_limited(db):
    box = Outbox(db)
    for s in (5, 3, 9):
        box.add(hit(s))
    assert [h.event_seq for h in box.pending("mqtt")] == [5, 3, 9]
    assert [h.event_seq for h in box.pending("mqtt", limit=2)] == [5, 3]


def test_add_is_idempotent_on_event_id_while_pending(db):
    box = Outbox(db)
    assert box.add(hit(1)) is True
    assert box.add(hit(1)) is False
    assert box.count_pending("mqtt") == 1


def test_mark_sent_is_idempotent_and_ignores_unknown_ids(db):
    box = Outbox(db)
    box.add(hit(1))
    box.mark_sent("trap-07-1", "mqtt")
    box.mark_sent("trap-07-1", "mqtt")
    box.mark_sent("nope", "mqtt")
    assert box.count_pending() == 0


def test_pending_hits_survive_reopening(db):
    Outbox(db).add(hit(7))
    assert Outbox(db).pending("mqtt") == [hit(7)]


def test_event_sequence_persists_across_outbox_instances(db):
    first = Outbox(db)
    assert [first.next_event_seq() for _ in range(3)] == [0, 1, 2]
    first.close()
    assert Outbox(db).next_event_seq() == 3


def test_event_sequence_wraps_at_24_bits(db):
    box = Outbox(db)
    box._db.execute("INSERT INTO counters(name, value) VALUES ('event_seq', ?)", (EVENT_SEQ_MAX,))
    assert [box.next_event_seq(), box.next_event_seq()] == [EVENT_SEQ_MAX, 0]


def test_two_instances_on_one_file_see_each_others_hits(db):
    service, publisher = Outbox(db), Outbox(db)
    service.add(hit(1))
    assert publisher.pending("mqtt") == [hit(1)]
    publisher.mark_sent("trap-07-1", "mqtt")
    assert service.count_pending() == 0


def test_unopenable_path_is_an_outbox_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutboxError, match="cannot open"):
        Outbox(tmp_path / "file" / "outbox.db")


def test_a_process_killed_right_after_add_returned_loses_nothing(db):
    script = textwrap.dedent(
        f"""
        import sys, time
        from camtrap.adapters.outbox import Outbox
        from camtrap.core.types import Hit
        box = Outbox({str(db)!r})
        seq = box.next_event_seq()
        box.add(Hit(f"trap-07-{{seq}}", seq, "trap-07", 1795500000.0, "leopard", 0.9, 3, 4))
        print("added", seq, flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line[0] == "added", line
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    box = Outbox(db)
    assert [h.event_id for h in box.pending("mqtt")] == [f"trap-07-{line[1]}"]
    assert box.next_event_seq() == int(line[1]) + 1


def test_event_sequence_is_unique_across_concurrent_processes(db):
    Outbox(db).close()  # create the schema first
    script = textwrap.dedent(
        f"""
        from camtrap.adapters.outbox import Outbox
        box = Outbox({str(db)!r})
        print(" ".join(str(box.next_event_seq()) for _ in range(40)))
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    seqs = [int(s) for p in procs for s in p.communicate(timeout=60)[0].split()]
    assert sorted(seqs) == list(range(120))


def test_a_hit_keeps_its_picture_until_the_picture_sink_acknowledges(db):
    box = Outbox(db, sinks=("mqtt", "mqtt_image"))
    box.add(hit(1), image=b"\xff\xd8jpeg-1")
    box.add(hit(2))  # no picture: nothing for the picture sink to send
    assert box.pending_with_images("mqtt") == [(hit(1), b"\xff\xd8jpeg-1"), (hit(2), None)]
    assert box.pending_with_images("mqtt_image") == [(hit(1), b"\xff\xd8jpeg-1")]
    box.mark_sent("trap-07-1", "mqtt")
    reopened = Outbox(db, sinks=("mqtt", "mqtt_image"))
    assert reopened.pending_with_images("mqtt_image") == [(hit(1), b"\xff\xd8jpeg-1")]
    reopened.mark_sent("trap-07-1", "mqtt_image")
    reopened.mark_sent("trap-07-2", "mqtt")
    assert reopened.count_pending() == 0


def test_a_database_of_the_previous_schema_is_migrated_with_its_pending_hits(db):
    import json
    import sqlite3
    from dataclasses import asdict

    db.parent.mkdir(parents=True)
    old = sqlite3.connect(db)
    old.executescript(
        "CREATE TABLE hits (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,"
        " body TEXT NOT NULL);"
        "CREATE TABLE deliveries (event_id TEXT NOT NULL REFERENCES hits(event_id),"
        " sink TEXT NOT NULL, PRIMARY KEY (event_id, sink));"
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    )
    old.execute(
        "INSERT INTO hits(event_id, body) VALUES (?, ?)", ("trap-07-5", json.dumps(asdict(hit(5))))
    )
    old.execute("INSERT INTO deliveries VALUES ('trap-07-5', 'mqtt')")
    old.execute("INSERT INTO counters VALUES ('event_seq', 6)")
    old.commit()
    old.close()
    box = Outbox(db, sinks=("mqtt", "mqtt_image"))
    assert box.pending_with_images("mqtt") == [(hit(5), None)]
    assert box.next_event_seq() == 6
    box.add(hit(6), image=b"\xff\xd8six")
    assert box.pending_with_images("mqtt_image") == [(hit(6), b"\xff\xd8six")]
    box.close()
    again = sqlite3.connect(db)
    assert again.execute("PRAGMA user_version").fetchone()[0] == 1
    again.close()
    Outbox(db).close()  # opening a migrated file again changes nothing


def test_values_a_sink_keeps_persist_and_do_not_touch_the_event_sequence(db):
    box = Outbox(db)
    assert box.read_value("notify_last") is None
    box.write_value("notify_last", 1795500000)
    box.write_value("notify_last", 1795500060)
    assert Outbox(db).read_value("notify_last") == 1795500060
    assert box.next_event_seq() == 0
