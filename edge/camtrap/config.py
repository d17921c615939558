"""Strict TOML configuration, one frozen section per concern.

Parsing is pure (`parse_config(dict, source)`); loading reads the file (`load_config(path)`).
Unknown keys, wrong types and out-of-range values raise `ConfigError` naming the file and the
dotted key path; a file with several mistakes raises them all at once (`ConfigErrors`, one line
each). Each component receives only its own section.

A field's limits live in its metadata::

    port: int = field(default=1883, metadata=rng(1, 65535))

Numbers must be finite everywhere (TOML has ``nan`` and ``inf``; a ``cooldown_s = nan`` made a
trap that armed and then dropped every trigger): a non-finite float is a `ConfigError` naming
its key path. A tuple's ``min``/``max`` bound each item, ``items`` its length; a string's
``pattern`` is matched whole (the device id: letters, digits, ``-`` and ``_``).

Sections are added by the part of the service that owns them; keep each class next to its
siblings here so `camtrap validate-config` and the README reference see them all.
"""

from __future__ import annotations

import math
import re
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from camtrap.errors import ConfigError, Problems
from camtrap.tomlfile import read_toml


def rng(lo: float | None = None, hi: float | None = None, doc: str = "") -> dict[str, Any]:
    """Metadata for a numeric field with inclusive bounds."""
    return {"min": lo, "max": hi, "doc": doc}


def doc(text: str) -> dict[str, Any]:
    """Metadata with only a description (shown by the config reference)."""
    return {"doc": text}


DEVICE_ID = r"[A-Za-z0-9_-]{1,64}"  # part of topics, event ids, file names and client ids


# --------------------------------------------------------------------------------------------
# Sections


@dataclass(frozen=True)
class DeviceConfig:
    id: str = field(
        default="camtrap-01",
        metadata={
            "doc": "device id, part of every event id: 1-64 of A-Z a-z 0-9 - _",
            "pattern": DEVICE_ID,
            "pattern_doc": "1 to 64 ASCII letters, digits, '-' or '_'",
        },
    )
    data_dir: str = field(default="/var/lib/camtrap", metadata=doc("bursts, outbox, state"))
    mode: Literal["always-on", "power-gated"] = field(
        default="always-on", metadata=doc("who watches the PIR: the Pi, or the MCU")
    )


@dataclass(frozen=True)
class TriggerConfig:
    source: Literal["gpio", "mcu"] = field(
        default="gpio", metadata=doc("gpio: PIR on a Pi pin; mcu: TRIGGER frames on the link")
    )
    pir_pin: int = field(default=17, metadata=rng(0, 27, "BCM pin of the PIR output"))
    cooldown_s: float = field(default=5.0, metadata=rng(0, 3600, "retrigger lockout"))
    max_pending: int = field(
        default=1, metadata=rng(0, 100, "triggers during a burst kept for a follow-up burst")
    )
    sample_rate: float = field(default=10.0, metadata=rng(1, 1000, "gpiozero MotionSensor"))
    queue_len: int = field(default=1, metadata=rng(1, 100, "gpiozero MotionSensor"))
    threshold: float = field(default=0.5, metadata=rng(0, 1, "gpiozero MotionSensor"))


@dataclass(frozen=True)
class CameraConfig:
    frames: int = field(default=5, metadata=rng(1, 60, "frames per burst"))
    interval_s: float = field(default=0.5, metadata=rng(0, 10, "seconds between frames"))
    main_size: tuple[int, int] = field(
        default=(1920, 1080), metadata=rng(16, 9152, "saved frames [w, h], pixels each")
    )
    lens_position: float | None = field(
        default=None, metadata=rng(0, 32, "dioptres; unset = leave autofocus alone")
    )
    settle_frames: int = field(default=6, metadata=rng(0, 60, "auto-exposure frames dropped"))
    tuning_file: str = field(default="", metadata=doc("e.g. imx708_noir.json for NoIR"))
    ir_pin: int = field(default=27, metadata=rng(0, 27, "BCM pin of the IR lamp enable"))
    ir_mode: Literal["off", "auto", "on"] = field(
        default="auto", metadata=doc("IR lamp: off, on for every burst, or auto when dark")
    )
    ir_lux_below: float = field(default=5.0, metadata=rng(0, 1e5, "auto: lamp on below this lux"))
    timeout_s: float = field(default=5.0, metadata=rng(0.1, 120, "per-frame capture timeout"))
    retries: int = field(default=2, metadata=rng(0, 10, "camera restarts before reporting"))
    save_frames: bool = field(default=True, metadata=doc("store main-stream frames"))
    max_pixels: int = field(
        default=24_000_000,
        metadata=rng(
            100_000,
            200_000_000,
            "recorded frames (replay, sim) above this are refused from their header, before "
            "decoding: 24 MP is twice a Pi camera's 12 MP",
        ),
    )


