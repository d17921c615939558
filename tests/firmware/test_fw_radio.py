"""The MCU radio glue (trapfw.radio) over a behaving fake modem on a UART (tests/firmware/
fakemodem.py: the replies of the LoRa-E5 and RAK3172 manuals), with the real uplink scheduler
and AT drivers. Portable: also runs under the MicroPython VM.
"""

import sys

from fakemodem import FakeModem
from fwkit import HIT, cfg

from trapfw import atmodem, payload, radio, radio_boot, radio_rare, uplink, uplink_boot

KEYS = {"dev_eui": "00" * 8, "join_eui": "11" * 8, "app_key": "22" * 16}


class Clock:
    def __init__(self):
        self.t = 0

    def __call__(self):
        return self.t


def _radio(kind="lora-e5", clock=None, configure=False, reset=None, **over):
    clock = clock or Clock()
    keys = dict(KEYS)
    keys.update(over)
    fake = {k: keys.pop(k) for k in ("coverage", "joined", "mute") if k in keys}
    modem = FakeModem(kind, clock=clock, **fake)
    settings = cfg(modem=kind, **keys)
    r = radio.LoraRadio(modem, settings, clock.t, configure=configure, reset_modem=reset)
    r.driver.log = lambda line: None
    return r, modem, clock


def _run(r, clock, until_ms, step_ms=100, battery=3900):
    """Poll until ``until_ms``, jumping to the radio's next wake or the modem's next reply
    (UART RX wakes the board), as the board's main loop does."""
    done = []
    polls = 0
    while clock.t < until_ms:
        done += r.poll(clock.t, battery)
        polls += 1
        times = [clock.t + step_ms]
        for t in (r.next_wake(clock.t), r.uart.next_due()):
            if t is not None:
                times.append(t)
        clock.t = min(max(clock.t + 1, min(times)), until_ms)
    return done, polls


def test_a_queued_hit_goes_out_on_the_hit_fport_and_the_modem_is_left_asleep():
    for kind in ("lora-e5", "rak3172"):
        r, modem, clock = _radio(kind)
        r.offer_hit(1000, HIT, 1000)
        done, _ = _run(r, clock, 20_000)
        assert done == [HIT], kind
        assert [(p, d[:4]) for _, p, d in modem.sent] == [(payload.FPORT_HIT, HIT[:4])], kind
        assert not r.busy() and modem.asleep, kind  # low power after the exchange
        cmds = [c for c in modem.commands if "LOWPOWER" in c or "LPM" in c]
        assert cmds, kind


def test_the_e5_is_woken_before_each_exchange_and_put_back_to_sleep_after():
    r, modem, clock = _radio("lora-e5")
    r.offer_hit(0, HIT, 0)
    _run(r, clock, 10_000)
    r.offer_hit(clock.t, payload.encode_hit(8, 1, 0.9, 3, 4, 3700, 1), clock.t)
    _run(r, clock, 400_000)  # the 1 % sub-band reopens after ~148 s
    assert len(modem.sent) == 2 and modem.asleep
    sleeps = [i for i, c in enumerate(modem.commands) if c == "AT+LOWPOWER"]
    assert len(sleeps) == 2 and modem.commands[sleeps[0] + 1] == "AT"  # the wake-up


def test_waiting_for_a_reply_sleeps_until_it_is_due_instead_of_spinning():
    r, modem, clock = _radio("lora-e5")
    r.offer_hit(0, HIT, 0)
    r.poll(0, 3900)  # the wake-up AT goes out
    assert r.busy()
    assert r.next_wake(0) > 1000  # the op's deadline: the board sleeps, a reply wakes it
    _, polls = _run(r, clock, 30_000, step_ms=10_000)
    assert len(modem.sent) == 1 and polls < 40


def test_not_joined_joins_then_sends_and_never_sends_while_unjoined():
    r, modem, clock = _radio("lora-e5", joined=False)
    r.offer_hit(1000, HIT, 1000)
    done, _ = _run(r, clock, 300_000)
    assert len(modem.join_attempts) == 1 and modem.joined
    assert done == [HIT] and len(modem.sent) == 1
    not_joined = [c for c in modem.commands if c.startswith("AT+MSGHEX")]
    assert len(not_joined) == 2  # one refused ("Please join network first"), one sent


