"""Home Assistant MQTT discovery: the configs (pure) and their publication (real broker)."""

from __future__ import annotations

import json

import paho.mqtt.publish as mqtt_publish
import pytest

from camtrap.adapters.clock import SystemClock
from camtrap.adapters.mqtt import MqttPublisher
from camtrap.adapters.outbox import Outbox
from camtrap.config import DeviceConfig, HomeAssistantConfig, MqttConfig
from camtrap.core.messages import discovery_messages, object_id, topics

T = topics("camtrap", "trap-07")
EXPECTED_TOPICS = {
    "homeassistant/sensor/trap-07_battery/config",
    "homeassistant/sensor/trap-07_last_hit/config",
    "homeassistant/sensor/trap-07_hits_today/config",
    "homeassistant/binary_sensor/trap-07_availability/config",
}


def configs(prefix: str = "homeassistant") -> dict[str, dict]:
    return {p.topic: json.loads(p.payload) for p in discovery_messages(prefix, T, "m@1", "0.1")}


def test_discovery_configs_are_retained_at_component_object_id_config():
    msgs = discovery_messages("homeassistant", T)
    assert {p.topic for p in msgs} == EXPECTED_TOPICS
    assert all(p.retain and p.qos == 1 for p in msgs)


def test_every_config_has_unique_id_availability_and_one_shared_device():
    cfgs = configs()
    unique_ids = [c["unique_id"] for c in cfgs.values()]
    assert len(set(unique_ids)) == len(unique_ids) == 4
    for c in cfgs.values():
        assert c["availability_topic"] == "camtrap/trap-07/availability"
        assert (c["payload_available"], c["payload_not_available"]) == ("online", "offline")
        assert c["device"] == next(iter(cfgs.values()))["device"]
        assert c["device"]["identifiers"] == ["camtrap_trap-07"]
        assert c["device"]["model"] == "m@1" and c["device"]["sw_version"] == "0.1"


def test_sensors_read_the_right_topics_and_fields():
    cfgs = configs()
    battery = cfgs["homeassistant/sensor/trap-07_battery/config"]
    assert battery["state_topic"] == T.telemetry and "battery_mv" in battery["value_template"]
    assert battery["unit_of_measurement"] == "mV" and battery["device_class"] == "voltage"
    last_hit = cfgs["homeassistant/sensor/trap-07_last_hit/config"]
    assert last_hit["state_topic"] == T.hit and last_hit["device_class"] == "timestamp"
    assert "value_json.time" in last_hit["value_template"]
    hits_today = cfgs["homeassistant/sensor/trap-07_hits_today/config"]
    assert "hits_today" in hits_today["value_template"]
    online = cfgs["homeassistant/binary_sensor/trap-07_availability/config"]
    assert (online["state_topic"], online["payload_on"], online["payload_off"]) == (
        T.availability,
        "online",
        "offline",
    )


def test_discovery_prefix_is_configurable_and_object_ids_are_sanitised():
    assert all(t.startswith("ha/") for t in configs("ha"))
    assert object_id("trap 07.a", "battery") == "trap_07_a_battery"


@pytest.mark.broker
def test_discovery_is_published_on_connect_and_again_when_home_assistant_comes_online(
    mosquitto, mqtt_subscriber, tmp_path, wait_for
):
    outbox = Outbox(tmp_path / "o.db")
    mqtt_cfg = MqttConfig(enabled=True, host=mosquitto.host, port=mosquitto.port)
    ha = mqtt_subscriber(mosquitto.host, mosquitto.port, "homeassistant/+/+/config")
    pub = MqttPublisher(
        mqtt_cfg, DeviceConfig(id="trap-07"), outbox, SystemClock(), HomeAssistantConfig(True)
    )
    pub.start()
    try:
        wait_for(lambda: {t for t, _, _ in ha.messages} == EXPECTED_TOPICS, 10, "4 configs")
        late = mqtt_subscriber(mosquitto.host, mosquitto.port, "homeassistant/+/+/config")
        wait_for(lambda: len(late.messages) == 4, 10, "4 retained configs for a late subscriber")
        assert all(retained for _, _, retained in late.messages)
        first = len(ha.messages)
        mqtt_publish.single(
            "homeassistant/status", "online", hostname=mosquitto.host, port=mosquitto.port
        )
        wait_for(lambda: len(ha.messages) >= first + 4, 10, "discovery re-published")
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
