"""Property tests of the LoRa payload codec (CPython, hypothesis).

Every hit and heartbeat the codec can build fits 11 bytes and decodes to the values put in (up
to the documented quantisation); random bytes on any FPort decode to a message or to the
codec's own ``PayloadError``, nothing else.
"""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from trapfw import payload
from trapfw.payload import FPORT_HEARTBEAT, FPORT_HIT, PayloadError

battery = st.one_of(st.none(), st.integers(0, 20000))
scores = st.floats(0.0, 1.0, allow_nan=False)


def expected_battery(mv: int | None) -> int | None:
    if mv is None:
        return None
    clamped = min(max(mv, 2000), 7080)
    return 2000 + 20 * ((clamped - 2000 + 10) // 20)


def expected_age(age: int) -> int | None:
    if age > payload.AGE_MAX_S:
        return None  # sent as "age unknown", never saturated
    return age if age <= 32767 else age // 60 * 60


@st.composite
def hits(draw: st.DrawFn) -> tuple[int, int, float, int, int, int | None, int]:
    classified = draw(st.integers(0, 255))
    return (
        draw(st.integers(0, 0xFFFFFF)),
        draw(st.integers(0, 254)),
        draw(scores),
        draw(st.integers(0, classified)),
        classified,
        draw(battery),
        draw(st.integers(0, 10**9)),
    )


@settings(max_examples=400, deadline=None)
@given(hits())
def test_every_hit_fits_11_bytes_and_round_trips(args) -> None:
    seq, code, score, agreeing, classified, mv, age = args
    data = payload.encode_hit(*args)
    assert len(data) == 11 <= payload.MAX_PAYLOAD
    d = payload.decode(FPORT_HIT, data)
    assert (d["v"], d["type"], d["event_seq"], d["class_code"]) == (1, "hit", seq, code)
    assert abs(d["score"] - score) <= 0.0025 + 1e-12
    assert (d["frames_agreeing"], d["frames_classified"]) == (agreeing, classified)
    assert d["battery_mv"] == expected_battery(mv)
    assert d["age_s"] == expected_age(age)
    assert d["label"] == payload.label_for(code)


@settings(max_examples=300, deadline=None)
@given(
    battery,
    st.integers(0, 0xFFFFFF),
    st.integers(0, 10**6),
    st.integers(0, 1000),
    st.data(),
    st.one_of(st.none(), st.integers(0, 254)),
    st.one_of(st.none(), st.integers(-1000, 1000)),
    st.integers(0, 7),
)
def test_every_heartbeat_fits_11_bytes_and_round_trips(
    mv, last_seq, triggers, hits_n, data, unsent_class, temp, flags
) -> None:
    unsent = data.draw(st.integers(0, hits_n))
    raw = payload.encode_heartbeat(
        mv, last_seq, triggers, hits_n, unsent, unsent_class, temp, flags
    )
    assert len(raw) == 11
    d = payload.decode(FPORT_HEARTBEAT, raw)
    assert d["v"] == 2 and d["storage_fault"] == bool(flags & payload.HB_STORAGE_FAULT)
    assert d["clock_unset"] == bool(flags & payload.HB_CLOCK_UNSET)
    assert d["low_battery"] == bool(flags & payload.HB_LOW_BATTERY)
    assert d["battery_mv"] == expected_battery(mv) and d["last_event_seq"] == last_seq
    assert d["triggers"] == min(triggers, 65535) and d["hits"] == min(hits_n, 255)
    assert d["hits_unsent"] == min(unsent, 255)
    assert d["unsent_class_code"] == unsent_class
    assert d["temp_c"] == (None if temp is None else min(max(temp, -127), 127))


@settings(max_examples=600, deadline=None)
@given(st.sampled_from((FPORT_HIT, FPORT_HEARTBEAT, 1, 12, 223)), st.binary(max_size=24))
def test_random_bytes_decode_to_a_message_or_the_codecs_own_error(fport, data) -> None:
    try:
        d = payload.decode(fport, data)
    except PayloadError as e:
        assert str(e)  # a reason, never an empty message
        return
    assert fport in (FPORT_HIT, FPORT_HEARTBEAT) and len(data) == 11
    # hits are v1; heartbeats v1 (byte 0 exactly 1) or v2 (low nibble 2, flags above)
    assert data[0] == 1 or (fport == FPORT_HEARTBEAT and data[0] & 0x0F == 2)
    if d["type"] == "hit":  # what decodes re-encodes to the same reading
        again = payload.encode_hit(
            d["event_seq"],
            d["class_code"],
            d["score"],
            d["frames_agreeing"],
            d["frames_classified"],
            d["battery_mv"],
            d["age_s"],
        )
        assert payload.decode(FPORT_HIT, again) == d


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=11, max_size=11).map(lambda b: b"\x01" + b[1:]))
def test_decoding_never_confuses_hit_and_heartbeat_ports(data) -> None:
    for fport, kind in ((FPORT_HIT, "hit"), (FPORT_HEARTBEAT, "heartbeat")):
        with contextlib.suppress(PayloadError):
            assert payload.decode(fport, data)["type"] == kind
