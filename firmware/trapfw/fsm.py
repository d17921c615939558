"""The MCU's state machine as a table: ``step(state, event, now) -> (state, actions)``.

Pure: no I/O and no clock; ``now`` is milliseconds on the MCU's clock and every deadline is
compared with it. The hal main loop turns hardware into events and actions into hardware.

Modes (``settings.mode``):

* power-gated: sleep -> (PIR) booting -> (READY, TRIGGER sent) burst -> (all RESULTs)
  shutdown -> (Pi halt signal or grace timeout) sleep. Boot, burst and shutdown have timeouts,
  the Pi's on-time per event is capped (``max_on_s``), a PIR during a burst is forwarded as an
  extra TRIGGER with a new event sequence, and a retrigger lockout follows every power-off.
* power-gated with an activity schedule (``schedule = "on"``): inside the windows the Pi is
  kept up and armed: sleep -> (window opens) booting -> (READY) armed -> (PIR: TRIGGER at once)
  burst -> (all RESULTs) armed, and at the window's end shutdown -> sleep. Outside them, and
  until the Pi has sent the time, it is power-gated as above (``trapfw.schedule``).
* always-on: the Pi is powered and watches the PIR itself; the MCU queues HITs for the radio,
  counts RESULTs, watches the battery and sends heartbeats.

Both: below ``battery_cutoff_mv`` the Pi is never booted (and is shut down if on), one
low-battery uplink is sent, and the unit leaves ``lowbat`` only above cutoff + hysteresis.

Events are tuples ``(kind, value)``; actions are tuples::

    ("power", 1|0)                 Pi 5 V rail on or off
    ("send", link_type, body)      a message to the Pi over the link
    ("save",)                      persist the state now (counters, sequence, hit queue)
    ("heartbeat", fields)          queue a heartbeat uplink (fields: see heartbeat_fields)
    ("fault", reason)              report a fault (the unit carries on)

Every (state, event) pair has a handler (``table()``: the rows below plus the handlers common
to every state); an unknown state or event is an explicit fault.
"""

from trapfw import link

STATES = ("sleep", "booting", "burst", "shutdown", "lowbat", "on", "fault", "armed")
EVENTS = (
    "boot",  # value: "cold" (reset, brown-out) or "wake" (from deep sleep)
    "tick",  # time passed; deadlines are checked
    "pir",  # the PIR went high
    "battery",  # value: battery mV just measured
    "hello",  # the Pi said HELLO
    "ready",  # the Pi's service is up
    "result",  # value: (event_seq, verdict)
    "hit",  # value: LoRa hit uplink bytes (the link already ACKed them)
    "shutdown_ack",  # the Pi agreed to halt
    "halt",  # the Pi's halt signal went high
    "uplinked",  # value: a queued hit's bytes the radio is done with (sent, or folded)
    "link_fail",  # a message to the Pi was given up after its retries
    "time",  # value: (unix s, uncertainty s or None, link.TIME_SRC_*): the Pi, network, RTC
    "status_req",  # the Pi asked for STATUS
    "temp",  # value: MCU temperature, degrees C (None: no sensor)
    "health",  # value: the Pi's HEALTH flags (link.HEALTH_*)
)

# Fault reason codes (also counted in state.faults).
MAX_ON_TIME = "max_on_time"
BOOT_TIMEOUT = "boot_timeout"
BURST_TIMEOUT = "burst_timeout"
SHUTDOWN_TIMEOUT = "shutdown_timeout"
PI_HALTED = "pi_halted"
LINK_FAIL = "link_fail"
QUEUE_FULL = "queue_full"
BAD_HIT = "bad_hit"
HIT_BYTES = 11  # a hit uplink is exactly 11 bytes (trapfw.payload_core.MAX_PAYLOAD)
UNDEFINED = "undefined"

