"""The DS3231 driver (trapfw.rtc_ds3231) and the App's use of it, against a fake chip that
follows the Maxim datasheet (tests/firmware/fakertc.py). Portable: also runs under the
MicroPython VM."""

from fakertc import FakeDs3231
from fwkit import FakeHw, FakePi, cfg

from trapfw import app, fsm, link, rtc_ds3231, state
from trapfw.radio_none import NullRadio

REAL = 1795500000  # 2026-11-24T06:00:00Z


class RtcHw(FakeHw):
    def __init__(self, chip=None):
        super().__init__()
        self.chip = chip or FakeDs3231(lambda: self.t)
        self.chip.clock = lambda: self.t

    def rtc_bus(self):
        return self.chip


def test_the_driver_writes_bcd_24_hour_time_and_reads_it_back_running():
    t = [0]
    chip = FakeDs3231(lambda: t[0])
    assert rtc_ds3231.read(chip) is None  # power-on: OSF set, the time is not valid
    rtc_ds3231.write(chip, REAL)
    assert chip.regs[0:7] == bytes((0x00, 0x00, 0x06, 0x02, 0x24, 0x11, 0x26))  # Tue 24 Nov 26
    assert chip.regs[0x0F] & 0x80 == 0 and chip.regs[0x0E] & 0x80 == 0  # OSF cleared, EOSC on
    t[0] = 3_600_000 + 400 * 86_400_000  # an hour and 400 days later (a leap day between)
    assert rtc_ds3231.read(chip) == REAL + 3600 + 400 * 86400
    rtc_ds3231.write(chip, 4102444799)  # 2099-12-31T23:59:59Z: the century bit next second
    t[0] += 1000
    assert rtc_ds3231.read(chip) == 4102444800 and chip.regs[5] & 0x80


def test_a_chip_in_12_hour_mode_is_read_right_and_a_stopped_oscillator_is_not_trusted():
    t = [0]
    chip = FakeDs3231(lambda: t[0])
    rtc_ds3231.write(chip, REAL + 13 * 3600)  # 19:00
    chip.regs[2] = 0x40 | 0x20 | 0x07  # the same hour as 7 PM in 12-hour mode
    assert rtc_ds3231.read(chip) == REAL + 13 * 3600
    chip.power_loss()
    assert rtc_ds3231.read(chip) is None  # OSF: the time stood still for an unknown while
    assert rtc_ds3231.doubt(REAL, 0) is None  # never set by this unit
    assert rtc_ds3231.doubt(REAL + 86400 * 100, REAL) == 3 + 43  # 5 ppm of 100 days: 43 s


def _boot(hw, ring, **over):
    settings = cfg(rtc="ds3231", modem="none", **over)
    fw = app.App(hw, settings, ring, NullRadio())
    fw.start(hw.t, "cold")
    return fw


def test_the_pis_time_sets_the_chip_and_the_next_cold_boot_takes_it_from_there():
    hw = RtcHw()
    ring = state.Ring(state.MemSlots())
    fw = _boot(hw, ring)
    assert fsm.clock_now(fw.state, hw.t) is None  # OSF at first power-up: nothing taken
    pi = FakePi(hw)
    pi.send(link.TIME, link.time_body(REAL, 1, link.TIME_SRC_NTP), 100)
    hw.t = 100
    fw.poll(100)
    assert fw.state.rtc_set == REAL and rtc_ds3231.read(hw.chip) == REAL
    # a power loss of the MCU (not of the coin cell): its clock restarts at 0, the chip ran on
    hw.t = 7_200_000
    hw2 = RtcHw(hw.chip)
    hw2.t = 0
    hw.chip.clock = lambda: 7_200_000 + hw2.t
    fw2 = _boot(hw2, ring)
    told = fsm.clock_now(fw2.state, 0)
    assert told is not None and abs(told[0] - (REAL + 7200)) <= 1  # not REAL: it ran on
    assert told[1] <= 5 and fw2.state.time_src == link.TIME_SRC_RTC
    pi2 = FakePi(hw2)
    pi2.send(link.HELLO, link.hello_body(link.ROLE_PI, "pi"), 10)
    for t in range(10, 100, 10):  # stop and wait: HELLO, its ACK, then TIME
        fw2.poll(t)
        pi2.exchange(t)
    times = [link.parse_time_full(m.body) for m in pi2.got if m.mtype == link.TIME]
    assert [t[2] for t in times] == [link.TIME_SRC_RTC]


def test_a_chip_that_lost_its_battery_or_is_missing_leaves_the_clock_alone():
    hw = RtcHw()
    rtc_ds3231.write(hw.chip, REAL)
    ring = state.Ring(state.MemSlots())
    fw = _boot(hw, ring)
    assert fsm.clock_now(fw.state, 0) is None  # a time this unit never set: not taken
    hw.chip.power_loss()
    hw.chip.power_back()
    fw = _boot(hw, ring)
    assert fsm.clock_now(fw.state, 0) is None and any("rtc:" in x for x in hw.logs)
    gone = RtcHw(FakeDs3231(lambda: 0, absent=True))
    fw = _boot(gone, state.Ring(state.MemSlots()))
    assert len(fw.faults) == 1 and fw.faults[0][1].startswith("rtc:")
    fw._clock(
        "set_time", (REAL, 1, link.TIME_SRC_NTP), 10
    )  # a bus error on the write: a fault, no crash
    assert fsm.clock_now(fw.state, 10) is not None and len(fw.faults) == 2
