"""The command-line flags several commands share, registered in one place.

`camtrap.detector.detector_from_args` reads what `add_model_args` and `add_rule_args` register;
`add_rate_arguments` feeds `camtrap.core.operating_point.FieldRates`.
"""

from __future__ import annotations

import argparse

from camtrap.core.operating_point import FieldRates
from camtrap.core.verdict import RULES


def add_model_args(p: argparse.ArgumentParser) -> None:
    """--config/--model/--labels/--target/--target-group: what loading the model and its
    targets needs."""
    p.add_argument("--config", metavar="C", help="TOML config (defaults otherwise)")
    p.add_argument(
        "--model", metavar="M", help=".tflite model or model directory (default: config)"
    )
    p.add_argument("--labels", metavar="L", help="labels file (default: the card's or labels.txt)")
    add_target_args(p)
    p.add_argument(
        "--regions",
        choices=("auto", "off"),
        help="judge frames by their regions (auto) or whole (off); default: [regions] mode",
    )


def add_target_args(p: argparse.ArgumentParser) -> None:
    """--target and --target-group (label roll-up, `camtrap.core.targets`)."""
    p.add_argument("--target", action="append", metavar="NAME", help="target label (repeatable)")
    p.add_argument(
        "--target-group",
        action="append",
        metavar="NAME=LABEL;...",
        help="count these labels as one target NAME, scored as the sum (repeatable)",
    )


def add_truth_arg(p: argparse.ArgumentParser) -> None:
    """--truth: labels for real photos without a burst.json each (`camtrap.core.truth`)."""
    p.add_argument(
        "--truth",
        metavar="SPEC",
        help="ground truth: folders (DATA/<label>/...), csv:FILE (file,label) or coco:FILE",
    )


def add_rule_args(p: argparse.ArgumentParser) -> None:
    """--threshold/--rule/--k: overrides of the card's burst rule."""
    p.add_argument("--threshold", type=float, metavar="T", help="burst threshold 0..1")
    p.add_argument("--rule", choices=RULES, help="burst rule (default: the card's)")
    p.add_argument("--k", type=int, metavar="K", help="k of the rule")


def add_replay_arguments(p: argparse.ArgumentParser) -> None:
    """BURSTS, --config, --model, --labels, --target, --truth: what running the model needs."""
    p.add_argument("bursts", nargs="*", metavar="BURSTS", help="burst directories, images, trees")
    add_model_args(p)
    add_truth_arg(p)


def add_rate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--triggers-per-day",
        type=positive,
        default=FieldRates.triggers_per_day,
        help="PIR triggers per day in the field (default %(default)s)",
    )
    p.add_argument(
        "--targets-per-day",
        type=positive,
        default=FieldRates.targets_per_day,
        help="target visits per day in the field (default %(default)s)",
    )


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def fraction(text: str) -> float:
    value = positive(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value
