"""The MCU main loop: hardware in, events to the state machine, its actions back to hardware.

No ``import machine`` here: the hardware comes in as ``hw`` (``trapfw.hal.Board`` on a device, a
fake in tests and in the MicroPython VM) with::

    now_ms() -> int                 take_pir() -> bool      halt_level() -> bool
    battery_mv() -> int             pi_power(on)            pi_read() -> bytes | None
    pi_write(data)                  log(text)

One pass of `App.poll` reads the PIR flag, the halt line and the UART, feeds the link and the
state machine, runs the actions, saves the state when asked (before the link's ACKs are
written, so a HIT is durable before the Pi sees its ACK), pumps the radio and writes the link's
output. The watchdog is fed by the caller's loop after each pass, and only there.
"""

import trapfw
from trapfw import fsm, link

try:  # noqa: SIM105 (no contextlib on MicroPython)
    from typing import Any
except ImportError:  # MicroPython: annotations are not evaluated there
    pass


class Config:
    """Settings as plain attributes (keys and checks: trapfw.settings, which validated them)."""

    def __init__(self, values):
        for key in values:
            setattr(self, key, values[key])

    def __getattr__(self, name: str) -> "Any":
        raise AttributeError(name)


class App:
    """The firmware's shell around `fsm.step`; see the module docstring."""

    def __init__(self, hw, cfg, ring, radio):
        self.hw, self.cfg, self.ring, self.radio = hw, cfg, ring, radio
        saved = ring.load() or {}
        self.state = fsm.restore(cfg, saved)
        self._saved_at = saved.get("saved_at", 0)
        self._radio_blob = saved.get("radio") or b""  # kept as is while the radio sleeps
        self.link = link.Link(cfg.link_ack_ms, cfg.link_retries, accept=self._accept)
        self.offered = []  # queued hits handed to the radio
        self.faults = []  # (now, reason), the latest few
        self._halt = False
        self._battery_due = 0

    # -- the loop ---------------------------------------------------------------------------

    def start(self, now, wake):
        """First pass after a reset: ``wake`` is "cold", "wake" (timer) or "pir"."""
        shift = now - self._saved_at if now < self._saved_at else 0
        if shift:  # after a power loss the clock restarts: move the saved times by the jump
            self.state = trapfw.call("state_read", "rebase", self.state, shift)  # once: heap
        self.radio.restore_state(self._radio_blob, shift / 1000)
        self.dispatch(("boot", "cold" if wake == "cold" else "wake"), now)
        if wake == "cold":
            self.radio.power_on()  # the modem was powered with the MCU: awake until told
        if shift:
            self._save(now)  # the record in the new clock, before anything else can happen
        self._measure(now)
        if self.cfg.rtc != "none":
            self._clock("rtc_read", now)  # a battery-backed chip: the time at every wake
        if wake == "pir":
            self.dispatch(("pir", None), now)
        self._flush()

    def poll(self, now):
        """One pass of the main loop."""
        if self.hw.take_pir():
            self._measure(now)
            self.dispatch(("pir", None), now)
        self._watch_halt(now)
        data = self.hw.pi_read()
        if data:
            for msg in self.link.feed(data, now):
                self._guarded(msg, now)
        self.link.poll(now)
        while self.link.failed:
            self.link.failed.pop(0)
            self.dispatch(("link_fail", None), now)
        if now >= self._battery_due:
            self._measure(now)
        self.dispatch(("tick", None), now)
        self._pump_radio(now)
        if self.radio.take_dirty():
            self._save(now)  # the radio's counters and join back-off survive a reset
        self._flush()

    def next_wake(self, now):
        """When the next pass has work to do, ms."""
        times = [fsm.next_deadline(self.state, now)]  # with the activity window's next edge
        if not fsm.may_sleep(self.state):
            times.append(self._battery_due)  # asleep, the battery is read at each wake instead
        deadline = self.link.next_deadline()
        if deadline is not None:
            times.append(deadline)
        radio = self.radio.next_wake(now)
        if radio is not None:
            times.append(radio)
        return max(now, min(times))

    def may_sleep(self):
        """Deep sleep is allowed: Pi off, link and radio idle."""
        return fsm.may_sleep(self.state) and self.link.idle() and not self.radio.busy()

    # -- events and actions -----------------------------------------------------------------

    def dispatch(self, event, now):
        new, actions = fsm.step(self.state, event, now)
        self.state = new
        save = False
        act: tuple
        for act in actions:
            kind = act[0]
            if kind == "power":
                self.hw.pi_power(act[1])
                if not act[1]:
                    self.link.reset()  # an unpowered Pi acknowledges nothing
            elif kind == "send":
                self.link.send(act[1], act[2], now)
            elif kind == "save":
                save = True
            elif kind == "heartbeat":
                if self.cfg.lora_time:  # trapfw.timekeep: ask the network's time?
                    self._clock("want", now, True)
                self.radio.heartbeat(now, act[1])
            elif kind == "fault":
                self._fault(now, act[1])
        if save:
            self._save(now)
        self._offer_new_hits(now)

    def _guarded(self, msg, now):
        # The link checked the body; should a handler still raise, the message is counted as a
        # fault and the loop goes on (an exception out of poll would stop the main loop)
        try:
            self._on_message(msg, now)
        except Exception as e:
            self.link.stats["handler"] = self.link.stats.get("handler", 0) + 1
            self._fault(now, "handler:" + type(e).__name__)

    def _save(self, now):
        fields = self.state.persistent()
        fields["saved_at"] = now
        blob = self.radio.persist()
        if blob is not None:
            self._radio_blob = blob
        fields["radio"] = self._radio_blob
        self.ring.save(fields)

    def _on_message(self, msg, now):
        event = _event_of(msg)
        if event is None:
            self.hw.log("link: ignored " + repr(msg))
            return
        if event[0] == "time":  # the Pi's clock: trapfw.timekeep also sets the RTC chip
            self._clock("set_time", event[1], now)
            return
        self.dispatch(event, now)

    def _clock(self, name, *args):
        """``trapfw.timekeep.<name>(self, *args)``: the clock's sources (the Pi, the network,
        an RTC chip) beyond the state machine; the module leaves the heap again."""
        return trapfw.call("timekeep", name, self, *args)

    def _accept(self, msg):
        return msg.mtype != link.HIT or fsm.can_accept_hit(self.state, msg.body)

    def _measure(self, now):
        self._battery_due = now + self.cfg.battery_period_s * 1000
        self.dispatch(("battery", self.hw.battery_mv()), now)
        temp_c = getattr(self.hw, "temp_c", None)
        if temp_c is not None:
            self.dispatch(("temp", temp_c()), now)

    def _watch_halt(self, now):
        level = bool(self.hw.halt_level()) and self.state.pi_powered()
        if level and not self._halt:
            self.dispatch(("halt", None), now)
        self._halt = level

    def _fault(self, now, reason):
        self.faults = self.faults[-7:] + [(now, reason)]  # noqa: RUF005 (MicroPython)
        self.hw.log("fault: " + reason)

    def _offer_new_hits(self, now):
        st = self.state
        for data, at in zip(st.queue, st.queue_at):  # noqa: B905 (MicroPython zip has no strict)
            if data not in self.offered:
                self.offered.append(data)
                if self.state.time_offset is None and self.cfg.lora_time:
                    self._clock("want", now, False)
                self.radio.offer_hit(now, data, at)

    def _pump_radio(self, now):
        st = self.state
        self.radio.note_totals(st.triggers, st.event_seq, fsm.status_flags(st))
        for data in self.radio.poll(now, self.state.battery_mv or None):
            if data in self.offered:
                self.offered.remove(data)
            self.dispatch(("uplinked", data), now)
        r = getattr(self.radio, "radio", None)  # a LazyRadio's built LoraRadio
        if r is not None and r.net_time:  # a DeviceTimeAns, via trapfw.lw_time
            got, r.net_time = r.net_time, None
            self._clock("set_time", (got[0], got[1], link.TIME_SRC_NETWORK), now)

    def _flush(self):
        out = self.link.take_output()
        if out:
            self.hw.pi_write(out)


