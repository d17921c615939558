"""`camtrap replay PATH...`: run recorded bursts through the service's pipeline.

Prints one row per burst and a summary (hit/miss/error counts; precision and recall for the
targets when the bursts carry ground-truth labels); ``--json-out FILE`` writes one JSON Lines
record per burst. A corrupt frame makes its burst ``error`` and the rest go on; a bad model,
config or target stops with one line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from camtrap.core.verdict import RULES


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="run recorded bursts through the pipeline")
    p.add_argument("paths", nargs="+", metavar="PATH", help="images, burst dirs, or trees")
    add_model_args(p)
    add_rule_args(p)
    p.add_argument("--no-early-exit", action="store_true", help="classify every frame")
    p.add_argument("--json-out", metavar="FILE", help="write one JSON record per burst")
    p.set_defaults(func=run)


def add_model_args(p: argparse.ArgumentParser) -> None:
    """--config/--model/--labels/--target: what loading the model and its targets needs."""
    p.add_argument("--config", metavar="C", help="TOML config (defaults otherwise)")
    p.add_argument("--model", metavar="M", help=".tflite model (default: config model.path)")
    p.add_argument("--labels", metavar="L", help="labels file (default: the card's or labels.txt)")
    p.add_argument("--target", action="append", metavar="NAME", help="target label (repeatable)")


def add_rule_args(p: argparse.ArgumentParser) -> None:
    """--threshold/--rule/--k: overrides of the card's burst rule."""
    p.add_argument("--threshold", type=float, metavar="T", help="burst threshold 0..1")
    p.add_argument("--rule", choices=RULES, help="burst rule (default: the card's)")
    p.add_argument("--k", type=int, metavar="K", help="k of the rule")


def run(args: argparse.Namespace) -> int:
    from camtrap.app import detector_from_args
    from camtrap.config import load_config
    from camtrap.sim.bursts import discover

    cfg = load_config(args.config)
    bursts = discover(args.paths)  # a bad path fails before the model is loaded
    json_out = Path(args.json_out) if args.json_out else None
    if json_out is not None:
        check_writable(json_out)  # an unwritable file fails before the bursts are run
    detector = detector_from_args(args, cfg, args.config or "<command line>")
    records = replay(bursts, detector, out=sys.stdout)
    if json_out is not None:
        write_jsonl(json_out, records)
    print_summary(records, detector.targets.names, sys.stdout)
    return 0


def replay(bursts: Sequence[Any], detector: Any, out: TextIO | None = None) -> list[dict[str, Any]]:
    """Each recorded burst through the pipeline; returns the records (rows printed to ``out``)."""
    from camtrap.core.pipeline import classify_burst
    from camtrap.core.records import replay_record
    from camtrap.core.types import make_event_id
    from camtrap.sim.replay_camera import ReplayCamera

    camera = ReplayCamera(bursts, input_size=tuple(detector.classifier.input_size))
    records: list[dict[str, Any]] = []
    if out is not None:
        print(_HEADER, file=out)
    for i, recorded in enumerate(bursts):
        result = classify_burst(_frames(camera, recorded.n), recorded.n, detector)
        event_id = make_event_id(recorded.meta.device_id, i)
        records.append(replay_record(recorded.meta, event_id, result.verdict, result.names))
        if out is not None:
            print(row(records[-1]), file=out, flush=True)
    return records


def _frames(camera: Any, n: int) -> Any:
    yield from camera.burst(n, 0.0)


_HEADER = f"{'verdict':7} {'score':>5}  {'frames':>6}  {'top label':28} {'label':14} source"


def row(r: dict[str, Any]) -> str:
    """One table row: verdict, burst score, agreeing/classified/total, top label, truth, source."""
    from camtrap.core.targets import first_name

    frames = f"{r['frames_agreeing']}/{r['frames_classified']}/{r['frames_total']}"
    top = f"{first_name(r['top_label'])} {r['top_score']:.2f}" if r["top_label"] else "-"
    tail = f"  ({r['error']})" if r["error"] else ""
    label = r.get("label") or "-"
    return (
        f"{r['verdict']:7} {r['target_score']:5.2f}  {frames:>6}  {top[:28]:28} {label[:14]:14} "
        f"{r['source']}{tail}"
    )


def check_writable(path: Path) -> None:
    """``path`` can be written (its directory is made); an existing file is left as it is."""
    from camtrap.errors import UsageError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as e:
        raise UsageError(f"{path}: cannot write: {e}") from None


def write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> None:
    from camtrap.errors import UsageError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, sort_keys=True) + "\n")
    except OSError as e:
        raise UsageError(f"{path}: cannot write: {e}") from None


def print_summary(records: Sequence[dict[str, Any]], targets: Sequence[str], out: TextIO) -> None:
    from camtrap.core.records import summarize

    s = summarize(records, targets)
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
