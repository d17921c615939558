"""Uplink scheduler: duty cycle per sub-band, a daily airtime budget, hits before heartbeats.

Pure and MicroPython-compatible; time is an input (``now``, seconds on any clock that never goes
back). The shell asks what to send, sends it through a modem driver (``trapfw.atmodem``) and
reports back::

    s = UplinkScheduler("EU868", now=0)       # TTN fair use: 30 s of airtime per 24 h
    s.note_event(7)                            # a trigger allocated event sequence 7
    s.offer_hit(now, encode_hit(7, ...), score=0.93, class_code=1)
    up = s.next_uplink(now, battery_mv=3700)   # an Uplink or None
    if up:
        ok = driver.send(up.fport, up.data, up.confirmed)
        s.sent(now, up) if ok else s.failed(now, up, retry_in_s=60)
    sleep_until(s.next_wake(now))

Policy:

* Airtime is charged at the slowest data rate that carries 11 bytes unless ``dr`` is given (the
  worst case: ADR can only make frames shorter).
* Duty cycle: after a frame of T seconds a sub-band holding the default channels stays closed
  for T/duty - T (EU868: 1 %, 146.8 s after an 11-byte SF12 frame). A hit waits in a short queue
  for the band to open; its age field is re-stamped when it goes out.
* Daily budget: the airtime of all uplinks in any 24 h window stays within ``daily_budget_s``,
  split in two pools so neither can starve the other: heartbeats get one frame per heartbeat
  interval but never the last ``reserve_hits`` frames, which stay with target hits; hits get
  the rest. (EU868 SF12, 30 s, 6 h heartbeats: 5.9 s for heartbeats, 24.1 s = 16 hits.)
* A hit the budget cannot carry, or one pushed out of a full queue (the lowest score goes), is
  folded into the next heartbeat: ``hits_unsent`` and the class of the best unsent hit.
* Uplinks are unconfirmed unless ``confirmed=True`` (TTN allows 10 downlinks a day, ACKs
  included). Joining is the driver's business, paced by ``trapfw.joinbackoff.JoinBackoff``:
  a unit joins once and keeps the session in the modem, never rejoins on every wake.
"""

import trapfw

try:
    from micropython import const  # type: ignore[import-not-found]
except ImportError:  # CPython

    def const(x):  # type: ignore[no-redef]
        return x


DAY_S = 86400
# = trapfw.payload_core's (a test pins them): the codec itself is loaded per uplink (`_codec`)
_EVENT_SEQ_MAX = const(0xFFFFFF)
_FPORT_HIT = const(10)
_FPORT_HEARTBEAT = const(11)


def _codec(name, *args):
    """``trapfw.payload_core.<name>(*args)``; on the MCU the module is unloaded again: it is
    needed once per uplink (a hit's re-stamped age, a heartbeat's bytes), so it stays off the
    heap in between (`trapfw.call`)."""
    return trapfw.call("payload_core", name, *args)


class Uplink:
    """One uplink to send: FPort, application bytes, and what it costs."""

    __slots__ = ("airtime_s", "confirmed", "data", "fport", "kind", "queued", "score")

    def __init__(self, kind, fport, data, airtime_s, confirmed=False, score=0.0, queued=None):
        self.kind, self.fport, self.data = kind, fport, data
        self.airtime_s, self.confirmed, self.score = airtime_s, confirmed, score
        self.queued = queued  # the queue entry of a hit


class _QueuedHit:
    __slots__ = ("class_code", "data", "not_before", "offered_at", "score")

    def __init__(self, data, score, class_code, offered_at):
        self.data, self.score, self.class_code = data, score, class_code
        self.offered_at = offered_at
        self.not_before = offered_at


