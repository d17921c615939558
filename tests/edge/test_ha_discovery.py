"""Home Assistant MQTT discovery: the configs (pure) and their publication (real broker).

Every config is checked against the keys and types Home Assistant documents for its platform
(the tables below, taken from the "Configuration Variables" of each page):

* common to MQTT entities and the discovery payload (``device``, ``origin``, availability,
  ``default_entity_id``, which replaces the deprecated ``object_id``, Home Assistant 2025.10):
  https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
* sensor: https://www.home-assistant.io/integrations/sensor.mqtt/
* binary_sensor: https://www.home-assistant.io/integrations/binary_sensor.mqtt/
* image: https://www.home-assistant.io/integrations/image.mqtt/
* event: https://www.home-assistant.io/integrations/event.mqtt/
* device classes and state classes: https://www.home-assistant.io/integrations/sensor/#device-class,
  https://www.home-assistant.io/integrations/binary_sensor/#device-class,
  https://www.home-assistant.io/integrations/event/#device-class

The templates are rendered with Jinja2 (what Home Assistant's templates are) on real payloads
from `camtrap.core.messages`, so a template that reads a missing field or renders bad JSON fails.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jinja2
import paho.mqtt.publish as mqtt_publish
import pytest

from camtrap.adapters.clock import SystemClock
from camtrap.adapters.mqtt import MqttPublisher
from camtrap.adapters.outbox import Outbox
from camtrap.config import DeviceConfig, HomeAssistantConfig, MqttConfig
from camtrap.core.messages import (
    Discovery,
    availability_message,
    discovery_messages,
    entity_slug,
    hit_message,
    image_message,
    object_id,
    telemetry_message,
    topics,
)
from camtrap.core.types import Hit

T = topics("camtrap", "trap-07")
HIT = Hit("trap-07-42", 42, "trap-07", 1795500000.0, "leopard", 0.93, 3, 4, "m@1")

# ---- the documented keys: name -> type ("?" suffix: optional; otherwise required) ----------

TEMPLATE, TOPIC, STRING, INT, BOOL, LIST, MAP, ICON = (
    "template",
    "topic",
    "string",
    "integer",
    "boolean",
    "list",
    "map",
    "icon",
)
COMMON = {  # every MQTT entity platform (and the discovery payload's own keys)
    "availability": LIST,
    "availability_mode": STRING,
    "availability_template": TEMPLATE,
    "availability_topic": TOPIC,
    "default_entity_id": STRING,
    "device": MAP,
    "enabled_by_default": BOOL,
    "encoding": STRING,
    "entity_category": STRING,
    "entity_picture": STRING,
    "icon": ICON,
    "json_attributes_template": TEMPLATE,
    "json_attributes_topic": TOPIC,
    "name": STRING,
    "origin": MAP,
    "payload_available": STRING,
    "payload_not_available": STRING,
    "qos": INT,
    "unique_id": STRING,
}
PLATFORMS: dict[str, dict[str, str]] = {
    "sensor": {
        "device_class": STRING,
        "expire_after": INT,
        "force_update": BOOL,
        "last_reset_value_template": TEMPLATE,
        "options": LIST,
        "suggested_display_precision": INT,
        "state_class": STRING,
        "state_topic": TOPIC,
        "unit_of_measurement": STRING,
        "value_template": TEMPLATE,
    },
    "binary_sensor": {
        "device_class": STRING,
        "expire_after": INT,
        "force_update": BOOL,
        "off_delay": INT,
        "payload_off": STRING,
        "payload_on": STRING,
        "state_topic": TOPIC,
        "value_template": TEMPLATE,
    },
    "image": {
        "content_type": STRING,
        "image_encoding": STRING,
        "image_topic": TOPIC,
        "url_template": TEMPLATE,
        "url_topic": TOPIC,
    },
    "event": {
        "device_class": STRING,
        "event_types": LIST,
        "state_topic": TOPIC,
        "value_template": TEMPLATE,
    },
}
REQUIRED = {
    "sensor": {"state_topic"},
    "binary_sensor": {"state_topic"},
    "image": set(),  # one of image_topic / url_topic, checked below
    "event": {"state_topic", "event_types"},
}
DEVICE_KEYS = {
    "configuration_url",
    "connections",
    "hw_version",
    "identifiers",
    "manufacturer",
    "model",
    "model_id",
    "name",
    "serial_number",
    "suggested_area",
    "sw_version",
    "via_device",
}
ORIGIN_KEYS = {"name": True, "sw_version": False, "support_url": False}  # key -> required
DEVICE_CLASSES = {
    "sensor": {"voltage", "timestamp", "battery", "duration", "signal_strength"},
    "binary_sensor": {"connectivity", "problem", "running", "motion"},
    "event": {"button", "doorbell", "motion"},
}
STATE_CLASSES = {"measurement", "measurement_angle", "total", "total_increasing"}
ENTITY_CATEGORIES = {"config", "diagnostic"}
ENTITY_ID = re.compile(r"^(?P<domain>[a-z_]+)\.[a-z0-9_]+$")  # Home Assistant's entity id form


def is_type(value: Any, kind: str) -> bool:
    checks = {
        STRING: lambda v: isinstance(v, str),
        TOPIC: lambda v: isinstance(v, str) and v != "" and not set(v) & {"+", "#"},
        TEMPLATE: lambda v: isinstance(v, str) and "{{" in v,
        INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
        BOOL: lambda v: isinstance(v, bool),
        LIST: lambda v: isinstance(v, list),
        MAP: lambda v: isinstance(v, dict),
        ICON: lambda v: isinstance(v, str) and v.startswith("mdi:"),
    }
    return checks[kind](value)


def problems(component: str, config: dict[str, Any]) -> list[str]:
    """What Home Assistant's documentation would reject or warn about in one config."""
    allowed = {**COMMON, **PLATFORMS[component]}
    out = [f"unknown key {k}" for k in config if k not in allowed]
    out += [
        f"{k}: not a {allowed[k]}"
        for k in config
        if k in allowed and not is_type(config[k], allowed[k])
    ]
    out += [f"missing {k}" for k in REQUIRED[component] - set(config)]
    if component == "image" and ("image_topic" in config) == ("url_topic" in config):
        out.append("image needs exactly one of image_topic / url_topic")
    if "object_id" in config:
        out.append("object_id is deprecated: use default_entity_id")
    m = ENTITY_ID.match(config.get("default_entity_id", ""))
    if m is None or m["domain"] != component:
        out.append(
            f"default_entity_id {config.get('default_entity_id')!r} is not {component}.<slug>"
        )
    if "device_class" in config and config["device_class"] not in DEVICE_CLASSES[component]:
        out.append(f"device_class {config['device_class']!r}")
    if "state_class" in config and config["state_class"] not in STATE_CLASSES:
        out.append(f"state_class {config['state_class']!r}")
    if config.get("entity_category", "diagnostic") not in ENTITY_CATEGORIES:
        out.append(f"entity_category {config['entity_category']!r}")
    if is_type(config.get("expire_after"), INT) and config["expire_after"] <= 0:
        out.append("expire_after must be a positive number of seconds")
    if "availability" in config and "availability_topic" in config:
        out.append("availability and availability_topic are exclusive")
    out += [f"device.{k}: unknown" for k in config.get("device", {}) if k not in DEVICE_KEYS]
    if not config.get("device", {}).get("identifiers"):
        out.append("device needs identifiers (or connections)")
    origin = config.get("origin", {})
    out += [f"origin.{k}: unknown" for k in origin if k not in ORIGIN_KEYS]
    out += [f"origin.{k}: missing" for k, req in ORIGIN_KEYS.items() if req and k not in origin]
    return out


