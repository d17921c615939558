"""`camtrap bench [BURSTS] --model M`: where the time and memory go, measured in one run.

Reports per-stage timings (decode, preprocess = resize + quantize, invoke, verdict, store,
publish), the ratio of
everything-but-invoke to invoke per frame when frames arrive as arrays (target <= 25 %), the
time from process start to armed (imports + model load; target <= 1.5 s, measured on a fresh
child process) and the peak RSS (target <= 200 MB). Without BURSTS it uses synthetic random
frames at the model's input size (no decode or resize). A burst with a corrupt frame is left out
with a line saying so. It reports numbers; it asserts nothing (the measuring is
`camtrap.benchmark`).

With regions on (``[regions] mode = "auto"``, the default) and BURSTS, it also runs them through
the pipeline whole and by their regions: regions per frame, the time of motion, crops and
invokes per frame, and the CPU per frame of both as a ratio (target <= 3x). ``--working-frame
WxH`` does that on synthetic bursts of that frame size and reports the peak RSS there (target
<= 250 MB at 2028x1520).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from camtrap.benchmark import ModeRun, Stages

ARMED = "armed"


def add_parser(sub: argparse._SubParsersAction) -> None:
    from camtrap.cliargs import add_model_args, add_rule_args

    p = sub.add_parser("bench", help="per-stage timings, start-up time and peak memory")
    p.add_argument("paths", nargs="*", metavar="BURSTS", help="recorded bursts (else synthetic)")
    add_model_args(p)
    add_rule_args(p)
    p.add_argument("--no-early-exit", action="store_true", help="classify every frame")
    p.add_argument("--frames", type=int, default=60, help="synthetic frames without BURSTS")
    p.add_argument(
        "--working-frame",
        type=_size,
        metavar="WxH",
        help="regions on synthetic bursts of this frame size (e.g. 2028x1520), not BURSTS",
    )
    p.add_argument("--probe-armed", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from camtrap.benchmark import measure, measure_regions, recorded
    from camtrap.config import load_config
    from camtrap.detector import detector_from_args
    from camtrap.errors import UsageError

    if not args.paths and args.frames < 1:
        raise UsageError(f"--frames must be >= 1, got {args.frames}")
    detector = detector_from_args(args, load_config(args.config), args.config or "<command line>")
    if args.probe_armed:
        print(ARMED, flush=True)
        return 0
    if args.working_frame is not None:
        return _regions_only(detector, args.working_frame)
    stages, frames, bursts = measure(detector, args.paths, args.frames)
    armed_s = time_to_armed(sys.argv[1:] if sys.argv[1:2] == ["bench"] else _probe_args(args))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report(stages, frames, bursts, armed_s, peak_mb, detector)
    if detector.regions is not None and args.paths:
        report_regions(detector, measure_regions(detector, recorded(args.paths, detector)))
    return 0


def _regions_only(detector: Any, size: tuple[int, int]) -> int:
    """Regions on synthetic walking-animal bursts at ``size``: costs, and peak RSS there."""
    from camtrap.benchmark import measure_regions, walking
    from camtrap.errors import UsageError

    if detector.regions is None:
        raise UsageError("--working-frame measures regions: not with --regions off")
    print(f"model {detector.model}, synthetic bursts of 5 frames at {size[0]}x{size[1]}")
    report_regions(detector, measure_regions(detector, walking(size, bursts=6)))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS at a {size[0]}x{size[1]} working frame: {peak_mb:.0f} MB (target <= 250 MB)")
    return 0


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"want WxH like 2028x1520, got {text!r}") from None
    if not (32 <= w <= 8192 and 32 <= h <= 8192):
        raise argparse.ArgumentTypeError(f"each side must be 32..8192, got {text!r}")
    return w, h


def _probe_args(args: argparse.Namespace) -> list[str]:
    out = ["bench"]
    for flag in ("config", "model", "labels", "threshold", "rule", "k"):
        value = getattr(args, flag, None)
        if value is not None:
            out += [f"--{flag}", str(value)]
    for t in args.target or ():
        out += ["--target", t]
    for g in getattr(args, "target_group", None) or ():
        out += ["--target-group", g]
    return out


def time_to_armed(argv: Sequence[str]) -> float:
    """Seconds from spawning a fresh ``camtrap`` process to its model being loaded."""
    cmd = [sys.executable, "-m", "camtrap", *[a for a in argv if a != "--probe-armed"]]
    cmd = [*cmd, "--probe-armed"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    return elapsed if ARMED in proc.stdout else float("nan")


def report(
    stages: Stages, frames: int, bursts: int, armed_s: float, peak_mb: float, detector: Any
) -> None:
    w, h = detector.classifier.input_size
    print(
        f"model {detector.model} ({w}x{h} {detector.classifier.spec.dtype}), "
        f"{frames} frames in {bursts} bursts"
    )
    print(f"{'stage':11} {'mean ms':>9} {'total ms':>9}  per")
    for stage, per in (
        ("decode", "frame"),
        ("resize", "frame"),
        ("quantize", "frame"),
        ("invoke", "frame"),
        ("verdict", "frame"),
        ("store", "burst"),
        ("publish", "burst"),
    ):
        values = stages.times.get(stage, [])
        total = 1000 * sum(values)
        print(f"{stage:11} {1000 * stages.mean(stage):9.3f} {total:9.1f}  {per}")
    invoke = stages.mean("invoke")
    at_size = stages.mean("quantize") + stages.mean("verdict")
    resized = at_size + stages.mean("resize")
    per_burst = sum(stages.times.get("store", [])) + sum(stages.times.get("publish", []))
    amortised = resized + per_burst / max(frames, 1)
    print("everything-but-invoke / invoke per frame, frames as arrays (target <= 25 %):")
    print(f"  at the model's input size (the lores stream): {_ratio(at_size, invoke)}")
    print(f"  with a resize from the frame size:            {_ratio(resized, invoke)}")
    print(f"  plus store + publish amortised over frames:    {_ratio(amortised, invoke)}")
    print(f"process start to armed: {armed_s:.2f} s (target <= 1.5 s)")
    print(f"peak RSS: {peak_mb:.0f} MB (target <= 200 MB)")


def report_regions(detector: Any, runs: dict[str, ModeRun]) -> None:
    full, reg = runs["full"], runs["regions"]
    per = max(reg.frames, 1)
    src = ", ".join(f"{k} {v}" for k, v in sorted(reg.sources.items()))
    print(
        f"regions (max_regions {detector.regions.max_regions}): {reg.regions / per:.2f} "
        f"regions per frame over {reg.frames} frames (winning: {src})"
    )
    for stage in ("motion", "crop", "invoke"):
        total = sum(reg.stages.times.get(stage, []))
        print(f"  {stage:7} {1000 * total / per:8.2f} ms per frame")
    cpu_reg = reg.cpu_s / per
    cpu_full = full.cpu_s / max(full.frames, 1)
    ratio = f"{cpu_reg / cpu_full:.2f}x" if cpu_full > 0 else "n/a"
    print(
        f"  CPU per frame: regions {1000 * cpu_reg:.1f} ms, full frame {1000 * cpu_full:.1f} ms"
        f" -> {ratio} (target <= 3x)"
    )


def _ratio(part: float, whole: float) -> str:
    return "n/a" if whole <= 0 else f"{100 * part / whole:.1f} %"
