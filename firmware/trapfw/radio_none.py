"""The radio of a unit without a modem (``modem = "none"``): hits are released at once.

Its own module so that units with a modem never load it (``trapfw.app.NullRadio`` finds it).
"""


class NullRadio:
    """No modem (``modem = "none"``): hits are released at once, heartbeats dropped."""

    def __init__(self):
        self._done = []

    def offer_hit(self, now, data, queued=None):
        self._done.append(data)

    def note_totals(self, triggers, event_seq, flags=None):
        pass

    def power_on(self):
        pass

    def restore_state(self, data, shift_s):
        pass

    def persist(self):
        return None

    def take_dirty(self):
        return False

    def heartbeat(self, now, fields):
        pass

    def poll(self, now, battery_mv):
        done, self._done = self._done, []
        return done

    def busy(self):
        return False

    def next_wake(self, now):
        return now if self._done else None

    def snapshot(self):
        return None
