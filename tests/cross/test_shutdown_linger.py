"""Power-gated shutdown: the Pi keeps draining MQTT before it acknowledges the MCU's SHUTDOWN.

The Pi side is the real `McuTriggerSource` (its SHUTDOWN handler), the app's `linger_mqtt` on a
real `MqttPublisher`, a real outbox and a real Mosquitto that is down when the SHUTDOWN request
arrives (a slow uplink). The MCU side is the wire: frames in through ``pump``, frames out
recorded. Every wait is a bounded poll.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from camtrap.adapters import mcu_link, mcu_trigger
from camtrap.adapters.clock import SystemClock
from camtrap.adapters.mqtt import MqttPublisher
from camtrap.adapters.outbox import Outbox
from camtrap.config import DeviceConfig, MqttConfig
from camtrap.core.types import Hit
from camtrap.delivery import linger_mqtt
from tests.conftest import wait_for
from trapfw import link

pytestmark = pytest.mark.broker


class WirePort:
    """The Pi's UART: what the Pi writes is recorded; the MCU never answers (no ACKs)."""

    def __init__(self) -> None:
        self.written = bytearray()

    def read(self, size: int = 1) -> bytes:
        return b""

    def write(self, data: bytes, /) -> int:
        self.written += data
        return len(data)

    def close(self) -> None:
        pass

    def shutdown_acks(self) -> int:
        msgs = link.Decoder().feed(bytes(self.written))
        ack = link.shutdown_body(link.SHUTDOWN_ACK)
        return sum(m.mtype == link.SHUTDOWN and m.body == ack for m in msgs)


class Pi:
    """The Pi's SHUTDOWN path with a hit waiting for MQTT; ``halt`` records what it saw."""

    def __init__(self, tmp_path: Path, broker: Any, linger_s: float) -> None:
        clock = SystemClock()
        self.outbox = Outbox(tmp_path / "outbox.db")
        self.outbox.add(Hit("trap-07-3", 3, "trap-07", clock.now(), "leopard", 0.9, 3, 4, "m@1"))
        mqtt_cfg = MqttConfig(
            enabled=True, host=broker.host, port=broker.port, backoff_min_s=0.1, backoff_max_s=0.5
        )
        self.pub = MqttPublisher(mqtt_cfg, DeviceConfig(id="trap-07"), self.outbox, clock)
        self.port = WirePort()
        self.halted = threading.Event()
        self.pending_at_halt: int | None = None
        self.mcu = mcu_link.McuLink(self.port, clock)
        self.src = mcu_trigger.McuTriggerSource(
            self.mcu,
            "trap-07",
            clock,
            frame_interval_s=0.5,
            halt=self._halt,
            hold_s=0.0,
            linger=lambda: linger_mqtt(self.pub, self.outbox, linger_s, clock),
        )

    def _halt(self) -> None:
        self.pending_at_halt = self.outbox.count_pending("mqtt")
        self.halted.set()

    def shutdown_request(self) -> None:
        self.mcu.pump(link.encode_frame(link.SHUTDOWN, 1, bytes((link.SHUTDOWN_REQUEST,))))

    def close(self) -> None:
        self.pub.stop()
        self.outbox.close()


def test_the_shutdown_ack_waits_until_the_mqtt_hit_reached_a_slow_broker(tmp_path, mosquitto):
    mosquitto.stop()  # the uplink is down when the MCU asks the Pi to halt
    pi = Pi(tmp_path, mosquitto, linger_s=60.0)
    try:
        pi.pub.start()
        pi.shutdown_request()
        wait_for(pi.src.halting.is_set, 5.0, "the SHUTDOWN request to be taken")
        assert pi.port.shutdown_acks() == 0 and not pi.halted.is_set()  # still lingering
        mosquitto.start()  # the uplink comes back within the bound
        wait_for(pi.halted.is_set, 30.0, "the Pi to halt")
        assert pi.pending_at_halt == 0  # the broker's PUBACK came before the halt
        assert pi.port.shutdown_acks() == 1
    finally:
        pi.close()


def test_past_the_linger_bound_the_pi_acks_and_halts_and_the_hit_stays_queued(tmp_path, mosquitto):
    mosquitto.stop()  # and it stays down
    pi = Pi(tmp_path, mosquitto, linger_s=0.3)
    try:
        pi.pub.start()
        pi.shutdown_request()
        wait_for(pi.halted.is_set, 10.0, "the Pi to halt")
        assert pi.port.shutdown_acks() == 1
        assert pi.pending_at_halt == 1 and pi.outbox.count_pending("mqtt") == 1  # never lost
    finally:
        pi.close()
