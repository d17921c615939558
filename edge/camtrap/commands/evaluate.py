"""`camtrap evaluate BURSTS... --model M`: how well a model finds the targets on labelled bursts.

Runs the model through the same replay pipeline as `camtrap replay`, with early exit off so every
frame score is known, then writes into ``--out``:

* ``records.jsonl``: the replay records (the input of `camtrap calibrate --records`);
* ``metrics.json``: every number below, machine-readable;
* ``report.md`` and ``report.html``: per-class precision and recall (bursts and frames), the
  confusion matrices, the decision's recall and false alerts per day with 95 % Wilson intervals,
  and the mean frames classified per burst with and without early exit;
* ``pr_curve.png`` and ``score_histogram.png`` (with matplotlib, the ``[eval]`` extra).

Frames that fail to decode make their burst an ``error``: it is skipped and counted.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from camtrap.commands.replay import add_model_args, add_rule_args
from camtrap.core.calibrate import (
    EarlyExitStats,
    FieldRates,
    OperatingPoint,
    assess,
    scored_bursts,
    simulate_early_exit,
)
from camtrap.core.metrics import (
    BurstRecord,
    Evaluation,
    evaluate_records,
    is_target_label,
    parse_record,
)
from camtrap.core.report import ReportInput, build_sections, to_html, to_markdown
from camtrap.core.verdict import Rule
from camtrap.errors import UsageError

log = logging.getLogger(__name__)

DEFAULT_OUT = "out/evaluate"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="precision, recall, confusion matrix and early-exit savings on labelled bursts",
        description=(
            "Run a model over labelled bursts with early exit off and write a report "
            "(Markdown, HTML, PR curve), metrics.json and records.jsonl."
        ),
    )
    add_replay_arguments(p)
    add_rule_args(p)
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    add_rate_arguments(p)
    p.set_defaults(func=run)


def add_replay_arguments(p: argparse.ArgumentParser) -> None:
    """BURSTS, --config, --model, --labels, --target: what running the model needs."""
    p.add_argument("bursts", nargs="*", metavar="BURSTS", help="burst directories, images, trees")
    add_model_args(p)


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


# --------------------------------------------------------------------------------------------
# Running the model


@dataclass(frozen=True)
class Replayed:
    """What a replay run gave: the records and the decision they were made under."""

    records: tuple[dict[str, Any], ...]
    targets: tuple[str, ...]
    rule: Rule
    model: str  # "name@sha256-prefix"


def replay_full(args: argparse.Namespace, rule_args: bool = True) -> Replayed:
    """Every burst through `camtrap replay`'s pipeline with early exit off (all frames scored).

    ``rule_args``: whether ``args`` carries --rule/--k/--threshold overrides (not calibrate's).
    """
    from camtrap.app import detector_from_args
    from camtrap.commands.replay import replay
    from camtrap.config import load_config
    from camtrap.sim.bursts import discover

    if not args.bursts:
        raise UsageError("give burst directories or images (or --records FILE where accepted)")
    cfg = load_config(args.config)
    bursts = discover(args.bursts)  # a bad path fails before the model is loaded
    keys = ("model", "labels", "target", *(("rule", "k", "threshold") if rule_args else ()))
    full = argparse.Namespace(**{k: getattr(args, k, None) for k in keys}, no_early_exit=True)
    detector = detector_from_args(full, cfg, args.config or "<command line>")
    records = replay(bursts, detector, out=None)
    return Replayed(tuple(records), detector.targets.names, detector.rule, detector.model)


# --------------------------------------------------------------------------------------------
# From records to the report


@dataclass(frozen=True)
class Outcome:
    evaluation: Evaluation
    point: OperatingPoint | None
    early_exit: EarlyExitStats | None
    errors: tuple[tuple[str, str], ...]
    target_scores: tuple[float, ...]  # burst scores of labelled target bursts
    other_scores: tuple[float, ...]  # and of the others


def parse_records(raws: Sequence[Mapping[str, Any]], source: str) -> list[BurstRecord]:
    """Replay records as values; a malformed one is a `UsageError` naming its line."""
    try:
        return [parse_record(r, f"{source}: line {i}") for i, r in enumerate(raws, 1)]
    except ValueError as e:
        raise UsageError(str(e)) from None


def read_records(path: Path) -> list[dict[str, Any]]:
    """A JSON Lines file of replay records."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e}") from None
    raws = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raws.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise UsageError(f"{path}: line {i}: not JSON: {e.msg}") from None
    if not raws:
        raise UsageError(f"{path}: no records")
    return raws


def outcome(
    records: Sequence[BurstRecord], targets: Sequence[str], rule: Rule, rates: FieldRates
) -> Outcome:
    """All the numbers of the report."""
    evaluation = evaluate_records(records, targets, rule.threshold)
    bursts = scored_bursts(records, targets)
    has_both = any(b.is_target for b in bursts) and not all(b.is_target for b in bursts)
    point = assess(bursts, rule, rates) if has_both else None
    every = scored_bursts(records, targets, labelled_only=False)
    early = simulate_early_exit(every, rule) if every else None
    errors = tuple((r.source, r.error or "error") for r in records if r.verdict == "error")
    labelled = [r for r in records if r.verdict != "error" and r.label]
    split = [
        tuple(r.target_score or 0.0 for r in labelled if is_target_label(r.label, targets) == want)
        for want in (True, False)
    ]
    return Outcome(evaluation, point, early, errors, split[0], split[1])


