"""A simulated 30-day soak of the MCU firmware loop with random faults (seeded, fast).

The real `trapfw.app.App` (state machine, link, persistent ring) runs against simulated
hardware on a simulated clock that jumps from one deadline to the next: a PIR with Poisson
triggers and storms, a battery that sags below the cutoff and recovers, a Pi that boots, runs
bursts, sends HITs and halts, or misbehaves (never answers, crashes mid-burst, never raises the
halt line), a serial wire that garbles and injects bytes, a radio with random delays, and
brown-outs that reset the MCU (sometimes in the middle of a flash write).

Invariants, checked as the simulation runs (an AssertionError names the time and what broke):

* the Pi is never powered longer than ``max_on_s``;
* the Pi is never powered on while the battery is below the cutoff;
* the MCU is never stuck: after every pass it is idle again within ``max_on_s`` of leaving
  idle, and the fault state never outlives the next pass;
* every HIT the MCU acknowledged is uplinked or still in the persistent queue.

    python tests/firmware/soak.py [SEED] [DAYS]     prints the report
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fwkit import FakeHw, cfg

from trapfw import app, fsm, link, payload, state

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
)
DAY = 86400 * S


class SimRadio:
    """Uplinks each offered hit after a random delay (duty cycle, budget); shared tallies."""

    def __init__(self, rnd, uplinked):
        self.rnd, self.uplinked = rnd, uplinked
        self.pending: dict[bytes, int] = {}
        self.heartbeats = 0

    def offer_hit(self, now, data):
        self.pending[data] = now + self.rnd.randint(0, 3 * 3600) * S

    def heartbeat(self, now, fields):
        self.heartbeats += 1

    def poll(self, now, battery_mv):
        done = [d for d, t in self.pending.items() if t <= now]
        for d in done:
            del self.pending[d]
            self.uplinked.add(d)
        return done

    def busy(self):
        return False

    def next_wake(self, now):
        return min(self.pending.values()) if self.pending else None


class SimPi:
    """The Pi at the other end of the wire, with a random temperament per power cycle."""

    def __init__(self, rnd, hw, report):
        self.rnd, self.hw, self.report = rnd, hw, report
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
            age = self.hit_counter % 30000  # makes every hit's bytes unique
            self.link.send(link.HIT, payload.encode_hit(seq, 1, 0.9, 3, 4, 3700, age), now)
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


def soak(seed: int = 1, days: int = 30) -> dict:
    rnd = random.Random(seed)
    over = {"battery_cutoff_mv": 3400, "battery_hysteresis_mv": 150, "battery_period_s": 3600}
    settings = cfg(max_on_s=180, boot_timeout_s=30, burst_timeout_s=60, lockout_s=30, **over)
    report = dict.fromkeys(REPORT_KEYS, 0)
    hw = FakeHw()
    slots = state.MemSlots(4)
    uplinked: set[bytes] = set()
    pi = SimPi(rnd, hw, report)
    ring = state.Ring(slots)

    def boot(now, wake):
        nonlocal ring
        ring = state.Ring(slots)
        fw = app.App(hw, settings, ring, SimRadio(rnd, uplinked))
        fw.start(now, wake)
        return fw

    hw.mv = battery(0)
    fw = boot(0, "cold")
    end = days * DAY
    t = 0
    next_pir = _next_pir(rnd, 0)
    next_brownout = rnd.randint(1, 5) * DAY
    on_since = None
    busy_since = None
    while t < end:
        hw.t = t
        hw.mv = battery(t)
        if t >= next_pir:
            hw.pir = True
            report["pir"] += 1
            next_pir = _next_pir(rnd, t)
        pi.step(t)
        pi.exchange(t)
        before = ring.writes
        fw.poll(t)
        report["passes"] += 1
        if t >= next_brownout:
            fw = _brownout(rnd, fw, hw, pi, slots, ring, before, t, report, boot)
            next_brownout = t + rnd.randint(2, 8) * DAY
        pi.power(bool(hw.power), t)
        on_since = _check_power(hw, settings, on_since, t, report)
        busy_since = _check_not_stuck(fw, settings, busy_since, t)
        pi.exchange(t)
        times = [fw.next_wake(t), next_pir, next_brownout, end]
        pt = pi.next_time(t)
        if pt is not None:
            times.append(pt)
        t = max(t + 1, min(times))
        report["flash_writes"] += ring.writes - before if ring.writes >= before else 0
    final = state.Ring(slots).load() or {}
    queued = set(final.get("queue", ()))
    lost = pi.hits_acked - uplinked - queued
    assert not lost, f"{len(lost)} acknowledged hits neither uplinked nor queued"
    report.update(
        hits_acked=len(pi.hits_acked),
        uplinked=len(uplinked & pi.hits_acked),
        queued=len(queued),
        triggers=final.get("triggers", 0),
        boot_failures=final.get("boot_failures", 0),
        faults=final.get("faults", 0),
        mcu_link_bad_frames=sum(fw.link.stats[k] for k in ("cobs", "crc", "short", "oversize")),
        days=days,
        seed=seed,
    )
    return report


def _next_pir(rnd, t):
    if rnd.random() < 0.03:  # a PIR storm: wind in the grass, every 1-5 s
        return t + rnd.randint(1, 5) * S
    return t + int(rnd.expovariate(20 / 86400) * S)  # ~20 triggers a day


def _brownout(rnd, fw, hw, pi, slots, ring, before, t, report, boot):
    report["brownouts"] += 1
    if ring.writes > before and rnd.random() < 0.5:
        slots.tear(ring._slot)  # the reset hit the pass's last flash write
        hw.tx = bytearray()  # so nothing after it (the ACKs) reached the wire
        report["torn"] += 1
    hw.power = 0
    hw.halt = False
    pi.power(False, t)
    return boot(t, "cold")


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
    if fsm.may_sleep(st):
        return None
    since = t if busy_since is None else busy_since
    assert t - since <= settings.max_on_s * S, f"t={t}: stuck in {st.name} since {since}"
    return since


if __name__ == "__main__":
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    days = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    for key, value in soak(seed, days).items():
        print(f"{key:22} {value}")
