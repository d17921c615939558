"""The one module that imports ``machine``: board pins, UARTs, sleep, watchdog, storage.

Board profiles (pins from ``trapfw.pins``, generated from hardware/pinmap.toml):

* esp32 (default): the PIR wakes the chip from deep sleep through ext0 (an RTC GPIO). Deep
  sleep resets the chip, so every wake starts in `main` again with the state from NVS; the
  clock is the RTC (``time.time_ns``), which keeps running through deep sleep.
* rp2 (Pico): MicroPython's rp2 port arms no GPIO wake for DORMANT (``lightsleep()``
  without a timeout; MicroPython issue 7035; the RP2040 itself can wake from DORMANT on a GPIO
  edge), so the Pico sleeps with timed ``lightsleep`` in slices shorter than the watchdog
  (max 8388 ms) and the PIR pin IRQ ends a slice early. The state lives in LittleFS files.

Pins follow the hardware while the Pi is off: the link's TX pin becomes an input with a
pull-down (a driven TX would back-power the unpowered Pi through its RX pin), and is a UART
again when the Pi is powered. The battery ADC on an ESP32 is set to 11 dB attenuation (about
0-3.1 V): MicroPython <= 1.25 leaves it at 0 dB (about 1.1 V full scale), where the divider's
1.65-2.1 V saturates. While an AT reply is awaited the board waits in short ``time.sleep_ms``
slices (the CPU idles; UART reception goes on into the driver's ring buffer) and returns as
soon as a byte arrives: ``lightsleep`` would stop the UART clocks (ESP32 light sleep wakes on
UART0/1 only and loses the waking bytes; MicroPython does not expose it).

The watchdog is fed only in `main`'s loop, once per pass, never from an IRQ or a timer. IRQ
handlers only set a flag.

Safe mode (re-flashing a deployed unit, see docs/firmware.md): with a file ``/safemode`` on the
board, `main` returns before it starts the watchdog or the app, leaving the REPL
(``trapfw.startup``, run by boot.py, writes it on a Ctrl-C in its window after a cold boot).
"""

import json
import time

import machine
from micropython import const

import trapfw
from trapfw import app, state

SETTINGS_FILE = "/settings.json"
SAFE_FILE = "/safemode"  # trapfw.startup writes it; see the module docstring
# const() with a leading underscore: folded into the code, no global name on the heap
_RTC_BYTES = const(2048)  # ESP32 RTC slow memory available to MicroPython
_PIR_HIGH_RECHECK_MS = const(2000)  # a PIR holds its output high for seconds after motion
_WAIT_SLICE_MS = const(10)  # polling step while a reply is awaited (10 characters at 9600 baud)
_MODEM_RESET_MS = const(10)  # reset pulse (LoRa-E5 and RAK3172: active low)


