"""An unknown age goes over LoRa as "age unknown" (0xFFFF), never as a saturated 22.7 days."""

from __future__ import annotations

from dataclasses import replace

from camtrap.core.hit_uplink import hit_uplink
from camtrap.core.types import Hit
from tests.lora.test_lora_formatter import run_formatter
from trapfw import payload

REAL = 1_795_500_000.0
HIT = Hit("trap-07-42", 42, "trap-07", REAL, "leopard", 0.93, 3, 4)


def age_word(data: bytes) -> int:
    return int.from_bytes(data[9:11], "big")


def test_hits_of_an_unknown_clock_or_beyond_22_days_say_age_unknown():
    assert age_word(hit_uplink(HIT, REAL + 12)) == 12
    assert age_word(hit_uplink(replace(HIT, time=10.0, time_trusted=False), REAL)) == 0xFFFF
    assert age_word(hit_uplink(HIT, 10.0, now_trusted=False)) == 0xFFFF
    assert age_word(hit_uplink(HIT, REAL + 23 * 86400)) == payload.AGE_UNKNOWN
    assert (
        payload.decode(payload.FPORT_HIT, hit_uplink(HIT, REAL + 22 * 86400))["age_s"] == 22 * 86400
    )


def test_the_formatter_decodes_age_unknown_to_null_with_the_receive_time():
    data = hit_uplink(HIT, 10.0, now_trusted=False)
    (out,) = run_formatter([{"bytes": list(data), "fPort": 10, "recvTime": "2026-11-24T06:19:45Z"}])
    assert out["data"]["age_s"] is None
    assert out["data"]["time"] == "2026-11-24T06:19:45Z"
    assert any("age unknown" in w for w in out["warnings"])
