"""`camtrap encode hit|heartbeat ...`: build an uplink payload by hand (for testing).

    camtrap encode hit --event-seq 42 --label leopard --score 0.93 --agreeing 3 \
        --classified 4 --battery-mv 3710 --age-s 12
    camtrap encode heartbeat --battery-mv 3700 --last-event-seq 42 --triggers 17 --hits 1
    camtrap encode heartbeat --storage-fault --clock-unset

Prints ``--fport N HEX``, ready for ``camtrap decode`` or a network server's test uplink.
"""

from __future__ import annotations

import argparse

from camtrap.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("encode", help="build a LoRaWAN hit or heartbeat payload (testing)")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    h = kinds.add_parser("hit", help="a hit uplink")
    h.add_argument("--event-seq", type=int, required=True)
    h.add_argument("--label", help="class label (see docs/lora.md), or use --class-code")
    h.add_argument("--class-code", type=int)
    h.add_argument("--score", type=float, required=True, help="burst score 0..1")
    h.add_argument("--agreeing", type=int, required=True, help="frames agreeing")
    h.add_argument("--classified", type=int, required=True, help="frames classified")
    h.add_argument("--battery-mv", type=int)
    h.add_argument("--age-s", type=int, default=0)
    b = kinds.add_parser("heartbeat", help="a heartbeat uplink")
    b.add_argument("--battery-mv", type=int)
    b.add_argument("--last-event-seq", type=int, default=0)
    b.add_argument("--triggers", type=int, default=0)
    b.add_argument("--hits", type=int, default=0)
    b.add_argument("--hits-unsent", type=int, default=0)
    b.add_argument("--unsent-label", help="label of the best unsent hit")
    b.add_argument("--temp-c", type=int)
    b.add_argument("--storage-fault", action="store_true", help="status: the Pi's storage")
    b.add_argument("--clock-unset", action="store_true", help="status: no wall-clock time")
    b.add_argument("--low-battery", action="store_true", help="status: below the cutoff")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trapfw import payload

    try:
        if args.kind == "hit":
            fport, data = payload.FPORT_HIT, _hit(args)
        else:
            fport, data = payload.FPORT_HEARTBEAT, _heartbeat(args)
    except payload.PayloadError as e:
        raise UsageError(str(e)) from None
    print(f"--fport {fport} {bytes(data).hex()}")
    return 0


def _code(label: str | None, code: int | None) -> int:
    from trapfw import payload

    if (label is None) == (code is None):
        raise UsageError("give exactly one of --label and --class-code")
    if code is not None:
        return code
    assert label is not None
    found = int(payload.code_for(label))
    if found == 0 and label.strip().lower() not in ("other", "unknown"):
        raise UsageError(f"--label {label!r} is not in the class table (see docs/lora.md)")
    return found


def _hit(args: argparse.Namespace) -> bytes:
    from trapfw import payload

    return payload.encode_hit(
        args.event_seq,
        _code(args.label, args.class_code),
        args.score,
        args.agreeing,
        args.classified,
        args.battery_mv,
        args.age_s,
    )


def _heartbeat(args: argparse.Namespace) -> bytes:
    from trapfw import payload

    unsent = None if args.unsent_label is None else _code(args.unsent_label, None)
    flags = payload.HB_STORAGE_FAULT if args.storage_fault else 0
    flags |= payload.HB_CLOCK_UNSET if args.clock_unset else 0
    flags |= payload.HB_LOW_BATTERY if args.low_battery else 0
    return payload.encode_heartbeat(
        args.battery_mv,
        args.last_event_seq,
        args.triggers,
        args.hits,
        args.hits_unsent,
        unsent,
        args.temp_c,
        flags,
    )