class Board:
    """The hardware of one board, as `trapfw.app.App` wants it."""

    # set by trapfw.hal_boot.setup (MicroPython ignores these annotations: no heap)
    cfg: app.Config
    kind: str
    p: dict
    _power: machine.Pin
    _halt: machine.Pin
    _pir: machine.Pin
    _pir_flag: bool
    _adc: machine.ADC
    _pi_uart_id: int
    pi_uart: machine.UART | None
    modem_uart: machine.UART
    _ms_base: int
    _wake: str
    _slots: object

    def __init__(self, cfg):
        """Pins, ADC and UARTs from ``cfg`` (``trapfw.hal_boot.setup``: once per boot, then
        unloaded again, heap)."""
        trapfw.call("hal_boot", "setup", self, cfg)

    # -- the App's hardware surface

    def _on_pir(self, pin):
        self._pir_flag = True  # IRQ: set a flag, nothing else

    def take_pir(self):
        flag, self._pir_flag = self._pir_flag, False
        return flag

    def halt_level(self):
        return self._halt.value() == 1

    def pi_power(self, on):
        if on:
            self._pi_tx(True)
        self._power.value(1 if on else 0)
        if not on:
            self._pi_tx(False)

    def _pi_tx(self, on):
        """The link UART while the Pi is on; else TX an input with a pull-down (no current
        into the unpowered Pi's RX pin)."""
        p, uart = self.p, self.pi_uart
        if on and uart is None:
            tx, rx = machine.Pin(p["pi_uart_tx"]), machine.Pin(p["pi_uart_rx"])
            self.pi_uart = machine.UART(self._pi_uart_id, self.cfg.link_baud, tx=tx, rx=rx)
        elif not on:
            if uart is not None:
                uart.deinit()
                self.pi_uart = None
            machine.Pin(p["pi_uart_tx"], machine.Pin.IN, machine.Pin.PULL_DOWN)

    def pi_read(self):
        uart = self.pi_uart
        n = uart.any() if uart is not None else 0
        return uart.read(n) if uart is not None and n else None

    def pi_write(self, data):
        if self.pi_uart is not None:  # an unpowered Pi hears nothing
            self.pi_uart.write(data)

    def modem_reset(self):
        """Pulse the modem's reset pin (active low), then let its own pull-up hold it."""
        pin = machine.Pin(self.p["modem_reset"], machine.Pin.OUT, value=0)
        time.sleep_ms(_MODEM_RESET_MS)
        pin.init(machine.Pin.IN)

    def battery_mv(self):
        read_uv = getattr(self._adc, "read_uv", None)  # ESP32: calibrated microvolts
        uv = read_uv() if read_uv is not None else self._adc.read_u16() * 3300000 // 65535
        return int(uv * self.cfg.battery_divider / 1000)

    def temp_c(self):
        """MCU die temperature, degrees C (rough: it says "frozen" or "baking", no more)."""
        from trapfw import temp  # once per battery reading: unloaded again (heap)

        try:
            return temp.read(self.kind)
        finally:
            trapfw.unload("temp")

    def log(self, text):
        print(text)

    def rtc_bus(self):
        """The I2C bus of the optional RTC chip (``rtc`` setting; trapfw.timekeep)."""
        p = self.p
        return machine.I2C(0, scl=machine.Pin(p["rtc_scl"]), sda=machine.Pin(p["rtc_sda"]))

    def now_ms(self):
        if self.kind == "esp32":
            return time.time_ns() // 1000000  # RTC: runs on through deep sleep
        now = time.ticks_ms()
        self._ms_base += time.ticks_diff(now, self._ticks_last)
        self._ticks_last = now
        return self._ms_base

    # -- sleep and wake

    def wake_reason(self):
        """ "cold", "wake" (timer) or "pir": read once, at the setup."""
        return self._wake

    def sleep(self, ms, deep):
        """Sleep up to ``ms``; ``deep`` allows ESP32 deep sleep (which resets the chip).

        Not ``deep`` (the Pi is on, or the modem or the link is mid-exchange): wait in short
        slices and return as soon as a UART has bytes or the PIR fired.
        """
        if ms <= 0:
            return
        if not deep:
            self.wait(min(ms, self.cfg.wdt_ms // 2))
            return
        if self.kind == "esp32":
            if self._pir.value():  # still high from the last motion: arming would wake at once
                machine.deepsleep(min(ms, _PIR_HIGH_RECHECK_MS))
            esp32 = __import__("esp32")  # exists on the ESP32 build only
            esp32.wake_on_ext0(self._pir, esp32.WAKEUP_ANY_HIGH)
            machine.deepsleep(ms)
        if not self._pir_flag:  # rp2: timed lightsleep; the PIR IRQ ends it early
            machine.lightsleep(min(ms, self.cfg.wdt_ms // 2))

    def wait(self, ms):
        """Idle up to ``ms`` in short sleeps; back at once when a UART has bytes or the PIR."""
        left = ms
        while left > 0:
            if self._pir_flag or self.modem_uart.any() or (self.pi_uart and self.pi_uart.any()):
                return
            step = min(left, _WAIT_SLICE_MS)
            time.sleep_ms(step)
            left -= step

    def rtc_load(self):
        """Bytes kept in ESP32 RTC memory through deep sleep (b"" elsewhere or when empty)."""
        if self.kind != "esp32":
            return b""
        return bytes(machine.RTC().memory())

    def rtc_save(self, data):
        if self.kind != "esp32":
            return
        if len(data) > _RTC_BYTES:  # bounded by LoraRadio.snapshot: never silently dropped
            raise ValueError("rtc: snapshot size")
        machine.RTC().memory(data)

    def slots(self):
        """The state ring's slots: ESP32 NVS blobs, RP2 LittleFS files (made at the setup)."""
        return self._slots


def load_settings(path=SETTINGS_FILE):
    """Validated settings as a plain `app.Config`; the validator is unloaded afterwards.

    Validation runs once per boot; dropping the module gives its ~4 KB back to the heap.
    """
    from trapfw import settings

    with open(path) as f:
        values = settings.validate(json.load(f)).as_dict()
    trapfw.unload("settings")
    return app.Config(values)


def safe_mode():
    try:
        open(SAFE_FILE).close()
    except OSError:
        return False
    return True


def _no_radio():
    from trapfw.radio_none import NullRadio

    return NullRadio()


def _lora(board, cfg):
    from trapfw.radio import LoraRadio

    radio = LoraRadio(board.modem_uart, cfg, board.now_ms(), reset_modem=board.modem_reset)
    radio.restore(board.rtc_load())  # the airtime spent before the last deep sleep
    return radio


def main():
    """main.py: build the board and loop forever (the watchdog is fed here only)."""
    if safe_mode():
        print("camtrap: safe mode: " + SAFE_FILE)
        return
    cfg = load_settings()
    board = Board(cfg)
    wdt = machine.WDT(timeout=cfg.wdt_ms)
    ring = state.Ring(board.slots())
    radio = _no_radio() if cfg.modem == "none" else app.LazyRadio(lambda: _lora(board, cfg))
    fw = app.App(board, cfg, ring, radio)
    fw.start(board.now_ms(), board.wake_reason())
    while True:
        now = board.now_ms()
        fw.poll(now)
        wdt.feed()
        deep = fw.may_sleep()
        snap = radio.snapshot() if deep else None
        if snap:
            board.rtc_save(snap)  # deep sleep resets the ESP32; RTC memory survives it
        board.sleep(fw.next_wake(now) - now, deep)
