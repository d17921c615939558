"""`camtrap validate-config FILE`: strict check of a TOML config, no side effects.

Beyond each key's type and range, it applies the rules across keys that `camtrap run` applies
before touching hardware (power-gated mode needs MCU triggers; the ``[mqtt]`` and ``[lora]``
combinations), so a config it calls ok is not refused at start. It reports every problem in
the file at once, one ``FILE: key: problem`` line each (exit status 2). Files the config names
(password, CA bundle, model) are checked on the trap by `camtrap doctor`, except the
notification URLs file (``[notify] urls_file``), read here so that each Apprise URL is checked
(a malformed one is named by key and line, never shown). Risky secrets that
are allowed (an inline password, a password over plain MQTT, a config others may read that
holds one) print a warning line each on stderr; the exit status stays 0.
"""

from __future__ import annotations

import argparse
import sys

from camtrap.config import load_config


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate-config", help="check a config file and exit")
    p.add_argument("config", help="TOML config file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from camtrap.adapters.lora_uplink import make_scheduler
    from camtrap.adapters.mqtt import check_mqtt
    from camtrap.adapters.secrets import secret_warnings
    from camtrap.config import check_mode
    from camtrap.errors import Problems

    cfg = load_config(args.config)  # every key's type and range, all problems at once
    found = Problems()  # then every rule across keys, each reported
    with found.check():
        check_mode(cfg, args.config)
    with found.check():
        check_mqtt(cfg.mqtt, cfg.device.id, args.config)
    if cfg.lora.enabled:
        with found.check():
            make_scheduler(cfg.lora, 0.0, args.config)
    if cfg.notify.enabled:  # the URLs file is read: a malformed URL is named by key and line
        from camtrap.adapters.notify import check_notify

        with found.check():
            check_notify(cfg.notify, args.config)
    found.raise_any()
    print(f"{args.config}: ok (device {cfg.device.id}, mode {cfg.device.mode})")
    for line in secret_warnings(cfg, args.config):  # allowed, but to be fixed
        print(f"camtrap validate-config: warning: {line}", file=sys.stderr)
    return 0
