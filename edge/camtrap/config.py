"""Strict TOML configuration, one frozen section per concern.

Parsing is pure (`parse_config(dict, source)`, the typed parser of `camtrap.tomlschema`);
loading reads the file (`load_config(path)`, through `camtrap.tomlfile`).
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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from camtrap.core.deployment import Deployment
from camtrap.errors import ConfigError
from camtrap.tomlfile import read_toml
from camtrap.tomlschema import parse_table, schema_reference


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
class RegionsConfig:
    mode: Literal["auto", "off"] = field(
        default="auto",
        metadata=doc(
            "auto: judge each frame by its regions (motion boxes, else tiles, and the full frame)"
            " when it is larger than the model input; off: classify whole frames only"
        ),
    )
    working_width: int = field(
        default=1280,
        metadata=rng(
            64,
            4608,
            "width of the frames regions are cut from: the camera's inference stream, and "
            "replay's decode (a JPEG decodes at no less than this)",
        ),
    )
    max_regions: int = field(
        default=2, metadata=rng(0, 16, "motion regions classified per frame besides the full one")
    )
    tile_scales: tuple[float, ...] = field(
        default=(0.6,),
        metadata=rng(
            0.1,
            1.0,
            "fallback tiles of a burst: side / the frame's short side, one per scale (a "
            "one-frame burst gets the squares of its short side)",
        ),
    )
    min_box: float = field(
        default=0.03,
        metadata=rng(0.0, 0.5, "motion boxes narrower and lower than this share of the frame"),
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
    expire_after_s: int = field(
        default=30 * 86400,
        metadata=rng(60, 365 * 86400, '"Last hit" is kept across HA restarts this long'),
    )


@dataclass(frozen=True)
class PictureConfig:
    enabled: bool = field(default=True, metadata=doc("a JPEG of the best region with each hit"))
    max_bytes: int = field(
        default=30_000, metadata=rng(2_000, 1_000_000, "byte budget (LTE-M: keep it small)")
    )
    max_side: int = field(default=640, metadata=rng(96, 4096, "long side in pixels, at most"))
    margin: float = field(default=0.25, metadata=rng(0, 2, "context around the box, x its size"))


@dataclass(frozen=True)
class NotifyConfig:
    enabled: bool = field(default=False, metadata=doc("tell a phone of each hit (Apprise)"))
    urls_file: str = field(
        default="/etc/camtrap/notify.urls", metadata=doc("Apprise URLs, one a line (secrets)")
    )
    min_interval_s: float = field(
        default=300.0, metadata=rng(0, 86400, "rate limit per trap; held hits go together")
    )
    quiet_hours: str = field(default="", metadata=doc('local "22:00-06:00"; empty = none'))
    timezone: str = field(
        default="UTC", metadata=doc("IANA zone of quiet_hours, e.g. Asia/Vladivostok")
    )
    location: str = field(default="", metadata=doc("where the trap is, said in each notification"))
    backoff_min_s: float = field(default=5.0, metadata=rng(0.01, 3600, "first retry delay"))
    backoff_max_s: float = field(default=600.0, metadata=rng(1, 86400, "retry delay cap"))


@dataclass(frozen=True)
class TimeConfig:
    trust_system_clock: bool = field(
        default=False,
        metadata=doc(
            "the system clock is right although the kernel reports no NTP sync (a desktop "
            'simulation, a GPS/PTP clock): bursts record time_source "system"'
        ),
    )
    set_system_clock: bool = field(
        default=True,
        metadata=doc("set the Pi's clock from the MCU's TIME when nothing better (CAP_SYS_TIME)"),
    )


@dataclass(frozen=True)
class Config:
    device: DeviceConfig = DeviceConfig()
    trigger: TriggerConfig = TriggerConfig()
    camera: CameraConfig = CameraConfig()
    model: ModelConfig = ModelConfig()
    verdict: VerdictConfig = VerdictConfig()
    regions: RegionsConfig = RegionsConfig()
    storage: StorageConfig = StorageConfig()
    mqtt: MqttConfig = MqttConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    link: LinkConfig = LinkConfig()
    lora: LoraConfig = LoraConfig()
    homeassistant: HomeAssistantConfig = HomeAssistantConfig()
    picture: PictureConfig = PictureConfig()
    notify: NotifyConfig = NotifyConfig()
    deployment: Deployment = field(default_factory=Deployment)  # frozen, from core
    time: TimeConfig = TimeConfig()


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
    return parse_table(Config, raw, source)


def reference() -> list[tuple[str, str, str, str]]:
    """Every key as (dotted key, type, TOML default, description), for docs/config.md."""
    return schema_reference(Config)
