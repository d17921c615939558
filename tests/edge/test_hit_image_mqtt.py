"""The hit picture over MQTT 5 against a real Mosquitto: raw JPEG on ``hit/image``, the event id
as a user property, marked sent on its own PUBACK, delayed (never lost) by a broker outage."""

from __future__ import annotations

import json

import pytest
from mqtt5 import V5Subscriber

from camtrap.adapters.clock import SystemClock
from camtrap.adapters.mqtt import MqttPublisher
from camtrap.adapters.outbox import Outbox
from camtrap.config import DeviceConfig, MqttConfig
from camtrap.core.types import Hit

IMAGE_TOPIC = "camtrap/trap-07/hit/image"
HIT_TOPIC = "camtrap/trap-07/hit"


def hit(seq: int) -> Hit:
    return Hit(f"trap-07-{seq}", seq, "trap-07", 1795500000.0, "leopard", 0.93, 3, 4, "m@1")


def jpeg(seq: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + bytes([seq]) * 2000 + b"\xff\xd9"


@pytest.fixture
def v5_subscriber():
    subs: list[V5Subscriber] = []

    def make(host: str, port: int, topic: str = "#", client_id: str = "") -> V5Subscriber:
        subs.append(V5Subscriber(host, port, topic, client_id))
        return subs[-1]

    yield make
    for s in subs:
        s.close()


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "outbox.db", sinks=("mqtt", "mqtt_image"))
    yield box
    box.close()


@pytest.fixture
def publisher(mosquitto, outbox):
    cfg = MqttConfig(
        enabled=True, host=mosquitto.host, port=mosquitto.port, backoff_min_s=0.1, backoff_max_s=0.5
    )
    pub = MqttPublisher(cfg, DeviceConfig(id="trap-07"), outbox, SystemClock())
    pub.start()
    yield pub
    pub.stop()


@pytest.mark.broker
def test_the_picture_goes_out_as_raw_jpeg_retained_with_the_event_id_property(
    mosquitto, v5_subscriber, publisher, outbox, wait_for
):
    sub = v5_subscriber(mosquitto.host, mosquitto.port, "camtrap/#")
    assert publisher.wait_connected(10)
    outbox.add(hit(1), image=jpeg(1))
    publisher.drain()
    wait_for(lambda: sub.on(IMAGE_TOPIC) and sub.on(HIT_TOPIC), 10, "the hit and its picture")
    wait_for(lambda: outbox.count_pending() == 0, 10, "both PUBACKs to clear the outbox")
    _, payload, _, props, ctype = sub.on(IMAGE_TOPIC)[0]
    assert payload == jpeg(1) and props == {"event_id": "trap-07-1"} and ctype == "image/jpeg"
    assert json.loads(sub.on(HIT_TOPIC)[0][1])["event_id"] == "trap-07-1"
    late = v5_subscriber(mosquitto.host, mosquitto.port, IMAGE_TOPIC)
    wait_for(lambda: late.on(IMAGE_TOPIC), 10, "the retained picture for a late subscriber")
    assert late.on(IMAGE_TOPIC)[0][2:4] == (True, {"event_id": "trap-07-1"})


@pytest.mark.broker
def test_a_hit_without_a_picture_sends_only_its_json(
    mosquitto, v5_subscriber, publisher, outbox, wait_for
):
    sub = v5_subscriber(mosquitto.host, mosquitto.port, "camtrap/#")
    assert publisher.wait_connected(10)
    outbox.add(hit(2))
    publisher.drain()
    wait_for(lambda: outbox.count_pending() == 0, 10, "the PUBACK")
    wait_for(lambda: sub.on(HIT_TOPIC), 10, "the hit")
    assert sub.on(IMAGE_TOPIC) == []


@pytest.mark.broker
def test_pictures_queued_during_an_outage_arrive_after_it_with_their_hits_none_lost(
    mosquitto_factory, v5_subscriber, outbox, tmp_path, wait_for
):
    broker = mosquitto_factory(
        f"listener {{port}} 127.0.0.1\nallow_anonymous true\n"
        f"persistence true\npersistence_location {tmp_path}/\n"
    )
    sub = v5_subscriber(broker.host, broker.port, "camtrap/#", client_id="consumer")
    cfg = MqttConfig(
        enabled=True, host=broker.host, port=broker.port, backoff_min_s=0.1, backoff_max_s=0.5
    )
    pub = MqttPublisher(cfg, DeviceConfig(id="trap-07"), outbox, SystemClock())
    pub.start()
    try:
        assert pub.wait_connected(10)
        broker.stop()
        wait_for(lambda: not pub.connected, 10, "the publisher to notice the outage")
        for seq in range(3, 8):
            outbox.add(hit(seq), image=jpeg(seq))
            assert pub.drain() == 0  # nowhere to send: they wait in the outbox
        assert outbox.count_pending("mqtt_image") == 5
        broker.start()
        wait_for(lambda: outbox.count_pending() == 0, 20, "everything to be acknowledged")
        want = {f"trap-07-{s}" for s in range(3, 8)}
        wait_for(
            lambda: (
                len({m[3].get("event_id") for m in sub.on(IMAGE_TOPIC)}) == 5
                and len({json.loads(m[1])["event_id"] for m in sub.on(HIT_TOPIC)}) == 5
            ),
            20,
            "the five hits and their pictures at the consumer",
        )
        hits = {json.loads(m[1])["event_id"] for m in sub.on(HIT_TOPIC)}
        pictures = {m[3]["event_id"]: m[1] for m in sub.on(IMAGE_TOPIC)}
        assert hits == set(pictures) == want  # each picture with the id of its hit
        assert all(pictures[e] == jpeg(int(e.rsplit("-", 1)[1])) for e in want)
    finally:
        pub.stop()
