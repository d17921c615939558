"""`camtrap adapt DATA --base EXTRACTOR.tflite --target NAME --out DIR`: a site's own head.

Embeds every photo of ``DATA/<label>/**`` with the int8 embedding extractor, fits a
class-balanced logistic-regression head in numpy, chooses its threshold on a held-out split
(by sequence or location) and reports recall and false hits on a test split it never used;
``DIR`` is a model directory (`--model DIR`) for replay, run, evaluate and calibrate. The work
is `camtrap.adapt`'s (and `camtrap.core.adapt`'s); docs/models.md says how it decides.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from camtrap.cliargs import add_rate_arguments, fraction

if TYPE_CHECKING:
    from camtrap.adapt import AdaptRun


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "adapt", help="train a classifier head on your own labelled photos (no TensorFlow)"
    )
    p.add_argument("data", metavar="DATA", help="DATA/<label>/**/<image>, a folder per label")
    p.add_argument("--base", required=True, metavar="EXTRACTOR", help="int8 embedding extractor")
    p.add_argument("--target", required=True, metavar="NAME", help="the label to find")
    p.add_argument("--out", required=True, metavar="DIR", help="model directory to write")
    p.add_argument(
        "--min-recall",
        type=fraction,
        default=0.97,
        help="recall the threshold must reach on the validation split (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="split seed (default %(default)s)")
    p.add_argument(
        "--split-by", choices=("auto", "location", "sequence"), default="auto", help="hold out"
    )
    p.add_argument(
        "--min-per-label", type=int, default=8, help="photos a label needs (default %(default)s)"
    )
    p.add_argument("--num-threads", type=int, default=2, help="LiteRT threads (default 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_rate_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from camtrap.adapt import run_adapt
    from camtrap.core.operating_point import FieldRates

    run_ = run_adapt(
        Path(args.data),
        Path(args.base),
        args.target,
        Path(args.out),
        min_recall=args.min_recall,
        seed=args.seed,
        split_by=args.split_by,
        min_per_class=args.min_per_label,
        rates=FieldRates(args.triggers_per_day, args.targets_per_day),
        progress=not args.no_progress,
        num_threads=args.num_threads,
    )
    print(report(run_))
    return 0


def report(run: AdaptRun) -> str:
    a, e = run.adapted, run.embedded
    c, h = a.chosen, a.held_out
    counts = ", ".join(f"{k} {sum(v.values())}" for k, v in run.counts.items())
    return "\n".join(
        (
            f"embedded {len(e.samples)} photos in {e.seconds:.1f} s (skipped {e.skipped} "
            f"undecodable); split by {run.split_by}: {counts}",
            f"head: {len(run.labels)} labels, L2 {a.l2:g}, fitted in {run.fit_seconds:.2f} s",
            f"threshold {c.threshold:g} (validation: recall {c.tp}/{c.targets}, false hits "
            f"{c.fp}/{c.non_targets})",
            f"held-out test: recall {h.tp}/{h.targets} = {h.recall:.3f} (95 % CI "
            f"{h.recall_ci[0]:.3f}-{h.recall_ci[1]:.3f}), false hits {h.fp}/{h.non_targets} = "
            f"{100 * h.false_alert_rate:.1f} % (95 % CI {100 * h.false_alert_rate_ci[0]:.1f}-"
            f"{100 * h.false_alert_rate_ci[1]:.1f} %)",
            f"wrote {run.out} (use --model {run.out})",
        )
    )
