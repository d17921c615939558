"""The rows of `trapfw.fsm` that a power-gated event never passes through: always-on's ``on``,
``lowbat`` (below the battery cutoff) and ``fault`` (an undefined pair), with their handlers.

``fsm.lookup`` imports this module the first time one of these states is looked up, so the
usual event (sleep, booting, burst, shutdown) never puts this code on the MCU's heap; an
always-on unit loads it at its first pass and keeps it.
"""

from trapfw import fsm

_ignore = fsm._ignore


def _tick_idle(state, value, now):
    """Only the heartbeat is due (lowbat; always-on, where the Pi runs on its own)."""
    acts = []
    return fsm._heartbeat(state, now, acts), acts


def _on_result(state, value, now):
    """The Pi ran a burst on its own PIR: count it (heartbeats report triggers and hits)."""
    return state.replace(triggers=state.triggers + 1, event_seq=value[0] & fsm.SEQ_MASK), []


def _fault_tick(state, value, now):
    """The next tick recovers to the mode's idle state with the Pi cut."""
    if state.cfg.mode == "always-on" and not state.lowbat and state.pi_on_at is not None:
        return state.replace(name="on", deadline=None), []  # the Pi keeps running
    return fsm._power_off(state, now, [])


ROWS = {
    "lowbat": {
        "tick": _tick_idle,
        "pir": _ignore,  # never boot the Pi below the cutoff
        "battery": fsm._battery_idle,
        "ready": _ignore,
        "result": _ignore,
        "shutdown_ack": _ignore,
        "halt": _ignore,
        "link_fail": _ignore,
    },
    "on": {
        "tick": _tick_idle,
        "pir": _ignore,  # always-on: the Pi watches the PIR itself
        "battery": fsm._battery_on,
        "ready": _ignore,
        "result": _on_result,
        "shutdown_ack": _ignore,
        "halt": fsm._pi_halted,  # count it, power-cycle it
        "link_fail": _ignore,  # the Pi retries its own messages; ours are informational
    },
    "fault": {
        "tick": _fault_tick,
        "pir": _ignore,
        "battery": fsm._battery_idle,
        "ready": _ignore,
        "result": _ignore,
        "shutdown_ack": _ignore,
        "halt": _ignore,
        "link_fail": _ignore,
    },
}
