"""Checks of the pure LoRa modules that run unchanged under CPython and MicroPython.

Plain functions named ``check_<behaviour>`` with bare asserts (no pytest): ``test_lora_portable``
runs each under CPython (one test per check) and all of them in the real MicroPython
WebAssembly VM. Vectors are from FACTS.md (airtime, duty cycle, fair use) and docs/lora.md.
"""

from trapfw import airtime, atmodem, atmodem_e5, atmodem_rak, joinbackoff, payload, uplink
from trapfw.payload import FPORT_HEARTBEAT, FPORT_HIT, PayloadError

HIT_HEX = "0100002a01ba030456000c"  # docs/lora.md: seq 42, leopard, 0.93, 3/4, 3720 mV, 12 s
HEARTBEAT_HEX = "025500002a00110100ff80"  # docs/lora.md: v2, no status flag set
HEARTBEAT_V1_HEX = "015500002a00110100ff80"  # the same heartbeat from older firmware (v1)


def raises(exc, fn, *args):
    """The message of the ``exc`` that ``fn(*args)`` raises; fails if it raises nothing."""
    try:
        fn(*args)
    except exc as e:
        return str(e)
    raise AssertionError("expected " + exc.__name__)


def close(a, b, tol=1e-6):
    return abs(a - b) <= tol


# ---------------------------------------------------------------------------------------------
# Payload codec


def check_hit_golden_vector_matches_docs():
    data = payload.encode_hit(42, payload.code_for("leopard"), 0.93, 3, 4, 3710, 12)
    assert data == bytes.fromhex(HIT_HEX), data.hex()
    d = payload.decode(FPORT_HIT, data)
    assert d["v"] == 1 and d["type"] == "hit" and d["event_seq"] == 42
    assert d["class_code"] == 1 and d["label"] == "leopard" and d["score"] == 0.93
    assert (d["frames_agreeing"], d["frames_classified"]) == (3, 4)
    assert d["battery_mv"] == 3720 and d["age_s"] == 12
    assert "time" not in d


def check_heartbeat_golden_vector_matches_docs():
    data = payload.encode_heartbeat(3700, 42, 17, 1)
    assert data == bytes.fromhex(HEARTBEAT_HEX), data.hex()
    d = payload.decode(FPORT_HEARTBEAT, data)
    assert d["type"] == "heartbeat" and d["battery_mv"] == 3700 and d["last_event_seq"] == 42
    assert (d["triggers"], d["hits"], d["hits_unsent"]) == (17, 1, 0)
    assert d["unsent_class_code"] is None and d["unsent_label"] is None and d["temp_c"] is None


def check_heartbeat_v1_still_decodes_without_status_fields():
    d = payload.decode(FPORT_HEARTBEAT, bytes.fromhex(HEARTBEAT_V1_HEX))
    assert d["v"] == 1 and d["battery_mv"] == 3700 and d["last_event_seq"] == 42
    assert (d["triggers"], d["hits"], d["hits_unsent"]) == (17, 1, 0)
    assert "storage_fault" not in d and "clock_unset" not in d and "low_battery" not in d


def check_heartbeat_v2_status_flags_round_trip_in_byte_0():
    for flags in range(8):
        data = payload.encode_heartbeat(3700, 42, 17, 1, 0, None, None, flags)
        assert (
            len(data) == 11
            and data[0] == 2 | flags << 4
            and data[1:] == bytes.fromhex(HEARTBEAT_HEX)[1:]
        )
        d = payload.decode(FPORT_HEARTBEAT, data)
        assert d["v"] == 2
        assert d["storage_fault"] == bool(flags & payload.HB_STORAGE_FAULT)
        assert d["clock_unset"] == bool(flags & payload.HB_CLOCK_UNSET)
        assert d["low_battery"] == bool(flags & payload.HB_LOW_BATTERY)
    reserved = bytearray(payload.encode_heartbeat(3700, 42, 17, 1, 0, None, None, 1))
    reserved[0] |= 0x80  # bit 7 is reserved: a newer unit's, ignored
    assert payload.decode(FPORT_HEARTBEAT, bytes(reserved))["storage_fault"] is True
    assert "flags" in raises(
        PayloadError, payload.encode_heartbeat, 3700, 42, 17, 1, 0, None, None, 8
    )


