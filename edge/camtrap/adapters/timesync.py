"""A clock that knows where its time came from (the `Clock` port plus the time's standing).

`TrustedClock` wraps the system clock. At each reading it asks the kernel whether NTP (or a
GPS/PPS discipline through chrony) has synchronised it (``adjtimex``: ``STA_UNSYNC`` clear,
``esterror`` the estimated error). When nothing has, a TIME frame from the MCU dates it: the
clock then runs as the MCU's time carried forward on the Pi's monotonic clock, and, where the
process may (``CAP_SYS_TIME``, ``set_system`` enabled), the system clock is set too so every
other program agrees. Each sync is appended to ``timesync.jsonl`` in the data directory (boot
id, monotonic reading, time, source) so an export can date the bursts stored before it in the
same boot.

The wall reading never steps back within a boot unless a better source says so: a clock
that jumps back by a day (a bad NTP server, a hand-set date) would otherwise refile bursts
under the previous day and restart the day's hit count.

    clock = TrustedClock(SystemClock(), sync_log=data_dir / "timesync.jsonl")
    clock.on_mcu_time(1795500000, 2.0)      # from the MCU's TIME frame at boot
    clock.status()                          # TimeStatus("mcu", 2.0, boot_id)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from camtrap.core.ports import Clock
from camtrap.core.timebase import (
    BurstTime,
    McuTime,
    TimeStatus,
    choose,
    mcu_wall,
    plausible,
)

log = logging.getLogger(__name__)

STA_UNSYNC = 0x0040
TIME_ERROR = 5
BACKSTEP_TOLERANCE_S = 2.0  # smaller steps back are NTP slewing and jitter, not jumps

NtpProbe = Callable[[], "tuple[bool, float | None]"]
SetClock = Callable[[float], None]


class _Timex(ctypes.Structure):
    """``struct timex`` (Linux, 64-bit longs), as far as ``adjtimex`` reads it."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("tv_sec", ctypes.c_long),
        ("tv_usec", ctypes.c_long),
        ("tick", ctypes.c_long),
        ("_rest", ctypes.c_long * 32),  # ppsfreq .. tai and the kernel's padding
    ]


_LIBC: list[ctypes.CDLL] = []


