"""The MCU radio glue (trapfw.radio) over a behaving fake LoRa-E5 on a UART, with the real
uplink scheduler and AT driver. Portable: also runs under the MicroPython VM.
"""

from fwkit import HIT, cfg

from trapfw import radio


class FakeE5:
    """A LoRa-E5 at the other end of the modem UART: answers AT+PORT and AT+MSGHEX."""

    def __init__(self, joined=True):
        self.joined = joined
        self.rx = b""  # bytes the MCU wrote
        self.tx = b""  # bytes for the MCU to read
        self.sent = []

    def write(self, data):
        self.rx += data
        while b"\r\n" in self.rx:
            line, self.rx = self.rx.split(b"\r\n", 1)
            self._answer(line.decode())
        return len(data)

    def any(self):
        return len(self.tx)

    def read(self, n):
        data, self.tx = self.tx[:n], self.tx[n:]
        return data

    def _answer(self, line):
        if line.startswith("AT+PORT="):
            self.tx += b"+PORT: " + line[8:].encode() + b"\r\n"
        elif line.startswith('AT+MSGHEX="'):
            if not self.joined:
                self.tx += b"+MSGHEX: Please join network first\r\n"
                return
            self.sent.append(bytes.fromhex(line[11:-1]))
            self.tx += b"+MSGHEX: Start\r\n+MSGHEX: Done\r\n"
        elif line.startswith("AT+JOIN"):
            self.joined = True
            self.tx += b"+JOIN: Start\r\n+JOIN: Network joined\r\n+JOIN: Done\r\n"
        else:
            self.tx += b"+CMD: ERROR(-10)\r\n"


def _radio(modem, **over):
    keys = {"dev_eui": "00" * 8, "join_eui": "11" * 8, "app_key": "22" * 16}
    keys.update(over)
    r = radio.LoraRadio(modem, cfg(**keys), 0, configure=False)
    r.driver.log = lambda line: None
    return r


def _pump(r, t0, n=6):
    done = []
    for i in range(n):
        done += r.poll(t0 + i * 10, 3900)
    return done


def test_a_queued_hit_goes_out_on_the_hit_fport_and_is_released():
    modem = FakeE5()
    r = _radio(modem)
    r.offer_hit(1000, HIT)
    assert r.next_wake(1000) is not None
    done = _pump(r, 1000)
    assert done == [HIT]
    assert len(modem.sent) == 1 and modem.sent[0][:4] == HIT[:4]  # age re-stamped at most
    assert not r.busy()


def test_not_joined_keeps_the_hit_and_joins_then_sends_it():
    modem = FakeE5(joined=False)
    r = _radio(modem)
    r.offer_hit(1000, HIT)
    assert _pump(r, 1000) == []  # refused: still held
    assert modem.joined  # the radio joined after "Please join network first"
    done = _pump(r, 1000 + 120_000, 10)  # after the retry delay
    assert done == [HIT] and len(modem.sent) == 1


def test_a_due_heartbeat_goes_out_with_the_counters():
    modem = FakeE5()
    r = _radio(modem)
    r.heartbeat(5000, {"temp_c": 21})
    _pump(r, 5000)
    assert len(modem.sent) == 1 and len(modem.sent[0]) == 11


def test_the_airtime_spent_survives_a_reset_through_a_snapshot():
    modem = FakeE5()
    r = _radio(modem)
    r.offer_hit(1000, HIT)
    _pump(r, 1000)
    used = r.sched.used_s(2)
    assert used > 0
    again = _radio(FakeE5())  # after an ESP32 deep sleep: a fresh scheduler
    assert again.sched.used_s(2) == 0
    assert again.restore(r.snapshot())
    assert again.sched.used_s(2) == used
    assert [b[1] for b in again.sched.bands] == [b[1] for b in r.sched.bands]
    assert not again.restore(b"\xff garbage")