def check_heartbeat_versions_other_than_1_and_2_are_refused():
    good = bytes.fromhex(HEARTBEAT_HEX)
    for byte0 in (0, 3, 0x11, 0x13, 0xFF):  # v1 carries no flags: 0x11 is not a v1
        msg = raises(PayloadError, payload.decode, FPORT_HEARTBEAT, bytes((byte0,)) + good[1:])
        assert "version " + str(byte0) in msg, msg


def check_decoded_hit_uses_mqtt_hit_json_field_names():
    d = payload.decode(FPORT_HIT, bytes.fromhex(HIT_HEX), 1795000000)
    names = "event_seq label score frames_agreeing frames_classified battery_mv age_s"
    for name in (names + " v type class_code time").split():
        assert name in d, name
    assert d["time"] == payload.iso_utc(1795000000 - 12)


def check_extreme_hits_fit_11_bytes_and_round_trip():
    cases = (
        (0, 0, 0.0, 0, 0, None, 0),
        (0xFFFFFF, 254, 1.0, 255, 255, 7080, 32767),
        (1, 12, 0.005, 1, 60, 2000, 32768),
    )
    for seq, code, score, agr, cls, mv, age in cases:
        data = payload.encode_hit(seq, code, score, agr, cls, mv, age)
        assert len(data) <= payload.MAX_PAYLOAD == 11
        d = payload.decode(FPORT_HIT, data)
        assert d["event_seq"] == seq and d["class_code"] == code and d["score"] == score
        assert d["frames_agreeing"] == agr and d["frames_classified"] == cls
        assert d["battery_mv"] == mv


def check_age_counts_seconds_then_minutes_then_is_unknown():
    def age(a):
        return payload.decode(FPORT_HIT, payload.encode_hit(1, 1, 0.5, 1, 1, None, a))["age_s"]

    assert age(0) == 0 and age(32767) == 32767
    assert age(32768) == 32760  # minutes from here: rounded down to the minute
    assert age(86400) == 86400
    assert age(payload.AGE_MAX_S) == payload.AGE_MAX_S == 0x7FFE * 60
    assert age(payload.AGE_MAX_S + 60) is None  # never a saturated age: "unknown"
    assert age(10**9) is None and age(None) is None
    unknown = payload.encode_hit(1, 1, 0.5, 1, 1, None, None)
    assert payload.restamp_age(unknown, 600) == unknown  # unknown stays unknown
    near = payload.encode_hit(1, 1, 0.5, 1, 1, None, payload.AGE_MAX_S)
    assert payload.decode(FPORT_HIT, payload.restamp_age(near, 3600))["age_s"] is None
    decoded = payload.decode(FPORT_HIT, unknown, 1795500000)
    assert decoded["time"] == "2026-11-24T06:00:00Z"  # the receive time


def check_battery_quantises_to_20_mv_and_none_is_unknown():
    def mv(v):
        return payload.decode(FPORT_HIT, payload.encode_hit(1, 1, 0.5, 1, 1, v, 0))["battery_mv"]

    assert mv(None) is None
    assert mv(3700) == 3700 and mv(3709) == 3700 and mv(3711) == 3720
    assert mv(1000) == 2000 and mv(9000) == 7080  # clamped to the documented range


def check_score_quantises_to_half_percent():
    def score(s):
        return payload.decode(FPORT_HIT, payload.encode_hit(1, 1, s, 1, 1, None, 0))["score"]

    assert score(0.93) == 0.93 and score(0.5) == 0.5 and score(0.0) == 0.0
    assert score(0.9312) == 0.93 and score(0.9976) == 1.0


def check_heartbeat_counters_saturate():
    d = payload.decode(FPORT_HEARTBEAT, payload.encode_heartbeat(None, 5, 70000, 300, 280, 1, -300))
    assert d["triggers"] == 65535 and d["hits"] == 255 and d["hits_unsent"] == 255
    assert d["unsent_label"] == "leopard" and d["temp_c"] == -127


