"""The doctor's checks of the host: the clock, disk, storage, secrets and the boot time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from camtrap.doctor.base import CLOCK_FLOOR, MIN_FREE_MB, Check, Context


def _check_clock(ctx: Context) -> Check:
    now = datetime.fromtimestamp(ctx.deps.now(), tz=UTC)
    shown = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if now < CLOCK_FLOOR:
        return Check(
            "clock",
            "FAIL",
            f"system time {shown} is before {CLOCK_FLOOR:%Y-%m-%d}: event times would be wrong",
            "connect to a network for NTP, fit an RTC module, or let the MCU set the time",
        )
    return Check("clock", "ok", f"{shown} UTC{_ntp_note()}")


def _ntp_note() -> str:
    from camtrap.adapters.systemd import ntp_synchronized

    value = ntp_synchronized()
    return "" if value is None else f", NTP synchronized: {value}"


def _check_disk(ctx: Context) -> Check:
    data = Path(ctx.cfg.device.data_dir)
    probe = data
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = ctx.deps.disk_usage(str(probe))
    free_mb = usage.free / 1e6
    quota = ctx.cfg.storage.quota_mb
    detail = f"{free_mb:,.0f} MB free at {probe} (burst quota {quota:g} MB)"
    if free_mb < MIN_FREE_MB:
        return Check(
            "disk",
            "FAIL",
            detail + f", under {MIN_FREE_MB:g} MB",
            f"free space under {probe} or use a larger SD card; old non-hit bursts go first",
        )
    return Check("disk", "ok", detail)


def _check_boot_time(ctx: Context) -> Check:
    """Kernel start -> camtrap started -> armed -> first frame, in this boot."""
    from camtrap.adapters import boot_timeline
    from camtrap.core import boottime

    if ctx.sim:
        return Check("boot-time", "skip", "--sim: no trap boot on a desktop")
    analyze = ctx.deps.command(["systemd-analyze", "time"])
    if analyze is None:
        return Check("boot-time", "skip", "no systemd-analyze here (run the doctor on the Pi)")
    try:
        times = boottime.parse_analyze_time(analyze)
    except ValueError as e:
        return Check("boot-time", "skip", f"{e}; run the doctor again in a minute")
    show = ctx.deps.command(
        ["systemctl", "show", "camtrap.service", "-p", "ExecMainStartTimestampMonotonic",
         "-p", "ActiveEnterTimestampMonotonic"]
    )  # fmt: skip
    path = Path(ctx.cfg.device.data_dir) / boot_timeline.FILE
    try:
        timeline = boot_timeline.load(path)
    except ValueError as e:
        return Check("boot-time", "FAIL", str(e), "delete it; the service writes a new one")
    report = boottime.boot_report(
        times, boottime.parse_show(show or ""), timeline, ctx.deps.boot_id() or ""
    )
    return Check("boot-time", "ok", boottime.format_report(report))


def _check_secrets(ctx: Context) -> Check:
    from camtrap.adapters.mqtt_setup import read_password
    from camtrap.adapters.secrets import secret_warnings
    from camtrap.errors import ConfigError

    m = ctx.cfg.mqtt
    if m.password_file:
        try:
            read_password(m, ctx.source)
        except ConfigError as e:
            return Check("secrets", "FAIL", str(e), "chmod 600 the file, owner camtrap")
    warned = secret_warnings(ctx.cfg, None if ctx.source == "<defaults>" else ctx.source)
    if warned:
        return Check("secrets", "warn", "; ".join(warned), "see each warning")
    if not (m.password or m.password_file):
        return Check("secrets", "ok", "no MQTT password configured")
    return Check("secrets", "ok", "password file private" + (", over TLS" if m.tls else ""))


def _check_storage(ctx: Context) -> Check:
    from camtrap.adapters.datalock import lock_holder, read_only, write_probe
    from camtrap.adapters.outbox import JOURNAL, fallback_dir

    data = Path(ctx.cfg.device.data_dir)
    if not data.is_dir():
        return Check("storage", "skip", f"{data} does not exist yet (camtrap run creates it)")
    holder = lock_holder(data)
    try:
        ro = read_only(data)
    except OSError as e:
        return Check("storage", "FAIL", f"{data}: {e}", "check the SD card (dmesg)")
    if ro:
        return Check(
            "storage",
            "FAIL",
            f"{data}: read-only filesystem (the kernel remounts a card read-only after I/O "
            "errors); the service runs degraded, hits kept in memory",
            "check dmesg, run fsck on the card or replace it",
        )
    try:
        write_probe(data)
    except OSError as e:
        return Check("storage", "FAIL", f"{data}: cannot write: {e.strerror}", "free space")
    journal = (fallback_dir() or Path("/run/camtrap")) / JOURNAL
    if journal.exists():
        return Check(
            "storage",
            "warn",
            f"{journal}: a degraded run kept hits or sent-marks aside; the service writes "
            "them to the outbox once it can",
            "leave the service running; check the card if it stays",
        )
    return Check("storage", "ok", f"{data} writable; {holder}")