SEQ_MASK = 0xFFFFFF
PERSISTENT = (
    "event_seq",
    "triggers",
    "hits",
    "boot_failures",
    "faults",
    "lowbat",
    "lowbat_sent",
    "booted_at",
    "next_heartbeat",
    "lockout_until",
    "hb_triggers",
    "hb_hits",
    "queue",
    "queue_at",
    "time_offset",  # the wall clock survives a deep-sleep reset: the schedule needs it
    "time_doubt",  # and how sure it is, for the Pi's records
    "time_set",
    "time_src",  # who set it (link.TIME_SRC_*), told to the Pi at HELLO
    "time_asked",  # when the network time was last asked (ms), and the RTC chip last set
    "rtc_set",  # (unix s): trapfw.app, trapfw.lw_time, trapfw.rtc_ds3231
    "storage_fault",  # the Pi's last HEALTH said its storage is degraded (for the heartbeat)
)
VOLATILE = (
    "name",
    "battery_mv",
    "pi_on_at",
    "deadline",
    "pending",
    "index",
    "acked",
    "reason",
    "temp_c",
)
CLOCK_PPM = 20000  # the ESP32's RTC on its internal RC oscillator: ~2 % (a crystal: ~20 ppm)
EARLIEST_UNIX = 1735689600  # 2025-01-01: a clock before this was never set


class State:
    """The whole machine state: the state name, counters, deadlines and the hit queue."""

    def __init__(self, cfg, **values):
        self.cfg = cfg
        self.name = "sleep" if cfg.mode == "power-gated" else "on"
        self.event_seq = 0  # the last allocated event sequence (persistent, 24 bits)
        self.triggers = self.hits = self.boot_failures = self.faults = 0
        self.lowbat = self.lowbat_sent = False
        self.booted_at = self.next_heartbeat = self.lockout_until = 0
        self.hb_triggers = self.hb_hits = 0  # counters at the last heartbeat
        self.queue: tuple = ()  # hit uplink payloads acknowledged to the Pi, oldest first
        self.queue_at: tuple = ()  # when each of them was acknowledged, ms (its age keeps growing)
        self.battery_mv = 0  # 0 = not measured yet: never boot the Pi on that
        self.pi_on_at = None  # when the Pi was powered, ms
        self.deadline = None  # the current state's timeout, ms
        self.pending: tuple = ()  # event sequences triggered but without a RESULT yet
        self.index = 0  # triggers sent in this power cycle
        self.acked = False  # the Pi acked SHUTDOWN
        self.reason = ""  # the last fault reason
        self.time_offset = None  # unix seconds minus MCU seconds, once a time source said
        self.time_doubt = 0  # how far off that time was, s
        self.time_set = 0  # when (MCU seconds) it was set
        self.time_src = link.TIME_SRC_NTP
        self.time_asked = self.rtc_set = 0
        self.temp_c = None  # the last temperature reading
        self.storage_fault = False  # the Pi's storage was degraded at its last HEALTH
        for key in values:
            if key not in PERSISTENT and key not in VOLATILE:
                raise ValueError("unknown state field: " + key)
            setattr(self, key, values[key])

    def replace(self, **changes):
        new = State(self.cfg)
        for key in PERSISTENT + VOLATILE:
            setattr(new, key, changes[key] if key in changes else getattr(self, key))
        return new

    def persistent(self):
        """The fields that survive a reset, as a dict (see trapfw.state)."""
        return {key: getattr(self, key) for key in PERSISTENT}

    def pi_powered(self):
        return self.pi_on_at is not None


def restore(cfg, saved):
    """A State from persisted fields (unknown fields are ignored, missing ones default)."""
    state = State(cfg)
    for key in PERSISTENT:
        if key in saved:
            setattr(state, key, tuple(saved[key]) if key in ("queue", "queue_at") else saved[key])
    if len(state.queue_at) != len(state.queue):  # an older record without the times
        state.queue_at = (0,) * len(state.queue)
    return state


