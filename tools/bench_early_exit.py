"""Benchmark: frames classified per burst with and without early exit, at equal recall.

    python -m tools.bench_early_exit                       # a generated evaluation set
    python -m tools.bench_early_exit --seed 4242 --per-class 10
    python -m tools.bench_early_exit demo/bursts --model models/camtrap-demo/model.tflite

Runs the replay pipeline over the same bursts once classifying every frame and once with early
exit, for two rules: the model card's, and the one `camtrap calibrate --min-recall 1` chooses
from a separate calibration set. For each it prints the mean frames classified per burst, the
reduction, the burst-level recall of both runs and how many decisions agree. The target
(issue 3) is at least 40 % fewer frames at equal burst-level recall; this is a benchmark, not a
test: it prints PASS or MISS and exits 0 either way (2 on bad input, as the camtrap CLI).

Without BURSTS it writes an evaluation set (``--seed``, default 4242) and a calibration set
(seed + 1) with ``tools.gen_bursts`` into a temporary directory; with BURSTS it calibrates on
``--calibrate-on`` or, in-sample, on BURSTS themselves.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TARGET_REDUCTION = 0.40
DEFAULT_MODEL = "models/camtrap-demo/model.tflite"


def load(model: str, targets: Sequence[str]) -> Any:
    from camtrap.config import Config
    from camtrap.detector import detector_from_args

    args = argparse.Namespace(model=model, target=list(targets) or None)
    return detector_from_args(args, Config(), "<bench>")


def replay_records(paths: Sequence[str], detector: Any, rule: Any) -> list[dict[str, Any]]:
    from camtrap.replay import replay
    from camtrap.sim.bursts import discover

    return replay(discover(paths), dataclasses.replace(detector, rule=rule), out=None)


def run_pair(paths: Sequence[str], detector: Any, rule: Any) -> dict[str, Any]:
    """Records of a full run and of an early-exit run of one rule over the same bursts."""
    return {
        "rule": dataclasses.replace(rule, early_exit=True),
        "targets": detector.targets.names,
        "model": detector.model,
        "full": replay_records(paths, detector, dataclasses.replace(rule, early_exit=False)),
        "early": replay_records(paths, detector, dataclasses.replace(rule, early_exit=True)),
    }


def measured(run: dict[str, Any]) -> dict[str, Any]:
    """Mean frames and recall of both real runs over their decided, labelled bursts."""
    from camtrap.core.labels import is_target_label

    targets = run["targets"]
    pairs = [
        (f, e)
        for f, e in zip(run["full"], run["early"], strict=True)
        if f["verdict"] != "error" and f.get("label")
    ]
    n = max(1, len(pairs))
    positives = [(f, e) for f, e in pairs if is_target_label(f["label"], targets)]
    return {
        "bursts": len(pairs),
        "frames_full": sum(f["frames_classified"] for f, _ in pairs) / n,
        "frames_early": sum(e["frames_classified"] for _, e in pairs) / n,
        "agree": sum(f["verdict"] == e["verdict"] for f, e in pairs),
        "recall_full": _ratio(sum(f["verdict"] == "hit" for f, _ in positives), len(positives)),
        "recall_early": _ratio(sum(e["verdict"] == "hit" for _, e in positives), len(positives)),
    }


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def calibrated_rule(records: Sequence[dict[str, Any]], targets: Sequence[str]) -> Any:
    """The rule `camtrap calibrate --min-recall 1` would choose from these full records."""
    from camtrap.core.burst_record import parse_record
    from camtrap.core.calibrate import choose, scored_bursts
    from camtrap.core.operating_point import MinRecall
    from camtrap.core.verdict import Rule

    p = choose(scored_bursts([parse_record(r) for r in records], targets), MinRecall(1.0))
    return Rule(p.rule, p.k, p.threshold)  # type: ignore[arg-type]


def report(title: str, run: dict[str, Any]) -> list[str]:
    m = measured(run)
    full, early = m["frames_full"], m["frames_early"]
    reduction = 1 - early / full if full else 0.0
    equal = m["recall_full"] == m["recall_early"]
    verdict = "PASS" if reduction >= TARGET_REDUCTION and equal else "MISS"
    return [
        f"{title}: {run['rule'].describe()}",
        f"  mean frames classified per burst: full {full:.2f}, early exit {early:.2f}"
        f" -> {100 * reduction:.1f} % fewer (ratio {early / full if full else 0:.3f})",
        f"  burst recall: full {_pct(m['recall_full'])}, early exit {_pct(m['recall_early'])};"
        f" decisions equal {m['agree']}/{m['bursts']}",
        f"  target >= {100 * TARGET_REDUCTION:.0f} % fewer frames at equal recall: {verdict}",
    ]


def bench(eval_paths: Sequence[str], calib_paths: Sequence[str], model: str, targets: Any) -> str:
    detector = load(model, targets)
    card = run_pair(eval_paths, detector, detector.rule)
    calib_full = replay_records(calib_paths, detector, replace_exit(detector.rule, False))
    rule = calibrated_rule(calib_full, detector.targets.names)
    tuned = run_pair(eval_paths, detector, rule)
    head = [
        f"model {detector.model}, targets {', '.join(detector.targets.names)}, "
        f"{measured(card)['bursts']} labelled evaluation bursts",
    ]
    return "\n".join(
        head
        + report("model card rule", card)
        + report("calibrated rule (camtrap calibrate --min-recall 1)", tuned)
    )


def replace_exit(rule: Any, early_exit: bool) -> Any:
    return dataclasses.replace(rule, early_exit=early_exit)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench_early_exit", description=__doc__)
    ap.add_argument("bursts", nargs="*", help="evaluation bursts (default: generate a set)")
    ap.add_argument("--calibrate-on", nargs="+", help="bursts to calibrate on (default: BURSTS)")
    ap.add_argument("--model", default=DEFAULT_MODEL, help=f"model (default {DEFAULT_MODEL})")
    ap.add_argument("--target", action="append", default=[], help="target label (card's)")
    ap.add_argument("--seed", type=int, default=4242, help="generated set's seed (4242)")
    ap.add_argument("--per-class", type=int, default=8, help="generated bursts per class (8)")
    args = ap.parse_args(argv)

    from camtrap.errors import CamtrapError

    try:
        with tempfile.TemporaryDirectory(prefix="camtrap-bench-") as tmp:
            paths, calib = list(args.bursts), list(args.calibrate_on or args.bursts)
            if not paths:
                from tools.gen_bursts import generate

                generate(Path(tmp) / "eval", args.seed, args.per_class)
                generate(Path(tmp) / "calib", args.seed + 1, args.per_class)
                paths, calib = [str(Path(tmp) / "eval")], [str(Path(tmp) / "calib")]
                print(
                    f"generated {args.per_class} bursts per class: evaluation seed {args.seed}, "
                    f"calibration seed {args.seed + 1}"
                )
            print(bench(paths, calib, args.model, args.target))
    except CamtrapError as e:
        print(f"bench_early_exit: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
