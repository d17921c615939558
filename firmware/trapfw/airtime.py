"""LoRa time on air (Semtech formula) and the LoRaWAN regional parameters camtrap needs.

Pure and MicroPython-compatible. Used by the uplink scheduler (``trapfw.uplink``), the
``camtrap airtime`` command and the tests::

    >>> round(time_on_air_ms(12, 125, 11 + FRAMING_BYTES), 3)
    1482.752
    >>> r = region("US915")
    >>> r.max_payload(0), r.dwell_ms, r.slowest_dr(11)
    (11, 400, 0)

Time on air follows the SX127x datasheet 4.1.1.7 / AN1200.13::

    Tsym = 2^SF / BW
    T = (n_preamble + 4.25) * Tsym
        + (8 + max(ceil((8 PL - 4 SF + 28 + 16 CRC - 20 IH) / (4 (SF - 2 DE))) (CR + 4), 0)) * Tsym

with LoRaWAN's settings: 8 preamble symbols, explicit header, CRC on, coding rate 4/5, and low
data rate optimisation (DE) when Tsym > 16 ms (SF11 and SF12 at 125 kHz). PL is the PHY payload:
the application payload plus 13 bytes of LoRaWAN framing (MHDR 1, FHDR 7 without FOpts,
FPort 1, MIC 4).

Regional parameters (RP002-1.0.x, cross-checked with Semtech LoRaMac-node ``Region*.h``):
uplink data rates, the maximum application payload per data rate (no repeater), the uplink
dwell-time limit, the duty-cycle sub-bands and the default channels. The tables of every region
live in ``trapfw.regions``; ``region(name)`` builds the one asked for and keeps it. On
MicroPython the table module is dropped again afterwards, so the MCU holds only its own
region's parameters in RAM (about 2 KB less heap than all seven).
"""

import sys

import trapfw

try:
    from micropython import const  # type: ignore[import-not-found]
except ImportError:  # CPython

    def const(x):  # type: ignore[no-redef]
        return x


FRAMING_BYTES = const(13)  # MHDR 1 + FHDR 7 (no FOpts) + FPort 1 + MIC 4
LORAWAN_PREAMBLE = const(8)
FSK = None  # a data rate that is not LoRa (FSK 50 kbps) or is reserved
_MICROPYTHON = sys.implementation.name == "micropython"