def step(state, event, now):
    """One transition. Returns (new state, list of actions)."""
    kind = event[0]
    handler = lookup(state.name, kind)
    if handler is None:
        return _fault(state, now, UNDEFINED + ":" + str(state.name) + ":" + str(kind))
    return handler(state, event[1] if len(event) > 1 else None, now)


def next_deadline(state, now=None):
    """The earliest time at which a "tick" changes something, ms (None: nothing scheduled).
    With ``now``, the next edge of an activity window counts too (the MCU wakes for it)."""
    times = [state.next_heartbeat]
    if state.deadline is not None:
        times.append(state.deadline)
    if _capped(state):
        times.append(state.pi_on_at + _ms(state.cfg.max_on_s))
    sched = None if now is None else _sched(state)
    edge = None if sched is None else sched.window_edge(state, now)
    if edge is not None:
        times.append(edge)
    if state.name == "fault":
        times.append(0)
    return min(times)


def can_accept_hit(state, body=None):
    """False when the hit queue is full (the link answers NACK busy and the Pi keeps it) or
    ``body`` is not an 11-byte hit uplink (it would not fit the sized state record)."""
    if body is not None and len(body) != HIT_BYTES:
        return False
    return len(state.queue) < state.cfg.max_queue


def _capped(state):
    """The on-time cap applies: a power-gated Pi that is on, and not armed by the schedule
    (an armed Pi's cap restarts with each burst)."""
    return state.pi_on_at is not None and state.cfg.mode == "power-gated" and state.name != "armed"


def _sched(state):
    """``trapfw.fsm_armed`` (the schedule's handlers) when ``schedule = "on"``, else None:
    without a schedule that module is never loaded (heap)."""
    if state.cfg.schedule != "on":
        return None
    from trapfw import fsm_armed

    return fsm_armed


def may_sleep(state):
    """True when the MCU may sleep deeply (Pi off, nothing in flight)."""
    return state.name in ("sleep", "lowbat")


# --------------------------------------------------------------------------------------------
# Helpers shared by the handlers


def _ms(seconds):
    return int(seconds * 1000)


def _fault(state, now, reason):
    new = state.replace(name="fault", reason=reason, faults=state.faults + 1, deadline=now)
    return new, [("fault", reason)]


def _power_off(state, now, acts):
    """Cut the Pi and settle in the idle state of the mode (lockout starts now)."""
    acts.append(("power", 0))
    acts.append(("save",))
    if state.lowbat:
        idle = "lowbat"
    elif state.cfg.mode == "power-gated":
        idle = "sleep"
    else:
        idle = "on"
        acts.append(("power", 1))
    new = state.replace(
        name=idle,
        pi_on_at=None if idle != "on" else now,
        deadline=None,
        pending=(),
        index=0,
        acked=False,
        lockout_until=now + _ms(state.cfg.lockout_s),
    )
    return new, acts


def _fault_off(state, now, reason, acts):
    acts.append(("fault", reason))
    new, acts = _power_off(state.replace(faults=state.faults + 1, reason=reason), now, acts)
    return new, acts


def _request_shutdown(state, now, acts):
    acts.append(("send", link.SHUTDOWN, link.shutdown_body(link.SHUTDOWN_REQUEST)))
    grace = now + _ms(state.cfg.shutdown_grace_s)
    if _capped(state):
        grace = min(grace, state.pi_on_at + _ms(state.cfg.max_on_s))
    return state.replace(name="shutdown", deadline=grace, acked=False), acts


def _next_seq(state):
    return (state.event_seq + 1) & SEQ_MASK


def status_flags(state):
    """The heartbeat's status bits (trapfw.payload_core.HB_*: storage fault 1, clock unset 2,
    low battery 4), as they are now; the radio puts them in the next heartbeat it sends."""
    flags = 1 if state.storage_fault else 0
    if state.time_offset is None:
        flags |= 2
    if state.lowbat:
        flags |= 4
    return flags