def test_out_of_coverage_joins_stay_within_the_rp002_back_off():
    for kind in ("lora-e5", "rak3172"):
        r, modem, clock = _radio(kind, joined=False, coverage=False)
        r.offer_hit(0, HIT, 0)
        _run(r, clock, 3 * 86400_000, step_ms=600_000)
        times = [t / 1000 for t in modem.join_attempts]
        first = times[0]
        per = radio_rare.join_airtime(r)
        assert len([t for t in times if t < first + 3600]) * per <= 36.0 + 1e-6, kind
        assert len([t for t in times if first + 3600 <= t < first + 39600]) * per <= 36.0, kind
        day = [t for t in times if first + 39600 <= t < first + 39600 + 86400]
        assert len(day) > 0 and len(day) * per <= 8.7, kind
        assert len(modem.sent) == 0, kind


def test_rak_join_books_every_attempt_the_modem_makes():
    r, modem, clock = _radio("rak3172", joined=False, coverage=False)
    r.joined = False
    r.poll(0, 3900)
    assert any(c.startswith("AT+JOIN=1:0:10:8") for c in modem.commands)
    assert abs(radio_rare.backoff(r).used - 8 * r.join_s) < 1e-6
    _run(r, clock, 200_000)
    assert len(modem.join_attempts) == 8 and not r.busy()
    assert not any(c == "AT_BUSY_ERROR" for c in modem.commands)


def test_rak_duty_cycle_status_in_its_own_spelling_retries_later():
    r, modem, clock = _radio("rak3172")
    modem.fail = "AT_DUTYCYLE_RESTRICTED"
    r.offer_hit(0, HIT, 0)
    done, _ = _run(r, clock, 5_000)
    assert done == [] and len(r.sched.queue) == 1
    assert r.sched.queue[0].not_before > 5  # retried later, the hit kept


def test_a_timed_out_send_is_charged_its_airtime():
    r, modem, clock = _radio("lora-e5")
    r.offer_hit(0, HIT, 0)
    r.poll(0, 3900)  # the wake-up AT
    modem.mute = True
    _run(r, clock, 60_000)
    assert r.sched.used_s(60) >= r.sched.frame_s  # it may have gone out: charged
    assert len(r.sched.queue) == 1  # and kept for a retry


def test_a_silent_modem_is_reset_through_its_pin_after_three_exchanges():
    pulses = []
    clock = Clock()
    holder = {}

    def reset():
        pulses.append(clock.t)
        holder["modem"].reset()

    r, modem, _ = _radio("lora-e5", clock=clock, reset=reset, mute=True)
    holder["modem"] = modem
    r.offer_hit(0, HIT, 0)
    done, _ = _run(r, clock, 600_000, step_ms=1000)
    assert len(pulses) == 1 and modem.resets == 1
    assert done == [HIT] and len(modem.sent) == 1 and modem.asleep


def test_the_setup_goes_out_once_for_a_settings_hash_and_survives_a_reset():
    r, modem, clock = _radio("lora-e5", configure=True)
    _run(r, clock, 10_000)
    assert any(c.startswith("AT+KEY=APPKEY") for c in modem.commands) and modem.asleep
    blob = r.persist()
    again, modem2, _ = _radio("lora-e5", clock=clock, configure=True)
    again.restore_state(blob)
    _run(again, clock, 20_000)
    assert modem2.commands == []  # nothing to do: no setup again at the next wake
    changed, modem3, _ = _radio("lora-e5", clock=clock, configure=True, app_key="33" * 16)
    changed.restore_state(blob)
    _run(changed, clock, 30_000)
    assert any(c.startswith("AT+KEY=APPKEY") for c in modem3.commands)


