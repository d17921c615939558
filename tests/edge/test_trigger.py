"""The retrigger policy table: cooldown, counting, bounded follow-ups; time is an input."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from camtrap.core.trigger import (
    TABLE,
    PolicyFault,
    TriggerPolicy,
    TriggerState,
    burst_done,
    on_trigger,
    step,
    tick,
)

P = TriggerPolicy(cooldown_s=5.0, max_pending=1)


def test_every_phase_event_pair_is_in_the_table():
    phases, events = ("idle", "busy", "cooldown"), ("trigger", "burst_done", "tick")
    assert set(TABLE) == set(itertools.product(phases, events))


def test_trigger_when_idle_starts_a_burst():
    s, start = on_trigger(P, TriggerState(), 0.0)
    assert start and s.phase == "busy" and s.triggers == 1 and s.started == 1


def test_triggers_during_a_burst_are_counted_and_at_most_max_pending_kept():
    s, _ = on_trigger(P, TriggerState(), 0.0)
    for t in (1.0, 2.0, 3.0):
        s, start = on_trigger(P, s, t)
        assert not start
    assert (s.during_burst, s.pending, s.dropped, s.triggers) == (3, 1, 2, 4)


def test_follow_up_starts_when_the_cooldown_ends():
    s, _ = on_trigger(P, TriggerState(), 0.0)
    s, _ = on_trigger(P, s, 1.0)
    s = burst_done(P, s, 3.0)
    assert s.phase == "cooldown" and s.wake_at == 8.0
    assert tick(P, s, 7.9) == (s, False)
    s, start = tick(P, s, 8.0)
    assert start and s.phase == "busy" and s.pending == 0 and s.started == 2


def test_cooldown_without_follow_ups_goes_idle():
    s, _ = on_trigger(P, TriggerState(), 0.0)
    s = burst_done(P, s, 1.0)
    s, start = tick(P, s, 6.0)
    assert not start and s.phase == "idle" and s.wake_at is None


def test_trigger_during_cooldown_is_kept_then_started_at_its_end():
    s, _ = on_trigger(P, TriggerState(), 0.0)
    s = burst_done(P, s, 1.0)
    s, start = on_trigger(P, s, 2.0)
    assert not start and s.pending == 1 and s.during_burst == 0
    assert tick(P, s, 6.0)[1]


def test_trigger_after_the_cooldown_starts_at_once():
    s, _ = on_trigger(P, TriggerState(), 0.0)
    s = burst_done(P, s, 1.0)
    s, start = on_trigger(P, s, 6.5)
    assert start and s.phase == "busy"


def test_max_pending_zero_drops_every_trigger_during_a_burst():
    p = TriggerPolicy(cooldown_s=0.0, max_pending=0)
    s, _ = on_trigger(p, TriggerState(), 0.0)
    s, _ = on_trigger(p, s, 0.5)
    s = burst_done(p, s, 1.0)
    assert s.dropped == 1 and s.during_burst == 1
    assert tick(p, s, 1.0) == (TriggerState("idle", 0, None, 2, 1, 1, 1), False)


def test_zero_cooldown_follow_up_is_due_at_once():
    p = TriggerPolicy(cooldown_s=0.0, max_pending=2)
    s, _ = on_trigger(p, TriggerState(), 0.0)
    s, _ = on_trigger(p, s, 0.5)
    s = burst_done(p, s, 1.0)
    assert tick(p, s, 1.0)[1]


def test_burst_done_without_a_burst_is_a_fault():
    with pytest.raises(PolicyFault, match="while idle"):
        burst_done(P, TriggerState(), 0.0)


events = st.lists(st.tuples(st.sampled_from(["trigger", "burst_done", "tick"]), st.floats(0, 3)))


@given(events, st.integers(0, 3), st.floats(0, 10))
def test_pending_never_exceeds_max_and_every_trigger_is_accounted(seq, max_pending, cooldown):
    p = TriggerPolicy(cooldown_s=cooldown, max_pending=max_pending)
    s, now = TriggerState(), 0.0
    for event, dt in seq:
        now += dt
        if event == "burst_done" and s.phase != "busy":
            continue
        s, _ = step(p, s, event, now)
        assert 0 <= s.pending <= max_pending
        # each trigger started a burst, is kept, or was dropped; follow-ups come from kept ones
        assert s.triggers == s.dropped + s.pending + s.started
