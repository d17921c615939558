"""`camtrap decode --fport N HEX`: decode a LoRaWAN uplink as the payload formatter would.

    camtrap decode --fport 10 0100002a01ba030456000c
    camtrap decode --fport 10 0100002a01ba030456000c --recv-time 2026-11-24T06:19:45Z

Prints the JSON (the MQTT hit JSON field names). A wrong length, version or FPort exits 2
with the reason.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from camtrap.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("decode", help="decode a LoRaWAN uplink payload (hex) to JSON")
    p.add_argument("--fport", type=int, required=True, help="FPort (10 hit, 11 heartbeat)")
    p.add_argument("hex", help="payload bytes as hex (spaces and colons allowed)")
    p.add_argument("--recv-time", help="ISO 8601 receive time: adds the hit's trigger time")
    p.set_defaults(func=run)


def parse_hex(text: str) -> bytes:
    clean = text.replace(" ", "").replace(":", "")
    try:
        return bytes.fromhex(clean)
    except ValueError:
        raise UsageError(f"payload is not hex: {text!r}") from None


def _recv_seconds(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--recv-time is not ISO 8601: {text!r}") from None
    if t.tzinfo is None:
        raise UsageError(f"--recv-time needs a time zone (e.g. Z): {text!r}")
    return t.timestamp()


def run(args: argparse.Namespace) -> int:
    from trapfw import payload

    data = parse_hex(args.hex)
    try:
        decoded = payload.decode(args.fport, data, _recv_seconds(args.recv_time))
    except payload.PayloadError as e:
        raise UsageError(str(e)) from None
    print(json.dumps(decoded))
    return 0
