"""`camtrap card init MODEL.tflite --labels L --out DIR`: a model card for any TFLite classifier.

Reads the model's own tensors (sha256, input shape, dtype and quantization, output size, a
leading background class), checks targets and label roll-up groups against the labels, and
writes ``DIR/model.json`` beside copies of the model and labels; the service then checks the
hash and shapes at load, and `camtrap calibrate --write-card` has a card to write. The work is
`camtrap.cards`'.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from camtrap.cliargs import add_rule_args, add_target_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("card", help="write a model card (model.json) for any TFLite classifier")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    init = actions.add_parser("init", help="a card from the model's own tensors")
    init.add_argument("model", metavar="MODEL.tflite")
    init.add_argument("--labels", required=True, metavar="L", help="labels file, one per line")
    init.add_argument("--out", required=True, metavar="DIR", help="model directory to write")
    init.add_argument("--name", default="", help="model name in the card (default: DIR's name)")
    init.add_argument(
        "--resize", choices=("squash", "crop"), default="squash", help="frame to input"
    )
    init.add_argument("--force", action="store_true", help="replace an existing model.json")
    add_target_args(init)
    add_rule_args(init)
    init.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from camtrap.cards import init_card
    from camtrap.core.modelcard import DEFAULT_NEW_RULE
    from camtrap.core.verdict import Rule
    from camtrap.detector import cli_groups
    from camtrap.errors import UsageError

    groups = cli_groups(args.target_group or ())
    if not args.target and not groups:
        raise UsageError("give --target NAME or --target-group NAME=LABEL;... (what to find)")
    base = DEFAULT_NEW_RULE
    try:
        rule = Rule(
            args.rule or base.name,
            args.k if args.k is not None else base.k,
            args.threshold if args.threshold is not None else base.threshold,
        )
    except ValueError as e:
        raise UsageError(str(e)) from None
    out = Path(args.out)
    path = init_card(
        Path(args.model),
        Path(args.labels),
        out,
        tuple(args.target or ()),
        groups,
        rule,
        name=args.name,
        resize=args.resize,
        replace=args.force,
    )
    print(f"wrote {path}; run it with --model {out}")
    return 0
