"""The wire format of every published message (pure: no broker)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from camtrap.core.messages import (
    Publication,
    availability_message,
    battery_from_counters,
    hit_message,
    iso_utc,
    status_message,
    telemetry_message,
    topics,
)
from camtrap.core.types import Hit

T0 = datetime(2026, 11, 24, 6, 19, 33, tzinfo=UTC).timestamp()

CONTRACT_HIT = {
    "v": 1,
    "type": "hit",
    "event_id": "trap-07-42",
    "device_id": "trap-07",
    "deployment_id": "amur-2026-A07",
    "event_seq": 42,
    "time": "2026-11-24T06:19:33Z",
    "label": "leopard",
    "score": 0.93,
    "frames_agreeing": 3,
    "frames_classified": 4,
    "battery_mv": 3710,
    "age_s": 12,
    "model": "camtrap-demo@1a2b3c4d",
}


def make_hit(seq: int = 42, t: float = T0, device: str = "trap-07") -> Hit:
    return Hit(
        event_id=f"{device}-{seq}",
        event_seq=seq,
        device_id=device,
        time=t,
        label="leopard",
        score=0.93,
        frames_agreeing=3,
        frames_classified=4,
        model="camtrap-demo@1a2b3c4d",
        deployment_id="amur-2026-A07",
    )


def test_a_hit_with_a_region_carries_its_box_and_source_last():
    from dataclasses import replace

    hit = replace(make_hit(), box=(0.25, 0.5, 0.125, 0.0625), region_source="motion")
    body = json.loads(hit_message(topics("camtrap", "trap-07"), hit, now=T0).payload)
    assert list(body)[-2:] == ["box", "region_source"]
    assert body["box"] == [0.25, 0.5, 0.125, 0.0625] and body["region_source"] == "motion"


def test_hit_json_matches_the_contract_example_field_for_field_and_in_order():
    msg = hit_message(topics("camtrap", "trap-07"), make_hit(), now=T0 + 12, battery_mv=3710)
    body = json.loads(msg.payload)
    assert body == CONTRACT_HIT
    assert list(body) == list(CONTRACT_HIT)
    assert msg == Publication("camtrap/trap-07/hit", msg.payload, retain=False, qos=1)


def test_a_hit_of_an_unknown_clock_has_no_time_and_no_age():
    t = topics("camtrap", "trap-07")
    queued_at_1970 = replace(make_hit(t=10.0), time_trusted=False)
    body = json.loads(hit_message(t, queued_at_1970, now=T0 + 12).payload)
    assert body["time"] is None and body["age_s"] is None  # not 1,795,500,000 s old
    body = json.loads(hit_message(t, make_hit(), now=10.0, now_trusted=False).payload)
    assert body["time"] == "2026-11-24T06:19:33Z" and body["age_s"] is None
    body = json.loads(hit_message(t, make_hit(), now=T0 + 500 * 86400).payload)
    assert body["age_s"] is None  # older than a year: a clock that jumped, not an age
    no_deployment = replace(make_hit(), deployment_id="")
    assert json.loads(hit_message(t, no_deployment, now=T0).payload)["deployment_id"] is None


def test_hit_json_has_null_battery_when_unknown_and_age_rounded_never_negative():
    t = topics("camtrap", "trap-07")
    assert json.loads(hit_message(t, make_hit(), now=T0 + 0.6).payload)["age_s"] == 1
    body = json.loads(hit_message(t, make_hit(), now=T0 - 30).payload)  # clock stepped back
    assert body["age_s"] == 0
    assert body["battery_mv"] is None


def test_hit_score_is_rounded_to_three_decimals():
    hit = make_hit()
    hit = Hit(**{**hit.__dict__, "score": 0.876543})
    assert json.loads(hit_message(topics("c", "d"), hit, T0).payload)["score"] == 0.877


def test_iso_utc_is_whole_seconds_with_z():
    assert iso_utc(T0 + 0.999) == "2026-11-24T06:19:33Z"
    assert iso_utc(0) == "1970-01-01T00:00:00Z"


def test_topics_of_a_device():
    t = topics("site/amur", "trap-07")
    assert (t.hit, t.availability, t.telemetry, t.status) == (
        "site/amur/trap-07/hit",
        "site/amur/trap-07/availability",
        "site/amur/trap-07/telemetry",
        "site/amur/trap-07/status",
    )


@pytest.mark.parametrize(
    ("prefix", "device"), [("", "d"), ("a/+", "d"), ("#", "d"), ("/x", "d"), ("p", "a/b")]
)
def test_topics_refuse_wildcards_and_slashes_in_the_device_id(prefix, device):
    with pytest.raises(ValueError):
        topics(prefix, device)


def test_availability_is_retained_online_or_offline():
    t = topics("camtrap", "trap-07")
    assert availability_message(t, True) == Publication(t.availability, "online", True, 1)
    assert availability_message(t, False) == Publication(t.availability, "offline", True, 1)


def test_telemetry_carries_counters_with_device_and_time_and_is_retained():
    t = topics("camtrap", "trap-07")
    counters = {"triggers": 20, "misses": 17, "hits_today": 1, "battery_mv": 3710, "fw": None}
    msg = telemetry_message(t, counters, T0)
    body = json.loads(msg.payload)
    assert (msg.topic, msg.retain) == ("camtrap/trap-07/telemetry", True)
    assert body == {"v": 1, "type": "telemetry", "device_id": "trap-07", "time": iso_utc(T0)} | (
        counters
    )


def test_telemetry_refuses_counters_that_shadow_envelope_keys():
    with pytest.raises(ValueError, match="device_id"):
        telemetry_message(topics("c", "d"), {"device_id": "x"}, T0)


def test_status_message_is_retained_json():
    msg = status_message(topics("c", "d"), T0, {"model": "m@1", "mode": "always-on"})
    assert msg.retain and msg.topic == "c/d/status"
    assert json.loads(msg.payload)["model"] == "m@1"


@pytest.mark.parametrize(
    ("counters", "want"),
    [
        ({"battery_mv": 3710}, 3710),
        ({"battery_mv": 3710.6}, 3710),
        ({}, None),
        ({"battery_mv": "low"}, None),
        ({"battery_mv": True}, None),
    ],
)
def test_battery_is_read_from_telemetry_counters(counters, want):
    assert battery_from_counters(counters) == want
