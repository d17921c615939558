"""The evaluation report as Markdown and as HTML: pure strings, no I/O.

`build_sections` turns the numbers into a small document model (sections of paragraphs, tables
and images); `to_markdown` and `to_html` render the same model, so the two reports never
disagree.

>>> doc = (Section("Counts", (Table(("class", "n"), (("leopard", "3"),)),)),)
>>> print(to_markdown("Demo", doc))
# Demo
<BLANKLINE>
## Counts
<BLANKLINE>
| class | n |
|---|---|
| leopard | 3 |
<BLANKLINE>
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from camtrap.core.labels import BELOW
from camtrap.core.metrics import OTHER, ClassStats, Confusion, Evaluation
from camtrap.core.operating_point import EarlyExitStats, OperatingPoint

MAX_LISTED_ERRORS = 50


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Image:
    path: str  # relative to the report
    alt: str
    data_uri: str = ""  # the HTML report inlines it when given (one self-contained file)


@dataclass(frozen=True)
class Thumb:
    """One picture in a gallery: a burst's frame, with what happened to it."""

    caption: str
    uri: str  # data: URI of the thumbnail
    link: str  # the frame's path, for the Markdown report


@dataclass(frozen=True)
class Gallery:
    items: tuple[Thumb, ...]


Block = str | Table | Image | Gallery


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class ReportInput:
    """Everything the report shows."""

    model: str  # e.g. "camtrap-demo@1a2b3c4d"
    rule: str  # e.g. "k_of_n k=2 threshold 0.5"
    evaluation: Evaluation
    point: OperatingPoint | None  # the decision's field figures (None: no targets or no others)
    early_exit: EarlyExitStats | None = None  # over every decided burst, labelled or not
    errors: tuple[tuple[str, str], ...] = ()  # (source, reason) of skipped bursts
    pr_curve_png: str | None = "pr_curve.png"
    histogram_png: str | None = "score_histogram.png"
    images: Mapping[str, str] = field(default_factory=dict)  # file name -> data: URI
    misses: tuple[Thumb, ...] = ()  # target bursts that were not hits
    false_alerts: tuple[Thumb, ...] = ()  # non-target bursts that were hits


# --------------------------------------------------------------------------------------------
# Formatting helpers


def pct(x: float | None) -> str:
    """A ratio as a percentage with one decimal, or an en dash when undefined."""
    return "–" if x is None else f"{100 * x:.1f} %"


def ci(interval: tuple[float, float]) -> str:
    return f"{100 * interval[0]:.1f}–{100 * interval[1]:.1f} %"


def num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


# --------------------------------------------------------------------------------------------
# Sections


def build_sections(r: ReportInput) -> tuple[Section, ...]:
    """The report's sections, in order."""
    sections = [_summary(r)]
    if r.point is not None:
        sections.append(_decision(r.point))
    if r.early_exit is not None:
        sections.append(_early_exit(r.early_exit))
    if r.evaluation.top_confusions:
        sections.append(_top_confusions(r.evaluation.top_confusions))
    sections += [
        Section(
            "Bursts: precision and recall per class", (_class_table(r.evaluation.burst_classes),)
        ),
        Section(
            "Bursts: confusion matrix",
            (
                "Rows: true class; columns: predicted class (the target on a hit, otherwise the "
                "burst's top label), then the unlabelled classes predicted most; "
                f"{OTHER} = the rest of the classes no burst is labelled with.",
                _confusion_table(r.evaluation.burst_confusion),
            ),
        ),
        Section(
            "Frames: precision and recall per class", (_class_table(r.evaluation.frame_classes),)
        ),
        Section(
            "Frames: confusion matrix",
            (
                "A frame's truth is its burst's label; it is predicted as the target when its "
                f"target score reaches {r.evaluation.threshold:g}, otherwise as its top label.",
                _confusion_table(r.evaluation.frame_confusion),
            ),
        ),
        _curves(r),
    ]
    sections += _galleries(r)
    if r.errors:
        sections.append(_errors(r.errors))
    return tuple(sections)