@dataclass(frozen=True)
class ModelConfig:
    path: str = field(
        default="models/camtrap-demo/model.tflite",
        metadata=doc(".tflite file, or a model directory (its model.json names the file)"),
    )
    labels: str = field(default="", metadata=doc("labels file; empty = labels.txt beside it"))
    num_threads: int = field(default=2, metadata=rng(1, 8, "keep <= cores"))
    check_hash: bool = field(default=True, metadata=doc("refuse a model whose sha256 != card"))


@dataclass(frozen=True)
class VerdictConfig:
    targets: tuple[str, ...] = field(
        default=(),
        metadata={
            "doc": "target labels; empty = the model card's targets",
            "items": (0, 64),
            "pattern": r"\S(.*\S)?",
            "pattern_doc": "a non-empty label without leading or trailing spaces",
        },
    )
    rule: Literal["k_of_n", "mean_top_k", ""] = field(
        default="", metadata=doc("burst rule; empty = the model card's")
    )
    threshold: float | None = field(default=None, metadata=rng(0, 1, "burst threshold"))
    k: int | None = field(default=None, metadata=rng(1, 60, "k of the rule"))
    early_exit: bool | None = field(
        default=None, metadata=doc("stop the burst once settled; unset = the model card's")
    )
    target_groups: dict[str, tuple[str, ...]] = field(
        default_factory=dict,
        metadata=doc(
            "label roll-up: NAME = [labels]; a target naming a group scores the sum of its "
            "members (over the card's groups of that name)"
        ),
    )


@dataclass(frozen=True)
class StorageConfig:
    enabled: bool = field(default=True, metadata=doc("store bursts under data_dir/bursts"))
    quota_mb: float = field(
        default=2048.0, metadata=rng(1, 10_000_000, "above this, oldest non-hits go first")
    )
    jpeg_quality: int = field(
        default=85,
        metadata=rng(
            10,
            100,
            "JPEG quality of stored frames: the Pi camera's, and replayed "
            "frames without stored bytes",
        ),
    )


@dataclass(frozen=True)
class MqttConfig:
    enabled: bool = field(default=False, metadata=doc("off: print what would be sent"))
    host: str = field(default="localhost", metadata=doc("broker host name or address"))
    port: int = field(default=1883, metadata=rng(1, 65535, "1883 plain, 8883 TLS"))
    tls: bool = field(default=False, metadata=doc("TLS, verifying the broker's certificate"))
    ca_file: str = field(default="", metadata=doc("CA bundle for TLS; empty = system CAs"))
    username: str = field(default="", metadata=doc("empty = anonymous"))
    password: str = field(default="", repr=False, metadata=doc("secret; prefer password_file"))
    password_file: str = field(default="", metadata=doc("file holding the password"))
    topic_prefix: str = field(default="camtrap", metadata=doc("topics: <prefix>/<device>/..."))
    client_id: str = field(default="", metadata=doc("empty = camtrap-<device id>"))
    keepalive_s: int = field(default=60, metadata=rng(5, 3600, "MQTT keepalive"))
    backoff_min_s: float = field(default=1.0, metadata=rng(0.1, 600, "first reconnect delay"))
    backoff_max_s: float = field(default=120.0, metadata=rng(1, 86400, "reconnect delay cap"))


@dataclass(frozen=True)
class TelemetryConfig:
    interval_s: float = field(default=3600.0, metadata=rng(10, 86400, "telemetry period"))


@dataclass(frozen=True)
class LinkConfig:
    port: str = field(default="/dev/serial0", metadata=doc("UART to the companion MCU"))
    baud: int = field(default=115200, metadata=rng(1200, 3_000_000))
    ack_timeout_s: float = field(default=0.5, metadata=rng(0.01, 30))
    retries: int = field(default=3, metadata=rng(0, 20))
    halt_command: str = field(
        default="systemctl poweroff",
        metadata=doc("run when the MCU asks the Pi to halt; empty = only acknowledge"),
    )
    shutdown_hold_s: float = field(
        default=10.0,
        metadata=rng(0, 120, "max wait for queued HITs before halting, from the MCU's request"),
    )
    mqtt_linger_s: float = field(
        default=10.0,
        metadata=rng(
            0,
            60,
            "power-gated: max wait for MQTT hits before acking SHUTDOWN; max(this, "
            "shutdown_hold_s) + the halt time must stay below the MCU's shutdown_grace_s (20)",
        ),
    )


