"""Every message the trap publishes, as pure values: topic, JSON payload, retain flag.

No I/O and no clock: the caller passes ``now``. The MQTT publisher, the dry-run sink and the
tests all build their messages here, so the wire format lives in one place.

    >>> t = topics("camtrap", "trap-07")
    >>> t.hit, t.availability
    ('camtrap/trap-07/hit', 'camtrap/trap-07/availability')
    >>> iso_utc(1795500000.4)
    '2026-11-24T06:00:00Z'

Hit JSON (``v`` 1) field names are shared with the LoRa payload formatter, which decodes an
uplink to the same keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from camtrap.core.types import Hit

SCHEMA_VERSION = 1
ONLINE = "online"
OFFLINE = "offline"

Counter = int | float | str | None

_TOPIC_FORBIDDEN = re.compile(r"[+#\x00]")
_OBJECT_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Publication:
    """One MQTT message to send."""

    topic: str
    payload: str
    retain: bool = False
    qos: int = 1


@dataclass(frozen=True)
class Topics:
    """The topics of one device: ``<prefix>/<device_id>/<leaf>``."""

    prefix: str
    device_id: str

    def _leaf(self, name: str) -> str:
        return f"{self.prefix}/{self.device_id}/{name}"

    @property
    def hit(self) -> str:
        return self._leaf("hit")

    @property
    def availability(self) -> str:
        return self._leaf("availability")

    @property
    def telemetry(self) -> str:
        return self._leaf("telemetry")

    @property
    def status(self) -> str:
        return self._leaf("status")


def topics(prefix: str, device_id: str) -> Topics:
    """Topics for a device; raises ``ValueError`` naming the part that cannot be in a topic."""
    if not prefix or _TOPIC_FORBIDDEN.search(prefix) or prefix.startswith("/"):
        raise ValueError(f"topic prefix {prefix!r} must be non-empty, without + # or a leading /")
    if not device_id or _TOPIC_FORBIDDEN.search(device_id) or "/" in device_id:
        raise ValueError(f"device id {device_id!r} must be non-empty, without + # or /")
    return Topics(prefix.rstrip("/"), device_id)


def iso_utc(t: float) -> str:
    """Unix seconds as ISO 8601 UTC with a ``Z``, whole seconds (sub-seconds truncated)."""
    return datetime.fromtimestamp(int(t), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dumps(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def hit_payload(hit: Hit, now: float, battery_mv: int | None = None) -> dict[str, Any]:
    """The versioned hit JSON object (field order as documented)."""
    return {
        "v": SCHEMA_VERSION,
        "type": "hit",
        "event_id": hit.event_id,
        "device_id": hit.device_id,
        "event_seq": hit.event_seq,
        "time": iso_utc(hit.time),
        "label": hit.label,
        "score": round(float(hit.score), 3),
        "frames_agreeing": hit.frames_agreeing,
        "frames_classified": hit.frames_classified,
        "battery_mv": battery_mv,
        "age_s": max(0, round(now - hit.time)),
        "model": hit.model,
    }


def hit_message(t: Topics, hit: Hit, now: float, battery_mv: int | None = None) -> Publication:
    """A hit: QoS 1, not retained (consumers dedupe by ``event_id``)."""
    return Publication(t.hit, _dumps(hit_payload(hit, now, battery_mv)), retain=False, qos=1)


def availability_message(t: Topics, online: bool) -> Publication:
    """Retained ``online``/``offline``; the ``offline`` one is also the last will."""
    return Publication(t.availability, ONLINE if online else OFFLINE, retain=True, qos=1)


def telemetry_message(t: Topics, counters: Mapping[str, Counter], now: float) -> Publication:
    """Counters (non-hits are only ever counted here), retained so dashboards see the latest."""
    reserved = {"v", "type", "device_id", "time"}
    clash = sorted(reserved & set(counters))
    if clash:
        raise ValueError(f"telemetry counters may not use reserved keys: {', '.join(clash)}")
    body: dict[str, Any] = {"v": SCHEMA_VERSION, "type": "telemetry"}
    body |= {"device_id": t.device_id, "time": iso_utc(now)}
    body |= dict(counters)
    return Publication(t.telemetry, _dumps(body), retain=True, qos=1)


def status_message(t: Topics, now: float, info: Mapping[str, Counter]) -> Publication:
    """Retained device status sent on each connect: model, software version, mode."""
    body: dict[str, Any] = {"v": SCHEMA_VERSION, "type": "status"}
    body |= {"device_id": t.device_id, "time": iso_utc(now)}
    body |= dict(info)
    return Publication(t.status, _dumps(body), retain=True, qos=1)


def battery_from_counters(counters: Mapping[str, Counter]) -> int | None:
    """The ``battery_mv`` telemetry counter as an int, or None when absent or not a number."""
    value = counters.get("battery_mv")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


# --------------------------------------------------------------------------------------------
# Home Assistant MQTT discovery


def object_id(device_id: str, name: str) -> str:
    """A discovery object id: only ``[A-Za-z0-9_-]``."""
    return _OBJECT_ID_UNSAFE.sub("_", f"{device_id}_{name}")


def _ha_device(device_id: str, model: str, sw_version: str) -> dict[str, Any]:
    return {
        "identifiers": [f"camtrap_{object_id(device_id, '')[:-1]}"],
        "name": f"Camera trap {device_id}",
        "manufacturer": "camtrap",
        "model": model or "camtrap",
        "sw_version": sw_version,
    }


def _ha_sensors(t: Topics) -> list[tuple[str, str, dict[str, Any]]]:
    """(component, name, component-specific config) for each discovered entity."""
    return [
        (
            "sensor",
            "battery",
            {
                "name": "Battery",
                "state_topic": t.telemetry,
                "value_template": "{{ value_json.battery_mv }}",
                "unit_of_measurement": "mV",
                "device_class": "voltage",
                "state_class": "measurement",
            },
        ),
        (
            "sensor",
            "last_hit",
            {
                "name": "Last hit",
                "state_topic": t.hit,
                "value_template": "{{ value_json.time }}",
                "device_class": "timestamp",
                "json_attributes_topic": t.hit,
            },
        ),
        (
            "sensor",
            "hits_today",
            {
                "name": "Hits today",
                "state_topic": t.telemetry,
                "value_template": "{{ value_json.hits_today }}",
                "state_class": "total",
                "icon": "mdi:paw",
            },
        ),
        (
            "binary_sensor",
            "availability",
            {
                "name": "Online",
                "state_topic": t.availability,
                "payload_on": ONLINE,
                "payload_off": OFFLINE,
                "device_class": "connectivity",
                "entity_category": "diagnostic",
            },
        ),
    ]


def discovery_messages(
    discovery_prefix: str, t: Topics, model: str = "", sw_version: str = ""
) -> list[Publication]:
    """Retained discovery configs at ``<discovery_prefix>/<component>/<object_id>/config``."""
    device = _ha_device(t.device_id, model, sw_version)
    out = []
    for component, name, specific in _ha_sensors(t):
        oid = object_id(t.device_id, name)
        config = {
            **specific,
            "unique_id": f"camtrap_{oid}",
            "object_id": oid,
            "availability_topic": t.availability,
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
            "device": device,
        }
        topic = f"{discovery_prefix}/{component}/{oid}/config"
        out.append(Publication(topic, _dumps(config), retain=True, qos=1))
    return out


def ha_status_topic(discovery_prefix: str) -> str:
    """Home Assistant's birth/will topic; ``online`` there means: re-publish discovery."""
    return f"{discovery_prefix}/status"