class UplinkScheduler:
    """Decides which uplink may go out when; see the module docstring for the policy."""

    # set by trapfw.uplink_boot.init (MicroPython ignores these annotations: no heap)
    region_name: str
    dr: int
    sf: int
    bw: int
    frame_s: float
    heartbeat_interval_s: float
    max_queue: int
    confirmed: bool
    bands: list
    log: list
    log_merge_s: float
    queue: list
    heartbeat_due: float
    heartbeat_not_before: float
    last_event_seq: int | None
    flags: int
    hits_sent: int
    daily_budget_s: float
    reserve_s: float
    heartbeat_budget_s: float
    hit_budget_s: float
    triggers: int
    hits: int
    hits_unsent: int
    unsent_class: int | None
    unsent_score: float

    def __init__(
        self,
        region="EU868",
        now=0.0,
        dr=None,
        daily_budget_s=30.0,
        reserve_hits=10,
        heartbeat_interval_s=21600.0,
        max_queue=8,
        confirmed=False,
        log_merge_s=0.0,
    ):
        """See the module docstring; the body is in ``trapfw.uplink_boot`` (once per boot on
        the MCU, then unloaded again: heap)."""
        trapfw.call(
            "uplink_boot",
            "init",
            self,
            region,
            now,
            dr,
            daily_budget_s,
            reserve_hits,
            heartbeat_interval_s,
            max_queue,
            confirmed,
            log_merge_s,
        )

    def set_budget(self, daily_budget_s, reserve_hits=10):
        """Split ``daily_budget_s`` into the heartbeat and the hit pools (see the policy)."""
        self.daily_budget_s = daily_budget_s
        self.reserve_s = min(reserve_hits * self.frame_s, daily_budget_s)
        per_day = -(-DAY_S // int(max(self.heartbeat_interval_s, 1)))
        share = min(per_day * self.frame_s, daily_budget_s - self.reserve_s)
        self.heartbeat_budget_s = max(share, 0.0)
        self.hit_budget_s = daily_budget_s - self.heartbeat_budget_s

    @property
    def region(self):
        """The ``trapfw.airtime.Region`` this scheduler plans for."""
        from trapfw import airtime

        return airtime.region(self.region_name)

    def _reset_counters(self):
        self.triggers = 0
        self.hits = 0
        self.hits_unsent = 0
        self.unsent_class = None
        self.unsent_score = -1.0

    # -- inputs ---------------------------------------------------------------------------

    def note_event(self, event_seq):
        """A trigger allocated ``event_seq`` (hit or not): counted in the next heartbeat."""
        self.triggers += 1
        self._saw_seq(event_seq)

    def note_triggers(self, n):
        """``n`` more triggers for the next heartbeat (when events are counted elsewhere)."""
        self.triggers += max(n, 0)

    def offer_hit(self, now, data, score, class_code, queued_at=None):
        """Queue a hit uplink (``encode_hit`` bytes); folds it if the budget cannot carry it.

        ``queued_at``: when the hit was queued if earlier than ``now`` (it waited through a
        reset): its age grows from then. Returns the queue entry (it leaves ``queue`` when sent
        or folded), or None if folded.
        """
        self._saw_seq(_event_seq(data))
        hit = _QueuedHit(bytes(data), score, class_code, now if queued_at is None else queued_at)
        if not self._budget_allows(now, self.frame_s, "hit"):
            self._fold(hit)
            return None
        self.queue.append(hit)
        if len(self.queue) > self.max_queue:
            worst = min(self.queue, key=lambda h: h.score)
            self.queue.remove(worst)
            self._fold(worst)
            if worst is hit:
                return None
        return hit

    def _saw_seq(self, seq):
        # Sequence numbers wrap at 2^24: "newer" is serial-number arithmetic (RFC 1982).
        last = self.last_event_seq
        if last is None or ((seq - last) & _EVENT_SEQ_MAX) < 0x800000:
            self.last_event_seq = seq

    def _fold(self, hit):
        self.hits += 1
        self.hits_unsent += 1
        if hit.score > self.unsent_score:
            self.unsent_score, self.unsent_class = hit.score, hit.class_code

    # -- decisions ------------------------------------------------------------------------

    def next_uplink(self, now, battery_mv=None, temp_c=None):
        """The uplink to send now, or None. Hits first, then a due heartbeat."""
        self._prune(now)
        if self._band(now) is None:
            return None
        while self.queue and self.queue[0].not_before <= now:
            if self._budget_allows(now, self.frame_s, "hit"):
                return self._hit_uplink(now, self.queue[0])
            self._fold(self.queue.pop(0))
        if self._heartbeat_ready(now):
            return self._heartbeat_uplink(battery_mv, temp_c)
        return None

    def _hit_uplink(self, now, hit):
        waited = int(now - hit.offered_at)
        data = _codec("restamp_age", hit.data, waited) if waited > 0 else hit.data
        return Uplink("hit", _FPORT_HIT, data, self.frame_s, self.confirmed, hit.score, hit)

    def _heartbeat_ready(self, now):
        return (
            now >= self.heartbeat_due
            and now >= self.heartbeat_not_before
            and self._budget_allows(now, self.frame_s, "heartbeat")
        )

    def _heartbeat_uplink(self, battery_mv, temp_c):
        data = _codec(
            "encode_heartbeat",
            battery_mv,
            self.last_event_seq or 0,
            self.triggers,
            min(self.hits, 255),
            min(self.hits_unsent, 255),
            self.unsent_class,
            temp_c,
            self.flags,
        )
        return Uplink("heartbeat", _FPORT_HEARTBEAT, data, self.frame_s, self.confirmed)

    # -- outcomes -------------------------------------------------------------------------

    def sent(self, now, uplink):
        """The modem sent ``uplink`` at ``now``: charge its airtime, close its sub-band."""
        self._charge(now, uplink.airtime_s, uplink.kind)
        band = self._band(now)
        if band is not None:  # closed for the frame plus its off time: airtime / duty in all
            duty = band[0]
            band[1] = now + (uplink.airtime_s / duty if duty < 1 else uplink.airtime_s)
        if uplink.kind == "hit":
            if uplink.queued in self.queue:
                self.queue.remove(uplink.queued)
            self.hits_sent += 1
            self.hits += 1
        else:
            self._reset_counters()
            self.heartbeat_due = now + self.heartbeat_interval_s

    def failed(self, now, uplink, retry_in_s=60.0):
        """The modem refused or failed ``uplink``: keep it and retry after ``retry_in_s``."""
        if uplink.kind == "hit":
            uplink.queued.not_before = now + retry_in_s
        else:
            self.heartbeat_not_before = now + retry_in_s

    def charge(self, now, uplink):
        """Count airtime the modem may have spent without a clear answer (timeout, unknown)."""
        self._charge(now, uplink.airtime_s, uplink.kind)

    def _charge(self, now, airtime_s, kind):
        merge = self.log_merge_s
        if merge > 0:
            for i in range(len(self.log) - 1, -1, -1):
                t, a, k = self.log[i]
                if k == kind:
                    if t // merge == now // merge:  # same bin: charge it at the later time
                        self.log.pop(i)
                        airtime_s += a
                    break
        self.log.append((now, airtime_s, kind))

    def next_wake(self, now):
        """When ``next_uplink`` may next have something to send (a heartbeat is always due)."""
        band = self._band_ready_at()
        times = [max(h.not_before, band) for h in self.queue]
        free_at = self._budget_free_at(now, self.frame_s, "heartbeat")
        times.append(max(self.heartbeat_due, self.heartbeat_not_before, band, free_at))
        return max(min(times), now)

    # -- budget and duty cycle ------------------------------------------------------------

    def used_s(self, now, kind=None):
        """Airtime spent in the 24 h before ``now`` (by ``kind``: "hit", "heartbeat")."""
        return sum(a for t, a, k in self.log if t > now - DAY_S and kind in (None, k))

    def _prune(self, now):
        while self.log and self.log[0][0] <= now - DAY_S:
            self.log.pop(0)

    def _limit(self, kind):
        return self.hit_budget_s if kind == "hit" else self.heartbeat_budget_s

    def _budget_allows(self, now, airtime_s, kind):
        return self.used_s(now, kind) + airtime_s <= self._limit(kind) + 1e-9

    def _budget_free_at(self, now, airtime_s, kind):
        used, limit = self.used_s(now, kind), self._limit(kind)
        if used + airtime_s <= limit + 1e-9:
            return now
        for t, a, k in self.log:
            if t <= now - DAY_S or k != kind:
                continue
            used -= a
            if used + airtime_s <= limit + 1e-9:
                return t + DAY_S
        return now + DAY_S  # only if airtime_s > limit: never sendable

    def _band(self, now):
        ready = [b for b in self.bands if b[1] <= now]
        return min(ready, key=lambda b: b[1]) if ready else None

    def _band_ready_at(self):
        return min(b[1] for b in self.bands)


def _event_seq(data):
    return (data[1] << 16) | (data[2] << 8) | data[3]