def write_outputs(
    out: Path, raws: Sequence[Mapping[str, Any]], result: Outcome, model: str, rule: Rule
) -> dict[str, Path]:
    """Write records, metrics, report and plots into ``out``; returns what was written."""
    from camtrap.commands.replay import write_jsonl

    try:
        out.mkdir(parents=True, exist_ok=True)
        write_jsonl(out / "records.jsonl", [dict(r) for r in raws])
        written = {"records": out / "records.jsonl", "metrics": out / "metrics.json"}
        text = json.dumps(metrics_json(result, model, rule), indent=2) + "\n"
        written["metrics"].write_text(text, encoding="utf-8")
        plots = write_plots(out, result, rule)
        written.update(plots)
        sections = build_sections(
            ReportInput(
                model=model,
                rule=describe(rule),
                evaluation=result.evaluation,
                point=result.point,
                early_exit=result.early_exit,
                errors=result.errors,
                pr_curve_png=plots["pr_curve"].name if "pr_curve" in plots else None,
                histogram_png=plots["histogram"].name if "histogram" in plots else None,
            )
        )
        title = f"camtrap evaluation: {model}"
        written["report_md"] = out / "report.md"
        written["report_html"] = out / "report.html"
        written["report_md"].write_text(to_markdown(title, sections), encoding="utf-8")
        written["report_html"].write_text(to_html(title, sections), encoding="utf-8")
    except OSError as e:
        raise UsageError(f"{out}: cannot write the evaluation: {e}") from None
    return written


def write_plots(out: Path, result: Outcome, rule: Rule) -> dict[str, Path]:
    """The PR curve and score histogram PNGs; none (with a warning) without matplotlib."""
    from camtrap.adapters import plots

    ev, p = result.evaluation, result.point
    chosen = (p.recall, p.precision) if p is not None and p.precision is not None else None
    try:
        written = {"pr_curve": plots.pr_curve_png(out / "pr_curve.png", ev.pr_curve, chosen)}
        written["histogram"] = plots.score_histogram_png(
            out / "score_histogram.png", result.target_scores, result.other_scores, rule.threshold
        )
    except UsageError as e:
        log.warning("no plots: %s", e)
        return {}
    return written


def describe(rule: Rule) -> str:
    return f"{rule.name} k={rule.k} threshold {rule.threshold:g}"


def metrics_json(result: Outcome, model: str, rule: Rule) -> dict[str, Any]:
    return {
        "schema": "camtrap-evaluation/1",
        "model": model,
        "decision": {"rule": rule.name, "k": rule.k, "threshold": rule.threshold},
        "evaluation": asdict(result.evaluation),
        "operating_point": None if result.point is None else result.point.card_metrics(),
        "early_exit": None if result.early_exit is None else asdict(result.early_exit),
        "skipped": [{"source": s, "error": e} for s, e in result.errors],
    }


def summary(result: Outcome, out: Path) -> str:
    """The lines printed at the end."""
    ev, p = result.evaluation, result.point
    lines = [
        f"evaluated {ev.bursts} labelled bursts ({ev.frames} frames); skipped "
        f"{ev.skipped_bursts} bursts with undecodable frames ({ev.skipped_frames} frames), "
        f"{ev.unlabelled_bursts} unlabelled"
    ]
    if p is not None:
        lines += [
            f"recall {p.tp}/{p.targets} = {p.recall:.3f} (95 % CI {p.recall_ci[0]:.3f}-"
            f"{p.recall_ci[1]:.3f}), precision "
            + ("-" if p.precision is None else f"{p.precision:.3f}"),
            f"false alerts/day at {p.rates.triggers_per_day:g} triggers/day: "
            f"{p.false_alerts_per_day:.2f} (95 % CI {p.false_alerts_per_day_ci[0]:.2f}-"
            f"{p.false_alerts_per_day_ci[1]:.2f})",
        ]
    if (ee := result.early_exit) is not None:
        lines.append(
            f"frames per burst: {ee.mean_frames_full:.2f} full, {ee.mean_frames_early:.2f} with "
            f"early exit ({100 * ee.reduction:.0f} % fewer; {ee.agreements}/{ee.bursts} "
            "decisions equal)"
        )
    lines.append(f"report: {out / 'report.md'} and {out / 'report.html'}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    replayed = replay_full(args)
    rates = FieldRates(args.triggers_per_day, args.targets_per_day)
    records = parse_records(replayed.records, "replay")
    result = outcome(records, replayed.targets, replayed.rule, rates)
    out = Path(args.out)
    write_outputs(out, replayed.records, result, replayed.model, replayed.rule)
    print(summary(result, out))
    return 0
