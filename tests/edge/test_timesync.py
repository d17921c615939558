"""The trusted clock: NTP over the MCU's time, the MCU's over nothing, never a step back."""

from __future__ import annotations

import json

from camtrap.adapters.timesync import TrustedClock, kernel_ntp_status
from camtrap.core.timebase import age_s, choose
from camtrap.sim.clock import ManualClock

REAL = 1_795_500_000.0  # 2026-11-24


class SteppableClock(ManualClock):
    """A system clock someone can set (NTP stepping, a hand-set date): the wall moves alone."""

    def set(self, wall: float) -> None:
        self._now = wall


def make(start: float = 10.0, synced: bool = False, **kw):
    base = SteppableClock(start)
    state = {"synced": synced}
    clock = TrustedClock(base, ntp=lambda: (state["synced"], 0.02), boot_id="boot-1", **kw)
    return base, clock, state


def test_a_1970_pi_takes_the_mcus_time_and_says_so(tmp_path):
    log = tmp_path / "timesync.jsonl"
    base, clock, _ = make(sync_log=log)
    assert clock.status().source == "none" and not clock.trusted()
    assert clock.on_mcu_time(REAL, 2.0)
    base.advance(5.0)
    assert clock.now() == REAL + 5.0
    status = clock.status()
    assert (status.source, status.uncertainty_s, status.boot_id) == ("mcu", 2.0, "boot-1")
    (line,) = [json.loads(x) for x in log.read_text().splitlines()]
    assert line == {
        "boot_id": "boot-1",
        "monotonic_s": base.monotonic() - 5.0,
        "time": REAL,
        "source": "mcu",
        "uncertainty_s": 2.0,
    }


def test_an_unset_mcu_clock_is_ignored_and_ntp_wins_over_the_mcu():
    _, clock, state = make(start=REAL)
    assert not clock.on_mcu_time(42.0, 1.0)  # the MCU was never set: 1970
    assert clock.status().source == "none"
    state["synced"] = True
    assert not clock.on_mcu_time(REAL + 3600, 1.0)
    assert clock.status().source == "ntp" and clock.now() == REAL


def test_the_system_clock_is_set_when_allowed_and_the_failure_is_survived():
    calls: list[float] = []
    _, clock, _ = make(set_system=calls.append)
    clock.on_mcu_time(REAL, 1.0)
    assert calls == [REAL]

    def refuse(_t: float) -> None:
        raise PermissionError("Operation not permitted")

    _, clock, _ = make(set_system=refuse)
    assert clock.on_mcu_time(REAL, 1.0) and clock.now() == REAL


def test_a_clock_step_back_is_held_to_the_monotonic_clock():
    base, clock, _ = make(start=REAL, synced=True)
    assert clock.now() == REAL
    base.advance(60.0)
    base.set(REAL - 86400.0 + 60.0)  # the wall clock jumps back a day, the monotonic runs on
    assert clock.now() == REAL + 60.0
    assert clock.backsteps == 1
    base.advance(1.0)
    assert clock.now() == REAL + 61.0


def test_burst_time_records_the_monotonic_reading_at_the_trigger():
    base, clock, _ = make()
    t = clock.now()
    base.advance(3.0)
    record = clock.burst_time(t).record()
    assert record["time_source"] == "none" and record["boot_id"] == "boot-1"
    assert record["monotonic_s"] == round(base.monotonic() - 3.0, 3)


def test_age_is_unknown_under_an_unknown_or_absurd_clock():
    assert age_s(REAL, True, REAL + 12.4, True) == 12
    assert age_s(10.0, False, REAL, True) is None  # queued under a 1970 clock
    assert age_s(REAL, True, 10.0, False) is None  # sent before this boot's clock is known
    assert age_s(10.0, True, REAL, True) is None  # 56 years: absurd, so unknown
    assert (
        choose(ntp_synced=False, ntp_error_s=None, trust_system=True, mcu=None, now_mono=0).source
        == "system"
    )


def test_the_kernel_probe_answers_without_raising():
    synced, error = kernel_ntp_status()
    assert isinstance(synced, bool) and (error is None or error >= 0)


def test_a_clock_jump_back_a_day_does_not_restart_the_days_hit_count():
    from datetime import date

    from camtrap.core.hits import DayCount, add_hit, count_on

    today, yesterday, tomorrow = date(2026, 11, 24), date(2026, 11, 23), date(2026, 11, 25)
    count = add_hit(add_hit(DayCount(), today), today)
    assert count_on(count, yesterday) == 2  # stepped back: still today's count
    count = add_hit(count, yesterday)
    assert count == DayCount(today, 3)
    assert count_on(count, tomorrow) == 0  # a new day does restart it


def test_ntp_coming_up_later_in_the_boot_is_logged_once_for_the_exports(tmp_path):
    log = tmp_path / "timesync.jsonl"
    base, clock, state = make(start=10.0, sync_log=log)
    assert clock.status().source == "none" and not log.exists()
    base.advance(30.0)
    state["synced"] = True
    base.set(REAL)  # chrony stepped the clock
    assert clock.status().source == "ntp"
    clock.now()
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [(x["source"], x["time"], x["monotonic_s"]) for x in lines] == [("ntp", REAL, 30.0)]
