"""`camtrap replay PATH...`: run recorded bursts through the service's pipeline.

Prints one row per burst and a summary (hit/miss/error counts; precision and recall for the
targets when the bursts carry ground-truth labels); ``--json-out FILE`` writes one JSON Lines
record per burst. A corrupt frame makes its burst ``error`` and the rest go on; a bad model,
config or target stops with one line and exit status 2. The work is `camtrap.replay`'s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from camtrap.cliargs import add_model_args, add_rule_args, add_truth_arg


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="run recorded bursts through the pipeline")
    p.add_argument("paths", nargs="+", metavar="PATH", help="images, burst dirs, or trees")
    add_model_args(p)
    add_truth_arg(p)
    add_rule_args(p)
    p.add_argument("--no-early-exit", action="store_true", help="classify every frame")
    p.add_argument("--json-out", metavar="FILE", help="write one JSON record per burst")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from camtrap.config import load_config
    from camtrap.detector import detector_from_args
    from camtrap.replay import check_writable, discover_bursts, print_summary, replay, write_jsonl

    cfg = load_config(args.config)
    bursts = discover_bursts(args.paths, args.truth)  # a bad path fails before the model
    json_out = Path(args.json_out) if args.json_out else None
    if json_out is not None:
        check_writable(json_out)  # an unwritable file fails before the bursts are run
    detector = detector_from_args(args, cfg, args.config or "<command line>")
    records = replay(bursts, detector, out=sys.stdout, max_pixels=cfg.camera.max_pixels)
    if json_out is not None:
        write_jsonl(json_out, records)
    t = detector.targets
    print_summary(records, t.names, sys.stdout, t.truth_names())
    return 0