def _event_of(msg):
    """A link message from the Pi -> a state machine event (None: not for us)."""
    t, body = msg.mtype, msg.body
    try:
        if t == link.HELLO:
            return ("hello", link.parse_hello(body))
        if t == link.READY:
            return ("ready", None)
        if t == link.RESULT:
            return ("result", link.parse_result(body))
        if t == link.HIT:
            return ("hit", body)
        if t == link.SHUTDOWN:
            return ("shutdown_ack", None)  # an ack, or the Pi's own request: both mean "halting"
        if t == link.STATUS:
            return ("status_req", None)
        if t == link.TIME:
            return ("time", link.parse_time_full(body))
        if t == link.HEALTH:
            return ("health", body[0])  # the link checked its length
    except link.FrameError:
        return None
    return None


class LazyRadio:
    """Builds the real radio (``build()``) on first use: an event with nothing to uplink (most
    triggers are empty) never loads the LoRa stack, ~40 KB of bytecode on the heap."""

    def __init__(self, build):
        self._build = build
        self.radio = None
        self._restore = (b"", 0.0)

    def _get(self):
        if self.radio is None:
            self.radio = self._build()
            self.radio.restore_state(*self._restore)
        return self.radio

    def offer_hit(self, now, data, queued=None):
        self._get().offer_hit(now, data, queued)

    def note_totals(self, triggers, event_seq, flags=None):
        if self.radio is not None:
            self.radio.note_totals(triggers, event_seq, flags)

    def power_on(self):
        """After a cold boot: the modem is awake, so the radio is built to put it to sleep."""
        self._get().driver.asleep = False

    def restore_state(self, data, shift_s):
        """Kept until the radio is built: an event with nothing to send never builds it."""
        self._restore = (data, shift_s)

    def persist(self):
        """The radio's state-record bytes (None while it was never built: keep the old)."""
        return None if self.radio is None else self.radio.persist()

    def take_dirty(self):
        return self.radio is not None and self.radio.take_dirty()

    def heartbeat(self, now, fields):
        self._get().heartbeat(now, fields)

    def poll(self, now, battery_mv):
        return [] if self.radio is None else self.radio.poll(now, battery_mv)

    def busy(self):
        return self.radio is not None and self.radio.busy()

    def next_wake(self, now):
        return None if self.radio is None else self.radio.next_wake(now)

    def snapshot(self):
        """The radio's state to keep through a reset (None when it was never loaded)."""
        return None if self.radio is None else self.radio.snapshot()


def __getattr__(name: str) -> "Any":
    # NullRadio (modem "none") lives in trapfw.radio_none: a unit with a modem never loads it
    if name == "NullRadio":
        from trapfw.radio_none import NullRadio

        return NullRadio
    raise AttributeError(name)