def heartbeat_fields(state):
    """What a heartbeat reports (the keyword arguments of trapfw.payload.encode_heartbeat)."""
    return {
        "battery_mv": state.battery_mv or None,
        "last_event_seq": state.event_seq,
        "triggers": state.triggers - state.hb_triggers,
        "hits": state.hits - state.hb_hits,
        "hits_unsent": min(len(state.queue), state.hits - state.hb_hits),
        "temp_c": state.temp_c,
        "triggers_total": state.triggers,  # the radio reports what changed since its last one
    }


def _heartbeat(state, now, acts):
    if now < state.next_heartbeat:
        return state
    acts.append(("heartbeat", heartbeat_fields(state)))
    acts.append(("save",))
    period = _ms(state.cfg.heartbeat_s)
    nxt = state.next_heartbeat + period
    if nxt <= now:  # slept through one or more: do not send a backlog
        nxt = now + period
    return state.replace(next_heartbeat=nxt, hb_triggers=state.triggers, hb_hits=state.hits)


def _ignore(state, value, now):
    return state, []


# --------------------------------------------------------------------------------------------
# Handlers valid in every state


def _boot(state, value, now):
    """Reset or wake: start from the persisted fields in the mode's idle state.

    HELLO goes out only to a running Pi (always-on); a power-gated Pi says HELLO after booting.
    """
    acts: list = []
    if state.cfg.mode == "always-on":
        acts.append(("send", link.HELLO, link.hello_body(link.ROLE_MCU, "trapfw")))
    cold = value != "wake"
    hb = state.next_heartbeat
    if cold or hb <= 0 or hb > now + _ms(state.cfg.heartbeat_s):  # unset, or the clock reset
        hb = now + _ms(state.cfg.heartbeat_s)
    new = state.replace(
        name="lowbat" if state.lowbat else ("sleep" if state.cfg.mode == "power-gated" else "on"),
        booted_at=now if cold else state.booted_at,
        next_heartbeat=hb,
        lockout_until=0 if cold else state.lockout_until,
        pi_on_at=None,
        deadline=None,
        pending=(),
        index=0,
    )
    if new.name == "on":
        acts.append(("power", 1))
        new = new.replace(pi_on_at=now)
    else:
        acts.insert(0, ("power", 0))
    return new, acts


def _hit(state, value, now):
    if not can_accept_hit(state, value):
        reason = BAD_HIT if len(value) != HIT_BYTES else QUEUE_FULL
        return state.replace(faults=state.faults + 1, reason=reason), [("fault", reason)]
    new = state.replace(
        queue=state.queue + (bytes(value),),  # noqa: RUF005 (no * in MicroPython tuples)
        queue_at=state.queue_at + (now,),  # noqa: RUF005
        hits=state.hits + 1,
    )
    return new, [("save",)]


def _uplinked(state, value, now):
    """The radio is done with a queued hit (value: its bytes; None: the oldest)."""
    queue, times = list(state.queue), list(state.queue_at)
    if value is None and queue:
        at = 0
    elif value in queue:
        at = queue.index(value)
    else:
        return state, []
    queue.pop(at)
    times.pop(at)
    return state.replace(queue=tuple(queue), queue_at=tuple(times)), [("save",)]


def _hello(state, value, now):
    """The Pi booted: HELLO back, and the time when known (it reaches the Pi before any
    TRIGGER: one message in flight at a time, in order), so its bursts carry a real date."""
    acts = [("send", link.HELLO, link.hello_body(link.ROLE_MCU, "trapfw"))]
    told = clock_now(state, now)
    if told is not None:  # the network's or the RTC chip's time says so; the Pi's own: carried
        src = state.time_src if state.time_src > link.TIME_SRC_CARRIED else link.TIME_SRC_CARRIED
        acts.append(("send", link.TIME, link.time_body(told[0], told[1], src)))
    return state, acts


