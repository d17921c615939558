"""The world around a simulated ESP32 in the MicroPython VM: clock, pins, a Pi, a LoRa-E5.

One VM run is one life of the chip, from a reset to its next deep sleep (``machine.deepsleep``
raises `DeepSleep`, which ends the run). What carries over to the next run is what carries over
on the chip: the flash files (settings, NVS), RTC memory (only through deep sleep) and the RTC
clock; and the world outside the chip: the modem keeps its state (``/world.json``). The host
test (test_fw_esp32_vm.py) starts one VM run per wake.

The clock is simulated: ``time.sleep_ms``, ``machine.lightsleep`` and the board's waits move it
and run the world's peers (the Pi answering, the modem's replies coming due, the PIR firing).
``trapfw.hal`` is given `CLOCK` as its ``time``. A main loop that spins without ever sleeping
would never move the clock: the watchdog stand-in counts passes and raises `BusyLoop`.
"""

import binascii
import json

from fakemodem import FakeModem

from trapfw import link

PI_POWER, PI_HALT, PIR, PI_TX, MODEM_RESET = 25, 34, 33, 17, 23  # hardware/pinmap.toml, esp32
PI_BOOT_MS = 4000
OUT = 3  # machine.Pin.OUT of the stand-in


class DeepSleep(BaseException):
    """machine.deepsleep: the run ends here (the chip resets at the wake)."""


class WatchdogReset(BaseException):
    """The watchdog was not fed in time: the chip would reset."""


class ScenarioEnd(BaseException):
    """The host's scenario is over (boot.json ``end_ms``) before the next deep sleep."""


class BusyLoop(BaseException):
    """The main loop passed thousands of times without the clock moving: it spins."""


class Clock:
    """``time`` for trapfw.hal: milliseconds on the simulated RTC."""

    def __init__(self):
        self.ms = 0

    def time_ns(self):
        return self.ms * 1000000

    def ticks_ms(self):
        return self.ms

    def ticks_diff(self, a, b):
        return a - b

    def sleep_ms(self, ms):
        WORLD.advance(ms)


class Pi:
    """The Pi at the other end of the link: boots, takes the trigger, sends a hit, halts.
    ``frames``: (type, body hex) it sends after its HELLO at each boot (e.g. a real Pi's HEALTH,
    recorded by the host test)."""

    def __init__(self, world, hits, frames=()):
        self.world, self.hits, self.frames = world, list(hits), list(frames)
        self.link = None
        self.todo = []  # (due_ms, what)
        self.rx = b""  # MCU -> Pi bytes

    def power(self, on):
        if on and self.link is None:
            self.link = link.Link(ack_timeout_ms=300, retries=5)
            self.todo = [(self.world.clock.ms + PI_BOOT_MS, "boot")]
        elif not on:
            self.link, self.todo = None, []
            self.world.levels[PI_HALT] = 0

    def write(self, data):  # the MCU's UART TX
        if self.link is not None:
            self.rx += bytes(data)
        return len(data)

    def any(self):
        self._step()
        return len(self._out)

    def read(self, n=-1):
        self._step()
        data, self._out = self._out, b""
        return data or None

    _out = b""

    def _step(self):
        if self.link is None:
            return
        now = self.world.clock.ms
        data, self.rx = self.rx, b""
        for msg in self.link.feed(data, now) if data else []:
            self._on(msg, now)
        due = [t for t in self.todo if t[0] <= now]
        self.todo = [t for t in self.todo if t[0] > now]
        for _, what in due:
            self._do(what, now)
        self.link.poll(now)
        self._out += self.link.take_output()

    def _on(self, msg, now):
        if msg.mtype == link.TRIGGER:
            seq = link.parse_trigger(msg.body)[0]
            self.todo.append((now + 1500, ("result", seq)))
        elif msg.mtype == link.SHUTDOWN:
            self.link.send(link.SHUTDOWN, link.shutdown_body(link.SHUTDOWN_ACK), now)
            self.todo.append((now + 2000, "halt"))

    def _do(self, what, now):
        if what == "boot":
            self.link.send(link.HELLO, link.hello_body(link.ROLE_PI, "vm"), now)
            for mtype, body in self.frames:
                self.link.send(mtype, bytes.fromhex(body), now)
            self.link.send(link.READY, b"", now)
        elif what == "halt":
            self.world.levels[PI_HALT] = 1
        elif what[0] == "result":
            verdict = link.VERDICT_MISS
            if self.hits:
                self.link.send(link.HIT, bytes.fromhex(self.hits.pop(0)), now)
                verdict = link.VERDICT_HIT
            self.link.send(link.RESULT, link.result_body(what[1], verdict), now)

    def next_due(self):
        if self.link is None:
            return None
        times = [t for t, _ in self.todo]
        d = self.link.next_deadline()
        if d is not None:
            times.append(d)
        if self.rx or not self.link.idle():
            times.append(self.world.clock.ms + 5)
        return min(times) if times else None


