"""The Apprise notification sink against a real HTTP endpoint on 127.0.0.1: one delivery per
event id (also across a restart), the picture attached, retries with backoff on 500 and on a
timeout, rate limit and quiet hours from the outbox, secrets never logged."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from webhook import Endpoint, serve_webhook

from camtrap.adapters.clock import SystemClock
from camtrap.adapters.notify import AppriseNotifier, NotifyTarget, read_targets
from camtrap.adapters.outbox import Outbox
from camtrap.core.alerts import Location, NotifyPolicy, QuietHours
from camtrap.core.types import Hit
from camtrap.errors import ConfigError
from camtrap.sim.clock import ManualClock

pytest.importorskip("apprise")

T0 = 1795500000.0  # 2026-11-24 06:00:00 UTC


def hit(seq: int, score: float = 0.93) -> Hit:
    return Hit(f"trap-07-{seq}", seq, "trap-07", T0 + seq, "leopard", score, 3, 4, "m@1")


def jpeg(seq: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + bytes([seq]) * 500 + b"\xff\xd9"


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    with serve_webhook() as ep:
        yield ep


def url(ep: Endpoint, user: str = "") -> str:
    auth = f"{user}@" if user else ""
    return f"json://{auth}127.0.0.1:{ep.port}/camtrap-hook?rto=0.5&cto=2"


NO_LIMIT = NotifyPolicy(min_interval_s=0)


def notifier(
    box: Outbox, target: NotifyTarget, clock=None, policy=NO_LIMIT, **kw
) -> AppriseNotifier:
    return AppriseNotifier(
        box,
        [target],
        policy,
        clock or SystemClock(),
        device_id="trap-07",
        location=Location("ridge trail", 43.1, 131.6),
        backoff_min_s=0.05,
        backoff_max_s=0.2,
        **kw,
    )


def outbox(path: Path, target: NotifyTarget) -> Outbox:
    return Outbox(path, sinks=("mqtt", target.sink))


# --------------------------------------------------------------------------------------------


def test_a_hit_is_told_once_with_its_picture_and_the_trap_location(tmp_path, endpoint, wait_for):
    target = NotifyTarget(url(endpoint))
    box = outbox(tmp_path / "o.db", target)
    n = notifier(box, target)
    n.start()
    try:
        box.add(hit(42), image=jpeg(42))
        n.drain()
        wait_for(lambda: box.count_pending(target.sink) == 0, 10, "the notification")
    finally:
        n.stop()
    assert endpoint.event_ids == ["trap-07-42"]
    sent = endpoint.accepted[0]
    assert sent["_path"] == "/camtrap-hook"
    assert sent["title"] == "Leopard at trap-07 (93%)"
    assert "ridge trail, 43.10000, 131.60000" in sent["message"]
    (attachment,) = sent["attachments"]
    assert attachment["mimetype"] == "image/jpeg" and attachment["filename"] == "trap-07-42.jpg"
    assert base64.b64decode(attachment["base64"]) == jpeg(42)
    assert box.count_pending("mqtt") == 1  # the other sinks are untouched
    assert n.counters()["notifications_sent"] == 1


def test_exactly_one_delivery_per_event_id_across_a_restart(tmp_path, endpoint, wait_for):
    target = NotifyTarget(url(endpoint))
    box = outbox(tmp_path / "o.db", target)
    first = notifier(box, target)
    first.start()
    box.add(hit(1), image=jpeg(1))
    first.drain()
    wait_for(lambda: box.count_pending(target.sink) == 0, 10, "hit 1 told")
    box.add(hit(2), image=jpeg(2))  # queued as the process stops: told after the restart
    first.stop()
    box.close()

    box = outbox(tmp_path / "o.db", target)
    second = notifier(box, target)
    second.start()
    try:
        box.add(hit(3))
        second.drain()
        wait_for(lambda: box.count_pending(target.sink) == 0, 10, "hits 2 and 3 told")
    finally:
        second.stop()
        box.close()
    assert sorted(endpoint.event_ids) == ["trap-07-1", "trap-07-2", "trap-07-3"]


def test_a_500_is_retried_with_backoff_and_told_once_when_it_works(tmp_path, endpoint, wait_for):
    endpoint.script = ["500", "500"]
    target = NotifyTarget(url(endpoint))
    box = outbox(tmp_path / "o.db", target)
    n = notifier(box, target)
    n.start()
    try:
        box.add(hit(5), image=jpeg(5))
        n.drain()
        wait_for(lambda: box.count_pending(target.sink) == 0, 10, "the third attempt")
    finally:
        n.stop()
    assert endpoint.refused == 2 and endpoint.event_ids == ["trap-07-5"]
    assert n.counters()["notifications_failed"] == 2


def test_an_endpoint_that_times_out_is_retried_and_the_hit_waits(tmp_path, endpoint, wait_for):
    endpoint.script = ["hang"]
    target = NotifyTarget(url(endpoint))
    box = outbox(tmp_path / "o.db", target)
    n = notifier(box, target)
    n.start()
    try:
        box.add(hit(6))
        n.drain()
        wait_for(lambda: box.count_pending(target.sink) == 0, 20, "the retry after the timeout")
    finally:
        n.stop()
    assert endpoint.event_ids == ["trap-07-6"]
    assert n.counters()["notifications_failed"] >= 1


def test_the_rate_limit_holds_hits_and_tells_them_together_even_after_a_restart(tmp_path, endpoint):
    clock = ManualClock(now=T0 + 100, monotonic=10.0)
    target = NotifyTarget(url(endpoint))
    policy = NotifyPolicy(min_interval_s=600)
    box = outbox(tmp_path / "o.db", target)
    n = notifier(box, target, clock, policy)
    box.add(hit(1), image=jpeg(1))
    assert n.step(target) > 0 and endpoint.event_ids == ["trap-07-1"]
    box.add(hit(2), image=jpeg(2))
    clock.advance(60)
    wait = n.step(target)
    assert wait == pytest.approx(540) and endpoint.event_ids == ["trap-07-1"]  # held
    box.close()

    box = outbox(tmp_path / "o.db", target)  # a power-gated Pi boots again for the next hit
    n = notifier(box, target, clock, policy)
    box.add(hit(3, score=0.99), image=jpeg(3))
    n.step(target)
    assert endpoint.event_ids == ["trap-07-1"]  # the last send time came from the outbox
    clock.advance(540)
    n.step(target)
    assert endpoint.event_ids == ["trap-07-1", "trap-07-2", "trap-07-3"]
    together = endpoint.accepted[1]
    assert together["title"] == "2 hits at trap-07: leopard"
    assert base64.b64decode(together["attachments"][0]["base64"]) == jpeg(3)  # the best one
    assert box.count_pending(target.sink) == 0
    box.close()


def test_quiet_hours_hold_hits_until_they_end(tmp_path, endpoint):
    clock = ManualClock(now=T0 - 1800, monotonic=10.0)  # 05:30 UTC
    target = NotifyTarget(url(endpoint))
    policy = NotifyPolicy(min_interval_s=0, quiet=QuietHours(22 * 60, 6 * 60))
    box = outbox(tmp_path / "o.db", target)
    n = notifier(box, target, clock, policy)
    box.add(hit(7))
    assert n.step(target) == pytest.approx(1800)
    assert endpoint.accepted == [] and n.counters()["notify_held"] == 1
    clock.advance(1800)
    n.step(target)
    assert endpoint.event_ids == ["trap-07-7"]
    box.close()


def test_urls_and_their_passwords_are_never_logged_nor_shown(tmp_path, endpoint, caplog):
    caplog.set_level(logging.DEBUG)
    endpoint.script = ["500"]
    secret = "s3cret-Passw0rd"
    target = NotifyTarget(url(endpoint, user=f"ranger:{secret}"))
    clock = ManualClock(now=T0, monotonic=10.0)
    box = outbox(tmp_path / "o.db", target)
    n = notifier(box, target, clock)
    n.start()  # installs the filter on Apprise's logger
    n.stop()
    box.add(hit(8), image=jpeg(8))
    logging.getLogger("apprise").addFilter(n._filter)  # as while running
    try:
        n.step(target)  # refused: logged
        clock.advance(1)
        n.step(target)  # delivered: logged
    finally:
        logging.getLogger("apprise").removeFilter(n._filter)
    assert endpoint.event_ids == ["trap-07-8"]
    assert caplog.text and secret not in caplog.text and target.url not in caplog.text
    assert secret not in repr(n) + repr(target) + repr([target])
    box.close()


def test_two_urls_are_told_independently(tmp_path, endpoint, wait_for):
    endpoint.script = ["ok", "500"]
    a, b = NotifyTarget(url(endpoint)), NotifyTarget(url(endpoint) + "&x=1")
    box = Outbox(tmp_path / "o.db", sinks=("mqtt", a.sink, b.sink))
    n = AppriseNotifier(
        box, [a, b], NotifyPolicy(0), SystemClock(), device_id="trap-07", backoff_min_s=0.05
    )
    n.start()
    try:
        box.add(hit(9))
        n.drain()
        wait_for(lambda: box.count_pending(a.sink) + box.count_pending(b.sink) == 0, 10, "both")
    finally:
        n.stop()
    assert endpoint.event_ids == ["trap-07-9", "trap-07-9"]  # once per URL, not once more
    assert endpoint.refused == 1


# ---- the URLs file -------------------------------------------------------------------------


def test_the_urls_file_gives_one_target_per_line_skipping_comments(tmp_path):
    f = tmp_path / "notify.urls"
    f.write_text("# the ranger's phone\nntfy://ntfy.example.org/trap-07\n\njson://127.0.0.1/x\n")
    f.chmod(0o600)
    targets = read_targets(f)
    assert [t.line for t in targets] == [2, 4]
    assert len({t.sink for t in targets}) == 2 and all(
        t.sink.startswith("notify_") for t in targets
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("ntfy://ntfy.example.org/t\nnotascheme-tok3n-secret\n", "line 2"),
        ("nosuchservice://tok3n-secret@host\n", "line 1"),
        ("# only a comment\n", "no notification URL"),
        ("json://h/x\njson://h/x\n", "twice"),
    ],
)
def test_a_bad_urls_file_names_the_key_and_line_and_never_the_url(tmp_path, text, where):
    f = tmp_path / "notify.urls"
    f.write_text(text)
    f.chmod(0o600)
    with pytest.raises(ConfigError) as e:
        read_targets(f, "trap.toml")
    msg = str(e.value)
    assert "notify.urls_file" in msg and where in msg and "tok3n-secret" not in msg


def test_a_missing_urls_file_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"notify\.urls_file: cannot read"):
        read_targets(tmp_path / "missing.urls", "trap.toml")


def test_a_urls_file_others_may_read_is_refused_naming_its_mode(tmp_path):
    f = tmp_path / "notify.urls"
    f.write_text("ntfy://ntfy.example.org/trap-07\n")
    f.chmod(0o644)
    with pytest.raises(ConfigError) as e:
        read_targets(f, "trap.toml")
    assert "notify.urls_file: mode 0644: readable by group or others; chmod 600" in str(e.value)
