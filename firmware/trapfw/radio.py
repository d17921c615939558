"""The MCU's LoRaWAN radio: the uplink scheduler plus an AT modem driver over a UART.

Glue only: ``trapfw.uplink.UplinkScheduler`` decides what may go out (duty cycle, daily
airtime, hits before heartbeats), the configured modem's driver (``trapfw.atmodem_e5`` for the
LoRa-E5 or ``trapfw.atmodem_rak`` for the RAK3172; only that one is imported) drives the modem,
and this class pumps them over a UART-like ``uart`` (``write``, ``any``, ``read``). It is the
``radio`` of ``trapfw.app.App``::

    offer_hit(now_ms, data, queued_ms)  a queued hit (the Pi's exact LoRa bytes)
    heartbeat(now_ms, fields)           the state machine says a heartbeat is due
    note_totals(triggers, event_seq, flags)  the state machine's counters and status bits
    poll(now_ms, battery_mv)            -> hits the radio is done with (sent, or folded)
    busy() / next_wake(now_ms) / take_dirty()
    persist() / restore_state(data, shift_s)   what survives a reset, in the state record
    snapshot() / restore(data)                 the airtime log, in ESP32 RTC memory

What survives a reset (an ESP32 resets at every wake from deep sleep) lives in the state
record (``persist``, ~40 bytes): the heartbeat counters (triggers reported so far, hits dealt
with and folded since the last heartbeat, the best folded hit's class), whether a heartbeat is
pending, the join back-off (RP002: ``trapfw.joinbackoff``) and whether the modem is joined,
and the hash of the settings the modem was last configured with: the OTAA setup goes out once
after the settings change, not at every wake. The hits' ages come from the state machine's
queue times. The 24 h airtime log and the sub-band closures are bigger and only matter for a
day: they go to RTC memory (``snapshot``, at most ~800 bytes: the log merges per hour).

After every exchange the modem is put into its low-power mode (``driver.sleep``); a hung modem
(``_RESET_AFTER`` silent exchanges in a row) is reset through its reset pin (``reset_modem``).
A send without a clear answer (timeout, unknown reply) is charged its airtime anyway, in case
it went out. While the modem is not joined nothing is sent (it would only hear "not joined");
the radio waits for the join back-off instead.
"""

import trapfw
from trapfw import atmodem, uplink

try:  # noqa: SIM105 (no contextlib on MicroPython)
    from typing import Any
except ImportError:  # MicroPython: annotations are not evaluated there
    pass

try:
    from micropython import const  # type: ignore[import-not-found]
except ImportError:  # CPython

    def const(x):  # type: ignore[no-redef]
        return x


_RETRY_S = const(60)
_RESET_AFTER = const(3)  # silent exchanges in a row before the modem's reset pin is pulsed
_SCORE_STEPS = const(200)  # = trapfw.payload_core.SCORE_STEPS (a test pins it)
_FAR_S = const(315360000)  # 10 years, "not scheduled": the state machine says when one is due
MAYBE_SENT = (atmodem.TIMEOUT, atmodem.UNKNOWN_REPLY)


def _store(name, *args):
    """``trapfw.radio_store.<name>(*args)``: needed a few times per event, loaded for the call
    only (`trapfw.call`), like ``radio_rare`` (rarely) and ``payload_core`` (once per hit)."""
    return trapfw.call("radio_store", name, *args)


def _rare(name, *args):
    return trapfw.call("radio_rare", name, *args)


