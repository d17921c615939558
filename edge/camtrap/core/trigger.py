"""Retrigger policy: when a PIR trigger starts a burst. Pure; time is an input.

Three phases and three events, as a table. Every (phase, event) pair is defined:

=========  ==========================  ===========================  =======================
phase      trigger(now)                burst_done(now)              tick(now)
=========  ==========================  ===========================  =======================
idle       start a burst -> busy       fault (no burst running)     stay idle
busy       count it; keep it as a      cooldown until now +         stay busy
           follow-up if fewer than     cooldown_s
           max_pending are kept, else
           drop it
cooldown   before the end: keep or     fault (no burst running)     at the end: start a kept
           drop as in busy; after it:                               follow-up -> busy, or
           start a burst -> busy                                    go idle
=========  ==========================  ===========================  =======================

The follow-ups kept never exceed ``max_pending``: a PIR that fires all night costs at most
``max_pending`` extra bursts per burst, never an unbounded queue.

>>> p = TriggerPolicy(cooldown_s=5.0, max_pending=1)
>>> s, start = on_trigger(p, TriggerState(), 100.0)
>>> start, s.phase
(True, 'busy')
>>> s, start = on_trigger(p, s, 101.0)
>>> start, s.pending, s.during_burst
(False, 1, 1)
>>> s = burst_done(p, s, 103.0)
>>> s.phase, s.wake_at
('cooldown', 108.0)
>>> tick(p, s, 108.0)[1]
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

Phase = Literal["idle", "busy", "cooldown"]
Event = Literal["trigger", "burst_done", "tick"]


@dataclass(frozen=True)
class TriggerPolicy:
    cooldown_s: float = 5.0
    max_pending: int = 1

    def __post_init__(self) -> None:
        if self.cooldown_s < 0 or self.max_pending < 0:
            raise ValueError(f"cooldown_s and max_pending must be >= 0: {self}")


@dataclass(frozen=True)
class TriggerState:
    phase: Phase = "idle"
    pending: int = 0  # follow-up bursts kept
    wake_at: float | None = None  # end of the cooldown
    triggers: int = 0
    during_burst: int = 0  # triggers while a burst ran
    dropped: int = 0  # triggers neither started nor kept
    started: int = 0  # bursts started (first and follow-up)


class PolicyFault(RuntimeError):
    """An event that the table does not allow in this phase (a bug in the caller)."""


Result = tuple[TriggerState, bool]  # new state, start a burst now
Handler = Callable[[TriggerPolicy, TriggerState, float], Result]


def _start(s: TriggerState) -> Result:
    return replace(s, phase="busy", wake_at=None, started=s.started + 1), True


def _keep_or_drop(p: TriggerPolicy, s: TriggerState) -> TriggerState:
    if s.pending < p.max_pending:
        return replace(s, pending=s.pending + 1)
    return replace(s, dropped=s.dropped + 1)


def _idle_trigger(p: TriggerPolicy, s: TriggerState, now: float) -> Result:
    return _start(replace(s, triggers=s.triggers + 1))


def _busy_trigger(p: TriggerPolicy, s: TriggerState, now: float) -> Result:
    s = replace(s, triggers=s.triggers + 1, during_burst=s.during_burst + 1)
    return _keep_or_drop(p, s), False


def _cooldown_trigger(p: TriggerPolicy, s: TriggerState, now: float) -> Result:
    if s.wake_at is None or now >= s.wake_at:
        s, _ = _cooldown_tick(p, s, now)
        return (_idle_trigger if s.phase == "idle" else _busy_trigger)(p, s, now)
    return _keep_or_drop(p, replace(s, triggers=s.triggers + 1)), False


def _busy_done(p: TriggerPolicy, s: TriggerState, now: float) -> Result:
    return replace(s, phase="cooldown", wake_at=now + p.cooldown_s), False


def _cooldown_tick(p: TriggerPolicy, s: TriggerState, now: float) -> Result:
    if s.wake_at is not None and now < s.wake_at:
        return s, False
    if s.pending:
        return _start(replace(s, pending=s.pending - 1))
    return replace(s, phase="idle", wake_at=None), False


def _stay(p: TriggerPolicy, s: TriggerState, now: float) -> Result:
    return s, False


def _fault(p: TriggerPolicy, s: TriggerState, now: float) -> Result:
    raise PolicyFault(f"burst_done while {s.phase}: no burst is running")


TABLE: dict[tuple[Phase, Event], Handler] = {
    ("idle", "trigger"): _idle_trigger,
    ("idle", "burst_done"): _fault,
    ("idle", "tick"): _stay,
    ("busy", "trigger"): _busy_trigger,
    ("busy", "burst_done"): _busy_done,
    ("busy", "tick"): _stay,
    ("cooldown", "trigger"): _cooldown_trigger,
    ("cooldown", "burst_done"): _fault,
    ("cooldown", "tick"): _cooldown_tick,
}


def step(p: TriggerPolicy, s: TriggerState, event: Event, now: float) -> Result:
    """Apply one event at time ``now``; returns the new state and whether to start a burst."""
    return TABLE[(s.phase, event)](p, s, now)


def on_trigger(p: TriggerPolicy, s: TriggerState, now: float) -> Result:
    return step(p, s, "trigger", now)


def burst_done(p: TriggerPolicy, s: TriggerState, now: float) -> TriggerState:
    """The running burst finished: cool down. Follow-ups start from `tick`, in one place."""
    return step(p, s, "burst_done", now)[0]


def tick(p: TriggerPolicy, s: TriggerState, now: float) -> Result:
    return step(p, s, "tick", now)
