"""A simulated 30-day soak of the MCU firmware loop with random faults (seeded, fast).

The real `trapfw.app.App` (state machine, link, persistent ring) and the real LoRa radio
(`trapfw.radio.LoraRadio`: scheduler, LoRa-E5 driver) run against simulated hardware on a
simulated clock that jumps from one deadline to the next: a PIR with Poisson triggers and
storms, a battery that sags below the cutoff and recovers, a Pi that boots, runs bursts, sends
HITs and halts, or misbehaves (never answers, crashes mid-burst, never raises the halt line), a
serial wire that garbles and injects bytes, a LoRa-E5 that answers as its manual says
(tests/firmware/fakemodem.py) and loses its session and its coverage for days at a time, and
brown-outs that reset the MCU and its clock (sometimes in the middle of a flash write).

``board="esp32"``: every wake from deep sleep is a reset, as on the chip: a new App is built
from the persistent ring and what RTC memory kept (the radio's airtime snapshot), exactly as
``trapfw.hal.main`` does after ``machine.deepsleep``. ``board="rp2"``: timed lightsleep keeps
RAM, so the App lives on.

Invariants, checked as the simulation runs (an AssertionError names the time and what broke):

* the Pi is never powered longer than ``max_on_s``;
* the Pi is never powered on while the battery is below the cutoff;
* the MCU is never stuck: after every pass it is idle again within ``max_on_s`` of leaving
  idle, and the fault state never outlives the next pass;
* every HIT the MCU acknowledged is uplinked or still in the persistent queue, or counted as
  folded (``hits_unsent``) in a heartbeat or in the radio's persisted counters: no hit lost
  uncounted;
* heartbeat counters equal the truth: every heartbeat's ``triggers`` is the number of event
  sequences allocated since the previous heartbeat, its ``last_event_seq`` the newest one
  (except right after a torn write or a reset during an uplink, which may lose the record of
  a heartbeat that went out);
* joins within RP002: the modem's join requests add up to at most 36 s of airtime in the first
  hour, 36 s in the next 10 h, and 8.7 s in every 24 h window after that.

With an activity schedule (``soak(schedule="04:00-07:00,17:00-20:00")``: the Pi sends the time,
sim time 0 is a UTC midnight) the on-time cap applies outside the windows only, and:

* the Pi is never up outside its windows except for a triggered burst: it is switched on
  outside a window only in the pass of a PIR, and stays on outside the windows at most
  ``max_on_s`` (a burst running at a window's end finishes, then the Pi halts);
* the report counts the Pi's hours up inside the windows and the boots that armed it, which
  tests/firmware/test_fw_soak.py costs with hardware/power.toml against ``camtrap
  power-budget``'s figure for the schedule.

    python tests/firmware/soak.py [SEED] [DAYS] [esp32|rp2]     prints the report
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakemodem import FakeModem
from fwkit import FakeHw, cfg

from trapfw import app, fsm, link, payload, radio, state
from trapfw import schedule as sched

S = 1000  # ms per second
REPORT_KEYS = (
    "passes",
    "pir",
    "brownouts",
    "torn",
    "garbled",
    "power_cycles",
    "max_on_ms",
    "pi_normal",
    "pi_dead",
    "pi_crash",
    "pi_nohalt",
    "flash_writes",
    "resets_on_wake",
    "heartbeats",
    "folded",
    "joins",
    "outages",
    "exempt_heartbeats",
    "armed_on_ms",
    "outside_on_ms",
    "window_boots",
    "pir_boots",
)
UNIX0 = 1794960000  # sim time 0 (a UTC midnight) on the Pi's clock, for TIME
DAY = 86400 * S


class SimPi:
    """The Pi at the other end of the wire, with a random temperament per power cycle."""

    def __init__(self, rnd, hw, report, sends_time=False):
        self.rnd, self.hw, self.report = rnd, hw, report
        self.sends_time = sends_time  # as the service does (NTP or RTC): the MCU learns the time
        self.powered = False
        self.link: link.Link | None = None
        self.todo: list[tuple[int, str, object]] = []  # (time, what, arg)
        self.mode = "normal"
        self.hits_acked: set[bytes] = set()
        self.hit_counter = 0

    # -- wire

    def _garble(self, data: bytes) -> bytes:
        if data and self.rnd.random() < 0.03:
            i = self.rnd.randrange(len(data))
            data = data[:i] + bytes([data[i] ^ (1 << self.rnd.randrange(8))]) + data[i + 1 :]
            self.report["garbled"] += 1
        if self.rnd.random() < 0.01:
            data += bytes(self.rnd.randrange(256) for _ in range(self.rnd.randrange(1, 12)))
            self.report["garbled"] += 1
        return data

    def exchange(self, now):
        to_pi = self._garble(bytes(self.hw.tx))
        self.hw.tx = bytearray()
        if not self.powered or self.link is None:
            return
        for msg in self.link.feed(to_pi, now):
            self._on_msg(msg, now)
        self.link.poll(now)
        for msg in self.link.acked or []:
            if msg.mtype == link.HIT:
                self.hits_acked.add(msg.body)
        if self.link.acked:
            self.link.acked.clear()
        self.hw.rx += self._garble(self.link.take_output())

    # -- behaviour

    def power(self, on, now):
        if on and not self.powered:
            self.powered = True
            self.hw.halt = False
            self.link = link.Link(ack_timeout_ms=300, retries=5, track_acks=True)
            r = self.rnd.random()
            self.mode = (
                "dead" if r < 0.04 else "crash" if r < 0.08 else "nohalt" if r < 0.12 else "normal"
            )
            self.report["pi_" + self.mode] += 1
            self.todo = []
            if self.mode != "dead":
                self.todo.append((now + self.rnd.randint(4, 12) * S, "boot", None))
        elif not on and self.powered:
            self.powered = False
            self.hw.halt = False
            self.link = None
            self.todo = []

    def _on_msg(self, msg, now):
        if self.mode == "dead":
            return
        if msg.mtype == link.TRIGGER:
            seq = link.parse_trigger(msg.body)[0]
            if self.mode == "crash":
                self.mode = "dead"
                return
            self.todo.append((now + self.rnd.randint(2, 8) * S, "result", seq))
        elif msg.mtype == link.SHUTDOWN:
            assert self.link is not None
            self.link.send(link.SHUTDOWN, link.shutdown_body(link.SHUTDOWN_ACK), now)
            if self.mode != "nohalt":
                self.todo.append((now + self.rnd.randint(2, 6) * S, "halt", None))

    def step(self, now):
        due = [t for t in self.todo if t[0] <= now]
        self.todo = [t for t in self.todo if t[0] > now]
        for _, what, arg in due:
            if not self.powered or self.link is None or self.mode == "dead":
                continue
            if what == "boot":
                self.link.send(link.HELLO, link.hello_body(link.ROLE_PI, "sim"), now)
                if self.sends_time:
                    self.link.send(link.TIME, link.time_body(UNIX0 + now // S), now)
                self.link.send(link.READY, b"", now)
            elif what == "result":
                self._result(arg, now)
            elif what == "halt":
                self.mode = "dead"
                self.hw.halt = True

    def _result(self, seq, now):
        assert self.link is not None
        verdict = link.VERDICT_MISS
        if self.rnd.random() < 0.3:
            self.hit_counter += 1
            mv = 2000 + 20 * (self.hit_counter % 250)  # with the sequence: a unique key
            hit = payload.encode_hit(seq, 1, 0.5 + (self.hit_counter % 9) / 20, 3, 4, mv, 3)
            self.link.send(link.HIT, hit, now)
            verdict = link.VERDICT_HIT
        self.link.send(link.RESULT, link.result_body(seq, verdict), now)

    def next_time(self, now):
        times = [t for t, _, _ in self.todo]
        if self.link is not None:
            d = self.link.next_deadline()
            if d is not None:
                times.append(d)
        if self.hw.tx or self.hw.rx or (self.link is not None and not self.link.idle()):
            times.append(now + 20)
        return min(times) if times else None


def battery(t):
    """Sags below a 3400 mV cutoff for ~1.5 days in every 9 (night, cold, clouds)."""
    return int(3720 + 380 * math.sin(2 * math.pi * t / (9 * DAY)))


def hit_key(data: bytes) -> bytes:
    """Bytes 1-8 of a hit (sequence .. battery): the radio re-stamps only the age after them."""
    return bytes(data[1:9])


class Mcu:
    """The MCU as hal.main runs it: an App on a clock that restarts after a power loss."""

    def __init__(self, settings, hw, slots, modem, board):
        self.settings, self.hw, self.slots, self.modem, self.board = (
            settings,
            hw,
            slots,
            modem,
            board,
        )
        self.clock_base = 0  # sim time of the last power-on: the MCU clock restarts there
        self.rtc = b""  # ESP32 RTC memory: survives deep sleep, not a power loss
        self.fw: app.App | None = None
        self.ring = state.Ring(slots)
        self.bad_frames = 0  # the link's garbled-frame counters of every App so far

    def now(self, t):
        return t - self.clock_base

    def boot(self, t, wake):
        if self.fw is not None:
            self.bad_frames += _bad_frames(self.fw)
        self.modem.read()  # a reset MCU's UART buffer starts empty: what arrived is lost
        self.ring = state.Ring(self.slots)
        lazy = app.LazyRadio(self._build)
        self.fw = app.App(self.hw, self.settings, self.ring, lazy)
        self.fw.start(self.now(t), wake)
        return self.fw

    def _build(self):
        r = radio.LoraRadio(
            self.modem, self.settings, self.now(self.hw.t), reset_modem=self.modem.reset
        )
        r.driver.log = lambda line: None
        r.restore(self.rtc)  # as hal._lora does: the airtime spent before the deep sleep
        return r

    def deep_sleep(self):
        snap = self.fw.radio.snapshot() if self.fw is not None else None
        if snap:
            self.rtc = snap

    def power_loss(self, t):
        self.clock_base = t
        self.rtc = b""


def soak(
    seed: int = 1,
    days: int = 30,
    board: str = "esp32",
    schedule: str | None = None,
    steady_battery: bool = False,
) -> dict:
    rnd = random.Random(seed)
    over = {"battery_cutoff_mv": 3400, "battery_hysteresis_mv": 150, "battery_period_s": 3600}
    if schedule is not None:
        over.update(schedule="on", schedule_windows=schedule, schedule_clock="fixed")
        over["utc_offset_min"] = 0
    keys = {"dev_eui": "00" * 8, "join_eui": "11" * 8, "app_key": "22" * 16}
    settings = cfg(
        max_on_s=180,
        boot_timeout_s=30,
        burst_timeout_s=60,
        lockout_s=30,
        board=board,
        heartbeat_s=21600,
        daily_airtime_s=20.0,
        **keys,
        **over,
    )
    report = dict.fromkeys(REPORT_KEYS, 0)
    hw = FakeHw()
    slots = state.MemSlots(4)
    pi = SimPi(rnd, hw, report, sends_time=schedule is not None)
    windows = sched.parse_windows(schedule or "")
    last_pir = None
    modem = FakeModem("lora-e5", clock=lambda: hw.t)
    mcu = Mcu(settings, hw, slots, modem, board)
    hw.mv = battery(0)
    fw = mcu.boot(0, "cold")
    end = days * DAY
    t = 0
    next_pir = _next_pir(rnd, 0)
    next_brownout = rnd.randint(1, 5) * DAY
    next_outage = rnd.randint(2, 6) * DAY
    outage_end = 0
    on_since = None
    busy_since = None
    deep = False
    tears: list[int] = []
    while t < end:
        hw.t = t
        hw.mv = 3900 if steady_battery else battery(t)
        if t >= next_outage:  # the network forgets the session and the gateway goes dark
            modem.joined, modem.coverage = False, False
            outage_end = t + rnd.randint(1, 3) * DAY
            next_outage = outage_end + rnd.randint(3, 8) * DAY
            report["outages"] += 1
        if outage_end and t >= outage_end:
            modem.coverage, outage_end = True, 0
        pir = t >= next_pir
        if pir:
            last_pir = t
            report["pir"] += 1
            next_pir = _next_pir(rnd, t)
        if deep:  # ESP32: the wake from deep sleep is a reset
            report["resets_on_wake"] += 1
            fw = mcu.boot(t, "pir" if pir else "wake")
            pir = False
        hw.pir = hw.pir or pir
        pi.step(t)
        pi.exchange(t)
        before = mcu.ring.writes
        fw.poll(mcu.now(t))
        report["passes"] += 1
        if t >= next_brownout:
            fw = _brownout(rnd, mcu, hw, pi, slots, before, t, report, tears)
            next_brownout = t + rnd.randint(2, 8) * DAY
        was_on = pi.powered
        pi.power(bool(hw.power), t)
        if windows:
            on_since = _check_window_power(hw, windows, on_since, was_on, last_pir, t, report)
        else:
            on_since = _check_power(hw, settings, on_since, t, report)
        busy_since = _check_not_stuck(fw, settings, busy_since, t)
        pi.exchange(t)
        wake = fw.next_wake(mcu.now(t)) + mcu.clock_base
        times = [wake, next_pir, next_brownout, next_outage, end]
        due = modem.next_due(t)  # a reply on the modem's UART wakes the board
        for extra in (pi.next_time(t), due, outage_end or None):
            if extra is not None:
                times.append(extra)
        deep = board == "esp32" and fw.may_sleep() and wake > t
        if deep:
            mcu.deep_sleep()
        nxt = max(t + 1, min(times))
        if windows:
            _count_window_time(hw, windows, t, nxt, report)
        t = nxt
        report["flash_writes"] += mcu.ring.writes - before if mcu.ring.writes >= before else 0
    final = state.Ring(slots).load() or {}
    _check_hits_counted(pi, modem, final, settings, report)
    _check_heartbeats(modem, tears, report)
    _check_joins(modem, fw, report)
    report.update(
        hits_acked=len(pi.hits_acked),
        uplinked=len({hit_key(d) for _, p, d in modem.sent if p == payload.FPORT_HIT}),
        queued=len(final.get("queue", ())),
        triggers=final.get("triggers", 0),
        boot_failures=final.get("boot_failures", 0),
        faults=final.get("faults", 0),
        mcu_link_bad_frames=mcu.bad_frames + _bad_frames(fw),
        modem_asleep=modem.asleep,
        days=days,
        seed=seed,
        board=board,
    )
    return report


def _bad_frames(fw):
    return sum(fw.link.stats[k] for k in ("cobs", "crc", "short", "oversize"))


def _check_hits_counted(pi, modem, final, settings, report):
    sent = {hit_key(d) for _, p, d in modem.sent if p == payload.FPORT_HIT}
    queued = {hit_key(d) for d in final.get("queue", ())}
    folded = sum(b["hits_unsent"] for b in _heartbeats(modem))
    r = radio.LoraRadio(FakeModem(), settings, 0, configure=False)
    r.restore_state(final.get("radio") or b"")
    folded += r.sched.hits_unsent  # folded since the last heartbeat: persisted, not yet sent
    acked = {hit_key(d) for d in pi.hits_acked}
    missing = acked - sent - queued
    report["folded"] = folded
    assert len(missing) <= folded, f"{len(missing)} hits lost, {folded} counted as folded"


def _heartbeats(modem):
    return [
        payload.decode(payload.FPORT_HEARTBEAT, d)
        for _, p, d in modem.sent
        if p == payload.FPORT_HEARTBEAT
    ]


def _check_heartbeats(modem, tears, report):
    beats = [(t, d) for t, p, d in modem.sent if p == payload.FPORT_HEARTBEAT]
    last_seq = 0
    for t, data in beats:
        b = payload.decode(payload.FPORT_HEARTBEAT, data)
        exempt = any(last_t <= tear <= t for tear in tears for last_t in [_prev(beats, t)])
        if exempt:
            report["exempt_heartbeats"] += 1
        else:
            assert b["triggers"] == b["last_event_seq"] - last_seq, (
                f"t={t}: heartbeat says {b['triggers']} triggers, the sequence moved "
                f"{last_seq} -> {b['last_event_seq']}"
            )
        last_seq = b["last_event_seq"]
    report["heartbeats"] = len(beats)


def _prev(beats, t):
    earlier = [bt for bt, _ in beats if bt < t]
    return earlier[-1] if earlier else 0


def _check_joins(modem, fw, report):
    join_s = _join_airtime_s(fw)
    times = [t / S for t in modem.join_attempts]
    report["joins"] = len(times)
    if not times:
        return
    first = times[0]

    def used(lo, hi):
        return sum(join_s for x in times if first + lo <= x < first + hi)

    assert used(0, 3600) <= 36.0 + 1e-6, f"{used(0, 3600)} s of joins in the first hour"
    assert used(3600, 39600) <= 36.0 + 1e-6, f"{used(3600, 39600)} s of joins in hours 1-11"
    day = 39600
    while first + day < times[-1] + 1:
        assert used(day, day + 86400) <= 8.7 + 1e-6, f"{used(day, day + 86400)} s in a day"
        day += 86400


def _join_airtime_s(fw):
    from trapfw import airtime

    sched = radio.LoraRadio(FakeModem(), fw.cfg, 0, configure=False).sched
    return airtime.time_on_air_ms(sched.sf, sched.bw, 23) / 1000


def _next_pir(rnd, t):
    if rnd.random() < 0.03:  # a PIR storm: wind in the grass, every 1-5 s
        return t + rnd.randint(1, 5) * S
    return t + int(rnd.expovariate(20 / 86400) * S)  # ~20 triggers a day


def _brownout(rnd, mcu, hw, pi, slots, before, t, report, tears):
    report["brownouts"] += 1
    if mcu.fw is not None and mcu.fw.radio.busy():
        tears.append(t)  # an uplink cut short: the modem may have sent what the MCU forgets
    if mcu.ring.writes > before and rnd.random() < 0.5:
        slots.tear(mcu.ring._slot)  # the reset hit the pass's last flash write
        hw.tx = bytearray()  # so nothing after it (the ACKs) reached the wire
        report["torn"] += 1
        tears.append(t)
    hw.power = 0
    hw.halt = False
    pi.power(False, t)
    mcu.power_loss(t)
    return mcu.boot(t, "cold")


def _check_power(hw, settings, on_since, t, report):
    if hw.power and on_since is None:
        assert hw.mv >= settings.battery_cutoff_mv, f"t={t}: Pi booted at {hw.mv} mV"
        report["power_cycles"] += 1
        return t
    if hw.power:
        on_ms = t - on_since
        report["max_on_ms"] = max(report["max_on_ms"], on_ms)
        assert on_ms <= settings.max_on_s * S, f"t={t}: Pi on for {on_ms} ms"
        return on_since
    return None


def _check_not_stuck(fw, settings, busy_since, t):
    st = fw.state
    assert st.name != "fault", f"t={t}: still in fault after a pass ({st.reason})"
    if fsm.may_sleep(st) or st.name == "armed":  # armed: up by design, inside a window
        return None
    since = t if busy_since is None else busy_since
    assert t - since <= settings.max_on_s * S, f"t={t}: stuck in {st.name} since {since}"
    return since


def _in_window(windows, t):
    return sched.in_window(windows, (t // S) // 60 % sched.DAY_MIN)


def _check_window_power(hw, windows, on_since, was_on, last_pir, t, report):
    """Outside the windows the Pi comes on only for a PIR and stays on at most max_on_s."""
    inside = _in_window(windows, t)
    if hw.power and not was_on:
        report["power_cycles"] += 1
        if inside and last_pir != t:
            report["window_boots"] += 1
        else:
            assert last_pir is not None and t - last_pir <= S, (
                f"t={t}: Pi switched on outside its windows without a PIR"
            )
            report["pir_boots"] += 1
    if not hw.power or inside:
        return None
    since = t if on_since is None else on_since
    report["max_on_ms"] = max(report["max_on_ms"], t - since)
    assert t - since <= 180 * S, f"t={t}: Pi up outside its windows since {since}"
    return since


def _count_window_time(hw, windows, t, until, report):
    """Add the Pi's powered time from t to the next pass, inside and outside the windows."""
    if not hw.power or until <= t:
        return
    step = 60 * S  # windows start and end on whole minutes
    a = t
    while a < until:
        b = min(until, (a // step + 1) * step)
        key = "armed_on_ms" if _in_window(windows, a) else "outside_on_ms"
        report[key] += b - a
        a = b


if __name__ == "__main__":
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    days = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    board = sys.argv[3] if len(sys.argv) > 3 else "esp32"
    for key, value in soak(seed, days, board).items():
        print(f"{key:22} {value}")
