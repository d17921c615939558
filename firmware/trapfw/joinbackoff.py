"""LoRaWAN join pacing (RP002 / LoRaWAN 1.0.4 join-request back-off), pure and portable.

A module of its own: the MCU loads it only while its modem is not joined (out of coverage, a
lost session), which is rare; a joined unit keeps just the numbers (``trapfw.radio``).
"""

JOIN_REQUEST_PHY_BYTES = 23  # MHDR 1 + JoinEUI 8 + DevEUI 8 + DevNonce 2 + MIC 4


class JoinBackoff:
    """LoRaWAN join-request pacing: the retransmission back-off of LoRaWAN 1.0.4 / RP002.

    The join-request airtime after the first attempt (T0) may add up to at most 36 s in
    T0..T0+1 h, 36 s in T0+1 h..T0+11 h, then 8.7 s in each 24 h window after T0+11 h. Within
    a window, attempts are also spread by the LoRaMac-node join duty cycle (1 %, 0.1 %, then
    0.01 %: after an attempt of T seconds the next waits T/duty), so a window's allowance is
    never spent in one burst. ``may_join(now, airtime_s)``: an attempt of ``airtime_s`` now
    keeps both; record it with ``attempted``; ``next_at`` says when one may go. A joined unit
    keeps its session: ``may_join`` is False until ``lost()`` says the session is gone.
    """

    CAPS_S = (36.0, 36.0, 8.7)  # first hour, next 10 h, each later day
    DUTY = (0.01, 0.001, 0.0001)

    def __init__(self):
        self.first = None
        self.ready_at = 0.0
        self.is_joined = False
        self.window = -1  # the window of the last attempt
        self.used = 0.0  # join airtime spent in it

    def _window(self, now):
        since = now - (self.first or 0.0)
        if since < 3600:
            return 0
        if since < 39600:
            return 1
        return 2 + int((since - 39600) // 86400)

    def _window_end(self, w):
        first = self.first or 0.0
        if w == 0:
            return first + 3600
        if w == 1:
            return first + 39600
        return first + 39600 + (w - 1) * 86400

    def allowance(self, now):
        """Join airtime still allowed in the window ``now`` falls in, s."""
        if self.first is None:
            return self.CAPS_S[0]
        w = self._window(now)
        return self.CAPS_S[min(w, 2)] - (self.used if w == self.window else 0.0)

    def may_join(self, now, airtime_s=0.0):
        if self.is_joined or now < self.ready_at:
            return False
        return airtime_s <= self.allowance(now) + 1e-9

    def next_at(self, now, airtime_s=0.0):
        """When an attempt of ``airtime_s`` may go (``now`` at the earliest; None: joined)."""
        if self.is_joined:
            return None
        at = max(now, self.ready_at)
        for _ in range(3):  # the window after a full one always has room for one attempt
            if self.may_join(at, airtime_s) or self.first is None:
                return at
            at = max(at, self._window_end(self._window(at)))
        return at

    def attempted(self, now, airtime_s):
        if self.first is None:
            self.first = now
        w = self._window(now)
        if w != self.window:
            self.window, self.used = w, 0.0
        self.used += airtime_s
        self.ready_at = now + airtime_s / self.DUTY[min(w, 2)]

    def joined(self):
        self.is_joined = True

    def lost(self):
        self.is_joined = False

    def shift(self, delta_s):
        """Move every time by ``delta_s`` (the MCU clock restarted after a power loss)."""
        if self.first is not None:
            self.first += delta_s
        self.ready_at += delta_s
