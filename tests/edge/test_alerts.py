"""When a ranger's phone is told, and what it says (pure policy, no network)."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

import camtrap.core.alerts as alerts_module
from camtrap.core.alerts import (
    MAX_LISTED,
    Location,
    NotifyPolicy,
    QuietHours,
    compose,
    decide,
    parse_quiet_hours,
)
from camtrap.core.types import Hit

VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")  # UTC+10, no DST


def at(hour: int, minute: int = 0, tz=UTC) -> float:
    return datetime(2026, 11, 24, hour, minute, tzinfo=tz).timestamp()


def hit(seq: int, score: float = 0.9, t: float | None = None, label: str = "leopard") -> Hit:
    return Hit(f"trap-07-{seq}", seq, "trap-07", t or at(3, seq), label, score, 3, 4, "m@1")


def test_docstring_examples_hold():
    result = doctest.testmod(alerts_module)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    ("text", "want"),
    [("22:00-06:00", QuietHours(1320, 360)), ("9:30 - 17:45", QuietHours(570, 1065)), ("", None)],
)
def test_quiet_hours_parse(text, want):
    assert parse_quiet_hours(text) == want


@pytest.mark.parametrize("bad", ["22:00", "25:00-06:00", "22:00-06:60", "06:00-06:00", "a-b"])
def test_quiet_hours_refuse_what_is_not_two_different_times(bad):
    with pytest.raises(ValueError):
        parse_quiet_hours(bad)


def test_quiet_hours_across_midnight_hold_until_they_end_in_local_time():
    p = NotifyPolicy(min_interval_s=0, quiet=parse_quiet_hours("22:00-06:00"))
    late = decide(p, at(23, 30, VLADIVOSTOK), None, VLADIVOSTOK)
    assert (late.send, late.reason) == (False, "quiet_hours")
    assert late.wait_until == datetime(2026, 11, 25, 6, 0, tzinfo=VLADIVOSTOK).timestamp()
    early = decide(p, at(5, 59, VLADIVOSTOK), None, VLADIVOSTOK)
    assert early.wait_until == at(6, 0, VLADIVOSTOK)
    assert decide(p, at(6, 0, VLADIVOSTOK), None, VLADIVOSTOK).send
    assert decide(p, at(21, 59, VLADIVOSTOK), None, VLADIVOSTOK).send
    # 23:30 in Vladivostok is 13:30 UTC: the zone decides, not the clock's UTC hour
    assert decide(p, at(13, 30), None, UTC).send


def test_quiet_hours_within_a_day():
    p = NotifyPolicy(quiet=QuietHours(9 * 60, 17 * 60))
    assert not decide(p, at(12), None, UTC).send
    assert decide(p, at(17), None, UTC).send and decide(p, at(8, 59), None, UTC).send


def test_rate_limit_holds_until_the_interval_since_the_last_send_has_passed():
    p = NotifyPolicy(min_interval_s=600)
    held = decide(p, at(3, 5), last_sent=at(3, 0), tz=UTC)
    assert (held.send, held.wait_until, held.reason) == (False, at(3, 10), "rate_limit")
    assert decide(p, at(3, 10), last_sent=at(3, 0), tz=UTC).send
    assert decide(NotifyPolicy(min_interval_s=0), at(3), last_sent=at(3), tz=UTC).send


def test_quiet_hours_win_over_the_rate_limit():
    p = NotifyPolicy(min_interval_s=60, quiet=QuietHours(0, 6 * 60))
    assert decide(p, at(3), last_sent=at(3), tz=UTC).reason == "quiet_hours"


def test_one_hit_names_the_animal_the_score_the_time_the_event_and_the_place():
    loc = Location("Kedrovaya Pad, ridge trail", 43.1, 131.6)
    n = compose([hit(42, 0.93)], ["trap-07-42"], "trap-07", loc, now=at(3, 42) + 5)
    assert n.title == "Leopard at trap-07 (93%)"
    assert "leopard 0.93 (3/4 frames) at 2026-11-24 03:42:00 UTC [trap-07-42]" in n.body
    assert "Location: Kedrovaya Pad, ridge trail, 43.10000, 131.60000" in n.body
    assert "openstreetmap.org/?mlat=43.10000&mlon=131.60000" in n.body
    assert (n.event_ids, n.picture_of) == (("trap-07-42",), "trap-07-42")


def test_held_hits_go_in_one_notice_with_the_best_picture():
    hits = [hit(1, 0.7), hit(2, 0.95, label="tiger"), hit(3, 0.8)]
    n = compose(hits, ["trap-07-1", "trap-07-2", "trap-07-3"], "trap-07", Location(), at(4))
    assert n.title == "3 hits at trap-07: leopard, tiger"
    assert n.event_ids == ("trap-07-1", "trap-07-2", "trap-07-3")
    assert n.picture_of == "trap-07-2"
    assert n.body.index("trap-07-3") < n.body.index("trap-07-1")  # newest first
    assert "Location" not in n.body
    assert "sent 57 min after it" in n.body  # told late: the phone says so


def test_the_picture_falls_back_to_the_newest_hit_that_has_one():
    n = compose([hit(1, 0.7), hit(2, 0.95)], ["trap-07-1"], "trap-07", Location(), at(4))
    assert n.picture_of == "trap-07-1"
    assert compose([hit(1)], [], "trap-07", Location(), at(4)).picture_of is None


def test_a_long_list_is_cut_and_counted():
    hits = [hit(i) for i in range(MAX_LISTED + 4)]
    n = compose(hits, [], "trap-07", Location(), at(4))
    assert "... and 4 more" in n.body and len(n.event_ids) == MAX_LISTED + 4


@pytest.mark.parametrize(
    "bad",
    [{"latitude": 91.0, "longitude": 0.0}, {"latitude": 1.0}, {"longitude": 181.0, "latitude": 0}],
)
def test_location_refuses_coordinates_that_cannot_be(bad):
    with pytest.raises(ValueError):
        Location(**bad)


def test_policy_refuses_a_negative_interval():
    with pytest.raises(ValueError):
        NotifyPolicy(min_interval_s=-1)
    with pytest.raises(ValueError):
        NotifyPolicy(min_interval_s=float("nan"))


def test_the_notice_takes_the_deployments_coordinates_and_name_for_a_map_link():
    from camtrap.core.alerts import trap_location
    from camtrap.core.deployment import Deployment

    d = Deployment(id="amur-A07", location_name="Kedrovaya Pad", latitude=43.1, longitude=131.6)
    assert trap_location("", d) == Location("Kedrovaya Pad", 43.1, 131.6)
    assert trap_location("Ridge trail", d).name == "Ridge trail"  # [notify] location wins
    assert "mlat=43.10000&mlon=131.60000" in trap_location("", d).describe()
    assert trap_location("", Deployment()).describe() == ""
