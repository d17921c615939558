"""The one module that imports ``machine``: board pins, UARTs, sleep, watchdog, storage.

Board profiles (pins from ``trapfw.pins``, generated from hardware/pinmap.toml):

* esp32 (default): the PIR wakes the chip from deep sleep through ext0 (an RTC GPIO). Deep
  sleep resets the chip, so every wake starts in `main` again with the state from NVS; the
  clock is the RTC (``time.time_ns``), which keeps running through deep sleep.
* rp2 (Pico): DORMANT cannot wake on a GPIO, so the Pico sleeps with timed ``lightsleep`` in
  slices shorter than the watchdog (max 8388 ms) and the PIR pin IRQ ends a slice early. The
  state lives in LittleFS files.

The watchdog is fed only in `main`'s loop, once per pass, never from an IRQ or a timer. IRQ
handlers only set a flag.
"""

import json
import time

import machine

import trapfw
from trapfw import app, pins, state

SETTINGS_FILE = "/settings.json"
SLOTS = 4
RTC_BYTES = 2048  # ESP32 RTC slow memory available to MicroPython
PIR_HIGH_RECHECK_MS = 2000  # a PIR holds its output high for seconds after motion


class Board:
    """The hardware of one board, as `trapfw.app.App` wants it."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.kind = cfg.board
        p = pins.BOARDS[cfg.board]
        self.p = p
        self._power = machine.Pin(p["pi_power"], machine.Pin.OUT, value=0)
        self._halt = machine.Pin(p["pi_halt"], machine.Pin.IN)
        self._pir = machine.Pin(p["pir"], machine.Pin.IN)
        self._pir_flag = False
        self._pir.irq(trigger=machine.Pin.IRQ_RISING, handler=self._on_pir)
        self._adc = machine.ADC(machine.Pin(p["battery_adc"]))
        uart_ids = (2, 1) if cfg.board == "esp32" else (0, 1)
        self.pi_uart = machine.UART(
            uart_ids[0],
            cfg.link_baud,
            tx=machine.Pin(p["pi_uart_tx"]),
            rx=machine.Pin(p["pi_uart_rx"]),
        )
        modem_baud = 115200 if cfg.modem == "rak3172" else 9600
        self.modem_uart = machine.UART(
            uart_ids[1], modem_baud, tx=machine.Pin(p["modem_tx"]), rx=machine.Pin(p["modem_rx"])
        )
        self._ms_base = 0
        self._ticks_last = time.ticks_ms()

    # -- the App's hardware surface

    def _on_pir(self, pin):
        self._pir_flag = True  # IRQ: set a flag, nothing else

    def take_pir(self):
        flag, self._pir_flag = self._pir_flag, False
        return flag

    def halt_level(self):
        return self._halt.value() == 1

    def pi_power(self, on):
        self._power.value(1 if on else 0)

    def pi_read(self):
        n = self.pi_uart.any()
        return self.pi_uart.read(n) if n else None

    def pi_write(self, data):
        self.pi_uart.write(data)

    def battery_mv(self):
        read_uv = getattr(self._adc, "read_uv", None)  # ESP32: calibrated microvolts
        uv = read_uv() if read_uv is not None else self._adc.read_u16() * 3300000 // 65535
        return int(uv * self.cfg.battery_divider / 1000)

    def temp_c(self):
        """MCU die temperature, degrees C (rough: it says "frozen" or "baking", no more)."""
        try:
            if self.kind == "esp32":
                esp32 = __import__("esp32")
                if hasattr(esp32, "mcu_temperature"):
                    return esp32.mcu_temperature()
                return int((esp32.raw_temperature() - 32) / 1.8)
            volts = machine.ADC(4).read_u16() * 3.3 / 65535
            return int(27 - (volts - 0.706) / 0.001721)
        except (AttributeError, OSError, ValueError):
            return None

    def log(self, text):
        print(text)

    def now_ms(self):
        if self.kind == "esp32":
            return time.time_ns() // 1000000  # RTC: runs on through deep sleep
        now = time.ticks_ms()
        self._ms_base += time.ticks_diff(now, self._ticks_last)
        self._ticks_last = now
        return self._ms_base

    # -- sleep and wake

    def wake_reason(self):
        """ "cold", "wake" (timer) or "pir"."""
        if self.kind != "esp32" or machine.reset_cause() != machine.DEEPSLEEP_RESET:
            return "cold"
        # ESP32-only names, absent from the rp2 stubs:
        reason = getattr(machine, "wake_reason")()  # noqa: B009
        return "pir" if reason == getattr(machine, "EXT0_WAKE") else "wake"  # noqa: B009

    def sleep(self, ms, deep):
        """Sleep up to ``ms``; ``deep`` allows ESP32 deep sleep (which resets the chip)."""
        if ms <= 0:
            return
        if self.kind == "esp32" and deep:
            if self._pir.value():  # still high from the last motion: arming would wake at once
                machine.deepsleep(min(ms, PIR_HIGH_RECHECK_MS))
            esp32 = __import__("esp32")  # exists on the ESP32 build only
            esp32.wake_on_ext0(self._pir, esp32.WAKEUP_ANY_HIGH)
            machine.deepsleep(ms)
        slice_ms = min(ms, self.cfg.wdt_ms // 2)
        if deep and not self._pir_flag:
            machine.lightsleep(slice_ms)  # rp2: timed lightsleep; the PIR IRQ ends it early
        else:
            time.sleep_ms(min(slice_ms, 20))

    def rtc_load(self):
        """Bytes kept in ESP32 RTC memory through deep sleep (b"" elsewhere or when empty)."""
        if self.kind != "esp32":
            return b""
        return bytes(machine.RTC().memory())

    def rtc_save(self, data):
        if self.kind == "esp32" and len(data) <= RTC_BYTES:
            machine.RTC().memory(data)

    def slots(self):
        if self.kind == "esp32":
            return NvsSlots()
        return FileSlots()


class NvsSlots:
    """State slots as ESP32 NVS blobs (NVS is log-structured: it spreads wear by itself)."""

    count = SLOTS

    def __init__(self):
        self.nvs = __import__("esp32").NVS("camtrap")  # exists on the ESP32 build only

    def read(self, i):
        buf = bytearray(state.MAX_RECORD)
        try:
            n = self.nvs.get_blob(f"s{i}", buf)
        except OSError:
            return None
        return bytes(buf[:n])

    def write(self, i, data):
        self.nvs.set_blob(f"s{i}", data)
        self.nvs.commit()


class FileSlots:
    """State slots as small LittleFS files (LittleFS levels wear over the whole flash)."""

    count = SLOTS

    def read(self, i):
        try:
            with open(f"/state{i}.bin", "rb") as f:
                return f.read()
        except OSError:
            return None

    def write(self, i, data):
        with open(f"/state{i}.bin", "wb") as f:
            f.write(data)


def load_settings(path=SETTINGS_FILE):
    """Validated settings as a plain `app.Config`; the validator is unloaded afterwards.

    Validation runs once per boot; dropping the module gives its ~4 KB back to the heap.
    """
    from trapfw import settings

    with open(path) as f:
        values = settings.validate(json.load(f)).as_dict()
    trapfw.unload("settings")
    return app.Config(values)


def boot():
    """boot.py: hold the Pi's power switch off before anything else runs."""
    with open(SETTINGS_FILE) as f:
        board = json.load(f).get("board", "esp32")
    machine.Pin(pins.BOARDS[board]["pi_power"], machine.Pin.OUT, value=0)


def _lora(board, cfg):
    from trapfw.radio import LoraRadio

    radio = LoraRadio(board.modem_uart, cfg, board.now_ms())
    radio.restore(board.rtc_load())  # the airtime spent before the last deep sleep
    return radio


def main():
    """main.py: build the board and loop forever (the watchdog is fed here only)."""
    cfg = load_settings()
    board = Board(cfg)
    wdt = machine.WDT(timeout=cfg.wdt_ms)
    ring = state.Ring(board.slots())
    radio = app.NullRadio() if cfg.modem == "none" else app.LazyRadio(lambda: _lora(board, cfg))
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
