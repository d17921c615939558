"""The Pi's HEALTH reaches the LoRa heartbeat: the state machine keeps the storage fault through
resets (the state record) and the radio sends it in the heartbeat's status bits.

Portable: runs under CPython (pytest) and under the MicroPython VM (test_fw_micropython.py).
"""

from fakemodem import FakeModem
from fwkit import HIT, FakeHw, FakePi, booted, cfg

from trapfw import app, fsm, link, payload, radio, state

KEYS = {"dev_eui": "00" * 8, "join_eui": "11" * 8, "app_key": "22" * 16}
REAL = 1795500000  # 2026-11-24


def test_health_sets_and_clears_the_storage_fault_and_saves_only_on_a_change():
    s = booted()
    s, acts = fsm.step(s, ("health", link.HEALTH_STORAGE), 2000)
    assert s.storage_fault and acts == [("save",)]
    s, acts = fsm.step(s, ("health", link.HEALTH_STORAGE | 0x80), 2100)  # a bit it does not know
    assert s.storage_fault and acts == []
    s, acts = fsm.step(s, ("health", 0), 2200)
    assert not s.storage_fault and acts == [("save",)]


def test_the_storage_fault_is_kept_in_the_state_record():
    s, _ = fsm.step(booted(), ("health", link.HEALTH_STORAGE), 2000)
    saved = state.decode(state.encode(3, s.persistent()))[1]
    assert saved["storage_fault"] is True and fsm.restore(s.cfg, saved).storage_fault
    assert state.decode(state.encode(4, booted().persistent()))[1]["storage_fault"] is False


def test_status_flags_are_the_heartbeat_bits():
    s = booted()
    assert fsm.status_flags(s) == payload.HB_CLOCK_UNSET  # no time source yet
    s, _ = fsm.step(s, ("time", (REAL, 2, link.TIME_SRC_NTP)), 2000)
    assert fsm.status_flags(s) == 0
    s, _ = fsm.step(s, ("health", link.HEALTH_STORAGE), 2100)
    assert fsm.status_flags(s) == payload.HB_STORAGE_FAULT
    low, _ = fsm.step(s, ("battery", 3000), 2200)  # below the cutoff
    assert fsm.status_flags(low) == payload.HB_STORAGE_FAULT | payload.HB_LOW_BATTERY


class Clock:
    def __init__(self, t=0):
        self.t = t

    def __call__(self):
        return self.t


def _unit(slots, clock):
    """A booted unit on ``slots`` (what survives a reset) with a LoRa-E5 that keeps a session."""
    hw = FakeHw()
    hw.t = clock.t
    modem = FakeModem("lora-e5", clock=clock)
    settings = cfg(modem="lora-e5", heartbeat_s=600, **KEYS)
    lora = radio.LoraRadio(modem, settings, clock.t, configure=False)
    lora.driver.log = lambda line: None
    fw = app.App(hw, settings, state.Ring(slots), app.LazyRadio(lambda: lora))
    fw.start(clock.t, "cold" if clock.t == 0 else "wake")
    return hw, fw, modem, FakePi(hw)


def _live(hw, fw, pi, modem, clock, end):
    """The main loop until ``end`` ms, jumping to the next deadline or modem reply."""
    while clock.t < end:
        hw.t = clock.t
        fw.poll(clock.t)
        pi.exchange(clock.t)
        times = [fw.next_wake(clock.t), clock.t + 1000]
        due = modem.next_due()
        if due is not None:
            times.append(due)
        clock.t = min(max(clock.t + 1, min(times)), end)


def _beats(modem):
    return [payload.decode(p, d) for _, p, d in modem.sent if p == payload.FPORT_HEARTBEAT]


def test_a_pi_with_degraded_storage_shows_in_the_heartbeats_after_a_reset():
    clock, slots = Clock(), state.MemSlots()
    hw, fw, modem, pi = _unit(slots, clock)
    _live(hw, fw, pi, modem, clock, 100)
    hw.pir = True  # an event: the Pi boots, reports its storage degraded, sends a hit
    _live(hw, fw, pi, modem, clock, 1000)
    pi.send(link.HELLO, link.hello_body(link.ROLE_PI, "pi"), clock.t)
    pi.send(link.HEALTH, link.health_body(link.HEALTH_STORAGE), clock.t)
    pi.send(link.READY, b"", clock.t)
    _live(hw, fw, pi, modem, clock, 5000)
    seq = [link.parse_trigger(m.body)[0] for m in pi.got if m.mtype == link.TRIGGER]
    assert seq == [1] and fw.state.storage_fault
    pi.send(link.HIT, HIT, clock.t)
    _live(hw, fw, pi, modem, clock, 6000)
    pi.send(link.RESULT, link.result_body(1, link.VERDICT_HIT), clock.t)
    _live(hw, fw, pi, modem, clock, 8000)
    hw.halt = True
    _live(hw, fw, pi, modem, clock, 12000)
    assert hw.power == 0 and fw.may_sleep()
    # a reset (an ESP32's deep sleep): a new unit from the state record, the same modem's world
    hw, fw, modem2, pi = _unit(slots, clock)
    modem2.sent = modem.sent
    assert fw.state.storage_fault
    _live(hw, fw, pi, modem2, clock, 700_000)
    beats = _beats(modem2)
    assert beats and all(b["v"] == 2 and b["storage_fault"] for b in beats), beats
    assert beats[0]["clock_unset"] and not beats[0]["low_battery"]
    assert beats[0]["triggers"] == 1 and beats[0]["hits"] == 1


def test_a_healthy_report_clears_the_fault_for_the_next_heartbeat():
    clock, slots = Clock(), state.MemSlots()
    hw, fw, modem, pi = _unit(slots, clock)
    fw.dispatch(("health", link.HEALTH_STORAGE), 10)
    hw.pir = True
    _live(hw, fw, pi, modem, clock, 1000)
    pi.send(link.HELLO, link.hello_body(link.ROLE_PI, "pi"), clock.t)
    pi.send(link.HEALTH, link.health_body(0), clock.t)  # space came back
    pi.send(link.READY, b"", clock.t)
    _live(hw, fw, pi, modem, clock, 5000)
    assert not fw.state.storage_fault
    pi.send(link.RESULT, link.result_body(1, link.VERDICT_MISS), clock.t)
    _live(hw, fw, pi, modem, clock, 8000)
    hw.halt = True
    _live(hw, fw, pi, modem, clock, 700_000)
    beats = _beats(modem)
    assert beats and not any(b["storage_fault"] for b in beats), beats
