"""`camtrap doctor`: check a trap end to end, one line per check, and say what to do.

    sudo -u camtrap /opt/camtrap/venv/bin/camtrap doctor --config /etc/camtrap/config.toml
    camtrap doctor --sim --config examples/demo.toml        # on a desktop: everything simulated

Checks, in order: config, secrets (a password file others may read fails, as the service
refuses it; an inline password or one over plain MQTT warns), clock, free disk, storage (the
data directory writable, not remounted read-only, no outbox journal left by a degraded run;
which process holds the data directory), model load, a self-test that replays golden bursts
through the real pipeline (a leopard must be a hit, an empty scene a miss), camera, PIR pin,
MQTT broker (only when ``[mqtt] enabled``), MCU link (only when the config uses one), and the
boot time: power (kernel start on a Pi) to the first frame in this boot, from systemd
(``systemd-analyze time``, the unit's timestamps) and the service's own timeline. Each line
is ``ok``, ``FAIL`` (with what to do), ``warn`` (allowed, but fix it) or ``skip`` (with why).
Exit status 1 if any check fails; 2 when the config itself is bad or a ``--golden`` path does
not exist (misuse, as in every command), so scripts can tell a sick trap from a wrong command
line.

``--sim`` swaps the hardware for its simulation, explicitly: the replay camera serving the
golden bursts and the gpiozero PIR code on a MockFactory pin; the broker check stays real.
Golden bursts: ``--golden DIR`` (repeatable), else ``<data_dir>/golden`` (deploy puts them
there), else ``demo/bursts`` in a source checkout.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from camtrap.doctor import Deps, run_checks


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check camera, PIR, model, broker, MCU link, disk, clock")
    p.add_argument("--config", metavar="C", help="TOML config (defaults otherwise)")
    p.add_argument("--sim", action="store_true", help="desktop: simulated camera and PIR")
    p.add_argument("--golden", action="append", metavar="DIR", help="golden burst(s) to replay")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from camtrap.errors import EXIT_USAGE, UsageError

    for g in args.golden or []:
        if not Path(g).exists():
            raise UsageError(f"--golden {g}: no such file or directory")
    checks = run_checks(args.config, args.sim, args.golden or [], Deps())
    if checks[0].name == "config" and checks[0].status == "FAIL":
        return EXIT_USAGE
    return 1 if any(c.status == "FAIL" for c in checks) else 0
