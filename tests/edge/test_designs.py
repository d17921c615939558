"""The four designs side by side: latencies, the schedule's energy by hand, the shipped figures."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from camtrap.core import designs, power
from camtrap.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CAPTURE = ROOT / "hardware" / "capture.toml"
SHIPPED_POWER = ROOT / "hardware" / "power.toml"

HAND_POWER = {
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


def _shipped_capture_raw() -> dict:
    return tomllib.loads(SHIPPED_CAPTURE.read_text())


def _hand() -> tuple[power.PowerParams, designs.CaptureParams]:
    pw = power.parse_power_params(_doc(HAND_POWER), "hand.toml")[0]
    raw = _shipped_capture_raw()
    raw["latency"]["pi_boot_fast_s"]["value"] = 2.0
    raw["schedule"]["windows"]["value"] = "06:00-18:00"
    return pw, designs.parse_capture_params(raw, "capture.toml")[0]


def test_latencies_add_up_the_steps_of_each_design() -> None:
    pw, cp = _hand()
    assert designs.latency_s("gated-stock", pw, cp) == pytest.approx(1.0 + 10 + 1)
    assert designs.latency_s("gated-fast", pw, cp) == pytest.approx(1.0 + 2 + 1)
    assert designs.latency_s("always-on", pw, cp) == pytest.approx(0.1 + 0.033)
    assert designs.in_window_latency_s(cp) == pytest.approx(0.01 + 0.033)


def test_schedule_energy_matches_the_hand_calculation() -> None:
    pw, cp = _hand()
    # windows 06:00-18:00: the Pi is up half the day
    #   up: 43200 s x (0.4 W / 0.8 + 50 mA x 4 V) = 30240 J; PIR, modem, divider 15 uA half the
    #   day: 0.5 x 15e-6 x 4 x 86400 = 2.592 J; sleep floor 30 uA the other half: 5.184 J
    # one window: a 2 s fast boot (2.5 J) and halt (2.5 J), MCU awake 6 s (1.2 J) = 6.2 J
    # events, half in the window (always-on 6.06 J), half gated with the fast boot:
    #   2.5 + 4.5 + 2.5 + 2.0 + 2.5 + MCU 50 mA x 4 V x 12 s = 2.4, + radio 0.06 = 16.46 J
    #   10 x (0.5 x 6.06 + 0.5 x 16.46) = 112.6 J; two heartbeats 0.48 J
    expected = 30240 + 2.592 + 5.184 + 6.2 + 112.6 + 0.48
    assert designs.scheduled_day_j(pw, cp, 10, 0.25) == pytest.approx(expected)


def test_gated_fast_is_the_power_model_with_the_tuned_boot() -> None:
    pw, cp = _hand()
    fast = power.with_overrides(pw, pi_boot_s=2.0)
    expected = power.design_budget(fast, "power-gated", 10, 0.25).day_j
    assert designs.day_j("gated-fast", pw, cp, 10, 0.25) == pytest.approx(expected)


def test_shipped_figures_rank_the_designs_as_the_field_doc_says() -> None:
    pw = power.parse_power_params(tomllib.loads(SHIPPED_POWER.read_text()), "power.toml")[0]
    cp, sources = designs.parse_capture_params(_shipped_capture_raw(), "capture.toml")
    assert all(s.strip() for s in sources.values())
    table = designs.compare(pw, cp, triggers_per_day=20, hit_fraction=0.05, k=2)
    p = {d: r.p_capture for d, r in table.items()}
    life = {d: r.life_days for d, r in table.items()}
    # latency costs leopards: a stock boot misses a walking leopard, always-on catches it
    assert p["gated-stock"] <= p["gated-fast"] < p["scheduled"] < p["always-on"]
    assert p["gated-stock"] < 0.05 and p["always-on"] > 0.95
    # and battery: the fast boot also saves energy; the Pi kept up costs it
    assert life["gated-fast"] > life["gated-stock"] > life["scheduled"] > life["always-on"]
    best = max(table.values(), key=lambda r: r.leopards_per_pack)
    assert best.design == "gated-fast"  # what the field doc recommends on this pack
    r = table["gated-fast"]
    assert r.leopards_per_pack == pytest.approx(0.15 * r.life_days * r.p_capture)
    assert table["gated-stock"].life_days == pytest.approx(
        power.compute_budget(pw, 20, 0.05).life_days("power-gated")
    )


def test_schedule_mixes_the_two_latencies_by_the_activity_in_its_windows() -> None:
    pw = power.parse_power_params(tomllib.loads(SHIPPED_POWER.read_text()), "power.toml")[0]
    cp = designs.parse_capture_params(_shipped_capture_raw(), "capture.toml")[0]
    cr = designs.crossings(cp, grid=8).walk
    fast = designs.p_capture("gated-fast", pw, cp, cr, 2)
    always = designs.p_capture("always-on", pw, cp, cr, 2)
    sched = designs.p_capture("scheduled", pw, cp, cr, 2)
    a = cp.activity_in_windows
    # inside the windows the latency is the link's, a little under always-on's PIR sampling
    assert sched == pytest.approx(a * always + (1 - a) * fast, abs=0.02)


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda r: r["pir"].pop("range_m"), "pir.range_m: missing"),
        (lambda r: r["pir"].update(colour={"value": 1, "source": "x"}), "pir.colour: unknown"),
        (lambda r: r["camera"]["hfov_deg"].update(value=500), "camera.hfov_deg.value: must be"),
        (lambda r: r["camera"]["hfov_deg"].update(source=" "), "camera.hfov_deg.source"),
        (lambda r: r["schedule"]["windows"].update(value="25:00-26:00"), "schedule.windows"),
        (lambda r: r["schedule"]["windows"].update(value=4), "schedule.windows.value: must be a s"),
        (lambda r: r["animal"]["walk_max_mps"].update(value=0.5), "animal.walk_max_mps"),
    ],
)
def test_bad_capture_figures_name_the_key(edit, key: str) -> None:
    raw = copy.deepcopy(_shipped_capture_raw())
    edit(raw)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        designs.parse_capture_params(raw, "capture.toml")


def test_cli_prints_every_design_with_days_and_capture_and_plots_it(tmp_path: Path, capsys) -> None:
    from camtrap.cli import main

    png = tmp_path / "capture.png"
    args = ["power-budget", "--params", str(SHIPPED_POWER), "--capture", str(SHIPPED_CAPTURE)]
    assert main([*args, "--plot-capture", str(png)]) == 0
    out = capsys.readouterr().out
    rows = {
        label: line
        for line in out.splitlines()
        for label in designs.LABELS.values()
        if line.startswith(label)
    }
    assert set(rows) == set(designs.LABELS.values())
    stock = rows["power-gated, stock boot"].split()
    assert stock[-5:-3] == ["s", "257.4"]  # latency unit, then days on the pack
    assert "in >= 2 of 5 frames" in out and "most walking leopards per pack" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_k_and_capture_file_errors_exit_2_naming_what_is_wrong(tmp_path: Path, capsys) -> None:
    from camtrap.cli import main

    args = ["power-budget", "--params", str(SHIPPED_POWER)]
    assert main([*args, "--capture", str(SHIPPED_CAPTURE), "--k", "9"]) == 2
    assert "--k must be in 1..5" in capsys.readouterr().err
    bad = tmp_path / "capture.toml"
    bad.write_text(SHIPPED_CAPTURE.read_text().replace("value = 94.0", "value = 940.0"))
    assert main([*args, "--capture", str(bad)]) == 2
    assert f"{bad}: pir.fov_deg.value: must be in 1..180, got 940.0" in capsys.readouterr().err
    assert main([*args, "--capture", str(tmp_path / "none.toml")]) == 2
    assert "none.toml: (file): not found" in capsys.readouterr().err
