"""The uplink scheduler over simulated days of random triggers and hits (time is an input).

A simulated modem sends what the scheduler releases (now and then refusing, as real modems
do); the test then checks the whole transmission log against the rules: the airtime of any
24 h window within the budget, each sub-band's duty cycle, heartbeats out of the hits' reserve,
no confirmed uplink, and every hit either sent or counted in a heartbeat, none lost.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

import pytest

from trapfw import airtime, payload
from trapfw.uplink import DAY_S, Uplink, UplinkScheduler

EPS = 1e-9


@dataclass
class DayLog:
    sent: list[tuple[float, Uplink]] = field(default_factory=list)
    offered: int = 0
    refusals: int = 0
    attempts: int = 0


def simulate(
    region: str, seed: int, events: int, hit_ratio: float, days: float = 2.0, **kw
) -> tuple[UplinkScheduler, DayLog]:
    rng = random.Random(seed)
    sched = UplinkScheduler(region, now=0.0, **kw)
    end = days * DAY_S
    times = sorted(rng.uniform(0, end) for _ in range(events))
    log, now, i = DayLog(), 0.0, 0
    for _ in range(200_000):
        wake = sched.next_wake(now)
        now = min(wake, times[i]) if i < len(times) else wake
        if now > end:
            return sched, log
        while i < len(times) and times[i] <= now:
            _trigger(sched, log, rng, i, now, hit_ratio)
            i += 1
        _pump(sched, log, rng, now)
        if sched.next_wake(now) <= now and (i >= len(times) or times[i] > now):
            now += 1.0  # nothing can go now (a refusal asked to wait): step on
    raise AssertionError("simulation did not finish")


def _trigger(sched, log, rng, seq, now, hit_ratio) -> None:
    sched.note_event(seq)
    if rng.random() < hit_ratio:
        score = rng.uniform(0.5, 1.0)
        data = payload.encode_hit(seq, rng.choice((1, 2, 3)), score, 2, 3, 3700, 4)
        sched.offer_hit(now, data, score, data[4])
        log.offered += 1


def _pump(sched, log, rng, now) -> None:
    while (up := sched.next_uplink(now, battery_mv=3650)) is not None:
        log.attempts += 1
        if log.attempts % 7 == 3:  # now and then the modem says busy / duty-cycle restricted
            sched.failed(now, up, rng.choice((5.0, 60.0)))
            log.refusals += 1
            return
        sched.sent(now, up)
        log.sent.append((now, up))


def check_rules(sched: UplinkScheduler, log: DayLog, budget: float) -> None:
    sent = log.sent
    for t, up in sent:
        window = sum(u.airtime_s for s, u in sent if t - DAY_S < s <= t)
        assert window <= budget + EPS, f"{window:.3f} s of airtime in the 24 h before {t:.0f}"
        assert up.confirmed is False
        if up.kind == "heartbeat":
            beats = sum(u.airtime_s for s, u in sent if t - DAY_S < s <= t and u.kind == up.kind)
            assert beats <= budget - sched.reserve_s + EPS, "heartbeats ate the hits' reserve"
    duty = min(b.duty for b in sched.region.uplink_subbands())
    for (t0, u0), (t1, _) in itertools.pairwise(sent):
        gap = u0.airtime_s / duty if duty < 1 else u0.airtime_s
        assert t1 - t0 >= gap - EPS, f"sub-band reopened after {t1 - t0:.1f} s, not {gap:.1f}"


def count_hits(sched: UplinkScheduler, log: DayLog) -> tuple[int, int, int]:
    sent = sum(1 for _, u in log.sent if u.kind == "hit")
    beats = [payload.decode(u.fport, u.data) for _, u in log.sent if u.kind == "heartbeat"]
    folded = sum(b["hits_unsent"] for b in beats) + sched.hits_unsent
    return sent, folded, len(sched.queue)


@pytest.mark.parametrize(
    ("region", "seed", "events", "hit_ratio"),
    [
        ("EU868", 1, 400, 0.3),  # a busy trail: far more hits than 30 s/day at SF12 carries
        ("EU868", 2, 60, 0.2),  # a quiet site: everything should go out
        ("US915", 3, 3000, 0.5),  # SF10, no duty cycle: the budget is the only limit
        ("AS923", 4, 500, 0.4),  # dwell time: DR2 (SF10), 1 % duty cycle
        ("RU864", 5, 300, 0.3),
    ],
)
def test_random_days_keep_budget_duty_cycle_and_account_for_every_hit(
    region: str, seed: int, events: int, hit_ratio: float
) -> None:
    sched, log = simulate(region, seed, events, hit_ratio, heartbeat_interval_s=3 * 3600)
    check_rules(sched, log, 30.0)
    sent, folded, queued = count_hits(sched, log)
    assert sent + folded + queued == log.offered, (sent, folded, queued, log.offered)
    assert log.refusals > 0  # the refusal path was exercised
    assert sum(1 for _, u in log.sent if u.kind == "heartbeat") >= 8  # 2 days, every 3 h


def test_a_quiet_site_sends_every_hit() -> None:
    sched, log = simulate("EU868", 2, 40, 0.2)  # ~4 hits a day, 6 h heartbeats
    sent, folded, _ = count_hits(sched, log)
    assert log.offered > 0 and sent == log.offered and folded == 0


def test_a_busy_site_uses_the_budget_and_folds_the_rest() -> None:
    sched, log = simulate("EU868", 1, 400, 0.3, heartbeat_interval_s=3 * 3600)
    sent, folded, _ = count_hits(sched, log)
    frame = airtime.uplink_ms(12, 125, 11) / 1000
    assert folded > 0
    assert sent * frame > 2 * (30.0 - sched.reserve_s)  # hits got more than heartbeats may


def test_smaller_budget_is_enforced_too() -> None:
    sched, log = simulate("US915", 9, 2000, 0.5, daily_budget_s=5.0, reserve_hits=4)
    check_rules(sched, log, 5.0)
    assert sched.used_s(2 * DAY_S) <= 5.0
