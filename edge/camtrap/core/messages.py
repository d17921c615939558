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

from camtrap.core.timebase import age_s
from camtrap.core.types import Hit

SCHEMA_VERSION = 1
ONLINE = "online"
IMAGE_CONTENT_TYPE = "image/jpeg"
OFFLINE = "offline"

Counter = int | float | str | None

_TOPIC_FORBIDDEN = re.compile(r"[+#\x00]")
_OBJECT_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Publication:
    """One MQTT message to send; ``properties`` are MQTT 5 user properties (name, value)."""

    topic: str
    payload: str | bytes
    retain: bool = False
    qos: int = 1
    properties: tuple[tuple[str, str], ...] = ()
    content_type: str = ""  # the MQTT 5 Content Type property, e.g. "image/jpeg"


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
    def hit_image(self) -> str:
        return self._leaf("hit/image")

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


def hit_payload(
    hit: Hit, now: float, battery_mv: int | None = None, now_trusted: bool = True
) -> dict[str, Any]:
    """The versioned hit JSON object (field order as documented). ``time`` and ``age_s`` are
    null when the trap's clock was unknown at the trigger or is unknown now (``now_trusted``
    False), or the age would be absurd: consumers then date the hit by its arrival. ``box``
    (normalised [x, y, w, h], top-left origin) and ``region_source`` follow when the hit knows
    them."""
    payload: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "type": "hit",
        "event_id": hit.event_id,
        "device_id": hit.device_id,
        "deployment_id": hit.deployment_id or None,
        "event_seq": hit.event_seq,
        "time": iso_utc(hit.time) if hit.time_trusted else None,
        "label": hit.label,
        "score": round(float(hit.score), 3),
        "frames_agreeing": hit.frames_agreeing,
        "frames_classified": hit.frames_classified,
        "battery_mv": battery_mv,
        "age_s": age_s(hit.time, hit.time_trusted, now, now_trusted),
        "model": hit.model,
    }
    if hit.box is not None:  # where the animal was: the winning region of the best frame
        payload["box"] = [round(v, 4) for v in hit.box]
        payload["region_source"] = hit.region_source
    return payload


def hit_message(
    t: Topics, hit: Hit, now: float, battery_mv: int | None = None, now_trusted: bool = True
) -> Publication:
    """A hit: QoS 1, not retained (consumers dedupe by ``event_id``)."""
    body = hit_payload(hit, now, battery_mv, now_trusted)
    return Publication(t.hit, _dumps(body), retain=False, qos=1)


def image_message(t: Topics, event_id: str, jpeg: bytes) -> Publication:
    """A hit's picture: the raw JPEG (what Home Assistant's MQTT image entity reads), QoS 1,
    retained (the latest hit picture stays visible after a restart), the event id in the MQTT 5
    user property ``event_id`` so a consumer pairs it with the hit JSON."""
    return Publication(
        t.hit_image,
        jpeg,
        retain=True,
        qos=1,
        properties=(("event_id", event_id),),
        content_type=IMAGE_CONTENT_TYPE,
    )


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
# Home Assistant MQTT discovery (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery)

DEFAULT_EXPIRE_AFTER_S = 30 * 86400  # "last hit" survives a Home Assistant restart this long
HIT_EVENT_TYPE = "hit"
_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Discovery:
    """What the discovery configs depend on besides the topics.

    ``battery``: the trap knows its battery (the MCU measures it); without it there is no
    battery entity (an empty retained config removes one discovered earlier).
    ``availability``: entities go unavailable when the trap is offline; off for a power-gated
    trap, whose Pi is off between events by design (the "Online" sensor still shows it).
    ``expire_after_s``: how long Home Assistant keeps (and restores after its own restart) the
    state of entities read from topics that are not retained (the hit).
    """

    model: str = ""
    sw_version: str = ""
    battery: bool = True
    availability: bool = True
    expire_after_s: int = DEFAULT_EXPIRE_AFTER_S


def object_id(device_id: str, name: str) -> str:
    """A discovery object id (the config topic's last level): only ``[A-Za-z0-9_-]``."""
    return _OBJECT_ID_UNSAFE.sub("_", f"{device_id}_{name}")


def entity_slug(device_id: str, name: str) -> str:
    """The entity id part after the domain: lower-case letters, digits and ``_`` only."""
    return _SLUG_UNSAFE.sub("_", f"camtrap_{device_id}_{name}".lower()).strip("_")