def test_us915_setup_sets_the_sub_band_data_rate_and_adr_explicitly():
    r, modem, clock = _radio("lora-e5", configure=True, lora_region="US915")
    _run(r, clock, 10_000)
    assert "AT+CH=NUM,8-15" in modem.commands and "AT+DR=0" in modem.commands
    assert "AT+ADR=ON" in modem.commands
    r, modem, clock = _radio("rak3172", configure=True, lora_region="AU915", lora_subband=3)
    r.poll(0, 3900)
    _run(r, clock, 10_000)
    assert "AT+MASK=0004" in modem.commands and "AT+BAND=6" in modem.commands
    assert "AT+DR=2" in modem.commands and "AT+ADR=1" in modem.commands


def test_heartbeat_counters_and_the_join_back_off_survive_a_reset():
    r, _modem, clock = _radio("lora-e5")
    r.sched.hit_budget_s = 0.0  # no airtime left for hits: the next one is folded
    r.offer_hit(0, HIT, 0)
    r.note_totals(5, 7)
    r.joined = False
    radio_rare.backoff(r).attempted(0, radio_rare.join_airtime(r))
    blob = r.persist()
    again, modem2, _ = _radio("lora-e5", clock=clock)
    again.restore_state(blob)
    assert (again.sched.hits, again.sched.hits_unsent, again.sched.unsent_class) == (1, 1, 1)
    assert not again.joined and radio_rare.backoff(again).ready_at == radio_rare.backoff(r).ready_at
    again.joined = True
    again.heartbeat(clock.t, {"temp_c": 20, "triggers_total": 5, "last_event_seq": 7})
    _run(again, clock, 10_000)
    beat = payload.decode(payload.FPORT_HEARTBEAT, modem2.sent[0][2])
    assert (beat["triggers"], beat["hits"], beat["hits_unsent"]) == (5, 1, 1)
    assert beat["last_event_seq"] == 7
    assert again.reported_triggers == 5  # the next heartbeat counts from here


def test_a_hit_keeps_its_age_from_before_a_reset():
    r, modem, clock = _radio("lora-e5")
    clock.t = 600_000
    r.offer_hit(clock.t, HIT, 0)  # queued 600 s ago, before the reset
    _run(r, clock, clock.t + 10_000)
    sent = payload.decode(payload.FPORT_HIT, modem.sent[0][2])
    assert sent["age_s"] >= 600 + payload.decode(payload.FPORT_HIT, HIT)["age_s"]


def test_the_rtc_snapshot_stays_bounded_however_many_uplinks_went_out():
    r, _, _ = _radio("lora-e5", daily_airtime_s=86400.0)
    up = uplink.Uplink("hit", 10, HIT, r.sched.frame_s)
    for i in range(2000):
        r.sched.sent(i * 60.0, up)
    snap = r.snapshot()
    assert len(snap) < 800
    used = r.sched.used_s(2000 * 60.0)
    again, _, _ = _radio("lora-e5", daily_airtime_s=86400.0)
    assert again.restore(snap)
    assert again.sched.used_s(2000 * 60.0) >= used  # conservative, never less
    assert not again.restore(b"\xff garbage")


def test_driver_sleep_results_are_per_the_manuals():
    e5 = atmodem.driver_class("lora-e5")(log=lambda line: None)
    e5.sleep(0)
    assert e5.outgoing() == b"AT+LOWPOWER\r\n"
    assert e5.feed(b"+LOWPOWER: SLEEP\r\n", 0).ok and e5.asleep
    e5.send(10, HIT, 1)
    assert e5.outgoing() == b"AT\r\n"  # the wake-up first


def test_the_radio_and_scheduler_constants_are_the_codecs():
    # trapfw.uplink(_boot) and trapfw.radio(_boot) keep these as const() so the codec itself
    # can load per uplink (heap); they must be the codec's own values (MicroPython folds them
    # away: the names only exist on CPython)
    if sys.implementation.name == "micropython":
        return
    assert radio_boot._FAR_S == radio._FAR_S  # "not scheduled", both sides of the split
    assert (uplink_boot._MAX_PAYLOAD, uplink._EVENT_SEQ_MAX) == (
        payload.MAX_PAYLOAD,
        payload.EVENT_SEQ_MAX,
    )
    assert (uplink._FPORT_HIT, uplink._FPORT_HEARTBEAT) == (
        payload.FPORT_HIT,
        payload.FPORT_HEARTBEAT,
    )
    assert radio._SCORE_STEPS == payload.SCORE_STEPS
