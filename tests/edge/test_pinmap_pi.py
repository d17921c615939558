"""The Pi side of the pin map: config defaults, example configs, wiring docs and diagrams agree.

`hardware/pinmap.toml` is the single source of pin numbers; the MCU side is checked by the
firmware tests (tools/gen_pins.py), this file checks everything on the Pi's side against it.
"""

from __future__ import annotations

import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from camtrap.config import CameraConfig, LinkConfig, TriggerConfig, load_config
from camtrap.errors import ConfigError
from camtrap.pinmap import MCU_PINS, load_pinmap, parse_pinmap

ROOT = Path(__file__).resolve().parents[2]
HARDWARE = ROOT / "hardware"
PINS = load_pinmap(HARDWARE / "pinmap.toml")
SVG_NS = "{http://www.w3.org/2000/svg}"


def pin_of(key: str) -> int:
    """``pi.pir`` or ``mcu.esp32.pir`` -> its number in the pin map."""
    parts = key.split(".")
    return PINS.pi[parts[1]] if parts[0] == "pi" else PINS.board(parts[1])[parts[2]]


def test_config_defaults_use_the_pin_map() -> None:
    assert TriggerConfig().pir_pin == PINS.pi["pir"]
    assert CameraConfig().ir_pin == PINS.pi["ir_lamp"]


def test_pi_uart_is_the_primary_uart_on_gpio14_and_15() -> None:
    # FACTS: Pi primary UART GPIO14 TX / GPIO15 RX, /dev/serial0
    assert (PINS.pi["uart_tx"], PINS.pi["uart_rx"]) == (14, 15)
    assert LinkConfig().port == "/dev/serial0"


def test_pi_uart_crosses_over_to_the_mcu_uart() -> None:
    esp32 = PINS.board("esp32")
    assert {"pi_uart_tx", "pi_uart_rx", "pi_halt"} <= set(esp32)
    assert set(MCU_PINS) <= set(esp32)


def _example_configs() -> list[Path]:
    return sorted((ROOT / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", _example_configs(), ids=lambda p: p.name)
def test_example_configs_use_the_pin_map(path: Path) -> None:
    raw = tomllib.loads(path.read_text())
    load_config(path)  # and they validate
    if "pir_pin" in raw.get("trigger", {}):
        assert raw["trigger"]["pir_pin"] == PINS.pi["pir"], path
    if "ir_pin" in raw.get("camera", {}):
        assert raw["camera"]["ir_pin"] == PINS.pi["ir_lamp"], path


def test_the_field_example_config_uses_the_pin_map() -> None:
    path = ROOT / "examples" / "camtrap.toml"
    if not path.exists():
        pytest.skip("examples/camtrap.toml not written yet")
    cfg = load_config(path)
    assert cfg.trigger.pir_pin == PINS.pi["pir"]
    assert cfg.camera.ir_pin == PINS.pi["ir_lamp"]


def test_wiring_tables_match_the_pin_map() -> None:
    text = (HARDWARE / "wiring.md").read_text()
    rows = re.findall(r"^\| `((?:pi|mcu\.esp32|mcu\.rp2)\.\w+)` \| GPIO(\d+) \|", text, re.M)
    assert len(rows) >= 15
    for key, number in rows:
        assert int(number) == pin_of(key), f"wiring.md: {key} says GPIO{number}"
    keys = {k for k, _ in rows}
    assert {f"pi.{name}" for name in PINS.pi} <= keys
    assert {f"mcu.esp32.{name}" for name in MCU_PINS} <= keys
    assert f"gpio-poweroff,gpiopin={PINS.pi['halt']}" in text


@pytest.mark.parametrize(
    ("svg", "must_show"),
    [
        ("wiring-always-on.svg", {"pi.pir", "pi.ir_lamp", "pi.uart_tx", "pi.uart_rx"}),
        (
            "wiring-power-gated.svg",
            {"pi.halt", "pi.uart_tx", "pi.uart_rx", "pi.ir_lamp"}
            | {f"mcu.esp32.{name}" for name in MCU_PINS},
        ),
    ],
)
def test_wiring_diagrams_label_pins_from_the_pin_map(svg: str, must_show: set[str]) -> None:
    root = ET.parse(HARDWARE / svg).getroot()
    labelled = {}
    for el in root.iter(f"{SVG_NS}text"):
        key = el.get("data-pin")
        if key is not None:
            labelled[key] = el.text or ""
    assert must_show <= set(labelled)
    for key, label in labelled.items():
        assert label == f"GPIO{pin_of(key)}", f"{svg}: {key} labelled {label}"


def test_a_pi_pin_used_twice_names_the_pin_and_both_uses() -> None:
    raw = tomllib.loads((HARDWARE / "pinmap.toml").read_text())
    raw["pi"]["ir_lamp"] = raw["pi"]["pir"]
    pir = raw["pi"]["pir"]
    with pytest.raises(ConfigError, match=rf"pin {pir} is used twice: pi.pir and pi.ir_lamp"):
        parse_pinmap(raw, "pinmap.toml")


def test_a_pi_pin_that_does_not_exist_is_refused() -> None:
    raw = tomllib.loads((HARDWARE / "pinmap.toml").read_text())
    raw["pi"]["halt"] = 40
    with pytest.raises(ConfigError, match=r"pi.halt: pin 40 does not exist"):
        parse_pinmap(raw, "pinmap.toml")
