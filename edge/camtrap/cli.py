"""The `camtrap` command line.

Each sub-command is a module in `camtrap.commands` with two functions::

    def add_parser(sub) -> None:      # register arguments, set_defaults(func=run)
    def run(args) -> int:             # do it; return the exit status

Command modules keep heavy imports (LiteRT, paho, picamera2) inside `run`, so that
`camtrap --help` and argument errors stay fast. Misuse (`UsageError`) prints one line and exits
with status 2; a failed peer (`PeerError`) prints one line and exits with status 1.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from camtrap import __version__, commands
from camtrap.errors import EXIT_PEER, EXIT_USAGE, PeerError, UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="camtrap", description="Smart camera trap: replay, run and inspect the service."
    )
    parser.add_argument("--version", action="version", version=f"camtrap {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"camtrap.commands.{info.name}")
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
    )
    try:
        return int(args.func(args))
    except UsageError as e:
        for line in str(e).splitlines() or [""]:  # several config problems: one line each
            print(f"camtrap {args.command}: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except PeerError as e:
        print(f"camtrap {args.command}: failed: {e}", file=sys.stderr)
        return EXIT_PEER
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
