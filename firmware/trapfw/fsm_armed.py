"""The activity schedule's part of `trapfw.fsm`: the window checks, the boot of the Pi when a
window opens, and the ``armed`` state's row (the Pi up and waiting inside a window).

``fsm`` imports this module only when ``schedule = "on"`` (``fsm._sched``), so a trap without
a schedule (the default) never puts this code, nor ``trapfw.schedule``, on the MCU's heap.
"""

from trapfw import fsm, link


def in_window(state, now):
    """Whether the activity schedule wants the Pi up and armed at ``now`` (ms): never while the
    MCU does not know the time (no TIME from the Pi yet) or the battery is below the cutoff."""
    cfg = state.cfg
    if state.time_offset is None or state.lowbat or state.battery_mv < cfg.battery_cutoff_mv:
        return False
    from trapfw import schedule

    return schedule.armed_at(cfg, now // 1000 + state.time_offset)


def window_edge(state, now):
    """MCU ms of the next window start or end; None while the MCU does not know the time."""
    if state.time_offset is None:
        return None
    from trapfw import schedule

    return now + 1000 * schedule.wait_s(state.cfg, now // 1000 + state.time_offset)


def sleep_tick(state, now, acts):
    """When an activity window opens (lockout over), boot the Pi to arm it."""
    if now < state.lockout_until or not in_window(state, now):
        return state, acts
    new = state.replace(
        name="booting",
        pi_on_at=now,
        deadline=now + fsm._ms(state.cfg.boot_timeout_s),
        pending=(),
        index=0,
    )
    acts.append(("power", 1))
    return new, acts


def _armed_pir(state, value, now):
    """A PIR in a window: the TRIGGER goes out at once (the Pi is up, its camera open)."""
    seq = fsm._next_seq(state)
    new = state.replace(
        name="burst",
        event_seq=seq,
        triggers=state.triggers + 1,
        pi_on_at=now,  # the on-time cap covers this burst
        deadline=now + fsm._ms(state.cfg.burst_timeout_s),
        pending=(seq,),
        index=1,
    )
    return new, [("save",), ("send", link.TRIGGER, link.trigger_body(seq, 0, state.battery_mv))]


def _armed_tick(state, value, now):
    """Heartbeat; at the window's end (or once the time is unknown), ask the Pi to halt."""
    acts = []
    state = fsm._heartbeat(state, now, acts)
    if in_window(state, now):
        return state, acts
    return fsm._request_shutdown(state.replace(pi_on_at=now), now, acts)


ROW = {
    "tick": _armed_tick,
    "pir": _armed_pir,
    "battery": fsm._battery_on,  # below the cutoff: SHUTDOWN, the schedule waits for recovery
    "ready": fsm._ignore,  # the Pi's service restarted: it is armed again by itself
    "result": fsm._ignore,  # a late RESULT of a closed burst
    "shutdown_ack": fsm._burst_shutdown_ack,
    "halt": fsm._pi_halted,
    "link_fail": fsm._ignore,  # only HELLO/STATUS/TIME traffic while armed
}
