"""Power budget: energy per event and battery life for the always-on and power-gated designs.

Pure arithmetic on a parameter file (``hardware/power.toml``) where every figure carries its
source. Energies are joules drawn from the battery:

* the Pi runs from a boost converter (3.7 V pack to 5 V), so its energy is divided by the
  converter efficiency;
* the MCU, PIR, LoRa modem, load switch and battery divider run from the pack through an LDO
  (or directly), so their energy is current x pack voltage x time.

Always-on: the Pi idles all day; an event costs only what it draws above idle. Power-gated:
between events only the sleep floor (MCU, PIR, modem, load switch, divider) draws; an event
costs a whole boot, capture, inference, storage and shutdown, plus the MCU awake meanwhile.
Radio: one LoRaWAN uplink per hit (and per heartbeat), TX plus receive windows.

    params = parse_power_params(tomllib.loads(text), "hardware/power.toml")
    budget = compute_budget(params, triggers_per_day=20, hit_fraction=0.05)
    budget.designs["power-gated"].life_days
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from camtrap.errors import ConfigError

SECONDS_PER_DAY = 86_400.0
DAYS_PER_MONTH = 30.44
DESIGNS = ("always-on", "power-gated")
EVENT_PARTS = ("boot", "capture", "inference", "storage", "shutdown", "mcu", "radio")

# field name -> (section.key in the file, lower bound, upper bound)
_KEYS: dict[str, tuple[str, float, float]] = {
    "battery_mah": ("battery.capacity_mah", 1, 1e7),
    "battery_v": ("battery.voltage_v", 0.5, 60),
    "usable_fraction": ("battery.usable_fraction", 0.01, 1),
    "converter_efficiency": ("converter.efficiency", 0.05, 1),
    "pi_idle_w": ("pi.idle_w", 0, 50),
    "pi_boot_s": ("pi.boot_s", 0, 600),
    "pi_boot_w": ("pi.boot_w", 0, 50),
    "pi_shutdown_s": ("pi.shutdown_s", 0, 600),
    "pi_shutdown_w": ("pi.shutdown_w", 0, 50),
    "camera_start_s": ("pi.camera_start_s", 0, 60),
    "capture_w": ("pi.capture_w", 0, 50),
    "inference_s_per_frame": ("pi.inference_s_per_frame", 0, 60),
    "inference_w": ("pi.inference_w", 0, 50),
    "storage_s": ("pi.storage_s", 0, 60),
    "storage_w": ("pi.storage_w", 0, 50),
    "frames": ("burst.frames", 1, 60),
    "frame_interval_s": ("burst.interval_s", 0, 10),
    "mcu_sleep_ua": ("mcu.sleep_ua", 0, 1e5),
    "mcu_active_ma": ("mcu.active_ma", 0, 1e4),
    "pir_ua": ("pir.supply_ua", 0, 1e5),
    "modem_sleep_ua": ("lora.sleep_ua", 0, 1e5),
    "lora_tx_ma": ("lora.tx_ma", 0, 1e4),
    "lora_airtime_s": ("lora.airtime_s", 0, 60),
    "lora_rx_ma": ("lora.rx_ma", 0, 1e4),
    "lora_rx_s": ("lora.rx_s", 0, 60),
    "heartbeats_per_day": ("lora.heartbeats_per_day", 0, 1e4),
    "load_switch_ua": ("board.load_switch_ua", 0, 1e5),
    "divider_ua": ("board.divider_ua", 0, 1e5),
}


@dataclass(frozen=True)
class PowerParams:
    """Every figure of the budget; units in the names. See ``hardware/power.toml``."""

    battery_mah: float
    battery_v: float
    usable_fraction: float
    converter_efficiency: float
    pi_idle_w: float
    pi_boot_s: float
    pi_boot_w: float
    pi_shutdown_s: float
    pi_shutdown_w: float
    camera_start_s: float
    capture_w: float
    inference_s_per_frame: float
    inference_w: float
    storage_s: float
    storage_w: float
    frames: float
    frame_interval_s: float
    mcu_sleep_ua: float
    mcu_active_ma: float
    pir_ua: float
    modem_sleep_ua: float
    lora_tx_ma: float
    lora_airtime_s: float
    lora_rx_ma: float
    lora_rx_s: float
    heartbeats_per_day: float
    load_switch_ua: float
    divider_ua: float

    @property
    def battery_j(self) -> float:
        """Usable energy in the pack."""
        return self.battery_mah / 1000 * 3600 * self.battery_v * self.usable_fraction

    @property
    def burst_s(self) -> float:
        return self.frames * self.frame_interval_s

    @property
    def inference_s(self) -> float:
        return self.frames * self.inference_s_per_frame


@dataclass(frozen=True)
class DesignBudget:
    design: str
    per_event_j: dict[str, float]  # EVENT_PARTS -> joules from the battery
    standby_j_per_day: float
    events_j_per_day: float
    heartbeats_j_per_day: float

    @property
    def event_j(self) -> float:
        return sum(self.per_event_j.values())

    @property
    def day_j(self) -> float:
        return self.standby_j_per_day + self.events_j_per_day + self.heartbeats_j_per_day


@dataclass(frozen=True)
class Budget:
    params: PowerParams
    triggers_per_day: float
    hit_fraction: float
    designs: dict[str, DesignBudget]

    def life_days(self, design: str) -> float:
        return self.params.battery_j / self.designs[design].day_j


# -- parsing ------------------------------------------------------------------------------------


def parse_power_params(raw: dict[str, Any], source: str) -> tuple[PowerParams, dict[str, str]]:
    """Validate the parameter document; returns the params and each figure's source text.

    Each figure is a table ``{value = 0.6, unit = "W", source = "..."}``; a figure without a
    source is an error, like an unknown or missing key.
    """
    values, sources = read_figures(raw, source, _KEYS)
    return PowerParams(**values), sources


def read_figures(
    raw: dict[str, Any], source: str, keys: dict[str, tuple[str, Any, Any]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """A sourced-figures document (power.toml, capture.toml) checked against ``keys``
    (name -> (dotted key, lo, hi); ``lo`` None for a string figure): values and sources."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    wanted = {dotted: name for name, (dotted, _, _) in keys.items()}
    for section, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(source, section, "must be a table of figures")
        for key, entry in table.items():
            dotted = f"{section}.{key}"
            if dotted not in wanted:
                known = ", ".join(sorted(wanted))
                raise ConfigError(source, dotted, f"unknown figure (known: {known})")
            name = wanted[dotted]
            values[name], sources[name] = _parse_figure(entry, source, dotted, keys[name])
    for name, (dotted, _, _) in keys.items():
        if name not in values:
            raise ConfigError(source, dotted, "missing")
    return values, sources