def configs(d: Discovery | None = None, prefix: str = "homeassistant") -> dict[str, dict]:
    msgs = discovery_messages(prefix, T, d or Discovery("m@1", "0.1"))
    return {p.topic: json.loads(p.payload) for p in msgs if p.payload}


def component_of(topic: str) -> str:
    return topic.split("/")[1]


EXPECTED_TOPICS = {
    "homeassistant/sensor/trap-07_battery/config",
    "homeassistant/sensor/trap-07_last_hit/config",
    "homeassistant/sensor/trap-07_hits_today/config",
    "homeassistant/binary_sensor/trap-07_availability/config",
    "homeassistant/image/trap-07_last_hit_picture/config",
    "homeassistant/event/trap-07_hit/config",
}


# ---- the documented keys and types ---------------------------------------------------------


@pytest.mark.parametrize(
    "d",
    [
        Discovery("m@1", "0.1"),
        Discovery("m@1", "0.1", battery=False, availability=False),
        Discovery("", "", expire_after_s=3600),
    ],
    ids=["always-on", "power-gated", "bare"],
)
def test_every_discovery_config_has_only_the_keys_and_types_home_assistant_documents(d):
    cfgs = configs(d)
    assert cfgs
    for topic, config in cfgs.items():
        assert problems(component_of(topic), config) == [], topic


