"""Evaluation metrics over replay records: pure, no I/O.

The input is what `camtrap replay --json-out` writes (one record per burst, see the shared
contracts), read back as frozen `BurstRecord` values (`camtrap.core.burst_record`). From those:

* burst level, per class: precision and recall, each recall with a Wilson interval;
* frame level, per class: the same over single frames (a frame's truth is its burst's label);
* a confusion matrix over the true classes present (truth rows, predicted columns, with one
  `OTHER` column for predictions of classes nobody labelled);
* precision-recall curve points from the burst target scores.

The confusion matrix names the predicted classes nobody labelled that occur most (up to
`MAX_NAMED_OTHERS` columns, so "leopard read as jaguar" shows), and `OTHER` collects the rest;
`top_confusions` lists the largest off-diagonal counts.

Bursts with verdict ``error`` and frames with an ``error`` are left out of every metric and
counted (`Evaluation.skipped_bursts`, `Evaluation.skipped_frames`).

Each item's predicted class is `camtrap.core.labels`'s (a target below the rule's threshold
is `BELOW`); intervals are `camtrap.core.intervals.wilson`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from camtrap.core.burst_record import BurstRecord
from camtrap.core.intervals import wilson
from camtrap.core.labels import (
    BELOW,
    as_class,
    burst_predicted,
    frame_predicted,
    is_target_label,
    short_label,
)

OTHER = "(other)"  # the rarer predicted classes that no evaluated item is labelled with
MAX_NAMED_OTHERS = 6
TOP_CONFUSIONS = 5


# --------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class ClassStats:
    """Precision and recall of one class; ``None`` where the ratio has no denominator."""

    label: str
    support: int  # items whose truth is this class
    predicted: int  # items predicted as this class
    correct: int
    precision: float | None
    recall: float | None
    recall_ci: tuple[float, float]


@dataclass(frozen=True)
class Confusion:
    """Counts: ``matrix[i][j]`` = items of truth ``rows[i]`` predicted as ``cols[j]``.

    Columns are the true classes, in the same order, then `OTHER` when some predictions name
    a class no item is labelled with (a 1000-class model's "tabby" or "golf ball").
    """

    rows: tuple[str, ...]
    cols: tuple[str, ...]
    matrix: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class PrPoint:
    """Precision and recall of "burst score >= threshold" as a target detector."""

    threshold: float
    precision: float
    recall: float


@dataclass(frozen=True)
class Evaluation:
    """Everything `camtrap evaluate` reports, except early exit (see `core.calibrate`)."""

    targets: tuple[str, ...]
    threshold: float
    bursts: int  # labelled bursts evaluated (errors excluded)
    frames: int  # labelled frames evaluated (errors excluded)
    skipped_bursts: int  # verdict "error"
    skipped_frames: int  # frames with an error
    unlabelled_bursts: int  # no ground truth: reported, not scored
    burst_classes: tuple[ClassStats, ...]
    frame_classes: tuple[ClassStats, ...]
    burst_confusion: Confusion
    frame_confusion: Confusion
    pr_curve: tuple[PrPoint, ...]
    average_precision: float | None
    top_confusions: tuple[tuple[str, str, int], ...] = ()  # (truth, predicted, bursts)


# --------------------------------------------------------------------------------------------
# Counting


def ratio(num: int, den: int) -> float | None:
    """num / den, or None when den is 0."""
    return num / den if den else None


def class_stats(pairs: Sequence[tuple[str, str]], labels: Sequence[str]) -> tuple[ClassStats, ...]:
    """Per-class precision and recall from (truth, predicted) pairs, for ``labels``."""
    out = []
    for label in labels:
        support = sum(1 for t, _ in pairs if t == label)
        predicted = sum(1 for _, p in pairs if p == label)
        correct = sum(1 for t, p in pairs if t == p == label)
        out.append(
            ClassStats(
                label=label,
                support=support,
                predicted=predicted,
                correct=correct,
                precision=ratio(correct, predicted),
                recall=ratio(correct, support),
                recall_ci=wilson(correct, support),
            )
        )
    return tuple(out)


def confusion(pairs: Sequence[tuple[str, str]], classes: Sequence[str]) -> Confusion:
    """Confusion matrix: rows the true ``classes``; columns those, the most frequent other
    predictions (up to `MAX_NAMED_OTHERS`), then `OTHER` for the rest if any."""
    others: dict[str, int] = {}
    for _, p in pairs:
        if p not in classes:
            others[p] = others.get(p, 0) + 1
    ranked = sorted(others, key=lambda p: (-others[p], p))
    cols = [*classes, *ranked[:MAX_NAMED_OTHERS]]
    if len(ranked) > MAX_NAMED_OTHERS:
        cols.append(OTHER)
    index = {label: i for i, label in enumerate(cols)}
    rows = [[0] * len(cols) for _ in classes]
    for truth, pred in pairs:
        rows[index[truth]][index.get(pred, index.get(OTHER, 0))] += 1
    return Confusion(tuple(classes), tuple(cols), tuple(tuple(r) for r in rows))


def top_confusions(
    pairs: Sequence[tuple[str, str]], targets: Sequence[str] = (), n: int = TOP_CONFUSIONS
) -> tuple[tuple[str, str, int], ...]:
    """The largest (truth, predicted, count) with truth != predicted, most first; those that
    cost an alert (a target missed, a false alert) before the rest."""
    wanted = {short_label(t) for t in targets} | {BELOW}
    counts: dict[tuple[str, str], int] = {}
    for truth, pred in pairs:
        if truth != pred:
            counts[(truth, pred)] = counts.get((truth, pred), 0) + 1

    def key(kv: tuple[tuple[str, str], int]) -> tuple[bool, int, tuple[str, str]]:
        (truth, pred), count = kv
        return (truth not in wanted and pred not in wanted, -count, (truth, pred))

    ranked = sorted(counts.items(), key=key)
    return tuple((t, p, c) for (t, p), c in ranked[:n])


def class_order(pairs: Iterable[tuple[str, str]], targets: Sequence[str]) -> tuple[str, ...]:
    """The true classes, targets first, then by how often they occur, "empty" last."""
    counts: dict[str, int] = {}
    for truth, _ in pairs:
        counts[truth] = counts.get(truth, 0) + 1
    wanted = [short_label(t) for t in targets]

    def key(label: str) -> tuple[int, int, str]:
        group = 0 if label in wanted else (2 if label in ("empty", "") else 1)
        return (group, -counts[label], label)

    return tuple(sorted(counts, key=key))


def pr_curve(scored: Sequence[tuple[float, bool]]) -> tuple[tuple[PrPoint, ...], float | None]:
    """PR points at every distinct score (descending) and the average precision.

    ``scored`` holds (burst target score, truth is target). Average precision is the step sum
    of precision over recall increments (as scikit-learn computes it); None without targets.
    """
    positives = sum(1 for _, y in scored if y)
    if not scored or positives == 0:
        return (), None
    ordered = sorted(scored, key=lambda sy: -sy[0])
    points, tp, fp, ap, last_recall = [], 0, 0, 0.0, 0.0
    for i, (score, y) in enumerate(ordered):
        tp, fp = tp + y, fp + (not y)
        if i + 1 < len(ordered) and ordered[i + 1][0] == score:
            continue  # tied scores share one threshold
        precision, recall = tp / (tp + fp), tp / positives
        points.append(PrPoint(score, precision, recall))
        ap += precision * (recall - last_recall)
        last_recall = recall
    return tuple(points), ap


# --------------------------------------------------------------------------------------------
# The whole evaluation


def evaluate_records(
    records: Sequence[BurstRecord],
    targets: Sequence[str],
    threshold: float,
    aliases: Mapping[str, str] | None = None,
) -> Evaluation:
    """Burst- and frame-level metrics of labelled records for the given targets.

    ``targets`` are the names whose truth counts as a target (group names and their members,
    see `camtrap.core.targets.member_names`); ``aliases`` maps members to their group."""
    if not targets:
        raise ValueError("evaluate_records: need at least one target")
    scored = [r for r in records if r.verdict != "error"]
    labelled = [r for r in scored if r.label]
    burst_pairs = [
        (as_class(r.label or "", aliases), burst_predicted(r, targets, aliases)) for r in labelled
    ]
    frame_pairs = [
        (as_class(r.label or "", aliases), frame_predicted(f, targets, threshold, aliases))
        for r in labelled
        for f in r.frames
        if f.error is None and f.target_score is not None
    ]
    burst_labels = class_order(burst_pairs, targets)
    frame_labels = class_order(frame_pairs, targets)
    curve, ap = pr_curve(
        [(r.target_score or 0.0, is_target_label(r.label, targets)) for r in labelled]
    )
    return Evaluation(
        targets=tuple(targets),
        threshold=threshold,
        bursts=len(labelled),
        frames=len(frame_pairs),
        skipped_bursts=len(records) - len(scored),
        skipped_frames=sum(1 for r in records for f in r.frames if f.error is not None),
        unlabelled_bursts=len(scored) - len(labelled),
        burst_classes=class_stats(burst_pairs, burst_labels),
        frame_classes=class_stats(frame_pairs, frame_labels),
        burst_confusion=confusion(burst_pairs, burst_labels),
        frame_confusion=confusion(frame_pairs, frame_labels),
        pr_curve=curve,
        average_precision=ap,
        top_confusions=top_confusions(burst_pairs, targets),
    )
