"""Test helpers shared by the firmware tests under CPython and under the MicroPython VM.

Only trapfw and the core of Python: no pytest, no hypothesis, no random module (a small LCG
gives the same "random" bytes on both interpreters).
"""

from trapfw import fsm, link, payload, settings

HIT = payload.encode_hit(7, 1, 0.93, 3, 4, 3710, 12)


class Lcg:
    """Deterministic pseudo-random numbers, identical on CPython and MicroPython."""

    def __init__(self, seed):
        self.x = seed & 0x7FFFFFFF

    def next(self):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return self.x >> 8

    def below(self, n):
        return self.next() % n

    def bytes(self, n):
        return bytes(self.below(256) for _ in range(n))


def cfg(**over):
    raw = {"device_id": "trap-07"}
    raw.update(over)
    return settings.validate(raw)


def run(state, events):
    """Step through (event, now) pairs; returns the final state and all actions."""
    acts = []
    for event, now in events:
        state, a = fsm.step(state, event, now)
        acts += a
    return state, acts


def booted(mode="power-gated", mv=3900, **over):
    """A state right after a cold boot and a battery reading, at t = 1000 ms."""
    s = fsm.State(cfg(mode=mode, **over))
    s, _ = fsm.step(s, ("boot", "cold"), 0)
    s, _ = fsm.step(s, ("battery", mv), 1000)
    return s


def sends(actions, mtype=None):
    return [a for a in actions if a[0] == "send" and (mtype is None or a[1] == mtype)]


def powers(actions):
    return [a[1] for a in actions if a[0] == "power"]


class FakeHw:
    """The App's hardware surface, behaving: a clock, a PIR flag, a halt line, two byte pipes."""

    def __init__(self, mv=3900):
        self.t = 0
        self.pir = False
        self.halt = False
        self.mv = mv
        self.power = 0
        self.power_log = []
        self.rx = bytearray()  # Pi -> MCU bytes not read yet
        self.tx = bytearray()  # MCU -> Pi bytes not taken yet
        self.logs = []

    def now_ms(self):
        return self.t

    def take_pir(self):
        flag, self.pir = self.pir, False
        return flag

    def halt_level(self):
        return self.halt

    def battery_mv(self):
        return self.mv

    def pi_power(self, on):
        self.power = on
        self.power_log.append((self.t, on))

    def pi_read(self):
        data, self.rx = bytes(self.rx), bytearray()
        return data or None

    def pi_write(self, data):
        self.tx += data

    def log(self, text):
        self.logs.append(text)


class FakePi:
    """The Pi's end of the link, scripted: answers TRIGGERs with a HIT and a RESULT."""

    def __init__(self, hw):
        self.hw = hw
        self.link = link.Link(ack_timeout_ms=500, retries=3)
        self.got = []

    def exchange(self, now):
        data = bytes(self.hw.tx)
        self.hw.tx = bytearray()
        msgs = self.link.feed(data, now) if data else []
        self.link.poll(now)
        self.got += msgs
        self.hw.rx += self.link.take_output()
        return msgs

    def send(self, mtype, body, now):
        self.link.send(mtype, body, now)
        self.hw.rx += self.link.take_output()
