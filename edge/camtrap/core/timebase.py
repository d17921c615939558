"""Where the trap's time comes from, and how much to trust it. Pure.

A power-gated Pi has no RTC and usually no network at boot: its clock may say 1970. The time a
burst is stamped with therefore carries its source:

* ``ntp``: the kernel reports a synchronised clock (NTP, or GPS/PPS through chrony/gpsd);
* ``mcu``: set from the companion MCU's clock (kept across the Pi's power cycles, itself set
  by the Pi's NTP time or the LoRaWAN network's DeviceTimeAns), with its uncertainty;
* ``system``: the operator declared the system clock right (a desktop simulation, a clock the
  kernel does not flag) with ``[time] trust_system_clock``;
* ``none``: nothing better known; the record then keeps the boot id and the monotonic
  reading, so an export can date it once a later sync in the same boot is logged, and nothing
  presents the raw clock as a real date (no EXIF date, no Camtrap DP row, no hit age).

    >>> mcu = McuTime(1795500000, 2.0, 10.0)
    >>> choose(ntp_synced=False, ntp_error_s=None, trust_system=False, mcu=mcu, now_mono=10).source
    'mcu'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

TimeSource = Literal["ntp", "mcu", "system", "none"]
SOURCES: tuple[TimeSource, ...] = ("ntp", "mcu", "system", "none")
EARLIEST_PLAUSIBLE = 1_735_689_600.0  # 2025-01-01: a clock before this was never set


@dataclass(frozen=True)
class TimeStatus:
    """The clock's standing at one moment."""

    source: TimeSource = "none"
    uncertainty_s: float | None = None
    boot_id: str = ""

    @property
    def trusted(self) -> bool:
        return self.source != "none"


@dataclass(frozen=True)
class BurstTime:
    """What a stored burst records about its time (besides ``trigger_time``)."""

    status: TimeStatus
    monotonic_s: float | None = None  # the boot's monotonic clock at the trigger

    def record(self) -> dict[str, Any]:
        s = self.status
        out: dict[str, Any] = {"time_source": s.source, "time_uncertainty_s": s.uncertainty_s}
        if s.boot_id:
            out["boot_id"] = s.boot_id
        if self.monotonic_s is not None:
            out["monotonic_s"] = round(self.monotonic_s, 3)
        return out


@dataclass(frozen=True)
class McuTime:
    """A TIME frame from the MCU: its clock, its doubt, and when (Pi monotonic) it arrived."""

    unix_s: float
    uncertainty_s: float
    received_mono: float


def choose(
    *,
    ntp_synced: bool,
    ntp_error_s: float | None,
    trust_system: bool,
    mcu: McuTime | None,
    now_mono: float,
    boot_id: str = "",
) -> TimeStatus:
    """The best source: NTP, then a declared system clock, then the MCU's, else none."""
    if ntp_synced:
        return TimeStatus("ntp", ntp_error_s, boot_id)
    if trust_system:
        return TimeStatus("system", None, boot_id)
    if mcu is not None and plausible(mcu.unix_s):
        return TimeStatus("mcu", mcu.uncertainty_s, boot_id)
    return TimeStatus("none", None, boot_id)


def plausible(unix_s: float) -> bool:
    """A clock that says before 2025 was never set (the MCU's, or the Pi's at 1970)."""
    return unix_s >= EARLIEST_PLAUSIBLE


def mcu_wall(mcu: McuTime, now_mono: float) -> float:
    """The MCU's time carried forward on the Pi's monotonic clock."""
    return mcu.unix_s + (now_mono - mcu.received_mono)


def age_s(event_time: float, event_trusted: bool, now: float, now_trusted: bool) -> int | None:
    """A queued hit's age, or None when either clock is unknown or the result is absurd
    (negative by more than an hour, or older than a year): a wrong age dates the event wrongly.
    A slightly negative age (NTP stepped the clock back a little) counts as 0."""
    if not (event_trusted and now_trusted):
        return None
    age = now - event_time
    if age < -3600 or age > 366 * 86400:
        return None
    return max(0, round(age))
