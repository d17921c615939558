"""``python -m tools.train``: train and export a camtrap classifier, evaluate it on bursts.

    python -m tools.train fit --data out/train --out models/my-model --target leopard
    python -m tools.train fit --coco cct.json --images cct/ --out models/cct \\
        --arch mobilenetv2 --weights imagenet --size 160 --target leopard
    python -m tools.train evaluate models/my-model --bursts out/eval --update-card

Bad input (a missing folder, a COCO file with dangling ids, a class with too few images)
prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from camtrap.errors import UsageError
from tools.train.fit import ARCHS, run_evaluate, run_fit


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m tools.train", description="camtrap training")
    sub = ap.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="train, export int8 and write a model directory")
    src = fit.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="folder per class: DATA/<label>/**/<image>")
    src.add_argument("--coco", help="COCO Camera Traps JSON (needs --images)")
    fit.add_argument("--images", help="image root for --coco file_name paths")
    fit.add_argument("--out", required=True, help="model directory to write")
    fit.add_argument("--name", help="model name for the card (default: the --out folder name)")
    fit.add_argument("--version", default="1")
    fit.add_argument("--target", action="append", required=True, help="target label (repeat)")
    fit.add_argument("--arch", default="small-cnn", choices=ARCHS)
    fit.add_argument("--weights", default="none", choices=("none", "imagenet"))
    fit.add_argument(
        "--fine-tune-epochs", type=int, default=5, help="imagenet: epochs with the base unfrozen"
    )
    fit.add_argument("--size", type=int, default=96, help="input side in pixels, 96..224")
    fit.add_argument("--epochs", type=int, default=12)
    fit.add_argument("--batch-size", type=int, default=32)
    fit.add_argument("--learning-rate", type=float, default=2e-3)
    fit.add_argument("--infrared-fraction", type=float, default=0.25)
    fit.add_argument("--split-by", default="auto", choices=("auto", "location", "sequence"))
    fit.add_argument("--val-fraction", type=float, default=0.15)
    fit.add_argument("--test-fraction", type=float, default=0.15)
    fit.add_argument("--min-per-class", type=int, default=8)
    fit.add_argument("--k", type=int, default=2, help="k of the k_of_n burst rule (card)")
    fit.add_argument("--threshold", type=float, default=0.5, help="burst threshold (card)")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--threads", type=int, default=2)
    fit.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    ev = sub.add_parser("evaluate", help="burst-level precision/recall of a model directory")
    ev.add_argument("model_dir", help="directory with model.tflite, labels.txt, model.json")
    ev.add_argument("--bursts", required=True, help="directory of labelled recorded bursts")
    ev.add_argument("--target", action="append", help="target label (default: the card's)")
    ev.add_argument("--k", type=int, help="override the card's k")
    ev.add_argument("--threshold", type=float, help="override the card's threshold")
    ev.add_argument("--update-card", action="store_true", help="store as metrics.burst")
    ev.add_argument("--threads", type=int, default=2)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "fit":
            return run_fit(args)
        return run_evaluate(args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