def check_wrong_length_decodes_to_an_error_naming_the_length():
    good = bytes.fromhex(HIT_HEX)
    for n in range(1, 20):
        if n == 11:
            continue
        data = (good + bytes(10))[:n]
        for port in (FPORT_HIT, FPORT_HEARTBEAT):
            msg = raises(PayloadError, payload.decode, port, data)
            assert "11 bytes" in msg and str(n) in msg, msg
    assert "empty" in raises(PayloadError, payload.decode, FPORT_HIT, b"")


def check_unknown_version_decodes_to_an_error_naming_the_version():
    for v in (0, 2, 255):
        data = bytes((v,)) + bytes.fromhex(HIT_HEX)[1:]
        msg = raises(PayloadError, payload.decode, FPORT_HIT, data)
        assert "version " + str(v) in msg, msg


def check_unknown_fport_decodes_to_an_error_naming_the_port():
    for port in (0, 1, 12, 223):
        msg = raises(PayloadError, payload.decode, port, bytes.fromhex(HIT_HEX))
        assert "FPort " + str(port) in msg, msg


def check_out_of_range_fields_decode_to_errors_not_numbers():
    good = bytearray(bytes.fromhex(HIT_HEX))
    bad_score = bytearray(good)
    bad_score[5] = 201
    assert "score" in raises(PayloadError, payload.decode, FPORT_HIT, bytes(bad_score))
    bad_frames = bytearray(good)
    bad_frames[6] = 5  # 5 agreeing of 4 classified
    assert "frames_agreeing" in raises(PayloadError, payload.decode, FPORT_HIT, bytes(bad_frames))
    bad_class = bytearray(good)
    bad_class[4] = 255
    assert "class" in raises(PayloadError, payload.decode, FPORT_HIT, bytes(bad_class))
    hb = bytearray(payload.encode_heartbeat(None, 1, 1, 1, 1))
    hb[8] = 2  # 2 unsent of 1 hit
    assert "hits_unsent" in raises(PayloadError, payload.decode, FPORT_HEARTBEAT, bytes(hb))


def check_encoder_rejects_values_it_cannot_carry():
    enc = payload.encode_hit
    assert "event_seq" in raises(PayloadError, enc, 1 << 24, 1, 0.5, 1, 1, None, 0)
    assert "score" in raises(PayloadError, enc, 1, 1, 1.5, 1, 1, None, 0)
    assert "frames_agreeing" in raises(PayloadError, enc, 1, 1, 0.5, 5, 4, None, 0)
    assert "class_code" in raises(PayloadError, enc, 1, 255, 0.5, 1, 1, None, 0)
    assert "age_s" in raises(PayloadError, enc, 1, 1, 0.5, 1, 1, None, -1)


def check_class_codes_are_the_documented_wire_table():
    expected = (
        "other",
        "leopard",
        "tiger",
        "small_spotted_cat",
        "domestic_cat",
        "deer",
        "boar",
        "person",
        "empty",
    )
    for code, label in enumerate(expected):
        assert payload.label_for(code) == label
        assert payload.code_for(label) == code
    assert payload.code_for("leopard, Panthera pardus") == 1
    assert payload.code_for("snow leopard, ounce, Panthera uncia") == 0
    assert payload.code_for("Leopard cat") == 3 and payload.code_for("wild boar") == 6
    assert payload.code_for("Small spotted cat") == 3
    assert payload.label_for(200) is None


def check_restamp_age_adds_the_time_waited():
    data = bytes.fromhex(HIT_HEX)
    later = payload.restamp_age(data, 150)
    assert later[:9] == data[:9]
    assert payload.decode(FPORT_HIT, later)["age_s"] == 162


def check_iso_utc_matches_known_dates():
    assert payload.iso_utc(0) == "1970-01-01T00:00:00Z"
    assert payload.iso_utc(951782400) == "2000-02-29T00:00:00Z"
    assert payload.iso_utc(1795500000) == "2026-11-24T06:00:00Z"
    assert payload.iso_utc(4102444799) == "2099-12-31T23:59:59Z"


# ---------------------------------------------------------------------------------------------
# Airtime and regions

AIRTIME_VECTORS = {  # FACTS.md, BW 125 kHz, ms, by app bytes
    7: (46.336, 51.456, 61.696, 71.936, 118.016),
    9: (164.864, 164.864, 205.824, 246.784, 390.144),
    10: (288.768, 329.728, 370.688, 452.608, 698.368),
    12: (1155.072, 1318.912, 1482.752, 1810.432, 2793.472),
}
APP_BYTES = (0, 4, 11, 20, 51)