def test_the_checker_itself_catches_what_home_assistant_would_reject():
    good = configs()["homeassistant/sensor/trap-07_hits_today/config"]
    assert problems("sensor", good) == []
    assert "unknown key payload_on" in problems("sensor", {**good, "payload_on": "x"})
    assert any("deprecated" in p for p in problems("sensor", {**good, "object_id": "x"}))
    assert any(
        "default_entity_id" in p
        for p in problems("sensor", {**good, "default_entity_id": "binary_sensor.x"})
    )
    assert "expire_after: not a integer" in problems("sensor", {**good, "expire_after": "60"})
    assert "missing event_types" in problems(
        "event",
        {
            k: v
            for k, v in configs()["homeassistant/event/trap-07_hit/config"].items()
            if k != "event_types"
        },
    )


# ---- what each entity reads ------------------------------------------------------------------


def test_discovery_configs_are_retained_at_component_object_id_config():
    msgs = discovery_messages("homeassistant", T)
    assert {p.topic for p in msgs} == EXPECTED_TOPICS
    assert all(p.retain and p.qos == 1 for p in msgs)


def test_every_config_has_a_unique_id_default_entity_id_origin_and_one_shared_device():
    cfgs = configs()
    unique_ids = [c["unique_id"] for c in cfgs.values()]
    entity_ids = [c["default_entity_id"] for c in cfgs.values()]
    assert len(set(unique_ids)) == len(unique_ids) == 6 == len(set(entity_ids))
    assert "sensor.camtrap_trap_07_battery" in entity_ids
    for c in cfgs.values():
        assert c["device"] == next(iter(cfgs.values()))["device"]
        assert c["device"]["identifiers"] == ["camtrap_trap-07"]
        assert c["device"]["model"] == "m@1" and c["device"]["sw_version"] == "0.1"
        assert c["origin"] == {"name": "camtrap", "sw_version": "0.1"}
        assert "object_id" not in c


def test_the_online_sensor_is_off_when_offline_not_unavailable():
    cfgs = configs()
    online = cfgs["homeassistant/binary_sensor/trap-07_availability/config"]
    assert (online["state_topic"], online["payload_on"], online["payload_off"]) == (
        T.availability,
        "online",
        "offline",
    )
    assert "availability_topic" not in online and "availability" not in online
    for topic, c in cfgs.items():
        if topic != "homeassistant/binary_sensor/trap-07_availability/config":
            assert c["availability_topic"] == T.availability
            assert (c["payload_available"], c["payload_not_available"]) == ("online", "offline")


def test_a_power_gated_trap_stays_available_while_its_pi_is_off():
    for c in configs(Discovery(availability=False)).values():
        assert "availability_topic" not in c


def retained_topics() -> set[str]:
    """Which state topics the trap publishes retained, from its own message builders."""
    msgs = [
        hit_message(T, HIT, HIT.time),
        image_message(T, HIT.event_id, b"\xff\xd8"),
        availability_message(T, online=True),
        telemetry_message(T, {"hits_today": 1}, HIT.time),
    ]
    return {p.topic for p in msgs if p.retain}


def test_entities_read_from_topics_that_are_not_retained_expire_and_others_do_not():
    retained = retained_topics()
    assert T.hit not in retained and T.telemetry in retained
    for topic, c in configs().items():
        state = c.get("state_topic") or c.get("image_topic")
        if component_of(topic) in ("sensor", "binary_sensor"):
            assert ("expire_after" in c) == (state not in retained), topic
        else:  # image and event keep their last value themselves
            assert state in retained or component_of(topic) == "event", topic
    last_hit = configs(Discovery(expire_after_s=3600))[
        "homeassistant/sensor/trap-07_last_hit/config"
    ]
    assert last_hit["expire_after"] == 3600


def test_hits_today_is_total_increasing_as_it_restarts_from_zero_each_day():
    c = configs()["homeassistant/sensor/trap-07_hits_today/config"]
    assert c["state_class"] == "total_increasing" and "last_reset_value_template" not in c


def test_no_battery_entity_where_the_trap_does_not_know_its_battery():
    msgs = discovery_messages("homeassistant", T, Discovery(battery=False))
    removed = [p for p in msgs if p.topic == "homeassistant/sensor/trap-07_battery/config"]
    assert len(removed) == 1 and removed[0].payload == "" and removed[0].retain  # deletes it


