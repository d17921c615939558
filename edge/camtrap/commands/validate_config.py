"""`camtrap validate-config FILE`: strict check of a TOML config, no side effects."""

from __future__ import annotations

import argparse

from camtrap.config import load_config


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate-config", help="check a config file and exit")
    p.add_argument("config", help="TOML config file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    print(f"{args.config}: ok (device {cfg.device.id}, mode {cfg.device.mode})")
    return 0
