"""`camtrap airtime`: LoRa time on air and what the region's rules make of it.

    camtrap airtime --region EU868 --sf 12 --payload 11
    camtrap airtime --region US915 --table            # every data rate of the region
    camtrap airtime --sf 7 --bw 250 --payload 11      # the Semtech formula alone

The payload is the application payload; 13 bytes of LoRaWAN framing are added for the PHY.
"""

from __future__ import annotations

import argparse

from camtrap.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("airtime", help="LoRa time on air, duty cycle and payload limits")
    p.add_argument("--region", help="EU868, US915, AS923, IN865, KR920, RU864 or CN470")
    p.add_argument("--sf", type=int, help="spreading factor 7..12")
    p.add_argument("--bw", type=int, default=125, help="bandwidth in kHz (default 125)")
    p.add_argument("--dr", type=int, help="data rate index of the region (instead of --sf)")
    p.add_argument("--payload", type=int, default=11, help="application bytes (default 11)")
    p.add_argument("--budget", type=float, default=30.0, help="daily airtime budget in s")
    p.add_argument("--no-dwell", action="store_true", help="AS923: uplink dwell time off")
    p.add_argument("--table", action="store_true", help="every data rate of the region")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trapfw import airtime

    if not 0 <= args.payload <= 255 - airtime.FRAMING_BYTES:
        raise UsageError(f"--payload must be 0..{255 - airtime.FRAMING_BYTES}, got {args.payload}")
    if args.region is None:
        if args.sf is None:
            raise UsageError("give --sf (and --bw), or --region with --sf, --dr or --table")
        print(_line(args.sf, args.bw, args.payload))
        return 0
    reg = _region(args.region)
    dwell = not args.no_dwell
    if args.table:
        for dr in reg.lora_drs(dwell):
            sf, bw = reg.sf_bw(dr)
            limit = reg.max_payload(dr, dwell)
            fits = "fits" if args.payload <= limit else "too long"
            print(f"DR{dr} {_line(sf, bw, args.payload)}; max {limit} B ({fits})")
        _print_rules(reg, args)
        return 0
    dr = _pick_dr(reg, args)
    sf, bw = reg.sf_bw(dr)
    limit = reg.max_payload(dr, dwell)
    if args.payload > limit:
        raise UsageError(f"{args.payload} B exceeds {reg.name} DR{dr}'s maximum of {limit} B")
    print(f"{reg.name} DR{dr} {_line(sf, bw, args.payload)}")
    _print_rules(reg, args, sf, bw)
    return 0


def _line(sf: int, bw: int, app_bytes: int) -> str:
    from trapfw import airtime

    try:
        ms = airtime.uplink_ms(sf, bw, app_bytes)
    except ValueError as e:
        raise UsageError(str(e)) from None
    phy = app_bytes + airtime.FRAMING_BYTES
    return f"SF{sf}/{bw} kHz: {app_bytes} B payload + 13 B framing = {phy} B PHY, {ms:.3f} ms"


def _region(name: str):  # -> trapfw.airtime.Region
    from trapfw import airtime

    try:
        return airtime.region(name)
    except ValueError as e:
        raise UsageError(f"--region: {e}") from None


def _pick_dr(reg, args: argparse.Namespace) -> int:
    if args.dr is not None:
        if args.dr not in reg.lora_drs(not args.no_dwell):
            raise UsageError(f"--dr: {reg.name} has no usable LoRa uplink data rate DR{args.dr}")
        return int(args.dr)
    if args.sf is None:
        raise UsageError("give --sf, --dr or --table with --region")
    dwell = not args.no_dwell
    dr = reg.dr_for_sf(args.sf, args.bw)
    if dr is None or dr not in reg.lora_drs(dwell):
        hint = " (dwell time on; see --no-dwell)" if reg.payloads_dwell and dwell else ""
        raise UsageError(
            f"--sf: {reg.name} has no usable uplink data rate SF{args.sf}/{args.bw}{hint}"
        )
    return int(dr)


def _print_rules(reg, args: argparse.Namespace, sf: int | None = None, bw: int = 125) -> None:
    from trapfw import airtime

    if reg.dwell_ms and not args.no_dwell:
        print(f"dwell time: at most {reg.dwell_ms} ms per uplink")
    for band in reg.uplink_subbands():
        if band.duty >= 1:
            print(f"duty cycle: none on {band.name} MHz")
        elif sf is not None:
            t = airtime.uplink_ms(sf, bw, args.payload) / 1000
            off = airtime.off_time_s(t, band.duty)
            print(f"duty cycle: {band.duty * 100:g} % on {band.name} MHz: closed {off:.1f} s after")
        else:
            print(f"duty cycle: {band.duty * 100:g} % on {band.name} MHz")
    if sf is not None:
        t = airtime.uplink_ms(sf, bw, args.payload) / 1000
        print(f"daily budget {args.budget:g} s: {int(args.budget // t)} uplinks")
    if reg.notes:
        print(f"note: {reg.notes}")
