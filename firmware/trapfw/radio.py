"""The MCU's LoRaWAN radio: the uplink scheduler plus an AT modem driver over a UART.

Glue only: ``trapfw.uplink.UplinkScheduler`` decides what may go out (duty cycle, daily
airtime, hits before heartbeats), the configured modem's driver (``trapfw.atmodem_e5`` for the
LoRa-E5 or ``trapfw.atmodem_rak`` for the RAK3172; only that one is imported) drives the modem,
and this class pumps them over a UART-like ``uart`` (``write``, ``any``, ``read``). It is the
``radio`` of ``trapfw.app.App``::

    offer_hit(now_ms, data)   a queued hit (the Pi's exact LoRa bytes)
    heartbeat(now_ms, fields) the state machine says a heartbeat is due
    poll(now_ms, battery_mv)  -> hits the radio is done with (sent, or folded into a heartbeat)
    busy() / next_wake(now_ms)

A hit the scheduler folds into a heartbeat (no airtime left) counts as done: the heartbeat's
``hits_unsent`` reports it. The modem is configured once after a cold boot and joined only
when a send says "not joined", paced by ``JoinBackoff``.
"""

import json
import sys

import trapfw
from trapfw import atmodem, payload_core, uplink

RETRY_S = 60


class LoraRadio:
    """See the module docstring."""

    def __init__(self, uart, cfg, now_ms, driver=None, configure=True):
        self.uart = uart
        self.cfg = cfg
        if driver is None:
            driver = atmodem.driver_class(cfg.modem)()
        self.driver = driver
        self.sched = uplink.UplinkScheduler(
            cfg.lora_region,
            now=now_ms / 1000,
            daily_budget_s=cfg.daily_airtime_s,
            heartbeat_interval_s=cfg.heartbeat_s,
            max_queue=cfg.max_queue,
        )
        if sys.implementation.name == "micropython":
            trapfw.unload("airtime")  # the scheduler keeps plain numbers: ~3.5 KB back
        self.backoff = uplink.JoinBackoff()
        self.backoff.joined()  # assume the modem kept its session; a send says otherwise
        self.offered = []
        self.temp_c = None
        self.op: tuple | None = None  # ("configure"|"join"|"send", uplink or None)
        self._configure = configure and bool(cfg.app_key)

    def offer_hit(self, now_ms, data):
        try:
            fields = payload_core.decode_hit(data)
        except payload_core.PayloadError:
            self.offered.append(data)  # not a hit we can send: released at the next poll
            return
        self.sched.note_event(fields["event_seq"])
        self.sched.offer_hit(now_ms / 1000, data, fields["score"], fields["class_code"])
        self.offered.append(data)

    def heartbeat(self, now_ms, fields):
        self.temp_c = fields.get("temp_c")
        self.sched.heartbeat_due = min(self.sched.heartbeat_due, now_ms / 1000)

    def busy(self):
        return self.op is not None

    def next_wake(self, now_ms):
        if self.op is not None:
            return now_ms
        wake = self.sched.next_wake(now_ms / 1000)
        return None if wake is None else int(wake * 1000)

    def poll(self, now_ms, battery_mv):
        now = now_ms / 1000
        self._pump(now)
        if self.op is None:
            self._start_next(now, battery_mv)
        out = self.driver.outgoing()
        if out:
            self.uart.write(out)
        return self._released()

    # -- surviving ESP32 deep sleep (a reset): the airtime already spent must not be forgotten

    def snapshot(self):
        """The scheduler's airtime log, sub-band closures and heartbeat time, as bytes."""
        s = self.sched
        state = [[list(e) for e in s.log], [b[1] for b in s.bands], s.heartbeat_due]
        return json.dumps(state).encode()

    def restore(self, data):
        """Undo a reset with `snapshot` bytes (from ESP32 RTC memory); bad bytes are ignored."""
        try:
            log, ready, heartbeat_due = json.loads(data)
        except (ValueError, TypeError):
            return False
        s = self.sched
        if len(ready) != len(s.bands):
            return False
        s.log = [tuple(e) for e in log]
        for band, at in zip(s.bands, ready):  # noqa: B905 (MicroPython zip has no strict)
            band[1] = at
        s.heartbeat_due = heartbeat_due
        return True

    # -- internals

    def _pump(self, now):
        n = self.uart.any()
        data = self.uart.read(n) if n else None
        if data:
            self.driver.feed(data, now)
        else:
            self.driver.tick(now)
        result = self.driver.take()
        if result is not None and self.op is not None:
            self._finished(now, result)

    def _finished(self, now, result):
        if self.op is None:
            return
        kind, up = self.op
        self.op = None
        if kind == "join" and result.ok:
            self.backoff.joined()
        elif kind == "send" and result.ok:
            self.sched.sent(now, up)
        elif kind == "send":
            if result.reason == atmodem.NOT_JOINED:
                self.backoff.lost()
            self.sched.failed(now, up, result.retry_in_s or RETRY_S)

    def _start_next(self, now, battery_mv):
        cfg = self.cfg
        if self._configure:
            self._configure = False
            self.op = ("configure", None)
            self.driver.configure(now, cfg.lora_region, cfg.dev_eui, cfg.join_eui, cfg.app_key)
            return
        if not self.backoff.is_joined and self.backoff.may_join(now) and cfg.app_key:
            self.backoff.attempted(now, self.sched.frame_s)
            self.op = ("join", None)
            self.driver.join(now)
            return
        up = self.sched.next_uplink(now, battery_mv, self.temp_c)
        if up is not None:
            self.op = ("send", up)
            self.driver.send(up.fport, up.data, now, up.confirmed)

    def _released(self):
        held = [h.data for h in self.sched.queue]
        if self.op is not None and self.op[1] is not None and self.op[1].queued is not None:
            held.append(self.op[1].queued.data)
        done = [d for d in self.offered if d not in held]
        self.offered = [d for d in self.offered if d in held]
        return done
