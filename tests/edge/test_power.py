"""Power budget arithmetic against hand calculations, and the shipped figures against FACTS."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from camtrap.cli import main
from camtrap.core import power
from camtrap.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "hardware" / "power.toml"
FACTS = ROOT.parent / "shared" / "FACTS.md"

# Round numbers, so every line of the hand calculation below can be checked on paper.
HAND = {
    "battery": {"capacity_mah": 1000, "voltage_v": 4.0, "usable_fraction": 0.5},
    "converter": {"efficiency": 0.8},
    "pi": {
        "idle_w": 0.4,
        "boot_s": 10,
        "boot_w": 1.0,
        "shutdown_s": 4,
        "shutdown_w": 0.5,
        "camera_start_s": 1,
        "capture_w": 1.2,
        "inference_s_per_frame": 0.25,
        "inference_w": 2.0,
        "storage_s": 2,
        "storage_w": 0.8,
    },
    "burst": {"frames": 4, "interval_s": 0.5},
    "mcu": {"sleep_ua": 10, "active_ma": 50},
    "pir": {"supply_ua": 5},
    "lora": {
        "sleep_ua": 5,
        "tx_ma": 100,
        "airtime_s": 0.5,
        "rx_ma": 10,
        "rx_s": 1,
        "heartbeats_per_day": 2,
    },
    "board": {"load_switch_ua": 5, "divider_ua": 5},
}


def _doc(values: dict) -> dict:
    return {s: {k: {"value": v, "source": "test"} for k, v in t.items()} for s, t in values.items()}


def _hand_params() -> power.PowerParams:
    return power.parse_power_params(_doc(HAND), "hand.toml")[0]


def test_power_gated_event_matches_the_hand_calculation() -> None:
    b = power.compute_budget(_hand_params(), triggers_per_day=10, hit_fraction=0.25)
    gated = b.designs["power-gated"]
    # Pi energies are divided by the 0.8 converter efficiency:
    #   boot 10 s x 1.0 W = 10 J -> 12.5; capture (1 s start + 4 x 0.5 s burst) x 1.2 W = 3.6 -> 4.5
    #   inference 4 x 0.25 s x 2.0 W = 2.0 -> 2.5; storage 2 s x 0.8 W = 1.6 -> 2.0
    #   shutdown 4 s x 0.5 W = 2.0 -> 2.5
    # MCU awake for the Pi's 10 + 1 + 2 + 1 + 2 + 4 = 20 s: 50 mA x 4 V x 20 s = 4.0 J
    # one uplink = (100 mA x 0.5 s + 10 mA x 1 s) x 4 V = 0.24 J; a quarter of triggers hit: 0.06
    expected = {
        "boot": 12.5,
        "capture": 4.5,
        "inference": 2.5,
        "storage": 2.0,
        "shutdown": 2.5,
        "mcu": 4.0,
        "radio": 0.06,
    }
    assert gated.per_event_j == pytest.approx(expected)
    assert gated.event_j == pytest.approx(28.06)
    # sleep floor 10 + 5 + 5 + 5 + 5 = 30 uA x 4 V x 86400 s = 10.368 J/day
    assert gated.standby_j_per_day == pytest.approx(10.368)
    assert gated.day_j == pytest.approx(10.368 + 10 * 28.06 + 2 * 0.24)
    # pack: 1 Ah x 3600 x 4 V x 0.5 = 7200 J -> 7200 / 291.448 = 24.704 days
    assert b.life_days("power-gated") == pytest.approx(24.7042, rel=1e-4)


def test_always_on_event_counts_only_power_above_idle() -> None:
    b = power.compute_budget(_hand_params(), triggers_per_day=10, hit_fraction=0.25)
    ao = b.designs["always-on"]
    # capture 3 s x (1.2 - 0.4) W / 0.8 = 3.0; inference 1 s x 1.6 / 0.8 = 2.0;
    # storage 2 s x 0.4 / 0.8 = 1.0; no boot, shutdown or MCU; radio 0.06
    assert ao.per_event_j == pytest.approx(
        {
            "boot": 0.0,
            "capture": 3.0,
            "inference": 2.0,
            "storage": 1.0,
            "shutdown": 0.0,
            "mcu": 0.0,
            "radio": 0.06,
        }
    )
    # idle 0.4 W / 0.8 x 86400 = 43200 J, + PIR, modem and divider 15 uA x 4 V x 86400 = 5.184
    assert ao.standby_j_per_day == pytest.approx(43205.184)
    assert b.life_days("always-on") == pytest.approx(7200 / (43205.184 + 60.6 + 0.48))


def test_shipped_figures_give_days_always_on_and_months_power_gated() -> None:
    params, sources = power.parse_power_params(tomllib.loads(SHIPPED.read_text()), str(SHIPPED))
    assert (params.battery_mah, params.battery_v) == (10000, 3.7)
    b = power.compute_budget(params, triggers_per_day=20, hit_fraction=0.05)
    assert 1.5 <= b.life_days("always-on") <= 4  # "a few days"
    assert 4 * 30 <= b.life_days("power-gated") <= 12 * 30  # "months" (DESIGN: ~6-12)
    assert all(sources.values())


def test_shipped_figures_that_cite_facts_match_facts() -> None:
    if not FACTS.exists():
        pytest.skip("../shared/FACTS.md is not on this machine")
    facts = FACTS.read_text()
    params, sources = power.parse_power_params(tomllib.loads(SHIPPED.read_text()), str(SHIPPED))
    assert "~120 mA at 5 V idle" in facts and params.pi_idle_w == pytest.approx(0.120 * 5)
    assert "370.688" in facts and params.lora_airtime_s == 0.370688
    assert "TX ~45 mA at 14 dBm" in facts and params.lora_tx_ma == 45
    assert "boot to a running service ~12 s" in facts and params.pi_boot_s == 12
    assert "FACTS" in sources["pi_idle_w"]


def test_more_triggers_never_lengthen_battery_life() -> None:
    p = _hand_params()
    for design in power.DESIGNS:
        days = power.life_curve(p, design, [0, 1, 10, 100, 1000], hit_fraction=0.1)
        assert days == sorted(days, reverse=True)


def test_a_figure_without_a_source_is_refused_naming_it() -> None:
    doc = _doc(HAND)
    del doc["pi"]["idle_w"]["source"]
    with pytest.raises(ConfigError, match=r"hand.toml: pi.idle_w.source: every figure needs"):
        power.parse_power_params(doc, "hand.toml")


def test_unknown_missing_and_out_of_range_figures_are_refused() -> None:
    doc = _doc(HAND)
    doc["pi"]["idle_mw"] = {"value": 1, "source": "x"}
    with pytest.raises(ConfigError, match=r"pi.idle_mw: unknown figure"):
        power.parse_power_params(doc, "f")
    doc = _doc(HAND)
    del doc["board"]["divider_ua"]
    with pytest.raises(ConfigError, match=r"board.divider_ua: missing"):
        power.parse_power_params(doc, "f")
    doc = _doc(HAND)
    doc["converter"]["efficiency"]["value"] = 1.5
    with pytest.raises(ConfigError, match=r"converter.efficiency.value: must be in 0.05..1"):
        power.parse_power_params(doc, "f")


def test_cli_prints_table_and_assumptions_and_writes_png(tmp_path: Path, capsys) -> None:
    png = tmp_path / "power.png"
    rc = main(["power-budget", "--params", str(SHIPPED), "--plot", str(png)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "battery life, days" in out and "assumptions:" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_battery_override_scales_life(capsys) -> None:
    def life(extra: list[str]) -> list[float]:
        main(["power-budget", "--params", str(SHIPPED), *extra])
        line = next(x for x in capsys.readouterr().out.splitlines() if "life, days" in x)
        return [float(v) for v in line.split()[-2:]]

    base, double = life([]), life(["--battery-mah", "20000"])
    assert double == pytest.approx([2 * x for x in base], rel=0.01)


def test_cli_bad_hit_fraction_and_missing_params_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["power-budget", "--params", str(SHIPPED), "--hit-fraction", "2"]) == 2
    assert "--hit-fraction must be in 0..1" in capsys.readouterr().err
    assert main(["power-budget", "--params", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: (file): not found" in capsys.readouterr().err


def test_cli_unwritable_plot_and_unreadable_params_exit_2(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    png = blocker / "power.png"  # a directory that cannot exist: its parent is a file
    assert main(["power-budget", "--params", str(SHIPPED), "--plot", str(png)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        f"camtrap power-budget: error: {png}: cannot write the plot: "
    )
    assert main(["power-budget", "--params", str(tmp_path)]) == 2
    assert f"{tmp_path}: (file): cannot read: " in capsys.readouterr().err