class World:
    def __init__(self):
        self.clock = Clock()
        self.boot = {}
        self.levels = {}  # input pin levels the world drives
        self.pins = {}  # pin id -> the latest Pin object (its mode, pull, value)
        self.irqs = {}  # pin id -> handler
        self.uarts = {}
        self.pir_times = []
        self.battery_mv = 3900
        self.rtc = b""
        self.feeds = 0
        self.feeds_still = 0  # feeds since the clock last moved
        self.last_feed = 0
        self.wdt_ms = None
        self.ext0 = None
        self.log = []
        self.modem = None
        self.pi = None
        self.sleep_ms = None

    # -- one run

    def start(self, root="/"):
        with open(root + "boot.json") as f:
            self.boot = json.load(f)
        self.clock.ms = self.boot["now_ms"]
        self.pir_times = [t for t in self.boot["pir_times"] if t > self.clock.ms]
        self.battery_mv = self.boot.get("battery_mv", 3900)
        try:
            with open("/rtc.bin", "rb") as f:
                self.rtc = f.read()
        except OSError:
            self.rtc = b""
        modem = FakeModem("lora-e5", clock=lambda: self.clock.ms)
        try:
            with open("/world.json") as f:
                saved = json.load(f)
            modem.joined, modem.asleep_e5 = saved["joined"], saved["asleep"]
            modem.sent = [(t, p, bytes.fromhex(d)) for t, p, d in saved["sent"]]
            modem.commands = saved["commands"]
        except OSError:
            pass
        self.modem = modem
        self.pi = Pi(self, self.boot.get("hits", []), self.boot.get("pi_frames", ()))
        self.levels = {PIR: 0, PI_HALT: 0}
        if self.boot["wake"] == "pir":
            self.levels[PIR] = 1

    def finish(self, outcome):
        m = self.modem
        state = {
            "joined": m.joined,
            "asleep": m.asleep_e5,
            "sent": [(t, p, binascii.hexlify(d).decode()) for t, p, d in m.sent],
            "commands": m.commands,
        }
        with open("/world.json", "w") as f:
            json.dump(state, f)
        with open("/rtc.bin", "wb") as f:
            f.write(self.rtc)
        result = {
            "outcome": outcome,
            "now_ms": self.clock.ms,
            "ext0": self.ext0,
            "feeds": self.feeds,
            "log": self.log,
            "modem_asleep": m.asleep,
            "sleep_ms": self.sleep_ms,
        }
        with open("/result.json", "w") as f:
            json.dump(result, f)

    # -- time

    def next_event(self):
        times = [t for t in self.pir_times if t > self.clock.ms]
        for peer in (self.pi, self.modem):
            t = peer.next_due(self.clock.ms) if peer is self.modem else peer.next_due()
            if t is not None:
                times.append(t)
        return min(times) if times else None

    def advance(self, ms):
        """Move the clock up to ``ms``; back early when a UART has bytes or the PIR fired."""
        end = self.clock.ms + ms
        while self.clock.ms < end:
            if self.clock.ms >= self.boot["end_ms"]:
                raise ScenarioEnd()
            nxt = self.next_event()
            self.clock.ms = end if nxt is None or nxt > end else max(nxt, self.clock.ms + 1)
            self.feeds_still = 0
            self._check_watchdog()
            if self._pir_due() or self._rx_waiting():
                return

    def _check_watchdog(self):
        if self.wdt_ms is not None and self.clock.ms - self.last_feed > self.wdt_ms:
            raise WatchdogReset(f"not fed for {self.clock.ms - self.last_feed} ms")

    def _pir_due(self):
        due = [t for t in self.pir_times if t <= self.clock.ms]
        if not due:
            return False
        self.pir_times = [t for t in self.pir_times if t > self.clock.ms]
        self.levels[PIR] = 1
        self.log.append(("pir", self.clock.ms))
        handler = self.irqs.get(PIR)
        if handler is not None:
            handler(self.pins.get(PIR))
        return True

    def _rx_waiting(self):
        return any(u.any() for u in self.uarts.values() if u.peer is not None and not u.closed)

    # -- the hardware the stand-ins report

    def pin_set(self, pin):
        self.pins[pin.id] = pin
        if pin.id == PI_POWER and pin.mode == OUT:
            self.pi.power(bool(pin._value))
            self.log.append(("pi_power", self.clock.ms, pin._value))
        if pin.id == MODEM_RESET and pin.mode == OUT and pin._value == 0:
            self.modem.reset()
            self.log.append(("modem_reset", self.clock.ms))
        if pin.id == PI_TX:
            self.log.append(("pi_tx", self.clock.ms, pin.mode, pin.pull))

    def uart_peer(self, uart_id):
        return {2: self.pi, 1: self.modem}.get(uart_id)

    def fed(self):
        self.feeds += 1
        self.feeds_still += 1
        self.last_feed = self.clock.ms
        if self.feeds_still > 5000:
            raise BusyLoop(f"{self.feeds_still} passes at t={self.clock.ms} ms without sleeping")


WORLD = World()
CLOCK = WORLD.clock
