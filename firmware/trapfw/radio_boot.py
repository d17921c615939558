"""The constructor of `trapfw.radio.LoraRadio` (``LoraRadio.__init__`` calls `init`): the
modem's driver, the uplink scheduler and the radio's counters at boot.

Split from ``trapfw.radio`` for the heap: it runs once per boot (when the radio is built), so
the radio loads this module for the call and unloads it again (``trapfw.call``).
"""

import sys

import trapfw
from trapfw import atmodem, uplink

try:
    from micropython import const  # type: ignore[import-not-found]
except ImportError:  # CPython

    def const(x):  # type: ignore[no-redef]
        return x


_FAR_S = const(315360000)  # = trapfw.radio's: "not scheduled" until the state machine says


def init(r, uart, cfg, now_ms, driver, configure, reset_modem):
    """Fill ``r`` (a `trapfw.radio.LoraRadio`); the arguments are its constructor's."""
    r.uart = uart
    r.cfg = cfg
    if driver is None:
        driver = atmodem.driver_class(cfg.modem)()
    r.driver = driver
    r.reset_modem = reset_modem
    now = now_ms / 1000
    r.sched = uplink.UplinkScheduler(
        cfg.lora_region,
        now=now,
        dr=None if cfg.lora_dr < 0 else cfg.lora_dr,
        daily_budget_s=cfg.daily_airtime_s,
        heartbeat_interval_s=cfg.heartbeat_s,
        max_queue=cfg.max_queue,
        log_merge_s=3600,
    )
    if sys.implementation.name == "micropython":
        trapfw.unload("airtime")  # the scheduler keeps plain numbers: ~3.5 KB back
    r.sched.heartbeat_due = now + _FAR_S
    r.joined = True  # assume the modem kept its session; a send says otherwise
    r.join_state = (None, 0.0, -1, 0.0)  # JoinBackoff's numbers while it is unloaded
    r.backoff = None  # a trapfw.joinbackoff.JoinBackoff, only while not joined
    r.join_s = None  # one join request's airtime, s (radio_rare, when first needed)
    r.offered = []
    r.temp_c = None
    r.flags = 0  # the heartbeat's status bits (payload_core.HB_*), from the state machine
    r.op = None  # ("configure"|"join"|"send"|"sleep", uplink or None)
    r.want_hash = (
        trapfw.call("radio_store", "settings_hash", cfg) if configure and cfg.app_key else 0
    )
    r.configured_hash = 0
    r.triggers_total = r.reported_triggers = r.event_seq = 0
    r.hb_pending = False
    r._hb_total = 0
    r.silent = 0  # exchanges in a row the modem did not answer
    r.hold_until = 0.0
    r.dirty = False
    # network time (trapfw.lw_time): time_want set by trapfw.timekeep; time_step 1 asked,
    # 2 carried: read the modem; net_time (unix, doubt): taken by trapfw.app
    r.time_want, r.time_step, r.time_rx, r.net_time = False, 0, False, None
    driver.asleep = True  # after a reset of the MCU the modem may well be asleep
