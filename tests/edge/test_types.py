"""`Hit` and `Verdict` validate on construction: an out-of-range one cannot exist."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from camtrap.core.hits import DayCount, add_hit, count_on, hits_on, utc_day
from camtrap.core.types import EVENT_SEQ_MAX, Hit, Verdict

HIT = Hit("trap-07-42", 42, "trap-07", 1_795_000_000.0, "leopard", 0.93, 3, 4, "m@1")
VERDICT = Verdict("hit", 0.9, "leopard", 0.95, 5, 4, (), 3, "k_of_n:2/0.50")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"score": 1.01}, "score must be in 0..1"),
        ({"score": -0.1}, "score must be in 0..1"),
        ({"score": math.nan}, "score must be in 0..1"),
        ({"event_seq": EVENT_SEQ_MAX + 1}, "event_seq out of range"),
        ({"event_seq": -1}, "event_seq out of range"),
        ({"frames_agreeing": 5}, "frames_agreeing <= frames_classified"),
        ({"frames_agreeing": -1}, "frames_agreeing <= frames_classified"),
        ({"label": ""}, "must be set"),
        ({"time": math.inf}, "time must be finite"),
    ],
)
def test_a_hit_out_of_range_is_refused_naming_the_field(change: dict, message: str):
    with pytest.raises(ValueError, match=message):
        replace(HIT, **change)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"decision": "maybe"}, "decision must be one of"),
        ({"target_score": 1.5}, "target_score must be in 0..1"),
        ({"top_score": math.nan}, "top_score must be in 0..1"),
        ({"frames_agreeing": 5}, "frames_agreeing <= frames_classified"),
        ({"frames_total": -1}, "frames_total must be >= 0"),
        ({"error": "frame 2: truncated"}, "a hit carries no error"),
    ],
)
def test_a_verdict_out_of_range_is_refused_naming_the_field(change: dict, message: str):
    with pytest.raises(ValueError, match=message):
        replace(VERDICT, **change)


def test_the_edges_of_the_ranges_are_valid():
    assert replace(HIT, score=1.0, event_seq=EVENT_SEQ_MAX, frames_agreeing=4).score == 1.0
    error = Verdict("error", 0.0, "", 0.0, 5, 0, error="no frames captured")
    assert error.frames_classified == 0


def test_hits_of_the_day_restart_at_utc_midnight():
    t = 1_795_000_000.0
    midnight = t + 86400 - t % 86400
    day, next_day = utc_day(t), utc_day(midnight)
    count = add_hit(add_hit(DayCount(), day), day)
    assert (count_on(count, day), count_on(count, next_day)) == (2, 0)
    assert count_on(add_hit(count, next_day), next_day) == 1
    assert hits_on([t, midnight - 1, midnight], day) == 2
