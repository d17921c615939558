"""Replay: recorded bursts through the service's pipeline, as records, rows and a summary.

`replay` runs each recorded burst (`camtrap.sim.bursts`) through `classify_burst` (frames
decoded ahead on a thread by `PrefetchCamera`, at the model input or, with regions on, at the
working width) and returns one record per burst (`camtrap.core.records.replay_record`), printing
a table row per burst as it goes; `replay_full` does it with early exit off, for evaluation and
calibration. Records go to and come from JSON Lines files (`write_jsonl`, `read_records`).
`camtrap replay`, `camtrap evaluate`, `camtrap calibrate`, the simulation's summary and the
benchmarks use it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from camtrap.core.burst_record import BurstRecord, parse_record
from camtrap.core.labels import group_aliases
from camtrap.core.pipeline import Detector, capture, classify_burst
from camtrap.core.records import replay_record, summarize
from camtrap.core.targets import first_name
from camtrap.core.types import make_event_id
from camtrap.core.verdict import Rule
from camtrap.errors import UsageError
from camtrap.sim.bursts import RecordedBurst

HEADER = f"{'verdict':7} {'score':>5}  {'frames':>6}  {'top label':28} {'label':14} source"


def replay(
    bursts: Sequence[RecordedBurst],
    detector: Detector,
    out: TextIO | None = None,
    progress: bool | None = False,
    max_pixels: int | None = None,
) -> list[dict[str, Any]]:
    """Each recorded burst through the pipeline; returns the records (rows printed to ``out``).

    ``progress``: a tqdm bar on stderr (None: only when stderr is a terminal).
    ``max_pixels``: frames above it fail their burst before decoding (``[camera] max_pixels``).
    """
    from camtrap.sim.prefetch import PrefetchCamera
    from camtrap.sim.replay_camera import MAX_PIXELS, detector_decode_size

    size = detector_decode_size(detector)
    camera = PrefetchCamera(bursts, size, max_pixels=max_pixels or MAX_PIXELS)
    records: list[dict[str, Any]] = []
    if out is not None:
        print(HEADER, file=out)
    try:
        for i, recorded in enumerate(_bar(bursts, progress)):
            result = classify_burst(capture(camera, recorded.n, 0.0), recorded.n, detector)
            event_id = make_event_id(recorded.meta.device_id, i)
            target = (result.target, result.target_label)
            meta = recorded.meta
            records.append(replay_record(meta, event_id, result.verdict, result.names, target))
            if out is not None:
                print(row(records[-1]), file=out, flush=True)
    finally:
        camera.stop()
    return records


def _bar(bursts: Sequence[RecordedBurst], progress: bool | None) -> Any:
    if progress is False:
        return bursts
    from tqdm import tqdm

    disable = None if progress is None else False  # None: tqdm shows it on a terminal only
    return tqdm(bursts, desc="bursts", unit="burst", file=sys.stderr, disable=disable)


@dataclass(frozen=True)
class Replayed:
    """What a replay run gave: the records and the decision they were made under."""

    records: tuple[dict[str, Any], ...]
    targets: tuple[str, ...]
    rule: Rule
    model: str  # "name@sha256-prefix"
    truth_names: tuple[str, ...] = ()  # names whose truth is a target (targets, group members)
    aliases: Mapping[str, str] = field(default_factory=dict)  # group member -> group name

    @property
    def truth_targets(self) -> tuple[str, ...]:
        return self.truth_names or self.targets


def replay_full(args: argparse.Namespace, rule_args: bool = True) -> Replayed:
    """Every burst of ``args.bursts`` through the pipeline with early exit off (all frames
    scored), the model from the `camtrap.cliargs` flags.

    ``rule_args``: whether ``args`` carries --rule/--k/--threshold overrides (not calibrate's).
    """
    from camtrap.config import load_config
    from camtrap.detector import detector_from_args

    if not args.bursts:
        raise UsageError("give burst directories or images (or --records FILE where accepted)")
    cfg = load_config(args.config)
    bursts = discover_bursts(args.bursts, getattr(args, "truth", None))  # before the model
    keys = ("model", "labels", "target", "target_group", "regions")
    keys += ("rule", "k", "threshold") if rule_args else ()
    full = argparse.Namespace(**{k: getattr(args, k, None) for k in keys}, no_early_exit=True)
    detector = detector_from_args(full, cfg, args.config or "<command line>")
    records = replay(bursts, detector, out=None, progress=None, max_pixels=cfg.camera.max_pixels)
    t = detector.targets
    aliases = group_aliases(t.group_labels())
    return Replayed(
        tuple(records), t.names, detector.rule, detector.model, t.truth_names(), aliases
    )


def discover_bursts(paths: Sequence[str], truth: str | None) -> list[RecordedBurst]:
    """The bursts under ``paths``, labelled from ``--truth`` when given."""
    from camtrap.core.truth import parse_truth_spec
    from camtrap.sim.truth import discover_with_truth

    return discover_with_truth(paths, parse_truth_spec(truth) if truth else None)


def row(r: Mapping[str, Any]) -> str:
    """One table row: verdict, burst score, agreeing/classified/total, top label, truth, source."""
    frames = f"{r['frames_agreeing']}/{r['frames_classified']}/{r['frames_total']}"
    top = f"{first_name(r['top_label'])} {r['top_score']:.2f}" if r["top_label"] else "-"
    tail = f"  ({r['error']})" if r["error"] else ""
    label = r.get("label") or "-"
    return (
        f"{r['verdict']:7} {r['target_score']:5.2f}  {frames:>6}  {top[:28]:28} {label[:14]:14} "
        f"{r['source']}{tail}"
    )


def print_summary(
    records: Sequence[Mapping[str, Any]],
    targets: Sequence[str],
    out: TextIO,
    truth: Sequence[str] = (),
) -> None:
    """Hit/miss/error counts, and precision and recall when the bursts carry labels.

    ``truth``: the names whose label is a target (targets and their groups' members)."""
    s = summarize(records, truth or targets)
    print(
        f"{s.bursts} bursts: {s.hits} hit, {s.misses} miss, {s.errors} error "
        f"(targets: {', '.join(targets)})",
        file=out,
    )
    if s.labelled:
        print(
            f"labelled {s.labelled}: precision {_pct(s.precision)}, recall {_pct(s.recall)} "
            f"(tp {s.true_pos}, fp {s.false_pos}, fn {s.false_neg})",
            file=out,
        )


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


# --------------------------------------------------------------------------------------------
# JSON Lines


def check_writable(path: Path) -> None:
    """``path`` can be written (its directory is made); an existing file is left as it is."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as e:
        raise UsageError(f"{path}: cannot write: {e}") from None


def write_jsonl(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, sort_keys=True) + "\n")
    except OSError as e:
        raise UsageError(f"{path}: cannot write: {e}") from None


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


def parse_records(raws: Sequence[Mapping[str, Any]], source: str) -> list[BurstRecord]:
    """Replay records as values; a malformed one is a `UsageError` naming its line."""
    try:
        return [parse_record(r, f"{source}: line {i}") for i, r in enumerate(raws, 1)]
    except ValueError as e:
        raise UsageError(str(e)) from None
