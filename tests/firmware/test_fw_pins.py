"""The pin map is the single source of pins: loader checks, and the generated firmware module."""

from __future__ import annotations

import tomllib

import pytest

from camtrap.errors import ConfigError
from camtrap.pinmap import DEFAULT_PATH, MCU_PINS, load_pinmap, parse_pinmap
from tools import gen_pins


def _raw():
    return tomllib.loads(DEFAULT_PATH.read_text())


def test_the_repository_pinmap_is_valid():
    pm = load_pinmap()
    assert set(pm.mcu) == {"esp32", "rp2"}
    assert pm.pi["uart_tx"] == 14 and pm.pi["uart_rx"] == 15


def test_the_firmware_pin_module_matches_the_pinmap():
    text = (gen_pins.OUT).read_text()
    assert text == gen_pins.render(load_pinmap()), "run: python -m tools.gen_pins"


def test_the_firmware_pin_module_holds_every_pin_per_board():
    from trapfw import pins

    pm = load_pinmap()
    for board, table in pins.BOARDS.items():
        assert set(table) == set(MCU_PINS)
        assert table == pm.mcu[board]


def test_gen_pins_check_fails_when_the_module_drifted(tmp_path, capsys):
    out = tmp_path / "pins.py"
    out.write_text(gen_pins.render(load_pinmap()).replace('"pir": 33', '"pir": 32'))
    assert gen_pins.main(["--check", "--out", str(out)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert gen_pins.main(["--out", str(out)]) == 0
    assert gen_pins.main(["--check", "--out", str(out)]) == 0


def test_a_pin_used_twice_fails_naming_the_pin_and_both_uses():
    raw = _raw()
    raw["mcu"]["esp32"]["led"] = raw["mcu"]["esp32"]["pir"]
    with pytest.raises(ConfigError) as e:
        parse_pinmap(raw, "pinmap.toml")
    msg = str(e.value)
    assert "pin 33 is used twice" in msg
    assert "mcu.esp32.pir" in msg and "mcu.esp32.led" in msg


def test_a_pir_pin_that_cannot_wake_the_esp32_fails_naming_it():
    raw = _raw()
    raw["mcu"]["esp32"]["pir"] = 5
    with pytest.raises(ConfigError, match=r"mcu\.esp32\.pir: pin 5 cannot wake the ESP32"):
        parse_pinmap(raw, "pinmap.toml")


def test_an_input_only_esp32_pin_cannot_drive_the_pi_power_switch():
    raw = _raw()
    raw["mcu"]["esp32"]["pi_power"] = 36
    with pytest.raises(ConfigError, match=r"mcu\.esp32\.pi_power: pin 36 is input-only"):
        parse_pinmap(raw, "pinmap.toml")


def test_the_rp2_battery_must_be_on_an_adc_pin():
    raw = _raw()
    raw["mcu"]["rp2"]["battery_adc"] = 8
    with pytest.raises(ConfigError, match=r"mcu\.rp2\.battery_adc"):
        parse_pinmap(raw, "pinmap.toml")


def test_a_missing_or_unknown_pin_name_fails_naming_it():
    raw = _raw()
    del raw["mcu"]["rp2"]["pi_halt"]
    with pytest.raises(ConfigError, match=r"mcu\.rp2\.pi_halt: missing"):
        parse_pinmap(raw, "pinmap.toml")
    raw = _raw()
    raw["mcu"]["rp2"]["buzzer"] = 10
    with pytest.raises(ConfigError, match=r"mcu\.rp2\.buzzer: unknown pin name"):
        parse_pinmap(raw, "pinmap.toml")


def test_the_rtc_bus_must_be_on_pins_the_boards_i2c0_reaches():
    raw = _raw()
    raw["mcu"]["rp2"]["rtc_sda"] = 10  # free, but not an I2C0 SDA pin
    with pytest.raises(ConfigError, match=r"mcu\.rp2\.rtc_sda: must be an I2C0 pin"):
        parse_pinmap(raw, "pinmap.toml")
    raw = _raw()
    raw["mcu"]["esp32"]["rtc_scl"] = 36  # input-only: cannot drive the open-drain clock
    with pytest.raises(ConfigError, match=r"mcu\.esp32\.rtc_scl: pin 36 is input-only"):
        parse_pinmap(raw, "pinmap.toml")


def test_a_pi_pin_out_of_range_fails():
    raw = _raw()
    raw["pi"]["ir_lamp"] = 40
    with pytest.raises(ConfigError, match=r"pi\.ir_lamp: pin 40 does not exist"):
        parse_pinmap(raw, "pinmap.toml")
