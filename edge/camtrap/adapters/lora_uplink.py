"""LoRa uplink publisher: drains the Outbox's ``"lora"`` deliveries through the uplink
scheduler to a modem on the Pi's own serial port (``[lora] via = "serial"``; with
``via = "mcu"`` the MCU does this).

Same surface as the MQTT publisher (the `Publisher` port: ``start``, ``drain``,
``publish_telemetry``, ``stop``), so the service loop drives either. Policy
(``trapfw.uplink``): duty cycle per sub-band, a daily airtime budget with a reserve for hits,
unconfirmed uplinks, heartbeats with the counters of what could not be sent. A hit counts as
delivered on the ``lora`` sink once it is sent or folded into the heartbeat counters. The modem
keeps its session; the publisher joins only when a send says ``not_joined``, paced by the
LoRaWAN join back-off.

    lora = build_lora_publisher(cfg.lora, outbox, clock)
    lora.start(); lora.drain(); lora.stop()
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from camtrap.adapters.outbox import Outbox
from camtrap.adapters.timesync import reading
from camtrap.config import LoraConfig
from camtrap.core.hit_uplink import class_code, hit_uplink
from camtrap.core.ports import Clock, Modem
from camtrap.errors import ConfigError
from trapfw import airtime, atmodem, payload
from trapfw.joinbackoff import JoinBackoff
from trapfw.uplink import UplinkScheduler

log = logging.getLogger("camtrap.lora")

JOIN_REQUEST_PHY_BYTES = 23
RETRY_S = {
    atmodem.BUSY: 10.0,
    atmodem.NO_FREE_CHANNEL: 30.0,
    atmodem.NOT_JOINED: 30.0,
    atmodem.TIMEOUT: 60.0,
    atmodem.UNKNOWN_REPLY: 60.0,
}
MAYBE_SENT = (atmodem.TIMEOUT, atmodem.UNKNOWN_REPLY)


class LoraPublisher:
    def __init__(
        self,
        outbox: Outbox,
        modem: Modem,
        scheduler: UplinkScheduler,
        clock: Clock,
        *,
        sink: str = "lora",
    ) -> None:
        self.outbox, self.modem, self.scheduler, self.clock = outbox, modem, scheduler, clock
        self.sink = sink
        self.backoff = JoinBackoff()
        self.battery_mv: int | None = None
        self._offered: dict[str, Any] = {}  # event_id -> scheduler queue entry
        self._triggers_seen: int | None = None  # the service's cumulative trigger counter

    def start(self) -> None:
        """Nothing to do: the modem keeps its session, so there is no join on start."""

    def drain(self) -> int:
        """Offer new hits, send what the scheduler allows now; returns hits delivered."""
        self._offer_new()
        while self._send_one():
            pass
        return self._settle()

    def publish_telemetry(self, counters: Mapping[str, Any]) -> None:
        """Battery, the service's cumulative trigger count and its storage and clock state
        feed the next heartbeat."""
        battery = _number(counters.get("battery_mv"))
        if battery is not None:
            self.battery_mv = battery
        flags = payload.HB_STORAGE_FAULT if counters.get("storage_fault") else 0
        if counters.get("time_source") == "none":  # the Pi's clock was never set
            flags |= payload.HB_CLOCK_UNSET
        self.scheduler.flags = flags  # the heartbeat's status bits (the MCU's: fsm.status_flags)
        triggers = _number(counters.get("triggers"))
        if triggers is not None:
            last = self._triggers_seen
            # the first reading, or the counter restarted: all of it is new
            fresh = triggers if last is None or triggers < last else triggers - last
            self.scheduler.note_triggers(fresh)
            self._triggers_seen = triggers

    def stop(self) -> None:
        self.modem.close()

    # ------------------------------------------------------------------------------------

    def _offer_new(self) -> None:
        for hit in self.outbox.pending(self.sink, limit=100):
            if hit.event_id in self._offered:
                continue
            try:
                now, trusted = reading(self.clock)
                data = hit_uplink(hit, now, self.battery_mv, trusted)
            except payload.PayloadError as e:
                log.error("hit %s cannot be encoded for LoRa (%s): dropped", hit.event_id, e)
                self.outbox.mark_sent(hit.event_id, self.sink)
                continue
            now = self.clock.monotonic()
            entry = self.scheduler.offer_hit(now, data, hit.score, class_code(hit.label))
            self._offered[hit.event_id] = entry

    def _send_one(self) -> bool:
        now = self.clock.monotonic()
        up = self.scheduler.next_uplink(now, battery_mv=self.battery_mv)
        if up is None:
            return False
        result = self.modem.send(up.fport, bytes(up.data), up.confirmed)
        now = self.clock.monotonic()
        if result.ok:
            self.scheduler.sent(now, up)
            self.backoff.joined()
            log.info("lora %s sent (%d bytes, %.0f ms)", up.kind, len(up.data), up.airtime_s * 1e3)
            return True
        self._on_failure(now, up, result)
        return False

    def _on_failure(self, now: float, up: Any, result: atmodem.Result) -> None:
        log.warning("lora %s not sent: %s (%s)", up.kind, result.reason, result.detail)
        if result.reason in MAYBE_SENT:
            self.scheduler.charge(now, up)
        retry = result.retry_in_s or RETRY_S.get(result.reason, 300.0)
        self.scheduler.failed(now, up, retry)
        if result.reason == atmodem.NOT_JOINED:
            self.backoff.lost()
            self._join(now)

    def _join(self, now: float) -> None:
        sched = self.scheduler
        join_ms = airtime.time_on_air_ms(sched.sf, sched.bw, JOIN_REQUEST_PHY_BYTES)
        # a RAK3172 join makes up to 8 attempts by itself (RUI3 AT+JOIN=1:0:10:8): book each
        join_s = join_ms / 1e3 * int(getattr(self.modem, "join_attempts", 1))
        if not self.backoff.may_join(now, join_s):
            return
        self.backoff.attempted(now, join_s)
        result = self.modem.join()
        if result.ok:
            self.backoff.joined()
            log.info("lora joined")
        else:
            log.warning("lora join failed: %s (%s)", result.reason, result.detail)

    def _settle(self) -> int:
        """Mark delivered every offered hit that left the queue (sent or folded)."""
        done = 0
        for event_id, entry in list(self._offered.items()):
            if entry is None or entry not in self.scheduler.queue:
                self.outbox.mark_sent(event_id, self.sink)
                del self._offered[event_id]
                done += 1
        return done


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def make_scheduler(cfg: LoraConfig, now: float, source: str = "<config>") -> UplinkScheduler:
    """The scheduler for ``[lora]``; a data rate that cannot carry 11 bytes is a ConfigError."""
    try:
        return UplinkScheduler(
            cfg.region,
            now=now,
            dr=cfg.data_rate,
            daily_budget_s=cfg.daily_airtime_s,
            reserve_hits=cfg.reserve_hits,
            heartbeat_interval_s=cfg.heartbeat_interval_s,
            confirmed=cfg.confirmed,
        )
    except ValueError as e:
        raise ConfigError(source, "lora.data_rate", str(e)) from None


def build_lora_publisher(cfg: LoraConfig, outbox: Outbox, clock: Clock) -> LoraPublisher:
    """A LoraPublisher on the configured serial modem (``[lora] via = "serial"``)."""
    from camtrap.adapters.lora_modem import SerialModem

    if cfg.via != "serial":
        raise ConfigError("<config>", "lora.via", 'the Pi drives a modem only with via = "serial"')
    scheduler = make_scheduler(cfg, clock.monotonic())
    modem = SerialModem.open(cfg.port, cfg.modem, cfg.baud or None)
    return LoraPublisher(outbox, modem, scheduler, clock)
