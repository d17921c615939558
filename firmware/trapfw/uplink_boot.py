"""The constructor of `trapfw.uplink.UplinkScheduler` (``UplinkScheduler.__init__`` calls
`init`): the region's tables, the data rate and the frame's airtime become plain numbers.

Split from ``trapfw.uplink`` for the heap: it runs once per boot on the MCU (when the radio is
built), so the scheduler loads this module for the call and unloads it again (``trapfw.call``).
"""

from trapfw import airtime

try:
    from micropython import const  # type: ignore[import-not-found]
except ImportError:  # CPython

    def const(x):  # type: ignore[no-redef]
        return x


_MAX_PAYLOAD = const(11)  # = trapfw.uplink's


def init(
    s,
    region,
    now,
    dr,
    daily_budget_s,
    reserve_hits,
    heartbeat_interval_s,
    max_queue,
    confirmed,
    log_merge_s,
):
    """Fill ``s`` (a `trapfw.uplink.UplinkScheduler`); the arguments are its constructor's."""
    # The region's tables and the airtime formula are needed here only: the scheduler keeps
    # plain numbers, so the MCU can drop trapfw.airtime again once it is built.
    reg = airtime.region(region)
    s.region_name = reg.name
    s.dr = _pick_dr(reg, dr)
    s.sf, s.bw = sf, bw = reg.sf_bw(s.dr)
    s.frame_s = airtime.uplink_ms(sf, bw, _MAX_PAYLOAD) / 1000
    s.heartbeat_interval_s = heartbeat_interval_s
    s.set_budget(daily_budget_s, reserve_hits)
    s.max_queue = max_queue
    s.confirmed = confirmed
    s.bands = [[b.duty, now] for b in reg.uplink_subbands()]  # [duty, ready_at]
    s.log = []  # [(time, airtime_s, kind)] of uplinks in the last 24 h
    # > 0: uplinks of one kind in the same log_merge_s bin of the clock share one entry,
    # stamped with the latest time (their airtime frees up to log_merge_s late:
    # conservative). The MCU merges per hour, so its log (and the RTC-memory copy of it)
    # holds at most 25 entries per kind, however many frames go out.
    s.log_merge_s = log_merge_s
    s.queue = []  # _QueuedHit, oldest first
    s.heartbeat_due = now + heartbeat_interval_s
    s.heartbeat_not_before = now
    s._reset_counters()
    s.last_event_seq = None  # newest event sequence seen (None: none yet)
    s.flags = 0  # the next heartbeat's status bits (payload_core.HB_*): the caller's
    s.hits_sent = 0


def _pick_dr(r, dr):
    if dr is None:
        dr = r.slowest_dr(_MAX_PAYLOAD)
    elif r.max_payload(dr) < _MAX_PAYLOAD or r.data_rates[dr] is None:  # None: FSK
        raise ValueError(f"{r.name} DR{dr} cannot carry {_MAX_PAYLOAD} bytes")
    return dr