@dataclass(frozen=True)
class LoraConfig:
    enabled: bool = field(default=False, metadata=doc("send hits over LoRaWAN"))
    via: Literal["mcu", "serial"] = field(
        default="mcu", metadata=doc("mcu: HIT frames to the MCU; serial: a modem on the Pi")
    )
    modem: Literal["lora-e5", "rak3172"] = field(
        default="lora-e5", metadata=doc("AT modem: Seeed LoRa-E5 / Wio-E5, or RAK3172 (RUI3)")
    )
    port: str = field(default="/dev/ttyUSB0", metadata=doc("modem port when via = serial"))
    region: Literal["EU868", "US915", "AS923", "IN865", "KR920", "RU864", "CN470"] = field(
        default="EU868", metadata=doc("LoRaWAN region: payload limits and airtime accounting")
    )
    daily_airtime_s: float = field(default=30.0, metadata=rng(0, 86400, "TTN fair use: 30"))
    confirmed: bool = field(default=False, metadata=doc("confirmed uplinks cost downlinks"))
    baud: int = field(default=0, metadata=rng(0, 3_000_000, "0 = the modem's default"))
    data_rate: int | None = field(
        default=None, metadata=rng(0, 15, "airtime accounting DR; unset = slowest for 11 B")
    )
    reserve_hits: int = field(
        default=10, metadata=rng(0, 1000, "daily budget kept for hits, in uplinks")
    )
    heartbeat_interval_s: float = field(
        default=21600.0, metadata=rng(600, 604800, "heartbeat uplink period")
    )


@dataclass(frozen=True)
class HomeAssistantConfig:
    enabled: bool = field(default=False, metadata=doc("publish MQTT discovery configs"))
    discovery_prefix: str = field(
        default="homeassistant", metadata=doc("discovery topics; <prefix>/status = HA birth")
    )


@dataclass(frozen=True)
class Config:
    device: DeviceConfig = DeviceConfig()
    trigger: TriggerConfig = TriggerConfig()
    camera: CameraConfig = CameraConfig()
    model: ModelConfig = ModelConfig()
    verdict: VerdictConfig = VerdictConfig()
    storage: StorageConfig = StorageConfig()
    mqtt: MqttConfig = MqttConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    link: LinkConfig = LinkConfig()
    lora: LoraConfig = LoraConfig()
    homeassistant: HomeAssistantConfig = HomeAssistantConfig()


def check_mode(cfg: Config, source: str) -> None:
    """A power-gated Pi is only ever woken by the MCU: its triggers must come over the link."""
    if cfg.device.mode == "power-gated" and cfg.trigger.source != "mcu":
        raise ConfigError(
            source, "trigger.source", 'must be "mcu" when device.mode = "power-gated"'
        )


# --------------------------------------------------------------------------------------------
# Parsing


def load_config(path: str | Path | None) -> Config:
    """Read and validate a TOML config; ``None`` gives the defaults."""
    if path is None:
        return Config()
    return parse_config(read_toml(path), str(path))


def parse_config(raw: dict[str, Any], source: str = "<config>") -> Config:
    """Validate a parsed TOML document into a `Config`."""
    return _parse_dataclass(Config, raw, source, "")


