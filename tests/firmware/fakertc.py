"""A DS3231 on an I2C bus, as the Maxim DS3231 datasheet describes it (portable: CPython and
the MicroPython VM), with the ``machine.I2C`` surface trapfw uses: ``readfrom_mem`` and
``writeto_mem``.

* 19 registers, 0x00-0x12, the address pointer auto-incrementing and wrapping past 0x12.
* Timekeeping 0x00-0x06 in BCD (seconds, minutes, hours with the 12/24 bit 6, day 1-7, date,
  month with the century bit 7, year 00-99), counted from ``clock()`` (ms) while the
  oscillator runs; writing the seconds resets the countdown chain (the next second is a full
  second later).
* Control 0x0E (power-on value 0x1C: EOSC = 0, INTCN = 1, RS2 = RS1 = 1) and status 0x0F
  (power-on 0x88: OSF = 1, EN32kHz = 1). OSF (bit 7) is set when the oscillator stops and
  stays set until written 0. `power_loss` is the coin cell gone flat with Vcc off: the
  oscillator stops, the time stands, OSF is set. ``absent``: nothing acknowledges the
  address (MicroPython raises OSError ENODEV, 19).
"""

ADDRESS = 0x68
_NREG = 0x13


def _bcd(n):
    return ((n // 10) << 4) | (n % 10)


def _unbcd(b):
    return (b >> 4) * 10 + (b & 0x0F)


class FakeDs3231:
    def __init__(self, clock, absent=False):
        self.clock = clock  # ms
        self.absent = absent
        self.regs = bytearray(_NREG)
        self.regs[0x03] = 1
        self.regs[0x04] = 1
        self.regs[0x05] = 1  # power-on: 2000-01-01 00:00:00, a Monday (1)
        self.regs[0x0E] = 0x1C
        self.regs[0x0F] = 0x88
        self.running = True
        self._base_ms = clock()  # when the registers last held the true count
        self.writes = []  # (register, bytes) as written

    # -- the I2C surface

    def readfrom_mem(self, addr, reg, n):
        self._check(addr)
        self._tick()
        return bytes(self.regs[(reg + i) % _NREG] for i in range(n))

    def writeto_mem(self, addr, reg, data):
        self._check(addr)
        self._tick()
        self.writes.append((reg, bytes(data)))
        for i, b in enumerate(data):
            r = (reg + i) % _NREG
            if r == 0x0F:  # OSF, A2F, A1F: a write can only clear them; EN32kHz is plain R/W
                b = (self.regs[r] & b & 0x83) | (b & 0x08)
            self.regs[r] = b
            if r == 0x00:
                self._base_ms = self.clock()  # the countdown chain restarts

    # -- the world

    def power_loss(self):
        """Vcc off and the backup cell flat: the oscillator stops, the time stands, OSF."""
        self._tick()
        self.running = False
        self.regs[0x0F] |= 0x80

    def power_back(self):
        self._tick()
        self.running = True
        self._base_ms = self.clock()

    # -- internals

    def _check(self, addr):
        if self.absent or addr != ADDRESS:
            raise OSError(19)  # ENODEV: no acknowledge

    def _tick(self):
        if not self.running:
            return
        whole = (self.clock() - self._base_ms) // 1000
        if whole <= 0:
            return
        self._base_ms += whole * 1000
        self._advance(whole)

    def _advance(self, seconds):
        r = self.regs
        b = r[0x02]  # bit 6: 12-hour mode, hour 1-12 with bit 5 PM
        hour = _unbcd(b & 0x1F) % 12 + (12 if b & 0x20 else 0) if b & 0x40 else _unbcd(b & 0x3F)
        total = _unbcd(r[0x00] & 0x7F) + 60 * _unbcd(r[0x01] & 0x7F) + 3600 * hour + seconds
        days, rest = divmod(total, 86400)
        r[0x00] = _bcd(rest % 60)
        r[0x01] = _bcd(rest // 60 % 60)
        h = rest // 3600
        if r[0x02] & 0x40:
            r[0x02] = 0x40 | (0x20 if h >= 12 else 0) | _bcd(h % 12 or 12)
        else:
            r[0x02] = _bcd(h)
        for _ in range(days):
            self._next_day()

    def _next_day(self):
        r = self.regs
        r[0x03] = r[0x03] % 7 + 1
        year = 2000 + _unbcd(r[0x06]) + (100 if r[0x05] & 0x80 else 0)
        month, day = _unbcd(r[0x05] & 0x1F), _unbcd(r[0x04] & 0x3F) + 1
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        last = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
        if day > last:
            day, month = 1, month + 1
        if month > 12:
            month = 1
            if r[0x06] == 0x99:  # the century bit toggles as the year rolls 99 -> 00
                r[0x05] ^= 0x80
                r[0x06] = 0
            else:
                r[0x06] = _bcd(_unbcd(r[0x06]) + 1)
        r[0x04] = _bcd(day)
        r[0x05] = (r[0x05] & 0x80) | _bcd(month)
