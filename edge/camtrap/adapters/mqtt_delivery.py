"""What one MQTT connection is handed: the outbox's hits and pictures, each marked sent only on
the broker's PUBACK for its message id (with a success reason code).

`Deliveries` belongs to `camtrap.adapters.mqtt.MqttPublisher` and runs under its lock, on the
connection the publisher owns: `drain` hands each pending hit (QoS 1) and picture (retained,
the event id as the MQTT 5 user property ``event_id``) to paho once per connection;
`acknowledged` marks it sent in the outbox; `reset` forgets the connection, so whatever was
not acknowledged is handed to the next one (consumers dedupe by ``event_id``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from camtrap.adapters.outbox import Outbox
from camtrap.adapters.timesync import reading
from camtrap.core.messages import Publication, Topics, hit_message, image_message
from camtrap.core.ports import Clock

log = logging.getLogger("camtrap.adapters.mqtt")

OK = MQTTErrorCode.MQTT_ERR_SUCCESS
PENDING_BATCH = 500  # hits handed to one connection per drain


class Deliveries:
    def __init__(
        self,
        outbox: Outbox,
        clock: Clock,
        sink: str,
        image_sink: str | None,
        topics_for: Callable[[str], Topics],
        battery: Callable[[], int | None],
    ) -> None:
        self.outbox, self.clock, self.sink, self.image_sink = outbox, clock, sink, image_sink
        self.topics_for, self.battery = topics_for, battery
        self._inflight: dict[int, tuple[str, str]] = {}  # mid -> (event_id, sink), this connection
        self._handed: set[tuple[str, str]] = set()  # (event_id, sink) published on it

    @property
    def in_flight(self) -> bool:
        """Published on this connection and not yet acknowledged."""
        return bool(self._inflight)

    def reset(self) -> None:
        """The connection is gone: what it was handed goes again on the next one."""
        self._inflight.clear()
        self._handed.clear()

    def drain(self, client: mqtt.Client) -> int:
        """Hand pending hits (then pictures) not yet handed to ``client``; returns the hits."""
        sent = 0
        for hit in self.outbox.pending(self.sink, limit=PENDING_BATCH):
            if (hit.event_id, self.sink) in self._handed:
                continue
            now, trusted = reading(self.clock)  # an unknown clock gives no age, never a wrong one
            msg = hit_message(self.topics_for(hit.device_id), hit, now, self.battery(), trusted)
            if not self._hand(client, hit.event_id, self.sink, msg):
                break
            sent += 1
        if self.image_sink is not None:
            self._drain_images(client, self.image_sink)
        return sent

    def acknowledged(self, mid: int, reason: Any) -> None:
        """paho's ``on_publish``: the broker's PUBACK for ``mid``."""
        sent = self._inflight.pop(mid, None)
        if sent is None:
            return
        event_id, sink = sent
        what = "hit" if sink == self.sink else "picture of hit"
        if getattr(reason, "is_failure", False):  # e.g. quota exceeded, not authorised
            log.warning(
                "mqtt: broker refused the %s %s: %s; it stays queued", what, event_id, reason
            )
            return
        try:
            self.outbox.mark_sent(event_id, sink)
            log.info("mqtt: %s %s acknowledged by the broker", what, event_id)
        except Exception:  # stays pending: sent again on the next connection
            log.exception("mqtt: could not mark %s sent (%s)", event_id, sink)

    def _drain_images(self, client: mqtt.Client, sink: str) -> None:
        for hit, jpeg in self.outbox.pending_with_images(sink, limit=PENDING_BATCH):
            if (hit.event_id, sink) in self._handed:
                continue
            if jpeg is None:  # queued without a picture: nothing will ever send it
                self.outbox.mark_sent(hit.event_id, sink)
                continue
            msg = image_message(self.topics_for(hit.device_id), hit.event_id, jpeg)
            if not self._hand(client, hit.event_id, sink, msg):
                break

    def _hand(self, client: mqtt.Client, event_id: str, sink: str, msg: Publication) -> bool:
        """Publish ``msg`` for ``(event_id, sink)`` on this connection; False if paho refused."""
        info = publish(client, msg)
        if info.rc != OK:
            why = mqtt.error_string(info.rc)
            log.warning(
                "mqtt: publish of %s (%s) failed (%s); it stays queued", event_id, sink, why
            )
            return False
        self._inflight[info.mid] = (event_id, sink)
        self._handed.add((event_id, sink))
        return True


def publish(client: mqtt.Client, p: Publication) -> mqtt.MQTTMessageInfo:
    """Hand a message to paho, with its MQTT 5 properties."""
    return client.publish(p.topic, p.payload, p.qos, p.retain, properties=_properties(p))


def _properties(p: Publication) -> Properties | None:
    """The MQTT 5 PUBLISH properties of a message (user properties, content type), if any."""
    if not p.properties and not p.content_type:
        return None
    props = Properties(PacketTypes.PUBLISH)
    for name, value in p.properties:
        props.UserProperty = (name, value)  # paho appends each pair
    if p.content_type:
        props.ContentType = p.content_type
    return props
