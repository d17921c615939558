"""A behaving stand-in for the ESP32 build's ``machine`` in the MicroPython VM (world.py).

Pins, UARTs and the ADC report to the world; deep sleep ends the run; the watchdog checks
that it is fed in time on the simulated clock. The ADC behaves as MicroPython's ESP32 ADC:
without ``atten=ADC.ATTN_11DB`` the input range is 0 dB, about 0-1.1 V (readings saturate).
"""

from world import WORLD, DeepSleep

PWRON_RESET = 1
DEEPSLEEP_RESET = 4
EXT0_WAKE = 2  # machine.PIN_WAKE on the ESP32 build
TIMER_WAKE = 4
DEEPSLEEP = 4


class Pin:
    IN = 1
    OUT = 3
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    WAKE_HIGH = 5

    def __init__(self, pin_id, mode=-1, pull=None, value=None):
        self.id = pin_id
        self.mode, self.pull = mode, pull
        self._value = 0 if value is None else value
        WORLD.pin_set(self)

    def init(self, mode=-1, pull=None, value=None):
        self.mode, self.pull = mode, pull
        if value is not None:
            self._value = value
        WORLD.pin_set(self)

    def value(self, v=None):
        if v is None:
            if self.mode == Pin.OUT:
                return self._value
            return WORLD.levels.get(self.id, 0)
        self._value = 1 if v else 0
        WORLD.pin_set(self)
        return None

    def irq(self, trigger=None, handler=None, wake=None):
        WORLD.irqs[self.id] = handler


class ADC:
    ATTN_0DB = 0
    ATTN_11DB = 3

    def __init__(self, pin, atten=ATTN_0DB):
        self.pin, self.atten = pin, atten

    def read_uv(self):
        uv = WORLD.battery_mv * 1000 // 2  # the 100k/100k divider
        return uv if self.atten == ADC.ATTN_11DB else min(uv, 1100000)  # 0 dB: ~1.1 V


class UART:
    def __init__(self, uart_id, baudrate=9600, tx=None, rx=None):
        self.id, self.baudrate = uart_id, baudrate
        self.peer = WORLD.uart_peer(uart_id)
        self.closed = False
        WORLD.uarts[uart_id] = self
        WORLD.log.append(("uart", WORLD.clock.ms, uart_id))

    def any(self):
        self._check()
        return self.peer.any() if self.peer is not None else 0

    def read(self, n=-1):
        self._check()
        return self.peer.read(n) if self.peer is not None else None

    def write(self, data):
        self._check()
        return self.peer.write(data) if self.peer is not None else len(data)

    def deinit(self):
        self.closed = True

    def _check(self):
        if self.closed:
            raise OSError("UART used after deinit")


class WDT:
    def __init__(self, id=0, timeout=5000):
        WORLD.wdt_ms = timeout
        WORLD.last_feed = WORLD.clock.ms

    def feed(self):
        WORLD.fed()


class RTC:
    def memory(self, data=None):
        if data is None:
            return WORLD.rtc
        WORLD.rtc = bytes(data)
        return None


def reset_cause():
    return DEEPSLEEP_RESET if WORLD.boot["wake"] != "cold" else PWRON_RESET


def wake_reason():
    return EXT0_WAKE if WORLD.boot["wake"] == "pir" else TIMER_WAKE


def lightsleep(ms=None):
    WORLD.advance(ms or 0)


def deepsleep(ms=None):
    WORLD.log.append(("deepsleep", WORLD.clock.ms, ms, WORLD.pins[17].mode, WORLD.pins[17].pull))
    WORLD.sleep_ms = ms
    raise DeepSleep(ms)