def _time(state, value, now):
    """A time source spoke (the Pi's synchronised clock, the network's DeviceTimeAns, an RTC):
    take it unless it is implausible or less sure than what the MCU already carries."""
    unix_s, doubt = (value, None) if isinstance(value, int) else value[:2]  # bare: the Pi's NTP
    doubt = 1 if doubt is None else doubt
    if unix_s < EARLIEST_UNIX:
        return state, []
    carried = clock_now(state, now)
    if carried is not None and carried[1] < doubt:
        return state, []
    src = link.TIME_SRC_NTP if isinstance(value, int) else value[2]
    new = state.replace(
        time_offset=int(unix_s) - now // 1000, time_doubt=doubt, time_set=now // 1000, time_src=src
    )
    return new, [("save",)]  # kept through resets and deep sleep


def clock_now(state, now):
    """(unix s, uncertainty s) of the MCU's clock now, or None when no source ever set it;
    the doubt grows with the oscillator's drift since the time was set."""
    if state.time_offset is None:
        return None
    elapsed = max(0, now // 1000 - state.time_set)
    return now // 1000 + state.time_offset, state.time_doubt + 1 + elapsed * CLOCK_PPM // 1000000


def _health(state, value, now):
    """The Pi's HEALTH: its storage degraded or well again; kept in the state record (an ESP32
    resets at every wake) for the heartbeats until the Pi says otherwise."""
    fault = bool(value & link.HEALTH_STORAGE)
    if fault == state.storage_fault:
        return state, []
    return state.replace(storage_fault=fault), [("save",)]


def _temp(state, value, now):
    return state.replace(temp_c=None if value is None else int(value)), []


def _status(state, value, now):
    flags = link.STATUS_LOW_BATTERY if state.lowbat else 0
    if state.cfg.mode == "power-gated":
        flags |= link.STATUS_POWER_GATED
    body = link.status_body(
        state.battery_mv,
        -128 if state.temp_c is None else state.temp_c,
        flags,
        (now - state.booted_at) // 1000,
        state.triggers,
        state.hits,
        state.boot_failures,
        len(state.queue),
    )
    return state, [("send", link.STATUS, body)]


def _battery_idle(state, value, now):
    """Battery reading while the Pi is off (sleep, lowbat, fault)."""
    cfg = state.cfg
    acts = []
    if value < cfg.battery_cutoff_mv and not state.lowbat:
        return _enter_lowbat(state.replace(battery_mv=value), acts)
    if state.lowbat and value >= cfg.battery_cutoff_mv + cfg.battery_hysteresis_mv:
        new = state.replace(battery_mv=value, lowbat=False, lowbat_sent=False)
        if state.name == "lowbat":
            return _leave_lowbat(new, now, acts)
        return new, [("save",)]
    return state.replace(battery_mv=value), acts


def _enter_lowbat(state, acts):
    if not state.lowbat_sent:
        acts.append(("heartbeat", heartbeat_fields(state)))
    acts.append(("save",))
    name = "lowbat" if state.name in ("sleep", "lowbat") else state.name
    return state.replace(lowbat=True, lowbat_sent=True, name=name), acts


def _leave_lowbat(state, now, acts):
    acts.append(("save",))
    if state.cfg.mode == "power-gated":
        return state.replace(name="sleep"), acts
    acts.append(("power", 1))
    return state.replace(name="on", pi_on_at=now), acts


# --------------------------------------------------------------------------------------------
# Power-gated: sleep


def _sleep_tick(state, value, now):
    """Heartbeat; and when an activity window opens (lockout over), boot the Pi to arm it."""
    acts = []
    state = _heartbeat(state, now, acts)
    sched = _sched(state)
    return (state, acts) if sched is None else sched.sleep_tick(state, now, acts)


def _sleep_pir(state, value, now):
    cfg = state.cfg
    if state.lowbat or state.battery_mv < cfg.battery_cutoff_mv or now < state.lockout_until:
        return state, []
    seq = _next_seq(state)
    new = state.replace(
        name="booting",
        event_seq=seq,
        triggers=state.triggers + 1,
        pi_on_at=now,
        deadline=now + _ms(cfg.boot_timeout_s),
        pending=(seq,),
        index=0,
    )
    return new, [("save",), ("power", 1)]


# Power-gated: Pi on (booting, burst, shutdown)


def _on_tick(state, now, acts):
    """Common tick work while the Pi is powered: heartbeat and the on-time cap."""
    state = _heartbeat(state, now, acts)
    if _capped(state) and now >= state.pi_on_at + _ms(state.cfg.max_on_s):
        return _fault_off(state, now, MAX_ON_TIME, acts), True
    return (state, acts), False


def _booting_tick(state, value, now):
    acts = []
    done, capped = _on_tick(state, now, acts)
    if capped or now < done[0].deadline:
        return done
    state = done[0].replace(boot_failures=done[0].boot_failures + 1)
    return _fault_off(state, now, BOOT_TIMEOUT, acts)


def _booting_ready(state, value, now):
    if not state.pending:  # booted by the schedule, not by a PIR: armed, waiting for one
        return state.replace(name="armed", deadline=None, index=0), []
    acts = []
    for i, seq in enumerate(state.pending):
        acts.append(("send", link.TRIGGER, link.trigger_body(seq, i, state.battery_mv)))
    deadline = now + _ms(state.cfg.burst_timeout_s)
    return state.replace(name="burst", deadline=deadline, index=len(state.pending)), acts


def _extra_trigger(state, value, now):
    """PIR while the Pi is booting or bursting: one more trigger, with its own sequence."""
    seq = _next_seq(state)
    acts: list = [("save",)]
    new = state.replace(
        event_seq=seq,
        triggers=state.triggers + 1,
        pending=state.pending + (seq,),  # noqa: RUF005 (no * in MicroPython tuples)
        index=state.index + 1,
    )
    if state.name == "burst":
        acts.append(("send", link.TRIGGER, link.trigger_body(seq, state.index, state.battery_mv)))
        new = new.replace(deadline=now + _ms(state.cfg.burst_timeout_s))
    return new, acts


def _battery_on(state, value, now):
    """Battery reading while the Pi is powered (power-gated or always-on): below the cutoff,
    ask it to halt."""
    if value >= state.cfg.battery_cutoff_mv:
        return _battery_idle(state, value, now)
    acts = []
    state, acts = _enter_lowbat(state.replace(battery_mv=value), acts)
    if state.name == "shutdown":
        return state, acts
    return _request_shutdown(state, now, acts)


def _pi_halted(state, value, now):
    """The halt signal outside a shutdown: the Pi stopped on its own (crash, user). Counted as
    a fault; power-gated it stays off, always-on it is power-cycled (`_power_off`)."""
    return _fault_off(state, now, PI_HALTED, [])


def _burst_tick(state, value, now):
    acts = []
    done, capped = _on_tick(state, now, acts)
    if capped or now < done[0].deadline:
        return done
    acts.append(("fault", BURST_TIMEOUT))
    new = done[0].replace(faults=done[0].faults + 1, reason=BURST_TIMEOUT)
    return _request_shutdown(new, now, acts)


def _burst_result(state, value, now):
    seq = value[0]
    pending = tuple(s for s in state.pending if s != seq)
    new = state.replace(pending=pending)
    if pending:
        return new, []
    sched = _sched(new)
    if sched is not None and sched.in_window(new, now):  # the Pi stays up: armed, no shutdown
        return new.replace(name="armed", deadline=None, index=0), []
    return _request_shutdown(new, now, [])


def _burst_ready(state, value, now):
    """READY again mid-burst: the Pi restarted, so send the open triggers again."""
    acts = []
    for i, seq in enumerate(state.pending):
        acts.append(("send", link.TRIGGER, link.trigger_body(seq, i, state.battery_mv)))
    return state.replace(deadline=now + _ms(state.cfg.burst_timeout_s)), acts


def _burst_link_fail(state, value, now):
    acts: list = [("fault", LINK_FAIL)]
    new = state.replace(faults=state.faults + 1, reason=LINK_FAIL)
    return _request_shutdown(new, now, acts)


def _burst_shutdown_ack(state, value, now):
    """The Pi halts on its own initiative: wait for its halt signal (no request needed)."""
    new, _ = _request_shutdown(state, now, [])
    return new.replace(acked=True), []


def _shutdown_tick(state, value, now):
    acts = []
    done, capped = _on_tick(state, now, acts)
    if capped or now < done[0].deadline:
        return done
    if state.acked:
        return _power_off(done[0], now, acts)  # acked but no halt line: the grace is enough
    return _fault_off(done[0], now, SHUTDOWN_TIMEOUT, acts)


def _shutdown_ack(state, value, now):
    return state.replace(acked=True), []


def _shutdown_halt(state, value, now):
    return _power_off(state, now, [])


def _shutdown_result(state, value, now):
    return state.replace(pending=tuple(s for s in state.pending if s != value[0])), []


# --------------------------------------------------------------------------------------------
# The table: every (state, event) pair, spelled out (the rows of "on", "lowbat" and "fault" in
# trapfw.fsm_rare, "armed" in trapfw.fsm_armed: both loaded on demand, heap).

_COMMON = {
    "boot": _boot,
    "hit": _hit,
    "uplinked": _uplinked,
    "hello": _hello,
    "time": _time,
    "status_req": _status,
    "temp": _temp,
    "health": _health,
}

_ROWS = {
    "sleep": {
        "tick": _sleep_tick,
        "pir": _sleep_pir,
        "battery": _battery_idle,
        "ready": _ignore,  # a Pi that is off cannot be ready: stray bytes, nothing to do
        "result": _ignore,
        "shutdown_ack": _ignore,
        "halt": _ignore,  # the halt line floats high while the Pi is unpowered
        "link_fail": _ignore,
    },
    "booting": {
        "tick": _booting_tick,
        "pir": _extra_trigger,
        "battery": _battery_on,
        "ready": _booting_ready,
        "result": _ignore,  # no trigger was sent yet
        "shutdown_ack": _burst_shutdown_ack,
        "halt": _pi_halted,
        "link_fail": _ignore,  # only HELLO/STATUS can fail before READY
    },
    "burst": {
        "tick": _burst_tick,
        "pir": _extra_trigger,
        "battery": _battery_on,
        "ready": _burst_ready,
        "result": _burst_result,
        "shutdown_ack": _burst_shutdown_ack,
        "halt": _pi_halted,
        "link_fail": _burst_link_fail,
    },
    "shutdown": {
        "tick": _shutdown_tick,
        "pir": _ignore,  # retrigger lockout: the Pi is halting
        "battery": _battery_on,
        "ready": _ignore,
        "result": _shutdown_result,
        "shutdown_ack": _shutdown_ack,
        "halt": _shutdown_halt,
        "link_fail": _ignore,  # the grace timeout covers a silent Pi
    },
}
_RARE = ("on", "lowbat", "fault")


def table():
    """Every (state, event) pair and its handler, as one dict (tests, docs)."""
    return {(name, kind): lookup(name, kind) for name in STATES for kind in EVENTS}


def lookup(name, kind):
    """The handler of (state name, event kind), or None when the pair is not defined."""
    row = _ROWS.get(name)
    if row is None and name == "armed":  # only reached with a schedule: loaded on demand
        from trapfw import fsm_armed

        row = fsm_armed.ROW
    elif row is None and name in _RARE:  # always-on, lowbat, fault: loaded on demand
        from trapfw import fsm_rare

        row = fsm_rare.ROWS[name]
    if row is None:
        return None
    return row.get(kind) or _COMMON.get(kind)