def kernel_ntp_status() -> tuple[bool, float | None]:
    """(synchronised, estimated error s) from ``adjtimex``; (False, None) where unavailable."""
    try:
        if not _LIBC:
            _LIBC.append(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"))
        libc = _LIBC[0]
        tx = _Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return False, None
    if state < 0 or state == TIME_ERROR or tx.status & STA_UNSYNC:
        return False, None
    return True, tx.esterror / 1e6


def set_system_clock(unix_s: float) -> None:
    """Set CLOCK_REALTIME (needs CAP_SYS_TIME); raises PermissionError without it."""
    time.clock_settime(time.CLOCK_REALTIME, unix_s)


def read_boot_id() -> str:
    """The kernel's id of this boot (monotonic readings compare only within one boot)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return f"pid-{os.getpid()}-{int(time.time())}"


class TrustedClock:
    """`Clock` with a `status()`; thread-safe (the MCU link's reader thread calls in)."""

    def __init__(
        self,
        base: Clock,
        *,
        trust_system: bool = False,
        ntp: NtpProbe = kernel_ntp_status,
        set_system: SetClock | None = None,
        sync_log: Path | None = None,
        boot_id: str | None = None,
    ) -> None:
        self.base = base
        self.trust_system = trust_system
        self._ntp = ntp
        self._set_system = set_system
        self.sync_log = sync_log
        self.boot_id = boot_id if boot_id is not None else read_boot_id()
        self._mcu: McuTime | None = None
        self._lock = threading.Lock()
        self._last: tuple[float, float] | None = None  # (wall, monotonic) of the last reading
        self._last_source = ""
        self._ntp_seen = False
        self.backsteps = 0

    # -- the Clock port

    def monotonic(self) -> float:
        return self.base.monotonic()

    def now(self) -> float:
        with self._lock:
            mono = self.base.monotonic()
            status = self._status(mono)
            wall = self._raw_wall(status, mono)
            return self._guarded(wall, mono, status.source)

    # -- standing

    def status(self) -> TimeStatus:
        with self._lock:
            return self._status(self.base.monotonic())

    def burst_time(self, trigger_time: float) -> BurstTime:
        """What a burst triggered at ``trigger_time`` (this clock's reading) records."""
        mono = self.base.monotonic() - max(0.0, self.now() - trigger_time)
        return BurstTime(self.status(), mono)

    def trusted(self) -> bool:
        return self.status().trusted

    # -- syncs

    def on_mcu_time(self, unix_s: float, uncertainty_s: float, origin: str | None = None) -> bool:
        """The MCU's TIME frame. True when it now dates this clock (nothing better known).
        ``origin``: where the MCU had it ("network", "rtc", "carried"), for the sync log."""
        if not plausible(unix_s):
            log.info("time: the MCU's clock is not set (%d): ignored", int(unix_s))
            return False
        with self._lock:
            mono = self.base.monotonic()
            better = self._status(mono)
            if better.source in ("ntp", "system"):
                return False
            self._mcu = McuTime(float(unix_s), float(uncertainty_s), mono)
        self._try_set_system(float(unix_s))
        self._log_sync(mono, float(unix_s), "mcu", float(uncertainty_s), origin)
        log.info("time: set from the MCU (%s, +/- %.0f s)", origin or "?", uncertainty_s)
        return True

    # -- internals

    def _status(self, mono: float) -> TimeStatus:
        synced, error = self._ntp()
        if synced and not self._ntp_seen:  # NTP came up: date this boot's unknown-clock bursts
            self._ntp_seen = True
            self._log_sync(mono, self.base.now(), "ntp", error)
        return choose(
            ntp_synced=synced,
            ntp_error_s=error,
            trust_system=self.trust_system,
            mcu=self._mcu,
            now_mono=mono,
            boot_id=self.boot_id,
        )

    def _raw_wall(self, status: TimeStatus, mono: float) -> float:
        if status.source == "mcu" and self._mcu is not None and not self._system_was_set:
            return mcu_wall(self._mcu, mono)
        return self.base.now()

    def _guarded(self, wall: float, mono: float, source: str) -> float:
        """The reading, held to the monotonic clock when the wall steps back (same source)."""
        last, same = self._last, source == self._last_source
        self._last_source = source
        if last is not None and same:
            carried = last[0] + (mono - last[1])
            if wall < carried - BACKSTEP_TOLERANCE_S:
                self.backsteps += 1
                if self.backsteps == 1:
                    log.warning("time: the system clock stepped back %.0f s: held", carried - wall)
                wall = carried
        self._last = (wall, mono)
        return wall

    _system_was_set = False

    def _try_set_system(self, unix_s: float) -> None:
        if self._set_system is None:
            return
        try:
            self._set_system(unix_s)
            self._system_was_set = True
        except (PermissionError, OSError) as e:
            log.warning("time: cannot set the system clock (%s): keeping the MCU's time here", e)

    def _log_sync(
        self,
        mono: float,
        unix_s: float,
        source: str,
        doubt: float | None,
        origin: str | None = None,
    ) -> None:
        if self.sync_log is None:
            return
        line: dict[str, object] = {
            "boot_id": self.boot_id,
            "monotonic_s": round(mono, 3),
            "time": round(unix_s, 3),
            "source": source,
            "uncertainty_s": doubt,
        }
        if origin is not None:  # the MCU's own source: the LoRaWAN network, its RTC chip
            line["origin"] = origin
        try:
            self.sync_log.parent.mkdir(parents=True, exist_ok=True)
            with open(self.sync_log, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
        except OSError as e:  # dating old bursts is a nicety; never stop the trap for it
            log.warning("time: cannot log the sync to %s: %s", self.sync_log, e)


def reading(clock: Clock) -> tuple[float, bool]:
    """(now, trusted) from any `Clock`: a clock without ``status()`` is taken as trusted (a
    test's manual clock, the plain system clock of older wiring)."""
    trusted = clock.status().trusted if isinstance(clock, TrustedClock) else True
    return clock.now(), trusted