def _ha_device(device_id: str, model: str, sw_version: str) -> dict[str, Any]:
    return {
        "identifiers": [f"camtrap_{object_id(device_id, '')[:-1]}"],
        "name": f"Camera trap {device_id}",
        "manufacturer": "camtrap",
        "model": model or "camtrap",
        "sw_version": sw_version,
    }


def _ha_origin(sw_version: str) -> dict[str, Any]:
    """Who published the config (Home Assistant logs it with each discovered entity)."""
    return {"name": "camtrap", "sw_version": sw_version} if sw_version else {"name": "camtrap"}


def _event_template() -> str:
    """The hit JSON as an event: ``event_type`` plus the fields a ranger acts on."""
    fields = ("event_id", "label", "score", "time", "frames_agreeing", "battery_mv")
    picks = ", ".join(f"'{f}': value_json.{f}" for f in fields)
    return "{{ {'event_type': '" + HIT_EVENT_TYPE + "', " + picks + "} | tojson }}"


def _ha_entities(t: Topics, d: Discovery) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(component, name, component-specific config, or None to remove it) of each entity."""
    battery = {
        "name": "Battery",
        "state_topic": t.telemetry,  # retained
        "value_template": "{{ value_json.battery_mv }}",
        "unit_of_measurement": "mV",
        "device_class": "voltage",
        "state_class": "measurement",
        "entity_category": "diagnostic",
    }
    return [
        ("sensor", "battery", battery if d.battery else None),
        (
            "sensor",
            "last_hit",
            {
                "name": "Last hit",
                "state_topic": t.hit,  # not retained: expire_after keeps it across HA restarts
                "value_template": "{{ value_json.time }}",
                "device_class": "timestamp",
                "json_attributes_topic": t.hit,
                "expire_after": d.expire_after_s,
            },
        ),
        (
            "sensor",
            "hits_today",
            {
                "name": "Hits today",
                "state_topic": t.telemetry,  # retained
                "value_template": "{{ value_json.hits_today }}",
                "state_class": "total_increasing",  # back to 0 at UTC midnight: a reset
                "icon": "mdi:paw",
            },
        ),
        (
            "binary_sensor",
            "availability",
            {
                "name": "Online",  # its state is the availability: no availability of its own
                "state_topic": t.availability,  # retained, and the last will
                "payload_on": ONLINE,
                "payload_off": OFFLINE,
                "device_class": "connectivity",
                "entity_category": "diagnostic",
            },
        ),
        (
            "image",
            "last_hit_picture",
            {
                "name": "Last hit picture",
                "image_topic": t.hit_image,  # retained
                "content_type": IMAGE_CONTENT_TYPE,
            },
        ),
        (
            "event",
            "hit",
            {
                "name": "Hit",
                "state_topic": t.hit,
                "event_types": [HIT_EVENT_TYPE],
                "value_template": _event_template(),
                "device_class": "motion",
                "icon": "mdi:paw",
            },
        ),
    ]


def discovery_messages(
    discovery_prefix: str, t: Topics, d: Discovery | None = None
) -> list[Publication]:
    """Retained discovery configs at ``<discovery_prefix>/<component>/<object_id>/config``;
    an entity the trap cannot feed gets an empty retained config, which removes it."""
    d = d or Discovery()
    device = _ha_device(t.device_id, d.model, d.sw_version)
    out = []
    for component, name, specific in _ha_entities(t, d):
        oid = object_id(t.device_id, name)
        topic = f"{discovery_prefix}/{component}/{oid}/config"
        if specific is None:
            out.append(Publication(topic, "", retain=True, qos=1))
            continue
        config = {
            **specific,
            "unique_id": f"camtrap_{oid}",
            "default_entity_id": f"{component}.{entity_slug(t.device_id, name)}",
            **(_availability(t) if d.availability and component != "binary_sensor" else {}),
            "device": device,
            "origin": _ha_origin(d.sw_version),
        }
        out.append(Publication(topic, _dumps(config), retain=True, qos=1))
    return out


def _availability(t: Topics) -> dict[str, str]:
    return {
        "availability_topic": t.availability,
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
    }


def ha_status_topic(discovery_prefix: str) -> str:
    """Home Assistant's birth/will topic; ``online`` there means: re-publish discovery."""
    return f"{discovery_prefix}/status"
