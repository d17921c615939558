"""Boot timing from recorded systemd output and a service timeline."""

from __future__ import annotations

import pytest

from camtrap.core import boottime
from camtrap.core.boottime import ServiceTimeline

# recorded on a Pi Zero 2 W (Raspberry Pi OS Lite, Bookworm) and on an EFI laptop
PI_ANALYZE = (
    "Startup finished in 3.015s (kernel) + 9.621s (userspace) = 12.637s \n"
    "multi-user.target reached after 9.560s in userspace.\n"
)
EFI_ANALYZE = (
    "Startup finished in 6.412s (firmware) + 1.204s (loader) + 2.105s (kernel) "
    "+ 1min 4.320s (userspace) = 1min 14.041s\n"
    "graphical.target reached after 1min 4.210s in userspace.\n"
)
NOT_FINISHED = (
    "Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).\n"
    "Please try again later.\n"
)
SHOW = """\
Type=notify
ExecMainStartTimestamp=Tue 2026-12-01 06:40:08 UTC
ExecMainStartTimestampMonotonic=7534210
ActiveEnterTimestampMonotonic=9102344
InactiveExitTimestampMonotonic=7530001
"""
BOOT = "6f1c2b4a-0d8e-4c51-9a0e-3b7f2d1e9c44"


def test_spans_in_every_unit_systemd_prints() -> None:
    assert boottime.parse_span("12.637s") == pytest.approx(12.637)
    assert boottime.parse_span("345ms") == pytest.approx(0.345)
    assert boottime.parse_span("1min 4.320s") == pytest.approx(64.32)
    assert boottime.parse_span("1h 2min") == pytest.approx(3720)
    with pytest.raises(ValueError, match="not a systemd time span"):
        boottime.parse_span("12 parsecs")


def test_analyze_time_on_a_pi_has_kernel_and_userspace_only() -> None:
    t = boottime.parse_analyze_time(PI_ANALYZE)
    assert (t.firmware_s, t.loader_s) == (None, None)
    assert t.kernel_s == pytest.approx(3.015) and t.userspace_s == pytest.approx(9.621)


def test_analyze_time_on_efi_has_firmware_and_loader() -> None:
    t = boottime.parse_analyze_time(EFI_ANALYZE)
    assert (t.firmware_s, t.loader_s, t.kernel_s) == pytest.approx((6.412, 1.204, 2.105))
    assert t.userspace_s == pytest.approx(64.32)


def test_unfinished_boot_and_other_text_are_errors_that_say_so() -> None:
    with pytest.raises(ValueError, match="not finished"):
        boottime.parse_analyze_time(NOT_FINISHED)
    with pytest.raises(ValueError, match="Startup finished"):
        boottime.parse_analyze_time("command not found")


def test_report_adds_the_service_timeline_to_systemd_figures() -> None:
    timeline = ServiceTimeline(
        BOOT, started_s=7.60, armed_s=9.10, trigger_s=9.15, first_frame_s=10.3
    )
    r = boottime.boot_report(
        boottime.parse_analyze_time(PI_ANALYZE), boottime.parse_show(SHOW), timeline, BOOT
    )
    assert r.unit_start_s == pytest.approx(7.534210)
    assert r.armed_s == pytest.approx(9.10)
    assert r.trigger_to_frame_s == pytest.approx(1.15)
    assert r.power_to_first_frame_s == pytest.approx(10.3)  # no firmware stage seen on a Pi
    line = boottime.format_report(r)
    assert "kernel 3.0 s" in line and "camtrap started at 7.5 s" in line
    assert "first frame 10.3 s after kernel start" in line


def test_firmware_and_loader_count_towards_power_to_frame_where_systemd_sees_them() -> None:
    timeline = ServiceTimeline(BOOT, started_s=60.0, first_frame_s=70.0)
    r = boottime.boot_report(boottime.parse_analyze_time(EFI_ANALYZE), {}, timeline, BOOT)
    assert r.power_to_first_frame_s == pytest.approx(70.0 + 6.412 + 1.204)
    assert "after power" in boottime.format_report(r)


def test_a_timeline_from_an_earlier_boot_is_ignored() -> None:
    old = ServiceTimeline("another-boot", started_s=7.0, first_frame_s=9.0)
    r = boottime.boot_report(
        boottime.parse_analyze_time(PI_ANALYZE), boottime.parse_show(SHOW), old, BOOT
    )
    assert r.first_frame_s is None
    assert r.armed_s == pytest.approx(9.102344)  # systemd's ActiveEnter (READY=1) instead
    assert "no frame yet in this boot" in boottime.format_report(r)


def test_timeline_round_trips_and_rejects_bad_records_naming_the_field() -> None:
    t = ServiceTimeline(BOOT, started_s=7.6, armed_s=9.1)
    assert ServiceTimeline.from_json(t.to_json()) == t
    for bad, field in (
        ([], "JSON object"),
        ({"started_s": 1.0}, "boot_id"),
        ({"boot_id": BOOT, "started_s": "7"}, "started_s"),
        ({"boot_id": BOOT, "started_s": 7.0, "armed_s": -1}, "armed_s"),
        ({"boot_id": BOOT, "started_s": 7.0, "colour": 1}, "unknown"),
    ):
        with pytest.raises(ValueError, match=field):
            ServiceTimeline.from_json(bad)
