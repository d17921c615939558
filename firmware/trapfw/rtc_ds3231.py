"""DS3231-class I2C real-time clock (DS3231, DS3231M, DS3232): read at wake, set from a better
source. Loaded only for the read or the write (``trapfw.app``), then unloaded.

Registers (Maxim DS3231 datasheet, "Timekeeping Registers", Figure 1): 0x00 seconds, 0x01
minutes, 0x02 hours (bit 6 set = 12-hour mode, bit 5 then PM; 24-hour mode used here), 0x03
day of week 1-7, 0x04 date, 0x05 month (bit 7: century), 0x06 year 00-99, all BCD. Control
0x0E: bit 7 EOSC (0 = the oscillator runs on the battery too). Status 0x0F: bit 7 OSF, set
when the oscillator stopped (first power-up, a flat coin cell): the time is then invalid until
it is written, and writing it clears OSF here. The bus is ``machine.I2C`` (``readfrom_mem``,
``writeto_mem``) from ``trapfw.hal``; tests pass a fake device that follows the datasheet.

Doubt of a reading: the DS3231SN holds +/-2 ppm from 0 to 40 C and +/-3.5 ppm from -40 to 85 C,
the MEMS DS3231M +/-5 ppm (their datasheets): 5 ppm since it was set (``rtc_set``, Unix s,
from the state record) plus the source's own 2 s. A clock this unit never set is not taken.
"""

ADDRESS = 0x68
REG_TIME = 0x00
REG_CONTROL = 0x0E
REG_STATUS = 0x0F
OSF = 0x80
EOSC = 0x80
_CENTURY = 0x80
_PPM_X10 = 50  # 5 ppm (DS3231M; the DS3231SN: 3.5), in tenths
_SET_DOUBT_S = 2
EARLIEST_UNIX = 1735689600  # 2025-01-01 (= fsm.EARLIEST_UNIX)


def _bcd(b):
    return (b >> 4) * 10 + (b & 0x0F)


def _to_bcd(n):
    return ((n // 10) << 4) | (n % 10)


def read(i2c):
    """Unix seconds from the chip, or None: oscillator stopped (OSF), or not a real date."""
    from trapfw.lw_time import civil_to_unix

    if i2c.readfrom_mem(ADDRESS, REG_STATUS, 1)[0] & OSF:
        return None
    r = i2c.readfrom_mem(ADDRESS, REG_TIME, 7)
    hour = _hour(r[2])
    year = 2000 + _bcd(r[6]) + (100 if r[5] & _CENTURY else 0)
    unix = civil_to_unix(
        year, _bcd(r[5] & 0x1F), _bcd(r[4] & 0x3F), hour, _bcd(r[1] & 0x7F), _bcd(r[0] & 0x7F)
    )
    return unix if unix is not None and unix >= EARLIEST_UNIX else None


def _hour(b):
    """The hours register in 24 h; bit 6 set: 12-hour mode, hour 1-12 and bit 5 PM."""
    return _bcd(b & 0x1F) % 12 + (12 if b & 0x20 else 0) if b & 0x40 else _bcd(b & 0x3F)


def write(i2c, unix_s):
    """Set the chip to ``unix_s`` (UTC, 24-hour mode), oscillator on, OSF cleared."""
    days, rest = divmod(int(unix_s), 86400)
    year, month, day = _civil(days)
    regs = bytes(
        (
            _to_bcd(rest % 60),
            _to_bcd(rest // 60 % 60),
            _to_bcd(rest // 3600),
            (days + 3) % 7 + 1,  # 1970-01-01 was a Thursday: 1 = Monday .. 7 = Sunday
            _to_bcd(day),
            _to_bcd(month) | (_CENTURY if year >= 2100 else 0),
            _to_bcd(year % 100),
        )
    )
    i2c.writeto_mem(ADDRESS, REG_TIME, regs)
    control = i2c.readfrom_mem(ADDRESS, REG_CONTROL, 1)[0]
    i2c.writeto_mem(ADDRESS, REG_CONTROL, bytes((control & ~EOSC & 0xFF,)))
    status = i2c.readfrom_mem(ADDRESS, REG_STATUS, 1)[0]
    i2c.writeto_mem(ADDRESS, REG_STATUS, bytes((status & ~OSF & 0xFF,)))


def doubt(unix_s, rtc_set):
    """How far off a reading may be, s: None when this unit never set the chip."""
    if not rtc_set or unix_s < rtc_set:
        return None
    return _SET_DOUBT_S + 1 + (unix_s - rtc_set) * _PPM_X10 // 10000000


def _civil(days):
    """Days since 1970-01-01 -> (year, month, day) (H. Hinnant's civil_from_days)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (1 if month <= 2 else 0), month, day
