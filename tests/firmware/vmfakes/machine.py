"""A stand-in `machine` for the MicroPython VM (its own has no Pin/UART): records what hal does.

Only the VM tests put this directory on the path; CPython tests never import it.
"""

log = []
DEEPSLEEP_RESET = 4
_ADC_VALUE = [32768]


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1

    def __init__(self, pin_id, mode=IN, pull=None, value=None):
        self.id = pin_id
        self.mode = mode
        self.pull = pull
        self._value = value or 0
        self.handler = None
        log.append(("pin", pin_id, mode, pull, value))

    def init(self, mode=IN, pull=None):
        self.mode, self.pull = mode, pull
        log.append(("pin", self.id, mode, pull, None))

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = v
        log.append(("set", self.id, v))
        return None

    def irq(self, trigger=None, handler=None):
        self.handler = handler


class ADC:
    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self.pin = pin
        self.atten = atten

    def read_u16(self):
        return _ADC_VALUE[0]


class UART:
    def __init__(self, uart_id, baudrate=9600, tx=None, rx=None):
        self.id, self.baudrate = uart_id, baudrate
        self.rx = b""
        self.tx = b""

    def any(self):
        return len(self.rx)

    def read(self, n=-1):
        data, self.rx = self.rx[:n], self.rx[n:]
        return data

    def write(self, data):
        self.tx += data
        return len(data)

    def deinit(self):
        log.append(("uart_deinit", self.id))


class WDT:
    def __init__(self, timeout=5000):
        self.timeout = timeout
        self.fed = 0

    def feed(self):
        self.fed += 1


def lightsleep(ms=None):
    log.append(("lightsleep", ms))


def deepsleep(ms=None):
    log.append(("deepsleep", ms))


def reset_cause():
    return 1
