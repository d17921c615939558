"""The MCU main loop with behaving fakes: a Pi on the other end of a real link, a clock.

Portable: runs under CPython (pytest) and under the MicroPython VM (test_fw_micropython.py).
"""

from fwkit import HIT, FakeHw, FakePi, cfg

from trapfw import app, link, state


class SpyRing(state.Ring):
    """A real ring that also records what the Pi had been sent when each save happened."""

    def __init__(self, hw):
        super().__init__(state.MemSlots())
        self.hw = hw
        self.sent_at_save = []

    def save(self, fields):
        super().save(fields)
        self.sent_at_save.append(bytes(self.hw.tx))


def _app(**over):
    hw = FakeHw()
    ring = SpyRing(hw)
    fw = app.App(hw, cfg(**over), ring, app.NullRadio())
    fw.start(0, "cold")
    return hw, ring, fw, FakePi(hw)


def _step(hw, fw, pi, t):
    hw.t = t
    fw.poll(t)
    return pi.exchange(t)


def test_one_power_gated_event_end_to_end_over_the_link():
    hw, ring, fw, pi = _app()
    _step(hw, fw, pi, 10)  # the HELLO from boot
    hw.pir = True
    _step(hw, fw, pi, 1000)
    assert hw.power == 1 and fw.state.name == "booting"
    pi.send(link.READY, b"", 5000)
    msgs = _step(hw, fw, pi, 5000)
    trig = [link.parse_trigger(m.body) for m in msgs if m.mtype == link.TRIGGER]
    assert trig == [(1, 0, 3900)]
    pi.send(link.HIT, HIT, 6000)
    _step(hw, fw, pi, 6000)
    _step(hw, fw, pi, 6001)
    pi.send(link.RESULT, link.result_body(1, link.VERDICT_HIT), 6002)
    msgs = _step(hw, fw, pi, 6002)
    assert [m.mtype for m in msgs] == [link.SHUTDOWN]
    hw.halt = True
    _step(hw, fw, pi, 9000)
    assert hw.power == 0 and fw.state.name == "sleep"
    assert [on for _, on in hw.power_log] == [0, 1, 0]
    assert state.Ring(ring.slots).load()["hits"] == 1
    assert fw.may_sleep()


def test_a_hit_is_saved_before_its_ack_leaves_for_the_pi():
    hw, ring, fw, pi = _app(mode="always-on")
    _step(hw, fw, pi, 10)
    pi.send(link.HIT, HIT, 100)
    hw.t = 100
    before = len(ring.sent_at_save)
    fw.poll(100)
    assert len(ring.sent_at_save) >= before + 1
    assert ring.sent_at_save[before] == b""  # nothing, not even the ACK, was written yet
    assert hw.tx != b""  # the ACK goes out after the save
    assert fw.state.queue == ()  # NullRadio released it


def test_garbled_bytes_from_the_pi_are_counted_and_nacked_not_fatal():
    hw, _, fw, pi = _app(mode="always-on")
    hw.rx += b"\x07\x99\x12\x00\xff\xfe\x00"
    _step(hw, fw, pi, 10)
    assert fw.link.stats["cobs"] + fw.link.stats["crc"] + fw.link.stats["short"] == 2
    assert fw.link.stats["nack_tx"] == 2
    assert fw.state.name == "on"


def test_a_restart_resumes_from_the_saved_state():
    hw, ring, fw, pi = _app()
    hw.pir = True
    _step(hw, fw, pi, 1000)
    again = app.App(hw, cfg(), ring, app.NullRadio())
    again.start(2000, "cold")
    assert again.state.event_seq == 1 and again.state.name == "sleep"
    assert hw.power == 0


def test_asleep_the_mcu_wakes_only_for_its_deadlines_not_the_battery_period():
    hw, _, fw, pi = _app(battery_period_s=60, heartbeat_s=86400)
    _step(hw, fw, pi, 10)
    assert fw.may_sleep()
    assert fw.next_wake(10) == fw.state.next_heartbeat  # not 60 s: deep sleep stays deep


def test_a_power_off_drops_messages_to_the_pi_so_the_mcu_can_sleep():
    hw, _, fw, pi = _app(shutdown_grace_s=5)
    hw.pir = True
    _step(hw, fw, pi, 1000)
    pi.send(link.READY, b"", 2000)
    _step(hw, fw, pi, 2000)
    pi.send(link.RESULT, link.result_body(1, link.VERDICT_MISS), 3000)
    hw.t = 3000
    fw.poll(3000)  # SHUTDOWN request goes out, and the Pi dies before it answers
    hw.tx = bytearray()
    hw.t = 8000
    fw.poll(8000)  # grace over: cut
    assert hw.power == 0 and fw.state.name == "sleep"
    assert fw.link.idle() and fw.may_sleep()