def _top_confusions(top: Sequence[tuple[str, str, int]]) -> Section:
    lines = tuple(
        f"{n} {truth or '(none)'} burst{'s' if n != 1 else ''} read as {pred or '(none)'}"
        for truth, pred, n in top
    )
    note = (
        f"{BELOW}: the top label was a target but the burst did not pass the rule. A generic "
        "model's confusions with classes absent from the site (a leopard read as jaguar in the "
        "Amur range) are what label roll-up groups are for (docs/models.md)."
    )
    return Section("Top confusions", (*lines, note))


def _galleries(r: ReportInput) -> list[Section]:
    out = []
    for title, items, none in (
        ("Missed targets", r.misses, "No target burst was missed."),
        ("False alerts", r.false_alerts, "No non-target burst was a hit."),
    ):
        count = f"{len(items)} bursts, each shown by its frame with the highest target score."
        blocks: tuple[Block, ...] = (count, Gallery(items)) if items else (none,)
        out.append(Section(title, blocks))
    return out


def _summary(r: ReportInput) -> Section:
    e = r.evaluation
    lines = (
        f"Model: `{r.model}`. Targets: {', '.join(e.targets)}. Decision: {r.rule}.",
        f"Evaluated {e.bursts} labelled bursts ({e.frames} frames). Skipped: "
        f"{e.skipped_bursts} bursts with frames that failed to decode ({e.skipped_frames} "
        f"frames), {e.unlabelled_bursts} bursts without a label.",
    )
    return Section("Summary", lines)


def _decision(p: OperatingPoint) -> Section:
    rows = (
        ("recall (targets found)", f"{p.tp}/{p.targets} = {pct(p.recall)}", ci(p.recall_ci)),
        ("precision", pct(p.precision), ""),
        (
            "false alert rate P(hit | non-target)",
            f"{p.fp}/{p.non_targets} = {pct(p.false_alert_rate)}",
            ci(p.false_alert_rate_ci),
        ),
        (
            f"false alerts per day at {p.rates.triggers_per_day:g} triggers/day",
            num(p.false_alerts_per_day),
            f"{num(p.false_alerts_per_day_ci[0])}–{num(p.false_alerts_per_day_ci[1])}",
        ),
        (
            f"missed targets per day at {p.rates.targets_per_day:g} targets/day",
            num(p.misses_per_day, 3),
            f"{num(p.misses_per_day_ci[0], 3)}–{num(p.misses_per_day_ci[1], 3)}",
        ),
    )
    if p.cost_per_day is not None:
        rows += (("expected cost per day", num(p.cost_per_day, 3), ""),)
    note = (
        f"Goal: {p.goal}. Intervals are 95 % Wilson score intervals on the labelled bursts: "
        "with few bursts they are wide, and they say nothing about scenes unlike the evaluation "
        "set."
    )
    return Section(
        f"Target detection: {p.rule} k={p.k} threshold {p.threshold:g}",
        (Table(("measure", "value", "95 % interval"), rows), note),
    )


def _early_exit(ee: EarlyExitStats) -> Section:
    rows = [
        ("mean frames classified per burst, full burst", num(ee.mean_frames_full)),
        ("mean frames classified per burst, early exit", num(ee.mean_frames_early)),
        ("frames saved", pct(ee.reduction)),
        ("decisions equal to the full-burst rule", f"{ee.agreements}/{ee.bursts}"),
    ]
    if ee.recall_full is not None:  # some bursts are labelled targets
        rows.append(("burst recall, full burst", pct(ee.recall_full)))
        rows.append(("burst recall, early exit", pct(ee.recall_early)))
    note = (
        "Early exit stops classifying (and capturing) once the verdict is settled: a hit when "
        "the unseen frames scored 0 would still pass, a miss when they scored 1 would still fail."
    )
    return Section("Early exit", (Table(("measure", "value"), tuple(rows)), note))