def _parse_dataclass(cls: type, table: Any, source: str, prefix: str) -> Any:
    """Every problem of the table (unknown, missing, bad keys, nested ones too) is collected
    and raised together, so one run of `camtrap validate-config` shows them all."""
    if not isinstance(table, dict):
        raise ConfigError(source, prefix or "(root)", f"must be a table, got {_kind(table)}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    found = Problems()
    for key in table:
        if key not in known:
            where = f"{prefix}.{key}" if prefix else key
            choices = ", ".join(sorted(known))
            found.add(ConfigError(source, where, f"unknown key (known here: {choices})"))
    values: dict[str, Any] = {}
    for name, f in known.items():
        path = f"{prefix}.{name}" if prefix else name
        if name in table:
            with found.check():
                values[name] = _parse_value(hints[name], table[name], f.metadata, source, path)
        elif f.default is MISSING and f.default_factory is MISSING:
            found.add(ConfigError(source, path, "missing"))
    found.raise_any()
    return cls(**values)


def _parse_value(tp: Any, value: Any, meta: Any, source: str, path: str) -> Any:
    origin, args = get_origin(tp), get_args(tp)
    if is_dataclass(tp):
        return _parse_dataclass(typing.cast(type, tp), value, source, path)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _parse_value(inner[0], value, meta, source, path)
    if origin is Literal:
        if value not in args:
            allowed = ", ".join(repr(a) for a in args if a != "")
            raise ConfigError(source, path, f"must be one of {allowed}, got {value!r}")
        return value
    if origin is tuple:
        return _parse_tuple(args, value, meta, source, path)
    if origin is dict:
        return _parse_table(args[1], value, meta, source, path)
    return _parse_scalar(tp, value, meta, source, path)


def _parse_table(inner: Any, value: Any, meta: Any, source: str, path: str) -> dict[str, Any]:
    """A table of free keys (``[verdict.target_groups]``), each value of type ``inner``."""
    if not isinstance(value, dict):
        raise ConfigError(source, path, f"must be a table, got {_kind(value)}")
    return {str(k): _parse_value(inner, v, meta, source, f"{path}.{k}") for k, v in value.items()}


def _parse_tuple(args: tuple[Any, ...], value: Any, meta: Any, source: str, path: str) -> Any:
    if not isinstance(value, list):
        raise ConfigError(source, path, f"must be an array, got {_kind(value)}")
    if len(args) == 2 and args[1] is Ellipsis:
        lo, hi = meta.get("items", (0, None))
        if len(value) < lo or (hi is not None and len(value) > hi):
            raise ConfigError(
                source, path, f"must have {lo}..{'' if hi is None else hi} items, got {len(value)}"
            )
        return tuple(
            _parse_value(args[0], v, meta, source, f"{path}[{i}]") for i, v in enumerate(value)
        )
    if len(value) != len(args):
        raise ConfigError(source, path, f"must have {len(args)} items, got {len(value)}")
    return tuple(
        _parse_value(a, v, meta, source, f"{path}[{i}]")
        for i, (a, v) in enumerate(zip(args, value, strict=True))
    )


def _parse_scalar(tp: Any, value: Any, meta: Any, source: str, path: str) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(source, path, f"must be true or false, got {_kind(value)}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(source, path, f"must be a string, got {_kind(value)}")
        pattern = meta.get("pattern")
        if pattern is not None and not re.fullmatch(pattern, value, re.ASCII):
            raise ConfigError(source, path, f"must be {meta['pattern_doc']}, got {value!r}")
        return value
    if tp in (int, float):
        ok = isinstance(value, int) if tp is int else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            raise ConfigError(source, path, f"must be {_article(tp)}, got {_kind(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(source, path, f"must be a finite number, got {value}")
        _check_range(value, meta, source, path)
        try:
            return tp(value)
        except OverflowError:  # an integer too large for a float
            raise ConfigError(source, path, "must be a finite number, got a huge integer") from None
    raise TypeError(f"config field {path}: unsupported type {tp!r}")  # a bug in this module


def _check_range(value: float, meta: Any, source: str, path: str) -> None:
    lo, hi = meta.get("min"), meta.get("max")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(source, path, f"must be in {_fmt(lo)}..{_fmt(hi)}, got {value}")


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def _article(tp: type) -> str:
    return "an integer" if tp is int else "a number"


def _kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__) + (
        f" ({value!r})" if isinstance(value, int | float | str) else ""
    )


def reference() -> list[tuple[str, str, str, str]]:
    """Every key as (dotted key, type, TOML default, description), for docs/config.md."""
    rows: list[tuple[str, str, str, str]] = []
    hints = typing.get_type_hints(Config)
    for section in fields(Config):
        cls = hints[section.name]
        sub_hints = typing.get_type_hints(cls)
        for f in fields(cls):
            meta = f.metadata
            bounds = ""
            if meta.get("min") is not None or meta.get("max") is not None:
                bounds = f" [{_fmt(meta.get('min'))}..{_fmt(meta.get('max'))}]"
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            rows.append(
                (
                    f"{section.name}.{f.name}",
                    _type_name(sub_hints[f.name]),
                    _toml_value(default),
                    str(meta.get("doc", "")) + bounds,
                )
            )
    return rows


def _type_name(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        return " / ".join(f'"{a}"' for a in args if a != "")
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + " (optional)"
    if origin is tuple:
        inner = ["..." if a is Ellipsis else _type_name(a) for a in args]
        return "[" + ", ".join(inner) + "]"
    if origin is dict:
        return f"table of {_type_name(args[1])}"
    return {bool: "bool", int: "int", float: "number", str: "string"}.get(tp, str(tp))


def _toml_value(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)
