"""Generate `firmware/trapfw/pins.py` from `hardware/pinmap.toml` (the single source of pins).

    python -m tools.gen_pins            # write the module
    python -m tools.gen_pins --check    # exit 1 when the module drifted from the pin map

The pin map is validated first (`camtrap.pinmap`), so a duplicate pin or a PIR pin that cannot
wake the MCU stops here with one line naming the key.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from camtrap.errors import UsageError
from camtrap.pinmap import DEFAULT_PATH, MCU_PINS, PinMap, load_pinmap

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "firmware" / "trapfw" / "pins.py"


def render(pinmap: PinMap) -> str:
    """The text of the pin module for every MCU board in the map."""
    lines = [
        '"""MCU pin numbers per board. GENERATED from hardware/pinmap.toml by tools/gen_pins.py:',
        "do not edit; change the pin map and run `python -m tools.gen_pins`.",
        '"""',
        "",
    ]
    for board in sorted(pinmap.mcu):
        pins = pinmap.mcu[board]
        lines.append(f"{board.upper()} = {{")
        lines += [f'    "{name}": {pins[name]},' for name in MCU_PINS]
        lines.append("}")
    boards = ", ".join(f'"{b}": {b.upper()}' for b in sorted(pinmap.mcu))
    lines += [f"BOARDS = {{{boards}}}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.gen_pins", description=__doc__)
    ap.add_argument("--pinmap", default=str(DEFAULT_PATH))
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--check", action="store_true", help="fail when the module is out of date")
    args = ap.parse_args(argv)
    try:
        text = render(load_pinmap(args.pinmap))
    except UsageError as e:
        print(f"gen_pins: error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        if current != text:
            print(f"gen_pins: {out} is out of date: run python -m tools.gen_pins", file=sys.stderr)
            return 1
        print(f"gen_pins: {out} matches {args.pinmap}")
        return 0
    out.write_text(text, encoding="utf-8")
    print(f"gen_pins: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
