"""`camtrap calibrate`: choose the burst rule and threshold from labelled bursts and a goal.

    camtrap calibrate BURSTS... --model M --min-recall 0.95 [--write-card]
    camtrap calibrate BURSTS... --model M --max-recall --max-false-alerts-per-day 0.2
    camtrap calibrate --records out/evaluate/records.jsonl --model M --cost-miss 100 \\
        --cost-false-alert 1 --write-card

The bursts run through the replay pipeline with early exit off (or come from the
``records.jsonl`` of `camtrap evaluate`, so nothing runs twice). The search and the goals are
`camtrap.core.calibrate`'s. ``--write-card`` writes the choice into the model card beside the
model (``decision`` and ``metrics.operating_point``; nothing else changes, and the card's
sha256 still names the same .tflite), where the service picks it up at its next start.

``--max-recall`` takes the most hits whose false alerts on the non-target bursts stay within
``--max-false-alerts-per-day`` at ``--triggers-per-day`` (a budget stated up front; with
``--wilson`` the upper end of the rate's 95 % interval must stay within it).

Before any search, the non-target bursts must be able to show the false alert rate asked for
(``--max-false-alerts-per-day``, default 1, at ``--triggers-per-day``): with n of them and none
firing, the 95 % upper bound is still about 3/n, so 25 negatives cannot show better than 12 %.
Too few is a refusal (exit 2) naming how many are needed, or a loud warning with ``--force``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from camtrap.cliargs import add_rate_arguments, add_replay_arguments, fraction, positive
from camtrap.core.calibrate import DEFAULT_KS, RULES, CalibrationError, choose, scored_bursts
from camtrap.core.intervals import unsupported_rate
from camtrap.core.modelcard import ModelCard, parse_card
from camtrap.core.operating_point import (
    FieldRates,
    Goal,
    MaxRecall,
    MinCost,
    MinRecall,
    OperatingPoint,
)
from camtrap.core.targets import member_names, merge_groups
from camtrap.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="choose the burst rule and threshold for a recall or cost goal",
        description=(
            "Choose the burst rule, k and threshold from labelled bursts for a recall or cost "
            "goal; optionally write it into the model card."
        ),
    )
    add_replay_arguments(p)
    p.add_argument("--records", help="records.jsonl from camtrap evaluate (instead of BURSTS)")
    p.add_argument("--min-recall", type=fraction, help="goal: recall >= R, fewest false alerts")
    p.add_argument(
        "--wilson",
        action="store_true",
        help="with --min-recall: the Wilson 95 %% lower bound of recall >= R; with "
        "--max-recall: the upper bound of the false alert rate within the budget",
    )
    p.add_argument(
        "--max-recall",
        action="store_true",
        help="goal: the most hits within --max-false-alerts-per-day (on the non-targets)",
    )
    p.add_argument("--cost-miss", type=positive, help="goal: cost of a missed target")
    p.add_argument("--cost-false-alert", type=positive, help="goal: cost of a false alert")
    p.add_argument("--rules", default=",".join(RULES), help="rules to search (default %(default)s)")
    p.add_argument(
        "--k",
        default=",".join(map(str, DEFAULT_KS)),
        help="values of k to search (default %(default)s)",
    )
    add_rate_arguments(p)
    p.add_argument(
        "--max-false-alerts-per-day",
        type=positive,
        default=1.0,
        help="the false alert rate the negatives must be able to show, and --max-recall's "
        "budget (default %(default)s)",
    )
    p.add_argument(
        "--force", action="store_true", help="calibrate even when the negatives are too few"
    )
    p.add_argument("--write-card", action="store_true", help="write the choice into model.json")
    p.set_defaults(func=run)


def goal_of(args: argparse.Namespace) -> Goal:
    """The goal the arguments ask for; exactly one kind."""
    cost = args.cost_miss is not None or args.cost_false_alert is not None
    if [args.min_recall is not None, args.max_recall, cost].count(True) != 1:
        raise UsageError(
            "give either --min-recall R, --max-recall or --cost-miss A --cost-false-alert B"
        )
    if args.wilson and args.min_recall is None and not args.max_recall:
        raise UsageError("--wilson goes with --min-recall or --max-recall")
    if args.min_recall is not None:
        return MinRecall(args.min_recall, "wilson" if args.wilson else "point")
    if args.max_recall:
        rate = min(args.max_false_alerts_per_day / args.triggers_per_day, 0.999)
        return MaxRecall(rate, "wilson" if args.wilson else "point")
    if args.cost_miss is None or args.cost_false_alert is None:
        raise UsageError("--cost-miss and --cost-false-alert go together")
    return MinCost(args.cost_miss, args.cost_false_alert)


def search_space(args: argparse.Namespace) -> tuple[tuple[Any, ...], tuple[int, ...]]:
    rules = tuple(r.strip() for r in args.rules.split(",") if r.strip())
    bad = [r for r in rules if r not in RULES]
    if bad or not rules:
        raise UsageError(f"--rules: want some of {', '.join(RULES)}, got {args.rules!r}")
    try:
        ks = tuple(sorted({int(k) for k in args.k.split(",") if k.strip()}))
    except ValueError:
        raise UsageError(f"--k: want integers like 1,2,3, got {args.k!r}") from None
    if not ks or ks[0] < 1:
        raise UsageError(f"--k: want integers >= 1, got {args.k!r}")
    return rules, ks


# --------------------------------------------------------------------------------------------
# The model card


def card_of(model: str | None) -> ModelCard | None:
    """The card beside ``model`` (or in the model directory), None without a model or card."""
    from camtrap.adapters.model_card import card_path, read_card

    return read_card(card_path(model)) if model else None


def card_targets(model: str | None) -> tuple[str, ...]:
    """The targets of the card beside ``model`` (none without a model or a card)."""
    card = card_of(model)
    return card.targets if card else ()


def with_operating_point(card: dict[str, Any], point: OperatingPoint) -> dict[str, Any]:
    """The card with ``decision`` and ``metrics.operating_point`` replaced; nothing else."""
    early_exit = card.get("decision", {}).get("early_exit", True)
    metrics = card.get("metrics")
    metrics = dict(metrics) if isinstance(metrics, dict) else {}
    metrics["operating_point"] = point.card_metrics()
    return {**card, "decision": point.decision(bool(early_exit)), "metrics": metrics}


def write_card(path: Path, point: OperatingPoint) -> None:
    """Write the choice into the card after validating the result (never a card the service
    would refuse); the rest of the card is untouched, its file mode too."""
    from camtrap.adapters.model_card import read_card_json, write_card_json

    card = read_card_json(path, missing="no model card to write the choice into")
    updated = with_operating_point(card, point)
    parse_card(updated, str(path))
    write_card_json(path, updated)


# --------------------------------------------------------------------------------------------


def load_records(args: argparse.Namespace) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """The records and the names whose truth is a target (the targets and their groups'
    members): from ``--records`` or from a replay run."""
    from camtrap.detector import cli_groups
    from camtrap.replay import read_records, replay_full

    if args.records:
        if args.bursts:
            raise UsageError("give BURSTS or --records, not both")
        card = card_of(args.model)
        targets = tuple(args.target or ()) or (card.targets if card else ())
        groups = merge_groups(
            card.target_groups if card else (), cli_groups(args.target_group or ())
        )
        if not targets:
            raise UsageError("--records needs --target NAME or --model with a card naming targets")
        return read_records(Path(args.records)), member_names(targets, groups)
    replayed = replay_full(args, rule_args=False)
    return list(replayed.records), replayed.truth_targets


def check_negatives(
    raws: Sequence[dict[str, Any]], targets: Sequence[str], args: Any, source: str
) -> None:
    """Refuse (or, with --force, warn) when the non-target bursts are too few to show the
    asked false alert rate even if none fired (95 % upper bound ~3/n)."""
    from camtrap.replay import parse_records

    bursts = scored_bursts(parse_records(raws, source), targets)
    negatives = sum(not b.is_target for b in bursts)
    rate = min(args.max_false_alerts_per_day / args.triggers_per_day, 0.999)
    problem = unsupported_rate(negatives, rate)
    if problem is None:
        return
    asked = (
        f"the asked {args.max_false_alerts_per_day:g} false alerts/day at "
        f"{args.triggers_per_day:g} triggers/day"
    )
    if not args.force:
        raise CalibrationError(f"{problem} ({asked}), or pass --force")
    print(f"WARNING: {problem} ({asked}); calibrating anyway (--force)", file=sys.stderr)


def report(point: OperatingPoint) -> str:
    ee = point.early_exit
    precision = "-" if point.precision is None else f"{point.precision:.3f}"
    return "\n".join(
        (
            f"goal: {point.goal}",
            f"decision: {point.rule} k={point.k} threshold {point.threshold:g}",
            f"recall {point.tp}/{point.targets} = {point.recall:.3f} "
            f"(95 % CI {point.recall_ci[0]:.3f}-{point.recall_ci[1]:.3f}), precision {precision}",
            f"false alerts {point.fp}/{point.non_targets}: {point.false_alerts_per_day:.2f}/day "
            f"at {point.rates.triggers_per_day:g} triggers/day "
            f"(95 % CI {point.false_alerts_per_day_ci[0]:.2f}-"
            f"{point.false_alerts_per_day_ci[1]:.2f})",
            f"missed targets: {point.misses_per_day:.3f}/day at "
            f"{point.rates.targets_per_day:g} targets/day",
            f"frames per burst: {ee.mean_frames_full:.2f} full, {ee.mean_frames_early:.2f} with "
            f"early exit ({100 * ee.reduction:.0f} % fewer)",
        )
    )


def calibrate(
    raws: Sequence[dict[str, Any]],
    targets: Sequence[str],
    goal: Goal,
    rates: FieldRates,
    rules: Sequence[Any],
    ks: Sequence[int],
    source: str = "records",
) -> OperatingPoint:
    """``source`` names the records in errors (the --records file, or the replay run)."""
    from camtrap.replay import parse_records

    bursts = scored_bursts(parse_records(raws, source), targets)
    return choose(bursts, goal, rates, rules, ks)


def run(args: argparse.Namespace) -> int:
    goal = goal_of(args)
    rules, ks = search_space(args)
    if args.write_card and not args.model:
        raise UsageError("--write-card needs --model (the card beside it is written)")
    raws, targets = load_records(args)
    check_negatives(raws, targets, args, args.records or "replay")
    rates = FieldRates(args.triggers_per_day, args.targets_per_day)
    point = calibrate(raws, targets, goal, rates, rules, ks, args.records or "replay")
    print(report(point))
    if args.write_card:
        from camtrap.adapters.model_card import card_path

        path = card_path(args.model)
        write_card(path, point)
        print(f"wrote decision and metrics.operating_point to {path}")
    return 0