def check_airtime_matches_facts_vectors():
    for sf, row in AIRTIME_VECTORS.items():
        for n, want in [(APP_BYTES[i], row[i]) for i in range(len(row))]:
            got = airtime.uplink_ms(sf, 125, n)
            assert close(got, want), (sf, n, got, want)
    assert close(airtime.uplink_ms(7, 250, 11), 30.848)


def check_airtime_sf8_and_sf11_match_hand_calculation():
    # SF8, PL 24: ceil((192-32+28+16)/32)=7 -> 8+35=43 symbols; (12.25+43)*2.048
    assert close(airtime.uplink_ms(8, 125, 11), (12.25 + 43) * 2.048)
    # SF11 with DE: ceil((192-44+28+16)/36)=6 -> 8+30=38 symbols; (12.25+38)*16.384
    assert close(airtime.uplink_ms(11, 125, 11), (12.25 + 38) * 16.384)
    assert close(airtime.uplink_ms(11, 125, 11), 823.296)


def check_eleven_bytes_fit_every_data_rate_of_every_region():
    for name in ("EU868", "US915", "AS923", "IN865", "KR920", "RU864", "CN470"):
        r = airtime.region(name)
        drs = r.lora_drs()
        assert drs, name
        for dr in drs:
            assert r.max_payload(dr) >= payload.MAX_PAYLOAD, (name, dr)
            sf, bw = r.sf_bw(dr)
            if r.dwell_ms:
                assert airtime.uplink_ms(sf, bw, payload.MAX_PAYLOAD) <= r.dwell_ms
        assert r.slowest_dr(11) == drs[0]


def check_region_payload_limits_match_regional_parameters():
    eu = airtime.region("EU868")
    assert [eu.max_payload(dr) for dr in range(8)] == [51, 51, 51, 115, 242, 242, 242, 242]
    us = airtime.region("US915")
    assert [us.max_payload(dr) for dr in range(5)] == [11, 53, 125, 242, 242]
    assert us.dwell_ms == 400 and us.sf_bw(0) == (10, 125) and us.sf_bw(4) == (8, 500)
    asia = airtime.region("AS923")
    assert asia.max_payload(2) == 11 and asia.max_payload(0) == 0 and asia.max_payload(1) == 0
    assert asia.max_payload(0, dwell=False) == 51 and asia.slowest_dr(11) == 2
    for name in ("IN865", "RU864", "CN470", "KR920"):
        r = airtime.region(name)
        assert r.max_payload(0) == 51 and r.sf_bw(0) == (12, 125) and r.slowest_dr(11) == 0
    assert airtime.region("eu868") is eu
    assert "known" in raises(ValueError, airtime.region, "XX999")


def check_duty_cycle_sub_bands_and_off_times():
    eu = airtime.region("EU868")
    bands = eu.uplink_subbands()
    assert len(bands) == 1 and bands[0].duty == 0.01
    for sf, want in ((7, 6.1), (12, 146.8)):
        off = airtime.off_time_s(airtime.uplink_ms(sf, 125, 11) / 1000, 0.01)
        assert close(off, want, 0.05), (sf, off)
    assert airtime.region("RU864").uplink_subbands()[0].duty == 0.01
    for name in ("US915", "IN865", "KR920", "CN470"):
        assert airtime.region(name).uplink_subbands()[0].duty == 1.0
        assert airtime.off_time_s(1.0, 1.0) == 0.0


