"""MQTT publisher (paho-mqtt 2.x): drains the durable outbox to a broker, never loses a hit.

* MQTT 5. Hits go out at QoS 1; a hit is marked sent in the outbox only in ``on_publish`` for
  its message id, i.e. on the broker's PUBACK with a success reason code. A hit published on a
  connection that dies before the PUBACK (or that the broker refused) stays pending and is sent
  again on the next connection (consumers dedupe by ``event_id``). While the broker is down
  hits simply wait in the outbox.
* A hit's picture (the outbox sink ``mqtt_image``, when the outbox has it) goes the same way on
  ``<prefix>/<device>/hit/image``: the raw JPEG, retained, with the event id as the MQTT 5 user
  property ``event_id`` and Content Type ``image/jpeg``.
* Availability: a retained ``offline`` last will, a retained ``online`` after each connect,
  a retained ``offline`` on a clean ``stop()``.
* Reconnects follow `camtrap.core.outbox_policy.backoff_delay` (exponential, jittered).
* A refused connection (bad password, not authorised) is logged as one PeerError line with
  the broker's reason code, and retried with backoff; it never crashes the service.
* A hit carries ``battery_mv`` from the ``battery`` reader when one is given (the MCU's
  reading in power-gated mode, known before the hit goes out), else from the last telemetry.
* Home Assistant discovery configs (retained) on connect and whenever ``homeassistant/status``
  says ``online``.

One network thread owns the socket (``select`` + paho's ``loop_read/loop_write/loop_misc``);
``drain()`` and ``publish_telemetry()`` may be called from the service thread, under a lock.
Which hits a connection was handed, and when they count as delivered, is
`camtrap.adapters.mqtt_delivery`.
A new paho client is made for every connection, so no hit hides in paho's in-memory queue.

    pub = MqttPublisher(cfg.mqtt, cfg.device, outbox, clock, cfg.homeassistant)
    pub.start()
    outbox.add(hit)
    pub.drain()          # 1 hit handed to the broker; marked sent on its PUBACK
"""

from __future__ import annotations

import contextlib
import logging
import random
import select
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from typing import Any

import paho.mqtt.client as mqtt

from camtrap import __version__
from camtrap.adapters.dry_run import battery_now
from camtrap.adapters.mqtt_delivery import OK, Deliveries, publish
from camtrap.adapters.mqtt_setup import check_mqtt, new_client, read_password, tls_context
from camtrap.adapters.outbox import IMAGE_SINKS, Outbox
from camtrap.config import DeviceConfig, HomeAssistantConfig, MqttConfig
from camtrap.core.messages import (
    OFFLINE,
    Counter,
    Discovery,
    Publication,
    Topics,
    availability_message,
    battery_from_counters,
    discovery_messages,
    ha_status_topic,
    status_message,
    telemetry_message,
    topics,
)
from camtrap.core.outbox_policy import backoff_delay
from camtrap.core.ports import Clock
from camtrap.errors import PeerError

log = logging.getLogger(__name__)

REDRAIN_S = 30.0  # also drain this often, for hits added without a drain() call
STOP_SETTLE_STEPS = 20  # on stop, up to 20 x 0.1 s for outstanding PUBACKs