def _parse_figure(
    entry: Any, source: str, dotted: str, spec: tuple[str, Any, Any]
) -> tuple[Any, str]:
    if not isinstance(entry, dict) or "value" not in entry:
        raise ConfigError(source, dotted, 'must be a table like {value = 1.0, source = "..."}')
    unknown = set(entry) - {"value", "unit", "source"}
    if unknown:
        raise ConfigError(source, dotted, f"unknown field(s) {sorted(unknown)}")
    value, where = entry["value"], entry.get("source", "")
    _, lo, hi = spec
    if lo is None:
        if not isinstance(value, str):
            raise ConfigError(source, f"{dotted}.value", f"must be a string, got {value!r}")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(source, f"{dotted}.value", f"must be a number, got {value!r}")
    if not isinstance(where, str) or not where.strip():
        raise ConfigError(source, f"{dotted}.source", "every figure needs its source")
    if lo is None:
        return value, where
    if not lo <= value <= hi:
        raise ConfigError(source, f"{dotted}.value", f"must be in {lo:g}..{hi:g}, got {value}")
    return float(value), where


def with_overrides(params: PowerParams, **changes: float | None) -> PowerParams:
    """A copy with the given figures replaced (None = keep)."""
    kept = {f.name: getattr(params, f.name) for f in fields(params)}
    kept |= {k: float(v) for k, v in changes.items() if v is not None}
    return PowerParams(**kept)


# -- arithmetic ---------------------------------------------------------------------------------


def uplink_j(p: PowerParams) -> float:
    """One LoRaWAN uplink: TX for its airtime plus the receive windows, from the pack."""
    return (p.lora_tx_ma * p.lora_airtime_s + p.lora_rx_ma * p.lora_rx_s) / 1000 * p.battery_v


def pi_on_s(p: PowerParams) -> float:
    """How long the Pi is powered per event in the gated design."""
    return (
        p.pi_boot_s + p.camera_start_s + p.burst_s + p.inference_s + p.storage_s + p.pi_shutdown_s
    )


def _pi_j(seconds: float, watts: float, p: PowerParams) -> float:
    return seconds * watts / p.converter_efficiency


def _ua_j_per_day(microamps: float, p: PowerParams) -> float:
    return microamps * 1e-6 * p.battery_v * SECONDS_PER_DAY


