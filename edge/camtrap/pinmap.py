"""The pin map (`hardware/pinmap.toml`): the single source of pin numbers, loaded and checked.

Pure validation over the parsed TOML; `load_pinmap(path)` reads the file. Each board is a table
``name = number``: ``[pi]`` in BCM numbering, ``[mcu.esp32]`` and ``[mcu.rp2]`` in GPIO numbers.
A problem raises `ConfigError` naming the file and the key, for example
``hardware/pinmap.toml: mcu.esp32.led: pin 33 is used twice: mcu.esp32.pir and mcu.esp32.led``.

Checks: pin numbers exist on the board; a pin is used once per board; the MCU's PIR pin can wake
it (ESP32 deep sleep: RTC GPIOs only; RP2040: any GPIO with an IRQ); ESP32 input-only pins
(34-39) are not outputs; the battery ADC is on an ADC pin (ESP32 ADC1, which works with Wi-Fi on;
RP2040 GPIO 26-28). Used by tools/gen_pins.py (the firmware's pin module), the tests, and the
wiring docs and doctor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camtrap.errors import ConfigError
from camtrap.tomlfile import read_toml

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "hardware" / "pinmap.toml"

# Pins the MCU firmware needs on every board (trapfw.hal reads these names).
MCU_PINS = (
    "pir",
    "pi_power",
    "pi_halt",
    "pi_uart_tx",
    "pi_uart_rx",
    "modem_tx",
    "modem_rx",
    "modem_reset",
    "battery_adc",
    "led",
    "rtc_sda",  # I2C to the optional DS3231 RTC (firmware setting rtc = "ds3231")
    "rtc_scl",
)
MCU_OUTPUTS = ("pi_power", "pi_uart_tx", "modem_tx", "modem_reset", "led", "rtc_sda", "rtc_scl")
RP2_I2C0 = {
    "rtc_sda": frozenset((0, 4, 8, 12, 16, 20)),
    "rtc_scl": frozenset((1, 5, 9, 13, 17, 21)),
}
ESP32_RTC_GPIOS = frozenset((0, 2, 4, 12, 13, 14, 15, 25, 26, 27, *range(32, 40)))
ESP32_GPIOS = frozenset((*range(0, 12), *range(12, 20), 21, 22, 23, 25, 26, 27, *range(32, 40)))
ESP32_INPUT_ONLY = frozenset(range(34, 40))
ESP32_ADC1 = frozenset(range(32, 40))
RP2_GPIOS = frozenset(range(0, 29))
RP2_ADC = frozenset((26, 27, 28))
PI_GPIOS = frozenset(range(0, 28))
BOARDS = ("esp32", "rp2")


@dataclass(frozen=True)
class PinMap:
    """Validated pins: ``pi`` (BCM) and ``mcu[board]``, each a name -> number mapping."""

    pi: dict[str, int]
    mcu: dict[str, dict[str, int]]
    source: str = str(DEFAULT_PATH)

    def board(self, name: str) -> dict[str, int]:
        if name not in self.mcu:
            raise ConfigError(self.source, f"mcu.{name}", f"no such board (have {self.boards})")
        return self.mcu[name]

    @property
    def boards(self) -> str:
        return ", ".join(sorted(self.mcu))


def load_pinmap(path: str | Path = DEFAULT_PATH) -> PinMap:
    """Read and validate the pin map file."""
    return parse_pinmap(read_toml(path), str(Path(path)))


def parse_pinmap(raw: dict[str, Any], source: str = "<pinmap>") -> PinMap:
    """Validate a parsed pin map document."""
    for key in raw:
        if key not in ("pi", "mcu"):
            raise ConfigError(source, key, "unknown section (known: mcu, pi)")
    pi = _pins(raw.get("pi"), source, "pi", PI_GPIOS)
    mcu_raw = raw.get("mcu")
    if not isinstance(mcu_raw, dict) or not mcu_raw:
        raise ConfigError(source, "mcu", "missing: need [mcu.esp32] and/or [mcu.rp2]")
    mcu = {}
    for board, table in mcu_raw.items():
        if board not in BOARDS:
            raise ConfigError(source, f"mcu.{board}", f"unknown board (known: {', '.join(BOARDS)})")
        valid = ESP32_GPIOS if board == "esp32" else RP2_GPIOS
        pins = _pins(table, source, f"mcu.{board}", valid)
        _check_mcu(board, pins, source)
        mcu[board] = pins
    return PinMap(pi=pi, mcu=mcu, source=source)


def _pins(table: Any, source: str, where: str, valid: frozenset[int]) -> dict[str, int]:
    if not isinstance(table, dict):
        raise ConfigError(source, where, "missing or not a table")
    pins: dict[str, int] = {}
    used: dict[int, str] = {}
    for name, number in table.items():
        key = f"{where}.{name}"
        if isinstance(number, bool) or not isinstance(number, int):
            raise ConfigError(source, key, f"must be a pin number, got {number!r}")
        if number not in valid:
            raise ConfigError(source, key, f"pin {number} does not exist on this board")
        if number in used:
            first = f"{where}.{used[number]}"
            raise ConfigError(source, key, f"pin {number} is used twice: {first} and {key}")
        used[number] = name
        pins[name] = number
    return pins


def _check_mcu(board: str, pins: dict[str, int], source: str) -> None:
    where = f"mcu.{board}"
    for name in MCU_PINS:
        if name not in pins:
            raise ConfigError(source, f"{where}.{name}", "missing (the firmware needs it)")
    for name in pins:
        if name not in MCU_PINS:
            known = ", ".join(MCU_PINS)
            raise ConfigError(source, f"{where}.{name}", f"unknown pin name (known: {known})")
    if board == "esp32":
        _check_esp32(pins, source, where)
    elif pins["battery_adc"] not in RP2_ADC:
        raise ConfigError(source, f"{where}.battery_adc", "must be an ADC pin (26, 27 or 28)")
    else:  # trapfw.hal opens I2C(0): the RP2040 routes it to these pins only
        for name, allowed in RP2_I2C0.items():
            if pins[name] not in allowed:
                have = ", ".join(str(p) for p in sorted(allowed))
                raise ConfigError(source, f"{where}.{name}", f"must be an I2C0 pin ({have})")


def _check_esp32(pins: dict[str, int], source: str, where: str) -> None:
    pir = pins["pir"]
    if pir not in ESP32_RTC_GPIOS:
        raise ConfigError(
            source,
            f"{where}.pir",
            f"pin {pir} cannot wake the ESP32 from deep sleep (RTC GPIOs only: "
            "0, 2, 4, 12-15, 25-27, 32-39)",
        )
    for name in MCU_OUTPUTS:
        if pins[name] in ESP32_INPUT_ONLY:
            raise ConfigError(
                source, f"{where}.{name}", f"pin {pins[name]} is input-only (34-39): not an output"
            )
    if pins["battery_adc"] not in ESP32_ADC1:
        raise ConfigError(
            source, f"{where}.battery_adc", "must be an ADC1 pin (32-39; ADC2 fails with Wi-Fi on)"
        )