class MqttPublisher:
    def __init__(
        self,
        mqtt_cfg: MqttConfig,
        device_cfg: DeviceConfig,
        outbox: Outbox,
        clock: Clock,
        ha_cfg: HomeAssistantConfig | None = None,
        *,
        model: str = "",
        sw_version: str = __version__,
        jitter: Callable[[], float] = random.random,
        sink: str = "mqtt",
        source: str = "<config>",
        battery: Callable[[], int | None] | None = None,
        discovery: Discovery | None = None,
    ) -> None:
        self.topics: Topics = check_mqtt(mqtt_cfg, device_cfg.id, source)
        self.cfg, self.device, self.ha = mqtt_cfg, device_cfg, ha_cfg
        self.outbox, self.clock, self.sink = outbox, clock, sink
        self.image_sink = next((s for s in outbox.sinks if s in IMAGE_SINKS), None)
        self.model, self.sw_version, self._jitter = model, sw_version, jitter
        self.client_id = mqtt_cfg.client_id or f"camtrap-{device_cfg.id}"
        self._password = read_password(mqtt_cfg, source)
        self._tls = tls_context(mqtt_cfg, source)
        self._lock = threading.RLock()
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._thread: threading.Thread | None = None
        self._client: mqtt.Client | None = None
        self._deliveries = Deliveries(
            outbox, clock, sink, self.image_sink, self.topics_for, self.battery
        )
        self._counters: Mapping[str, Counter] | None = None
        self._battery_mv: int | None = None
        self._read_battery = battery  # e.g. the MCU's latest reading (power-gated)
        self._attempt = 0
        self._last_drain = 0.0
        self._announcing = False
        self.discovery = discovery or Discovery(
            model,
            sw_version,
            battery=battery is not None or device_cfg.mode == "power-gated",
            availability=device_cfg.mode != "power-gated",  # a gated Pi is off between events
        )

    def __repr__(self) -> str:  # never show the password
        return f"MqttPublisher({self.cfg.host}:{self.cfg.port}, client_id={self.client_id!r})"

    # ---------------------------------------------------------------- public API

    def start(self) -> None:
        """Start the network thread; returns at once (a broker that is down is no error)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="camtrap-mqtt", daemon=True)
        self._thread.start()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def drain(self) -> int:
        """Publish pending hits not yet handed to this connection; returns how many."""
        if not self._connected.is_set():
            return 0
        with self._lock:
            return self._drain_locked()

    def publish_telemetry(self, counters: Mapping[str, Counter]) -> None:
        """Publish counters now, or on the next connect when the broker is unreachable."""
        self._counters = dict(counters)
        self._battery_mv = battery_from_counters(counters) or self._battery_mv
        if self._connected.is_set():
            with self._lock:
                self._publish(telemetry_message(self.topics, counters, self.clock.now()))

    def stop(self, timeout: float = 5.0) -> None:
        """Publish ``offline``, disconnect cleanly and end the network thread."""
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():  # stuck in a TCP connect: it is a daemon, let it be
                log.warning("mqtt: network thread did not stop within %.1f s", timeout)
                return
            self._thread = None
        self._wake_r.close()
        self._wake_w.close()

    # ---------------------------------------------------------------- network thread

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._connection()
            except Exception:  # the network thread must outlive any surprise
                log.exception("mqtt: connection failed unexpectedly")
            if self._stopping.is_set():
                break
            delay = backoff_delay(
                self._attempt, self.cfg.backoff_min_s, self.cfg.backoff_max_s, self._jitter()
            )
            self._attempt += 1
            log.info("mqtt: reconnecting in %.1f s (%s waiting)", delay, self._waiting())
            self._stopping.wait(delay)

    def _connection(self) -> None:
        client = self._new_client()
        if self._connect(client):
            self._serve(client)

    def _waiting(self) -> str:
        try:
            return f"{self.outbox.count_pending(self.sink)} hit(s)"
        except PeerError as e:
            return f"outbox unreadable: {e}"

    def _new_client(self) -> mqtt.Client:
        c = new_client(self.cfg, self.client_id, self._password, self._tls)
        c.will_set(self.topics.availability, OFFLINE, qos=1, retain=True)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        return c

    def _connect(self, client: mqtt.Client) -> bool:
        where = f"{self.cfg.host}:{self.cfg.port}"
        try:
            client.connect(
                self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s, clean_start=True
            )
        except (OSError, ValueError) as e:  # refused, unreachable, DNS, TLS handshake
            log.warning("mqtt: %s", PeerError(f"cannot connect to broker {where}: {e}"))
            return False
        with self._lock:
            self._client = client
        return True

    def _serve(self, client: mqtt.Client) -> None:
        """Run one connection until it is lost or the publisher stops."""
        try:
            while not self._stopping.is_set():
                if not self._step(client, 1.0):
                    return
            self._settle(client)
            self._shutdown(client)
        finally:
            with self._lock:
                self._connected.clear()
                self._announcing = False
                self._client = None
                self._deliveries.reset()

    def _settle(self, client: mqtt.Client) -> None:
        """On stop, give hits in flight a moment for their PUBACK (fewer re-sends at boot)."""
        for _ in range(STOP_SETTLE_STEPS):
            if not self._deliveries.in_flight or not self._step(client, 0.1):
                return

    def _step(self, client: mqtt.Client, timeout: float) -> bool:
        sock = client.socket()
        if sock is None:
            return False
        buffered = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        wlist = [sock] if client.want_write() else []
        try:
            readable, _, _ = select.select(
                [sock, self._wake_r], wlist, [], 0 if buffered else timeout
            )
        except (OSError, ValueError):
            return False
        if self._wake_r in readable:
            with contextlib.suppress(OSError):
                self._wake_r.recv(4096)
        with self._lock:
            rc = client.loop_read() if (sock in readable or buffered) else OK
            if rc == OK and client.want_write():
                rc = client.loop_write()
            if rc == OK:
                rc = client.loop_misc()
            if rc == OK and self._announcing and not client.want_write():
                self._announcing = False
                self._connected.set()
            if rc == OK and self._connected.is_set() and self._redrain_due():
                self._drain_locked()
        return rc == OK

    def _shutdown(self, client: mqtt.Client) -> None:
        with self._lock:
            if self._connected.is_set():
                self._publish(availability_message(self.topics, online=False))
            client.disconnect()
            for _ in range(20):  # flush what is left, bounded
                sock = client.socket()
                if sock is None or not client.want_write():
                    break
                select.select([], [sock], [], 0.1)
                client.loop_write()
        log.info("mqtt: disconnected from %s:%d", self.cfg.host, self.cfg.port)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    # ---------------------------------------------------------------- callbacks (under lock)

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        where = f"{self.cfg.host}:{self.cfg.port}"
        if reason.is_failure:
            problem = (
                f"broker {where} refused the connection: {reason} (reason code {reason.value})"
            )
            log.error("mqtt: %s", PeerError(problem))
            return
        try:
            self._attempt = 0
            log.info("mqtt: connected to %s as %s", where, self.client_id)
            self._announce(client)
            self._drain_locked()
        except Exception:  # a callback must never kill paho's read
            log.exception("mqtt: after connect")
        self._announcing = True  # `connected` once the announcements are on the wire

    def _announce(self, client: mqtt.Client) -> None:
        now = self.clock.now()
        self._publish(availability_message(self.topics, online=True))
        info = {"model": self.model, "sw_version": self.sw_version, "mode": self.device.mode}
        self._publish(status_message(self.topics, now, info))
        if self.ha is not None and self.ha.enabled:
            client.subscribe(ha_status_topic(self.ha.discovery_prefix), qos=1)
            self._publish_discovery()
        if self._counters is not None:
            self._publish(telemetry_message(self.topics, self._counters, now))

    def _publish_discovery(self) -> None:
        assert self.ha is not None
        for p in discovery_messages(self.ha.discovery_prefix, self.topics, self.discovery):
            self._publish(p)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and not self._stopping.is_set():
            log.warning("mqtt: connection to %s:%d lost: %s", self.cfg.host, self.cfg.port, reason)

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any
    ) -> None:
        self._deliveries.acknowledged(mid, reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if self.ha is None or msg.topic != ha_status_topic(self.ha.discovery_prefix):
            return
        if msg.payload.strip() == b"online":
            log.info("mqtt: Home Assistant is online: re-publishing discovery")
            self._publish_discovery()
            if self._counters is not None:
                self._publish(telemetry_message(self.topics, self._counters, self.clock.now()))

    # ---------------------------------------------------------------- publishing (under lock)

    def _drain_locked(self) -> int:
        client = self._client
        self._last_drain = self.clock.monotonic()
        if client is None:
            return 0
        return self._deliveries.drain(client)

    def battery(self) -> int | None:
        """The battery for a hit: the ``battery`` reader's value, else the last telemetry's."""
        return battery_now(self._read_battery, self._battery_mv)

    def topics_for(self, device_id: str) -> Topics:
        """Hits carry their device id; normally it is this device's."""
        if device_id == self.topics.device_id:
            return self.topics
        return topics(self.topics.prefix, device_id)

    def _publish(self, p: Publication) -> None:
        client = self._client
        if client is not None:
            publish(client, p)

    def _redrain_due(self) -> bool:
        return self.clock.monotonic() - self._last_drain >= REDRAIN_S
