"""`camtrap evaluate BURSTS... --model M`: how well a model finds the targets on labelled bursts.

Runs the model through the same replay pipeline as `camtrap replay` (`camtrap.replay`), with
early exit off so every frame score is known, then writes into ``--out``:

* ``records.jsonl``: the replay records (the input of `camtrap calibrate --records`);
* ``metrics.json``: every number below, machine-readable;
* ``report.md`` and ``report.html``: per-class precision and recall (bursts and frames), the
  confusion matrices and the top confusions, the decision's recall and false alerts per day with
  95 % Wilson intervals, the mean frames classified per burst with and without early exit, and
  a thumbnail of every missed target and every false alert (the HTML report is one
  self-contained file: images are inlined as data URIs);
* ``pr_curve.png`` and ``score_histogram.png`` (with matplotlib, the ``[eval]`` extra).

Frames that fail to decode make their burst an ``error``: it is skipped and counted.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from camtrap.cliargs import add_rate_arguments, add_replay_arguments, add_rule_args
from camtrap.core.burst_record import BurstRecord, hits_by_source
from camtrap.core.calibrate import assess, scored_bursts
from camtrap.core.early_exit import simulate_early_exit
from camtrap.core.labels import is_target_label, short_label
from camtrap.core.metrics import Evaluation, evaluate_records
from camtrap.core.operating_point import EarlyExitStats, FieldRates, OperatingPoint
from camtrap.core.report import ReportInput, Thumb, build_sections, to_html, to_markdown
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
    hit_sources: dict[str, int] = field(default_factory=dict)  # hits by region source


def outcome(
    records: Sequence[BurstRecord],
    targets: Sequence[str],
    rule: Rule,
    rates: FieldRates,
    aliases: Mapping[str, str] | None = None,
) -> Outcome:
    """All the numbers of the report; ``targets``: the names whose truth is a target."""
    evaluation = evaluate_records(records, targets, rule.threshold, aliases)
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
    sources = hits_by_source(records)
    return Outcome(evaluation, point, early, errors, split[0], split[1], sources)


def thumbs(
    records: Sequence[BurstRecord], targets: Sequence[str]
) -> tuple[list[Thumb], list[Thumb]]:
    """Thumbnails of the missed targets and of the false alerts, each by its frame with the
    highest target score."""
    from camtrap.adapters.thumbs import thumbnail_uri

    misses: list[Thumb] = []
    false_alerts: list[Thumb] = []
    for r in records:
        if r.verdict == "error" or not r.label:
            continue
        target = is_target_label(r.label, targets)
        if target == (r.verdict == "hit"):
            continue
        path = frame_path(r)
        uri = thumbnail_uri(path) if path is not None else None
        if uri is not None and path is not None:
            caption = f"{path.name}: {r.label} read as {short_label(r.top_label) or '?'}"
            caption += f", target score {r.target_score or 0:.2f}"
            (misses if target else false_alerts).append(Thumb(caption, uri, str(path)))
    return misses, false_alerts


def frame_path(r: BurstRecord) -> Path | None:
    """The frame of a record with the highest target score (the image itself for a photo)."""
    source = Path(r.source)
    if source.is_file():
        return source
    frames = [f for f in r.frames if f.error is None and f.name]
    if not frames:
        return None
    return source / max(frames, key=lambda f: f.target_score or 0.0).name


def write_outputs(
    out: Path,
    raws: Sequence[Mapping[str, Any]],
    result: Outcome,
    model: str,
    rule: Rule,
    gallery: tuple[Sequence[Thumb], Sequence[Thumb]] = ((), ()),
) -> dict[str, Path]:
    """Write records, metrics, report and plots into ``out``; returns what was written."""
    from camtrap.adapters.thumbs import png_uri
    from camtrap.replay import write_jsonl

    try:
        out.mkdir(parents=True, exist_ok=True)
        write_jsonl(out / "records.jsonl", [dict(r) for r in raws])
        written = {"records": out / "records.jsonl", "metrics": out / "metrics.json"}
        text = json.dumps(metrics_json(result, model, rule), indent=2) + "\n"
        written["metrics"].write_text(text, encoding="utf-8")
        plots = write_plots(out, result, rule)
        written.update(plots)
        images = {p.name: uri for p in plots.values() if (uri := png_uri(p)) is not None}
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
                images=images,
                misses=tuple(gallery[0]),
                false_alerts=tuple(gallery[1]),
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
        "hits_by_region_source": result.hit_sources,
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
    for truth, predicted, n in ev.top_confusions[:3]:
        lines.append(f"confusion: {n} {truth} burst{'s' * (n != 1)} read as {predicted}")
    if result.hit_sources:
        by = ", ".join(f"{k} {v}" for k, v in result.hit_sources.items())
        lines.append(f"hits by the winning region of their best frame: {by}")
    lines.append(f"report: {out / 'report.md'} and {out / 'report.html'}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from camtrap.replay import parse_records, replay_full

    replayed = replay_full(args)
    rates = FieldRates(args.triggers_per_day, args.targets_per_day)
    records = parse_records(replayed.records, "replay")
    truth = replayed.truth_targets
    result = outcome(records, truth, replayed.rule, rates, replayed.aliases)
    out = Path(args.out)
    gallery = thumbs(records, truth)
    write_outputs(out, replayed.records, result, replayed.model, replayed.rule, gallery)
    print(summary(result, out))
    return 0
