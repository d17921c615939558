"""Test helper: a real MQTT 5 subscriber that keeps each message's user properties."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


class V5Subscriber:
    """A real MQTT 5 subscriber recording (topic, payload, retain, user properties, type)."""

    def __init__(self, host: str, port: int, topic: str, client_id: str = "") -> None:
        """With a ``client_id``, a persistent session: the broker keeps what arrives while
        this consumer is away (on a broker with persistence, across its restarts)."""
        self.messages: list[tuple[str, bytes, bool, dict[str, str], str]] = []
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 0.5)
        session = Properties(PacketTypes.CONNECT)
        session.SessionExpiryInterval = 3600 if client_id else 0
        self.client.connect(host, port, clean_start=not client_id, properties=session)
        self.client.loop_start()
        assert self._subscribed.wait(10), f"subscription to {topic}"

    def _on_message(self, c, u, m) -> None:
        props = getattr(m.properties, "UserProperty", None) or []
        ctype = getattr(m.properties, "ContentType", "")
        self.messages.append((m.topic, bytes(m.payload), bool(m.retain), dict(props), ctype))

    def on(self, topic: str) -> list[tuple[str, bytes, bool, dict[str, str], str]]:
        return [m for m in list(self.messages) if m[0] == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