def _ceil_div(a, b):
    return -(-a // b)


def time_on_air_ms(
    sf, bw_khz, phy_bytes, preamble=LORAWAN_PREAMBLE, cr=1, crc=True, explicit_header=True
):
    """Time on air in ms of a LoRa frame with ``phy_bytes`` PHY payload bytes.

    ``cr`` is the coding-rate index (1 = 4/5 ... 4 = 4/8).
    """
    if not 6 <= sf <= 12:
        raise ValueError(f"spreading factor must be 6..12, got {sf}")
    if bw_khz not in (125, 250, 500):
        raise ValueError(f"bandwidth must be 125, 250 or 500 kHz, got {bw_khz}")
    if not 0 <= phy_bytes <= 255:
        raise ValueError(f"PHY payload must be 0..255 bytes, got {phy_bytes}")
    t_sym = (1 << sf) / bw_khz  # ms
    de = 1 if t_sym > 16 else 0
    ih = 0 if explicit_header else 1
    num = 8 * phy_bytes - 4 * sf + 28 + 16 * (1 if crc else 0) - 20 * ih
    n_payload = 8 + max(_ceil_div(num, 4 * (sf - 2 * de)) * (cr + 4), 0)
    return (preamble + 4.25) * t_sym + n_payload * t_sym


def uplink_ms(sf, bw_khz, app_bytes):
    """Time on air in ms of a LoRaWAN uplink carrying ``app_bytes`` (no FOpts)."""
    return time_on_air_ms(sf, bw_khz, app_bytes + FRAMING_BYTES)


def off_time_s(airtime_s, duty):
    """How long a sub-band stays closed after a frame of ``airtime_s`` at duty cycle ``duty``."""
    if duty >= 1:
        return 0.0
    return airtime_s / duty - airtime_s


class SubBand:
    """A frequency range with one duty-cycle limit (``duty`` 0.01 = 1 %, 1.0 = none)."""

    __slots__ = ("duty", "hi_hz", "lo_hz", "name")

    def __init__(self, name, lo_hz, hi_hz, duty):
        self.name, self.lo_hz, self.hi_hz, self.duty = name, lo_hz, hi_hz, duty

    def holds(self, freq_hz):
        return self.lo_hz <= freq_hz <= self.hi_hz

    def __repr__(self):
        return f"SubBand({self.name!r}, {self.lo_hz}, {self.hi_hz}, {self.duty})"


class Region:
    """One region's uplink parameters.

    ``data_rates[dr]`` is ``(sf, bw_khz)`` or ``FSK``; ``payloads[dr]`` the maximum application
    payload at that data rate (0: unusable); ``payloads_dwell`` the same with the uplink dwell
    time on (AS923) or None; ``dwell_ms`` the dwell-time limit (None: no limit).
    """

    __slots__ = (
        "channels_hz",
        "data_rates",
        "dwell_ms",
        "name",
        "notes",
        "payloads",
        "payloads_dwell",
        "subbands",
    )

    def __init__(self, name, data_rates, payloads, subbands, channels_hz, **kw):
        self.name = name
        self.data_rates = data_rates
        self.payloads = payloads
        self.subbands = subbands
        self.channels_hz = channels_hz
        self.payloads_dwell = kw.get("payloads_dwell")
        self.dwell_ms = kw.get("dwell_ms")
        self.notes = kw.get("notes", "")

    def max_payload(self, dr, dwell=True):
        """Maximum application payload at ``dr`` (with the dwell-time limit when it applies)."""
        if not 0 <= dr < len(self.data_rates):
            raise ValueError(f"{self.name} has no uplink data rate DR{dr}")
        if dwell and self.payloads_dwell is not None:
            return self.payloads_dwell[dr]
        return self.payloads[dr]

    def lora_drs(self, dwell=True):
        """Usable LoRa uplink data rates, slowest first."""
        return [
            dr
            for dr, p in enumerate(self.data_rates)
            if p is not FSK and self.max_payload(dr, dwell) > 0
        ]

    def slowest_dr(self, app_bytes, dwell=True):
        """The slowest (longest-range) data rate that carries ``app_bytes``, or None."""
        for dr in self.lora_drs(dwell):
            if self.max_payload(dr, dwell) < app_bytes:
                continue
            sf, bw = self.data_rates[dr]
            if dwell and self.dwell_ms and uplink_ms(sf, bw, app_bytes) > self.dwell_ms:
                continue
            return dr
        return None

    def uplink_subbands(self):
        """The sub-bands holding the default channels (the ones a fresh session uses)."""
        return [b for b in self.subbands if any(b.holds(f) for f in self.channels_hz)]

    def sf_bw(self, dr):
        """``(sf, bw_khz)`` of a LoRa data rate; ValueError for FSK or a reserved one."""
        p = self.data_rates[dr] if 0 <= dr < len(self.data_rates) else None
        if p is None:  # FSK or reserved
            raise ValueError(f"{self.name} DR{dr} is not a LoRa uplink data rate")
        return p

    def dr_for_sf(self, sf, bw_khz=125):
        for dr, p in enumerate(self.data_rates):
            if p == (sf, bw_khz):
                return dr
        return None


_built = {}  # name -> Region, the regions asked for so far


def region(name):
    """The Region called ``name`` (case-insensitive), or ValueError naming the known ones."""
    key = name.upper()
    if key in _built:
        return _built[key]
    from trapfw import regions

    try:
        spec = regions.TABLE.get(key)
        if spec is None:
            known = ", ".join(sorted(regions.TABLE))
            raise ValueError(f"unknown region {name!r} (known: {known})")
        drs, payloads, subbands, channels, dwell_ms, payloads_dwell, notes = spec
        bands = tuple(SubBand(*b) for b in subbands)
        r = Region(
            key,
            drs,
            payloads,
            bands,
            channels,
            payloads_dwell=payloads_dwell,
            dwell_ms=dwell_ms,
            notes=notes,
        )
    finally:
        if _MICROPYTHON:  # the other regions' tables leave the heap again
            trapfw.unload("regions")
    _built[key] = r
    return r