class LoraRadio:
    """See the module docstring."""

    # set by trapfw.radio_boot.init (MicroPython ignores these annotations: no heap)
    uart: "Any"
    cfg: "Any"
    driver: atmodem.AtDriver
    reset_modem: "Any"
    sched: uplink.UplinkScheduler
    joined: bool
    join_state: tuple
    backoff: "Any"
    join_s: float | None
    offered: list
    temp_c: int | None
    flags: int
    op: tuple | None
    want_hash: int
    configured_hash: int
    triggers_total: int
    reported_triggers: int
    event_seq: int
    hb_pending: bool
    _hb_total: int
    silent: int
    hold_until: float
    dirty: bool
    time_want: bool
    time_step: int
    time_rx: bool
    net_time: tuple | None

    def __init__(self, uart, cfg, now_ms, driver=None, configure=True, reset_modem=None):
        """See the module docstring; the body is in ``trapfw.radio_boot`` (once per boot, then
        unloaded again: heap)."""
        trapfw.call("radio_boot", "init", self, uart, cfg, now_ms, driver, configure, reset_modem)

    # -- inputs -------------------------------------------------------------------------

    def offer_hit(self, now_ms, data, queued_ms=None):
        try:
            code, q = trapfw.call("payload_core", "unpack_hit", data)[:2]
        except ValueError:  # PayloadError (the codec is loaded for the call only)
            self.offered.append(data)  # not a hit we can send: released at the next poll
            return
        queued = None if queued_ms is None else min(queued_ms, now_ms) / 1000
        self.sched.offer_hit(now_ms / 1000, data, q / _SCORE_STEPS, code, queued)
        self.offered.append(data)
        self.dirty = True  # a fold changes the heartbeat counters

    def heartbeat(self, now_ms, fields):
        self.temp_c = fields.get("temp_c")
        self.note_totals(fields.get("triggers_total", self.triggers_total), None)
        seq = fields.get("last_event_seq")
        if seq is not None:
            self.event_seq = seq
        self.hb_pending = True
        self.sched.heartbeat_due = min(self.sched.heartbeat_due, now_ms / 1000)
        self.dirty = True

    def note_totals(self, triggers, event_seq, flags=None):
        """The state machine's trigger counter, newest event sequence (the truth) and status
        flags for the heartbeat (``fsm.status_flags``; None: unchanged)."""
        self.triggers_total = triggers
        if event_seq is not None:
            self.event_seq = event_seq
        if flags is not None:
            self.flags = flags

    # -- the loop -----------------------------------------------------------------------

    def busy(self):
        return self.op is not None

    def next_wake(self, now_ms):
        now = now_ms / 1000
        if self.op is not None:
            return int(self.driver.deadline() * 1000)  # a reply wakes the board before that
        if now < self.hold_until:
            return int(self.hold_until * 1000)
        if self._needs_setup() or not self.driver.asleep:
            return now_ms
        if not self.joined:
            return _rare("join_wake", self, now)
        wake = self.sched.next_wake(now)
        return None if wake is None else int(wake * 1000)

    def poll(self, now_ms, battery_mv):
        now = now_ms / 1000
        self._pump(now)
        if self.op is None and now >= self.hold_until:
            self._start_next(now, battery_mv)
        out = self.driver.outgoing()
        if out:
            self.uart.write(out)
        return self._released()

    def take_dirty(self):
        """True once after the persistent state changed (the caller then saves it)."""
        dirty, self.dirty = self.dirty, False
        return dirty

    # -- what survives a reset: the code is in trapfw.radio_store, loaded for the call only

    def persist(self):
        """The state-record part of the radio, as bytes (see the module docstring)."""
        return _store("persist", self)

    def restore_state(self, data, shift_s=0.0):
        """Undo a reset with `persist` bytes; ``shift_s``: how far the clock jumped back."""
        return _store("restore_state", self, data, shift_s)

    def snapshot(self):
        """The airtime log and sub-band closures, bounded: for ESP32 RTC memory."""
        return _store("snapshot", self)

    def restore(self, data):
        """Undo a deep sleep with `snapshot` bytes (from RTC memory); bad bytes are ignored."""
        return _store("restore", self, data)

    # -- internals ----------------------------------------------------------------------

    def _needs_setup(self):
        return self.want_hash != 0 and self.configured_hash != self.want_hash

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
        kind, up = self.op or ("", None)
        self.op = None
        self._count_silence(now, result)
        if kind == "configure":
            if result.ok:
                self.configured_hash = self.want_hash
                self.dirty = True
            else:
                self.hold_until = now + _RETRY_S
        elif kind == "join" and result.ok:
            _rare("set_joined", self)
        elif kind == "send":
            self._send_done(now, up, result)
        elif kind == "time":
            trapfw.call("lw_time", "done", self, now, result)

    def _send_done(self, now, up, result):
        s = self.sched
        if result.ok:
            s.sent(now, up)
            if self.time_step == 1:  # it carried the time request: read the modem's clock
                trapfw.call("lw_time", "sent", self, result)
            if up.kind == "heartbeat":
                self.reported_triggers = self._hb_total
                self.hb_pending = False
                s.heartbeat_due = now + _FAR_S
            self.dirty = True
            return
        if result.reason in MAYBE_SENT:
            s.charge(now, up)  # it may have gone out: docs/lora.md, "Uplink scheduler policy"
        if result.reason == atmodem.NOT_JOINED:
            self.joined = False
            self.dirty = True
        s.failed(now, up, result.retry_in_s or _RETRY_S)

    def _count_silence(self, now, result):
        if result.reason != atmodem.TIMEOUT:
            self.silent = 0
            return
        self.silent += 1
        if self.silent >= _RESET_AFTER and self.reset_modem is not None:
            _rare("reset", self, now)  # a hung modem: its reset pin is the only way out

    def _start_next(self, now, battery_mv):
        if self._needs_setup():
            _rare("start_setup", self, now)
            return
        if not self.joined:
            if _rare("start_join", self, now):
                return
        else:
            up = self._next_uplink(now, battery_mv)
            if self.time_step == 2 or (up is not None and self.time_want):
                trapfw.call("lw_time", "step", self, now)  # ask just before the carrier goes out
                return
            if up is not None:
                self.op = ("send", up)
                self.driver.send(up.fport, up.data, now, up.confirmed)
                return
        if not self.driver.asleep:
            self.op = ("sleep", None)
            self.driver.sleep(now)

    def _next_uplink(self, now, battery_mv):
        s = self.sched
        self._hb_total = self.triggers_total
        s.triggers = max(0, self.triggers_total - self.reported_triggers)
        s.last_event_seq = self.event_seq
        s.flags = self.flags
        return s.next_uplink(now, battery_mv, self.temp_c)

    def _released(self):
        held = [h.data for h in self.sched.queue]
        if self.op is not None and self.op[1] is not None and self.op[1].queued is not None:
            held.append(self.op[1].queued.data)
        done = [d for d in self.offered if d not in held]
        self.offered = [d for d in self.offered if d in held]
        return done