def always_on_event_j(p: PowerParams, hit_fraction: float) -> dict[str, float]:
    """An event on an always-on Pi: only the power above idle counts."""
    above = max(0.0, p.capture_w - p.pi_idle_w)
    return {
        "boot": 0.0,
        "capture": _pi_j(p.camera_start_s + p.burst_s, above, p),
        "inference": _pi_j(p.inference_s, max(0.0, p.inference_w - p.pi_idle_w), p),
        "storage": _pi_j(p.storage_s, max(0.0, p.storage_w - p.pi_idle_w), p),
        "shutdown": 0.0,
        "mcu": 0.0,
        "radio": hit_fraction * uplink_j(p),
    }


def power_gated_event_j(p: PowerParams, hit_fraction: float) -> dict[str, float]:
    """An event on a gated Pi: boot, work, shut down; the MCU stays awake meanwhile."""
    return {
        "boot": _pi_j(p.pi_boot_s, p.pi_boot_w, p),
        "capture": _pi_j(p.camera_start_s + p.burst_s, p.capture_w, p),
        "inference": _pi_j(p.inference_s, p.inference_w, p),
        "storage": _pi_j(p.storage_s, p.storage_w, p),
        "shutdown": _pi_j(p.pi_shutdown_s, p.pi_shutdown_w, p),
        "mcu": p.mcu_active_ma / 1000 * p.battery_v * pi_on_s(p),
        "radio": hit_fraction * uplink_j(p),
    }


def standby_j_per_day(p: PowerParams, design: str) -> float:
    """Energy per day between events."""
    if design == "always-on":  # the Pi watches the PIR; the modem sleeps on the Pi's UART
        pi = _pi_j(SECONDS_PER_DAY, p.pi_idle_w, p)
        return pi + _ua_j_per_day(p.pir_ua + p.modem_sleep_ua + p.divider_ua, p)
    floor = p.mcu_sleep_ua + p.pir_ua + p.modem_sleep_ua + p.load_switch_ua + p.divider_ua
    return _ua_j_per_day(floor, p)


def design_budget(
    p: PowerParams, design: str, triggers_per_day: float, hit_fraction: float
) -> DesignBudget:
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}")
    event = (always_on_event_j if design == "always-on" else power_gated_event_j)(p, hit_fraction)
    return DesignBudget(
        design=design,
        per_event_j=event,
        standby_j_per_day=standby_j_per_day(p, design),
        events_j_per_day=triggers_per_day * sum(event.values()),
        heartbeats_j_per_day=p.heartbeats_per_day * uplink_j(p),
    )


def compute_budget(p: PowerParams, triggers_per_day: float, hit_fraction: float) -> Budget:
    if triggers_per_day < 0 or not 0 <= hit_fraction <= 1:
        raise ValueError("triggers_per_day >= 0 and 0 <= hit_fraction <= 1")
    designs = {d: design_budget(p, d, triggers_per_day, hit_fraction) for d in DESIGNS}
    return Budget(p, triggers_per_day, hit_fraction, designs)


def life_curve(p: PowerParams, design: str, rates: list[float], hit_fraction: float) -> list[float]:
    """Battery life in days at each trigger rate (for the plot)."""
    return [p.battery_j / design_budget(p, design, r, hit_fraction).day_j for r in rates]


def assumptions(p: PowerParams) -> list[str]:
    """What the model takes for granted, in words, with this file's numbers."""
    return [
        f"usable pack energy = {p.battery_mah:g} mAh x {p.battery_v:g} V x "
        f"{p.usable_fraction:g} = {p.battery_j / 1000:.1f} kJ (cold cuts Li-ion capacity: "
        "lower battery.usable_fraction for winter sites)",
        f"the Pi runs through a {p.converter_efficiency:.0%} efficient boost converter; "
        "MCU, PIR and modem draw from the pack at pack voltage",
        "always-on: the Pi idles all day with the camera stopped; an event costs only the power "
        "above idle (camera start, burst, inference, storage)",
        f"power-gated: each trigger boots the Pi ({p.pi_boot_s:g} s), captures, classifies, "
        f"stores and halts ({p.pi_shutdown_s:g} s); the MCU is awake for all "
        f"{pi_on_s(p):g} s of it",
        f"every trigger runs the whole burst ({p.frames:g} frames, {p.frame_interval_s:g} s "
        "apart): early exit and empty triggers only make it cheaper",
        f"only hits are sent (one {p.lora_airtime_s * 1000:g} ms LoRaWAN uplink + receive "
        f"windows each), plus {p.heartbeats_per_day:g} heartbeat uplink(s) a day",
        "no Wi-Fi/LTE, no pack self-discharge, no solar; a trigger during a running event "
        "is not a new boot",
    ]
