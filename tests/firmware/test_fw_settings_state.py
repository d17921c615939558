"""Settings validation (naming the key) and the persistent state ring (torn writes).

Portable: runs under CPython (pytest) and under the MicroPython VM (test_fw_micropython.py).
"""

from fwkit import HIT, booted, run

from trapfw import fsm, settings, state


def _error(raw):
    try:
        settings.validate(raw)
    except settings.SettingsError as e:
        return e
    raise AssertionError(f"no SettingsError for {raw!r}")


def test_defaults_validate():
    s = settings.validate({})
    assert s.mode == "power-gated" and s.board == "esp32" and s.wdt_ms <= 8388


def test_unknown_key_fails_naming_it():
    e = _error({"max_on": 100})
    assert e.key == "max_on" and "unknown key" in str(e)


def test_out_of_range_value_fails_naming_the_key_and_range():
    e = _error({"battery_cutoff_mv": 1000})
    assert str(e) == "settings: battery_cutoff_mv: must be in 2500..4500, got 1000"


def test_wrong_types_and_choices_fail_naming_the_key():
    assert _error({"max_on_s": "120"}).key == "max_on_s"
    assert _error({"max_on_s": 120.5}).key == "max_on_s"
    assert _error({"lockout_s": True}).key == "lockout_s"
    assert _error({"mode": "sometimes"}).key == "mode"
    assert _error({"device_id": "trap 07"}).key == "device_id"
    assert _error({"app_key": "00" * 15}).key == "app_key"


def test_lorawan_keys_come_all_three_or_none():
    e = _error({"dev_eui": "00" * 8})
    assert e.key == "join_eui"
    ok = settings.validate({"dev_eui": "00" * 8, "join_eui": "11" * 8, "app_key": "22" * 16})
    assert ok.app_key == "22" * 16
    assert "22" * 16 not in repr(ok)  # secrets never reach a log


def test_state_record_round_trips_every_persistent_field():
    s = booted()
    s, _ = run(s, [(("pir", None), 2000), (("hit", HIT), 3000), (("battery", 3000), 4000)])
    saved = s.persistent()
    saved.update(saved_at=4000, radio=b"\x01radio")
    counter, fields = state.decode(state.encode(5, saved))
    assert counter == 5
    assert fields == saved
    assert fields["queue_at"] == (3000,)


def test_ring_loads_the_newest_record_and_survives_a_torn_write():
    slots = state.MemSlots(4)
    ring = state.Ring(slots)
    assert ring.load() is None
    s = booted()
    for seq in range(1, 7):
        ring.save(s.replace(event_seq=seq).persistent())
    assert state.Ring(slots).load()["event_seq"] == 6
    slots.tear(ring._slot)  # brown-out in the middle of the newest write
    again = state.Ring(slots)
    assert again.load()["event_seq"] == 5
    again.save(s.replace(event_seq=7).persistent())
    assert state.Ring(slots).load()["event_seq"] == 7


def test_ring_ignores_blank_and_foreign_slots():
    slots = state.MemSlots(3)
    slots.data[0] = b"\xff" * 40
    slots.data[1] = b"hello"
    assert state.Ring(slots).load() is None


def test_the_largest_queue_settings_allow_fits_the_record_with_the_radio_state():
    top = settings.SPEC["max_queue"][2]
    assert top == state.MAX_QUEUE and fsm.HIT_BYTES == state.HIT_BYTES == len(HIT)
    s = booted(max_queue=top)
    for i in range(top + 1):  # the 9th (and the 17th) hit: no crash, the last one refused
        s, acts = fsm.step(s, ("hit", bytes([i]) * 11), 2000 + i)
    assert len(s.queue) == top and ("fault", fsm.QUEUE_FULL) in acts
    fields = s.persistent()
    fields.update(saved_at=9000, radio=b"\xaa" * state.MAX_RADIO)
    data = state.encode(1, fields)
    assert len(data) <= state.MAX_RECORD
    assert state.decode(data)[1]["queue"] == s.queue
    ring = state.Ring(state.MemSlots())
    ring.save(fields)
    assert ring.load()["queue_at"] == s.queue_at


def test_a_hit_that_is_not_11_bytes_is_refused_not_queued():
    s = booted()
    assert not fsm.can_accept_hit(s, b"\x01" * 40)
    s, acts = fsm.step(s, ("hit", b"\x01" * 40), 2000)
    assert s.queue == () and ("fault", fsm.BAD_HIT) in acts


def test_a_version_1_record_is_still_read():
    import struct

    from trapfw.link import crc16

    body = struct.pack(">IIIHHBqqqII", 41, 50, 7, 1, 2, 0, 0, 0, 0, 40, 5)
    rec = bytearray(struct.pack(">2sBI", b"CT", 1, 9)) + body + bytes([1, 11]) + HIT
    rec += struct.pack(">H", crc16(rec))
    counter, fields = state.decode(bytes(rec))
    assert counter == 9 and fields["event_seq"] == 41 and fields["queue"] == (HIT,)
    assert fields["queue_at"] == (0,) and fields["radio"] == b""
