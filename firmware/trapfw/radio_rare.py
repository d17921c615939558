"""The rare paths of `trapfw.radio.LoraRadio`: the one-time modem setup, joining (only while
the modem is not joined: out of coverage, a lost session), and the reset of a hung modem.

Loaded for the call and unloaded again on the MCU, like ``trapfw.radio_store``: a joined,
configured, answering modem (nearly always) never puts this code on the heap.
"""

import sys

RESET_SETTLE_S = 2  # a reset modem boots and prints its banner: leave it alone meanwhile


def backoff(r):
    """The radio's JoinBackoff, built from its numbers on first use while not joined."""
    if r.backoff is None:
        from trapfw import joinbackoff

        b = joinbackoff.JoinBackoff()
        b.first, b.ready_at, b.window, b.used = r.join_state
        r.backoff = b
    return r.backoff


def join_airtime(r):
    """A join request's airtime at the radio's data rate, s (23 PHY bytes)."""
    if r.join_s is None:
        from trapfw import airtime

        r.join_s = airtime.time_on_air_ms(r.sched.sf, r.sched.bw, 23) / 1000
        if sys.implementation.name == "micropython":
            __import__("trapfw").unload("airtime")
    return r.join_s


def join_attempts(r, now):
    join_airtime(r)
    most = getattr(r.driver, "join_attempts", 1)
    fits = int(backoff(r).allowance(now) / r.join_s) if r.join_s > 0 else most
    return max(1, min(most, fits))


def join_wake(r, now):
    """When the radio wakes to join (ms; None: no join needed)."""
    at = backoff(r).next_at(now, join_attempts(r, now) * r.join_s)
    return None if at is None else int(at * 1000)


def start_join(r, now):
    """Start a join if the back-off allows one now; True when it started."""
    attempts = join_attempts(r, now)
    b = backoff(r)
    if not b.may_join(now, attempts * r.join_s):
        return False
    b.attempted(now, attempts * r.join_s)  # every attempt the modem makes is booked
    r.dirty = True
    r.op = ("join", None)
    r.driver.join(now, attempts=attempts)
    return True


def set_joined(r):
    r.joined = True
    r.dirty = True
    b = r.backoff
    if b is not None:
        r.join_state = (b.first, b.ready_at, b.window, b.used)
        r.backoff = None
        if sys.implementation.name == "micropython":
            __import__("trapfw").unload("joinbackoff")


def start_setup(r, now):
    cfg = r.cfg
    r.op = ("configure", None)
    dr = r.sched.dr if cfg.lora_dr < 0 else cfg.lora_dr
    r.driver.configure(
        now,
        cfg.lora_region,
        cfg.dev_eui,
        cfg.join_eui,
        cfg.app_key,
        dr=dr,
        adr=cfg.lora_adr,
        subband=cfg.lora_subband,
    )


def reset(r, now):
    r.reset_modem()
    r.silent = 0
    r.driver.asleep = False  # it boots awake
    r.hold_until = now + RESET_SETTLE_S