def test_the_image_entity_shows_the_hit_picture_topic_as_jpeg():
    c = configs()["homeassistant/image/trap-07_last_hit_picture/config"]
    assert c["image_topic"] == T.hit_image == "camtrap/trap-07/hit/image"
    assert c["content_type"] == "image/jpeg"
    assert image_message(T, "trap-07-42", b"\xff\xd8").topic == c["image_topic"]


def render(template: str, payload: str) -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return env.from_string(template).render(value=payload, value_json=json.loads(payload))


def test_templates_render_on_the_payloads_the_trap_publishes():
    cfgs = configs()
    hit = hit_message(T, HIT, HIT.time + 5, battery_mv=3710).payload
    telemetry = telemetry_message(T, {"hits_today": 3, "battery_mv": 3710}, HIT.time).payload
    assert isinstance(hit, str) and isinstance(telemetry, str)
    on = {T.hit: hit, T.telemetry: telemetry}
    got = {
        topic.split("/")[2]: render(c["value_template"], on[c["state_topic"]])
        for topic, c in cfgs.items()
        if "value_template" in c
    }
    assert got["trap-07_battery"] == "3710"
    assert got["trap-07_hits_today"] == "3"
    assert got["trap-07_last_hit"] == "2026-11-24T06:00:00Z"
    event = json.loads(got["trap-07_hit"])
    event_cfg = cfgs["homeassistant/event/trap-07_hit/config"]
    assert event["event_type"] in event_cfg["event_types"]
    assert (event["event_id"], event["label"], event["score"]) == ("trap-07-42", "leopard", 0.93)


def test_discovery_prefix_is_configurable_and_ids_are_sanitised():
    assert all(t.startswith("ha/") for t in configs(prefix="ha"))
    assert object_id("trap 07.a", "battery") == "trap_07_a_battery"
    assert entity_slug("Trap-07.A", "last_hit") == "camtrap_trap_07_a_last_hit"


# ---- publication on a real broker ----------------------------------------------------------


@pytest.mark.broker
def test_discovery_is_published_on_connect_and_again_when_home_assistant_comes_online(
    mosquitto, mqtt_subscriber, tmp_path, wait_for
):
    outbox = Outbox(tmp_path / "o.db")
    mqtt_cfg = MqttConfig(enabled=True, host=mosquitto.host, port=mosquitto.port)
    ha = mqtt_subscriber(mosquitto.host, mosquitto.port, "homeassistant/+/+/config")
    pub = MqttPublisher(
        mqtt_cfg,
        DeviceConfig(id="trap-07"),
        outbox,
        SystemClock(),
        HomeAssistantConfig(True),
        battery=lambda: 3710,  # the trap knows its battery: a battery entity
    )
    pub.start()
    try:
        wait_for(lambda: {t for t, _, _ in ha.messages} == EXPECTED_TOPICS, 10, "6 configs")
        late = mqtt_subscriber(mosquitto.host, mosquitto.port, "homeassistant/+/+/config")
        wait_for(lambda: len(late.messages) == 6, 10, "6 retained configs for a late subscriber")
        assert all(retained for _, _, retained in late.messages)
        for topic, payload, _ in late.messages:
            assert problems(component_of(topic), json.loads(payload)) == []
        first = len(ha.messages)
        mqtt_publish.single(
            "homeassistant/status", "online", hostname=mosquitto.host, port=mosquitto.port
        )
        wait_for(lambda: len(ha.messages) >= first + 6, 10, "discovery re-published")
        again = {t for t, _, _ in ha.messages[first:]}
        assert again == EXPECTED_TOPICS
    finally:
        pub.stop()
        outbox.close()


@pytest.mark.broker
def test_no_discovery_when_home_assistant_is_disabled(
    mosquitto, mqtt_subscriber, tmp_path, wait_for
):
    outbox = Outbox(tmp_path / "o.db")
    mqtt_cfg = MqttConfig(enabled=True, host=mosquitto.host, port=mosquitto.port)
    ha = mqtt_subscriber(mosquitto.host, mosquitto.port, "#")
    pub = MqttPublisher(mqtt_cfg, DeviceConfig(id="trap-07"), outbox, SystemClock())
    pub.publish_telemetry({"hits_today": 0})  # sent on connect, after where discovery would be
    pub.start()
    try:
        wait_for(lambda: ha.payloads("camtrap/trap-07/telemetry"), 10, "telemetry")
        assert ha.payloads("camtrap/trap-07/availability") == [b"online"]
        assert not [t for t, _, _ in ha.messages if t.startswith("homeassistant/")]
    finally:
        pub.stop()
        outbox.close()