def check_ttn_fair_use_uplinks_per_day():
    for sf, want in ((7, 486), (10, 80), (12, 20)):
        assert int(30.0 // (airtime.uplink_ms(sf, 125, 11) / 1000)) == want


# ---------------------------------------------------------------------------------------------
# Uplink scheduler


def _hit(seq, score=0.9, code=1):
    return payload.encode_hit(seq, code, score, 2, 3, 3700, 5)


def check_scheduler_sends_a_hit_at_once_unconfirmed():
    s = uplink.UplinkScheduler("EU868", now=0)
    s.note_event(1)
    s.offer_hit(0, _hit(1), 0.9, 1)
    up = s.next_uplink(0)
    assert up is not None and up.kind == "hit" and up.fport == FPORT_HIT
    assert up.confirmed is False and up.data == _hit(1)
    assert close(up.airtime_s, 1.482752)  # SF12: the slowest EU868 DR
    s.sent(0, up)
    assert s.queue == [] and s.hits_sent == 1


def check_scheduler_keeps_the_sub_band_closed_for_the_off_time():
    s = uplink.UplinkScheduler("EU868", now=0)
    s.offer_hit(0, _hit(1), 0.9, 1)
    s.offer_hit(0, _hit(2), 0.9, 1)
    s.sent(0, s.next_uplink(0))
    closed_until = 1.482752 / 0.01
    assert s.next_uplink(closed_until - 0.01) is None
    assert close(s.next_wake(1.0), closed_until)
    up = s.next_uplink(closed_until)
    assert up is not None and payload.decode(FPORT_HIT, up.data)["event_seq"] == 2
    assert payload.decode(FPORT_HIT, up.data)["age_s"] == 5 + int(closed_until)


def check_scheduler_folds_hits_beyond_the_daily_budget_into_the_heartbeat():
    s = uplink.UplinkScheduler("US915", now=0, daily_budget_s=1.0, heartbeat_interval_s=3600)
    t = 0.0
    for seq in range(5):  # 0.37 s each at SF10: two fit in 1 s
        s.note_event(seq)
        s.offer_hit(t, _hit(seq, 0.6 + seq / 100, 5 if seq == 3 else 1), 0.6 + seq / 100, 1)
        up = s.next_uplink(t)
        if up is not None:
            s.sent(t, up)
        t += 10
    assert s.hits_sent == 2 and s.hits_unsent == 3
    assert s.used_s(t) <= 1.0


def check_heartbeat_leaves_the_reserve_for_hits():
    s = uplink.UplinkScheduler("US915", now=0, daily_budget_s=2.0, reserve_hits=3)
    # reserve: 3 x 0.370688 s; heartbeats may use 2.0 - 1.112 = 0.888 s: two of them
    assert close(s.heartbeat_budget_s, 2.0 - 3 * 0.370688)
    sent = 0
    t = 0.0
    for _ in range(10):
        t += 6 * 3600 + 1 if sent == 0 else 60
        up = s.next_uplink(t)
        if up is not None:
            assert up.kind == "heartbeat"
            s.sent(t, up)
            s.heartbeat_due = t  # force the next one due at once
            sent += 1
    assert sent == 2, sent
    s.offer_hit(t, _hit(9), 0.9, 1)
    up = s.next_uplink(t)
    assert up is not None and up.kind == "hit"


def check_heartbeat_carries_counters_and_resets_them():
    s = uplink.UplinkScheduler("EU868", now=0, daily_budget_s=0.0, heartbeat_interval_s=600)
    for seq in range(3):
        s.note_event(seq)
    s.offer_hit(1, _hit(2, 0.8, 6), 0.8, 6)  # budget 0: folded
    assert s.next_uplink(599) is None
    s.set_budget(30.0, 0)
    up = s.next_uplink(600, battery_mv=3650, temp_c=-12)
    assert up is not None and up.kind == "heartbeat" and up.fport == FPORT_HEARTBEAT
    d = payload.decode(FPORT_HEARTBEAT, up.data)
    assert d["triggers"] == 3 and d["hits"] == 1 and d["hits_unsent"] == 1
    assert d["unsent_label"] == "boar" and d["last_event_seq"] == 2
    assert d["battery_mv"] == 3660 and d["temp_c"] == -12  # 3650 rounds half up
    s.sent(600, up)
    assert (s.triggers, s.hits, s.hits_unsent, s.unsent_class) == (0, 0, 0, None)


def check_last_event_seq_follows_the_newest_across_the_wrap():
    s = uplink.UplinkScheduler("EU868", now=0)
    s.note_event(9000000)  # the first one seen is the newest, whatever its value
    assert s.last_event_seq == 9000000
    s.last_event_seq = None
    for seq in (5, 3, 0xFFFFFE):
        s.note_event(seq)
    assert s.last_event_seq == 5  # 3 is older; 0xFFFFFE is before the wrap
    s.last_event_seq = 0xFFFFFE
    s.note_event(1)  # after the wrap
    assert s.last_event_seq == 1


def check_full_queue_folds_the_lowest_score():
    s = uplink.UplinkScheduler("EU868", now=0, max_queue=2)
    s.bands[0][1] = 1e9  # sub-band closed: everything queues
    a = s.offer_hit(0, _hit(1, 0.9), 0.9, 1)
    b = s.offer_hit(0, _hit(2, 0.6), 0.6, 2)
    c = s.offer_hit(0, _hit(3, 0.8), 0.8, 1)
    assert a in s.queue and c in s.queue and b not in s.queue
    assert s.hits_unsent == 1 and s.unsent_class == 2
    assert s.offer_hit(0, _hit(4, 0.5), 0.5, 1) is None


def check_failed_uplink_waits_and_is_retried():
    s = uplink.UplinkScheduler("US915", now=0)
    s.offer_hit(0, _hit(1), 0.9, 1)
    up = s.next_uplink(0)
    s.failed(0, up, 30)
    assert s.next_uplink(29) is None
    again = s.next_uplink(30)
    assert again is not None and again.queued is up.queued


def check_confirmed_only_when_asked():
    s = uplink.UplinkScheduler("US915", now=0, confirmed=True)
    s.offer_hit(0, _hit(1), 0.9, 1)
    assert s.next_uplink(0).confirmed is True


def check_data_rate_that_cannot_carry_11_bytes_is_refused():
    raises(ValueError, uplink.UplinkScheduler, "AS923", 0, 0)  # DR0 with dwell time on
    s = uplink.UplinkScheduler("AS923", now=0)
    assert s.dr == 2 and close(s.frame_s, 0.370688)


def check_join_backoff_paces_attempts_and_keeps_the_session():
    j = joinbackoff.JoinBackoff()
    assert j.may_join(0)
    j.attempted(0, 1.5)  # first hour: 1 %
    assert not j.may_join(149) and j.may_join(150)
    j.attempted(4000, 1.5)  # after the first hour: 0.1 %
    assert not j.may_join(5499) and j.may_join(5500)
    j.attempted(12 * 3600, 1.5)  # after 11 h: 0.01 %
    assert not j.may_join(12 * 3600 + 14999) and j.may_join(12 * 3600 + 15000)
    j.joined()
    assert not j.may_join(10**9)  # joined: never rejoin on a wake
    j.lost()
    assert j.may_join(10**9)


# ---------------------------------------------------------------------------------------------
# AT modem drivers (sans-IO)


def _drive(drv, replies, now=0.0):
    """Feed reply lines; return (commands written, Result)."""
    written = [drv.outgoing()]
    for line in replies:
        drv.feed(line.encode() + b"\r\n", now)
        written.append(drv.outgoing())
    return b"".join(written), drv.take()


def _quiet():
    lines = []
    return lines, lines.append


def check_e5_send_runs_port_then_msghex_and_succeeds_on_done():
    drv = atmodem_e5.LoraE5(log=_quiet()[1])
    drv.send(10, bytes.fromhex(HIT_HEX), 0)
    wrote, r = _drive(drv, ["+PORT: 10", "+MSGHEX: Start", "+MSGHEX: Done"])
    assert wrote == b'AT+PORT=10\r\nAT+MSGHEX="0100002A01BA030456000C"\r\n', wrote
    assert r.ok and r.op == "send" and r.reason == atmodem.OK
    assert not drv.busy()


def check_e5_documented_failures_map_to_reasons():
    cases = (
        ("+MSGHEX: Please join network first", atmodem.NOT_JOINED),
        ("+MSGHEX: LoRaWAN modem is busy", atmodem.BUSY),
        ("+MSGHEX: No free channel", atmodem.NO_FREE_CHANNEL),
        ("+MSGHEX: No band in 146836ms", atmodem.DUTY_CYCLE),
        ("+MSGHEX: Length error 12", atmodem.LENGTH_ERROR),
        ("+MSGHEX: DR error", atmodem.DR_ERROR),
        ("+MSGHEX: ERROR(-1)", atmodem.BAD_PARAMETER),
        ("+MSGHEX: ERROR(-10)", atmodem.UNKNOWN_COMMAND),
        ("+MSGHEX: ERROR(-12)", atmodem.UNAVAILABLE),
        ("+MSGHEX: ERROR(-99)", atmodem.ERROR),
    )
    for line, reason in cases:
        drv = atmodem_e5.LoraE5(log=_quiet()[1])
        drv.send(10, b"\x01", 0)
        r = _drive(drv, ["+PORT: 10", line])[1]
        assert r is not None and not r.ok and r.reason == reason, (line, r)
    drv = atmodem_e5.LoraE5(log=_quiet()[1])
    drv.send(10, b"\x01", 0)
    r = _drive(drv, ["+PORT: 10", "+MSGHEX: No band in 146836ms"])[1]
    assert close(r.retry_in_s, 146.836)


def check_e5_join_succeeds_only_when_network_joined():
    drv = atmodem_e5.LoraE5(log=_quiet()[1])
    drv.join(0)
    ok = _drive(drv, ["+JOIN: Start", "+JOIN: NORMAL", "+JOIN: Network joined"])
    assert ok[1] is None and drv.busy()  # "+JOIN: Done" ends it
    r = _drive(drv, ["+JOIN: NetID 000013 DevAddr 26:01:5F:66", "+JOIN: Done"])[1]
    assert r.ok and r.joined is True
    drv.join(0)
    r = _drive(drv, ["+JOIN: Start", "+JOIN: NORMAL", "+JOIN: Join failed", "+JOIN: Done"])[1]
    assert not r.ok and r.reason == atmodem.JOIN_FAILED
    drv.join(0)
    r = _drive(drv, ["+JOIN: Joined already"])[1]
    assert r.ok and r.joined is True


def check_e5_confirmed_send_needs_the_ack():
    drv = atmodem_e5.LoraE5(log=_quiet()[1])
    drv.send(10, b"\x01", 0, confirmed=True)
    wrote, r = _drive(drv, ["+PORT: 10", "+CMSGHEX: Start", "+CMSGHEX: Wait ACK", "+CMSGHEX: Done"])
    assert b"AT+CMSGHEX=" in wrote and not r.ok and r.reason == atmodem.NO_ACK
    drv.send(10, b"\x01", 0, confirmed=True)
    r = _drive(drv, ["+PORT: 10", "+CMSGHEX: Start", "+CMSGHEX: ACK Received", "+CMSGHEX: Done"])
    assert r[1].ok


def check_unknown_reply_fails_the_command_and_is_logged():
    log, sink = _quiet()
    drv = atmodem_e5.LoraE5(log=sink)
    drv.send(10, b"\x01", 0)
    r = _drive(drv, ["+PORT: 10", "+MSGHEX: Start", "+MSGHEX: Sent to the moon"])[1]
    assert not r.ok and r.reason == atmodem.UNKNOWN_REPLY and "moon" in r.detail
    assert any("unknown reply" in line for line in log)
    rak = atmodem_rak.Rak3172(log=sink)
    rak.send(10, b"\x01", 0)
    r = _drive(rak, ["OK", "OK", "+EVT:SOMETHING_NEW"])[1]
    assert not r.ok and r.reason == atmodem.UNKNOWN_REPLY


def check_rak_send_waits_for_tx_done_after_ok():
    drv = atmodem_rak.Rak3172(log=_quiet()[1])
    drv.send(10, bytes.fromhex(HIT_HEX), 0)
    wrote, r = _drive(drv, ["OK", "OK"])
    assert wrote == b"AT+CFM=0\r\nAT+SEND=10:0100002A01BA030456000C\r\n", wrote
    assert r is None and drv.busy()
    r = _drive(drv, ["+EVT:TX_DONE"])[1]
    assert r.ok


def check_rak_status_errors_map_to_reasons():
    cases = (
        ("AT_BUSY_ERROR", atmodem.BUSY),
        ("AT_NO_NETWORK_JOINED", atmodem.NOT_JOINED),
        ("AT_DUTYCYLE_RESTRICTED", atmodem.DUTY_CYCLE),  # RUI3's spelling (sic)
        ("AT_DUTYCYCLE_RESTRICTED", atmodem.DUTY_CYCLE),
        ("AT_PARAM_ERROR", atmodem.LENGTH_ERROR),
        ("AT_ERROR", atmodem.ERROR),
    )
    for line, reason in cases:
        drv = atmodem_rak.Rak3172(log=_quiet()[1])
        drv.send(10, b"\x01", 0)
        r = _drive(drv, ["OK", line])[1]
        assert r is not None and not r.ok and r.reason == reason, (line, r)


def check_rak_join_result_comes_as_an_event():
    drv = atmodem_rak.Rak3172(log=_quiet()[1])
    drv.join(0)
    wrote, r = _drive(drv, ["OK"])
    assert wrote == b"AT+JOIN=1:0:10:8\r\n" and r is None
    assert _drive(drv, ["+EVT:JOINED"])[1].ok
    drv.join(0)
    # RUI3 prints a failure per attempt and tries again by itself, up to the 8 asked for:
    r = _drive(drv, ["OK"] + ["+EVT:JOIN_FAILED_RX_TIMEOUT"] * 7)[1]
    assert r is None and drv.busy()
    r = _drive(drv, ["+EVT:JOIN_FAILED_RX_TIMEOUT"])[1]
    assert not r.ok and r.reason == atmodem.JOIN_FAILED
    drv.join(0, attempts=2)
    r = _drive(drv, ["OK", "+EVT:JOIN_FAILED_RX_TIMEOUT", "+EVT:JOINED"])[1]
    assert r.ok and r.joined is True
    drv.joined(0)
    r = _drive(drv, ["AT+NJS=1", "OK"])[1]
    assert r.ok and r.joined is True


def check_replies_fed_a_byte_at_a_time_give_the_same_result():
    drv = atmodem_e5.LoraE5(log=_quiet()[1])
    drv.send(10, b"\x01", 0)
    drv.outgoing()
    stream = b"+PORT: 10\r\n+MSGHEX: Start\r\n+MSGHEX: Done\r\n"
    for i in range(len(stream)):
        drv.feed(stream[i : i + 1], 0)
    r = drv.take()
    assert r is not None and r.ok


def check_silence_past_the_deadline_is_a_timeout():
    drv = atmodem_rak.Rak3172(log=_quiet()[1])
    drv.send(10, b"\x01", 0, timeout_s=5)
    drv.outgoing()
    assert drv.tick(4.9) is None
    r = drv.tick(5.0)
    assert r is not None and not r.ok and r.reason == atmodem.TIMEOUT


def check_keys_never_reach_the_log():
    key = "2B7E151628AED2A6ABF7158809CF4F3C"
    for cls, echo in ((atmodem_e5.LoraE5, "+KEY: APPKEY " + key), (atmodem_rak.Rak3172, "OK")):
        log, sink = _quiet()
        drv = cls(log=sink)
        drv.configure(0, "EU868", "0011223344556677", "70B3D57ED0000000", key)
        replies = {
            atmodem_e5.LoraE5: [
                "+MODE: LWOTAA",
                "+DR: EU868",
                "+ID: DevEui, 00:11:22:33:44:55:66:77",
                "+ID: AppEui, 70:B3:D5:7E:D0:00:00:00",
                echo,
                "+CLASS: A",
            ],
            atmodem_rak.Rak3172: ["OK"] * 6,
        }[cls]
        wrote, r = _drive(drv, replies)
        assert r.ok, r
        assert key.encode() in wrote  # the modem gets the key ...
        assert all(key not in line for line in log), log  # ... the log never does


def check_a_late_done_never_passes_for_success():
    drv = atmodem_e5.LoraE5(log=_quiet()[1])
    drv.send(10, b"\x01", 0)
    r = _drive(drv, ["+PORT: 10", "+MSGHEX: Done", "+JOIN: Done"])[1]
    assert r is None and drv.busy()  # stale lines of earlier commands: still waiting
    r = _drive(drv, ["+MSGHEX: Start", "+MSGHEX: Done"])[1]
    assert r.ok


def check_starting_while_busy_is_a_caller_error():
    drv = atmodem_e5.LoraE5(log=_quiet()[1])
    drv.send(10, b"\x01", 0)
    raises(atmodem.ModemStateError, drv.join, 0)


def run_all():
    """Run every check (the MicroPython entry point); prints one line per check."""
    names = sorted(n for n in globals() if n.startswith("check_"))
    for name in names:
        globals()[name]()
        print("ok", name)
    print("passed", len(names))