def _class_table(stats: Sequence[ClassStats]) -> Table:
    rows = tuple(
        (
            s.label or "(none)",
            str(s.support),
            str(s.predicted),
            str(s.correct),
            pct(s.precision),
            pct(s.recall),
            ci(s.recall_ci) if s.support else "–",
        )
        for s in stats
    )
    header = ("class", "true", "predicted", "correct", "precision", "recall", "recall 95 % CI")
    return Table(header, rows)


def _confusion_table(c: Confusion) -> Table:
    header = ("true \\ predicted", *(label or "(none)" for label in c.cols))
    rows = tuple(
        (label or "(none)", *(str(n) for n in row))
        for label, row in zip(c.rows, c.matrix, strict=True)
    )
    return Table(header, rows)


def _curves(r: ReportInput) -> Section:
    ap = r.evaluation.average_precision
    blocks: list[Block] = [
        "Precision and recall of the burst target score as a target detector, at every "
        f"threshold. Average precision: {pct(ap)}."
    ]
    if r.pr_curve_png:
        uri = r.images.get(r.pr_curve_png, "")
        blocks.append(Image(r.pr_curve_png, "precision-recall curve", uri))
    if r.histogram_png:
        uri = r.images.get(r.histogram_png, "")
        blocks.append(Image(r.histogram_png, "burst score histogram, targets and others", uri))
    return Section("Precision-recall curve", tuple(blocks))


def _errors(errors: Sequence[tuple[str, str]]) -> Section:
    shown = tuple((src, reason) for src, reason in errors[:MAX_LISTED_ERRORS])
    blocks: list[Block] = [Table(("burst", "reason"), shown)]
    if len(errors) > MAX_LISTED_ERRORS:
        blocks.append(f"... and {len(errors) - MAX_LISTED_ERRORS} more.")
    return Section("Skipped bursts", tuple(blocks))


# --------------------------------------------------------------------------------------------
# Rendering


def to_markdown(title: str, sections: Sequence[Section]) -> str:
    """GitHub-flavoured Markdown."""
    out = [f"# {title}", ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        for b in s.blocks:
            out += [*_md_block(b), ""]
    return "\n".join(out)


def _md_block(b: Block) -> list[str]:
    if isinstance(b, Table):
        return [_md_row(b.header), "|" + "---|" * len(b.header), *(_md_row(r) for r in b.rows)]
    if isinstance(b, Image):
        return [f"![{b.alt}]({b.path})"]
    if isinstance(b, Gallery):
        return [f"- [{t.caption}]({t.link.replace(' ', '%20')})" for t in b.items]
    return [b]


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


_CSS = (
    "body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em;line-height:1.4}"
    ".wide{overflow-x:auto;max-width:100%}"
    "table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #bbb;padding:.25em .6em;text-align:right}"
    "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
    ".gallery{display:flex;flex-wrap:wrap;gap:.75em}"
    ".gallery figure{margin:0;width:240px;font-size:.85em;overflow-wrap:anywhere}"
    ".gallery img{display:block;width:240px;height:180px;object-fit:contain;background:#222}"
)


def to_html(title: str, sections: Sequence[Section]) -> str:
    """A self-contained HTML page: images given as data URIs are inlined, others linked."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for s in sections:
        out.append(f"<h2>{html.escape(s.title)}</h2>")
        out += [_html_block(b) for b in s.blocks]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_block(b: Block) -> str:
    if isinstance(b, Table):
        head = "".join(f"<th>{html.escape(c)}</th>" for c in b.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in b.rows
        )
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        return f'<div class="wide">{table}</div>'
    if isinstance(b, Image):
        src = b.data_uri or b.path
        return f'<p><img src="{html.escape(src)}" alt="{html.escape(b.alt)}"></p>'
    if isinstance(b, Gallery):
        figures = "".join(
            f'<figure><img src="{html.escape(t.uri)}" alt="{html.escape(t.caption)}">'
            f"<figcaption>{html.escape(t.caption)}</figcaption></figure>"
            for t in b.items
        )
        return f'<div class="gallery">{figures}</div>'
    return f"<p>{_inline_code(b)}</p>"


def _inline_code(text: str) -> str:
    """Escape text and turn `backticked` spans into <code>."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
