"""`camtrap bench [BURSTS] --model M`: where the time and memory go, measured in one run.

Reports per-stage timings (decode, preprocess = resize + quantize, invoke, verdict, store,
publish), the ratio of
everything-but-invoke to invoke per frame when frames arrive as arrays (target <= 25 %), the
time from process start to armed (imports + model load; target <= 1.5 s, measured on a fresh
child process) and the peak RSS (target <= 200 MB). Without BURSTS it uses synthetic random
frames at the model's input size (no decode or resize). A burst with a corrupt frame is left out
with a line saying so. It reports numbers; it asserts nothing.

With regions on (``[regions] mode = "auto"``, the default) and BURSTS, it also runs them through
the pipeline whole and by their regions: regions per frame, the time of motion, crops and
invokes per frame, and the CPU per frame of both as a ratio (target <= 3x). ``--working-frame
WxH`` does that on synthetic bursts of that frame size and reports the peak RSS there (target
<= 250 MB at 2028x1520).
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


@dataclass
class Stages:
    times: dict[str, list[float]] = field(default_factory=dict)

    def timed(self, stage: str, fn: Callable[..., Any], *args: Any) -> Any:
        t0 = time.perf_counter()
        out = fn(*args)
        self.times.setdefault(stage, []).append(time.perf_counter() - t0)
        return out

    def mean(self, stage: str) -> float:
        values = self.times.get(stage, [])
        return statistics.fmean(values) if values else 0.0


def run(args: argparse.Namespace) -> int:
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
        report_regions(detector, measure_regions(detector, _recorded(args.paths, detector)))
    return 0


def _regions_only(detector: Any, size: tuple[int, int]) -> int:
    """Regions on synthetic walking-animal bursts at ``size``: costs, and peak RSS there."""
    from camtrap.errors import UsageError

    if detector.regions is None:
        raise UsageError("--working-frame measures regions: not with --regions off")
    print(f"model {detector.model}, synthetic bursts of 5 frames at {size[0]}x{size[1]}")
    report_regions(detector, measure_regions(detector, _walking(size, bursts=6)))
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


def measure(detector: Any, paths: Sequence[str], synthetic: int) -> tuple[Stages, int, int]:
    from camtrap.adapters.dry_run import DryRunPublisher
    from camtrap.adapters.outbox import Outbox
    from camtrap.adapters.store import BurstStore

    stages = Stages()
    clf = detector.classifier
    bursts = _bursts(paths, synthetic, stages, tuple(clf.input_size))
    clf.invoke(_tensor(detector, bursts[0][1][0].pixels))  # warm-up, not counted
    frames = 0
    with tempfile.TemporaryDirectory() as tmp:
        store = BurstStore(Path(tmp) / "bursts", quota_bytes=1 << 40)
        outbox = Outbox(Path(tmp) / "outbox.db", sinks=("mqtt",))
        sink = DryRunPublisher(outbox, io.StringIO())
        for i, (meta, burst_frames) in enumerate(bursts):
            result = _classify(detector, burst_frames, stages)
            frames += len(burst_frames)
            verdict = result.verdict
            stages.timed("store", store.save, f"bench-{i}", meta, verdict, burst_frames)
            stages.timed("publish", _publish, outbox, sink, i, verdict, result.target_label)
        outbox.close()
    return stages, frames, len(bursts)


def _bursts(
    paths: Sequence[str], synthetic: int, stages: Stages, size: tuple[int, int]
) -> list[tuple[Any, list[Any]]]:
    from camtrap.errors import BadFrameError, UsageError
    from camtrap.sim.bursts import discover
    from camtrap.sim.replay_camera import read_frame

    if not paths:
        return [_synthetic(synthetic, size)]
    out = []
    for b in discover(paths):
        try:
            frames = [
                stages.timed("decode", lambda p=p, i=i: read_frame(p, i, 0.0, size))
                for i, p in enumerate(b.frames)
            ]
        except BadFrameError as e:  # a corrupt frame fails its burst only: left out of the run
            print(f"skipped {b.meta.source}: {e}", flush=True)
            continue
        out.append((b.meta, frames))
    if not out:
        raise UsageError(f"{', '.join(paths)}: no burst could be decoded")
    return out


def _synthetic(n: int, size: tuple[int, int]) -> tuple[Any, list[Any]]:
    """Random frames at the model's input size, as the camera's lores stream delivers them."""
    import numpy as np

    from camtrap.core.types import BurstMeta, Frame

    rng = np.random.default_rng(0)
    meta = BurstMeta("synthetic", "bench", time.time(), 0.5)
    shape = (size[1], size[0], 3)
    return meta, [Frame(i, 0.0, rng.integers(0, 256, shape, dtype=np.uint8)) for i in range(n)]


def _tensor(detector: Any, pixels: Any) -> Any:
    from camtrap.core.preprocess import to_input

    return to_input(detector.prepare(pixels), detector.classifier.spec)


def _classify(detector: Any, frames: Sequence[Any], stages: Stages) -> Any:
    """The service's own burst loop (`classify_burst`) over every frame, each stage timed: the
    per-frame stages inside the detector, "verdict" the rest of the loop (the `Tally`)."""
    from dataclasses import replace

    from camtrap.core.pipeline import classify_burst

    every = replace(detector.rule, early_exit=False)  # all frames, as the figures are per frame
    timed = _timed_detector()(
        detector.classifier, detector.targets, every, detector.resize, detector.model, None, stages
    )  # whole frames: the regions stage has its own figures (`measure_regions`)
    before = {k: sum(stages.times.get(k, ())) for k in ("resize", "quantize", "invoke")}
    t0 = time.perf_counter()
    result = classify_burst(iter(frames), len(frames), timed)
    elapsed = time.perf_counter() - t0
    inside = sum(sum(stages.times.get(k, ())) - v for k, v in before.items())
    per_frame = (elapsed - inside) / max(len(frames), 1)
    stages.times.setdefault("verdict", []).extend([per_frame] * len(frames))
    return result


def _timed_detector() -> type:
    """A `Detector` whose per-frame work is timed stage by stage (made on first use, so the
    command's import stays light)."""
    from dataclasses import dataclass, field

    from camtrap.core.pipeline import Detector
    from camtrap.core.preprocess import to_input

    @dataclass(frozen=True)
    class TimedDetector(Detector):
        stages: Stages = field(default_factory=Stages)

        def probabilities(self, pixels: Any) -> Any:
            clf: Any = self.classifier
            resized = self.stages.timed("resize", self.prepare, pixels)
            tensor = self.stages.timed("quantize", to_input, resized, clf.spec)
            raw = self.stages.timed("invoke", clf.invoke, tensor)
            return clf.probabilities(raw)  # dequantizing: with the Tally, in "verdict"

    return TimedDetector


def _publish(outbox: Any, sink: Any, i: int, verdict: Any, label: str) -> None:
    from camtrap.core.types import Hit

    hit = Hit(
        f"bench-{i}",
        i,
        "bench",
        time.time(),
        label or "x",
        verdict.target_score,
        verdict.frames_agreeing,
        verdict.frames_classified,
    )
    outbox.add(hit)
    sink.drain()


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


# ---------------------------------------------------------------------------------------------
# Regions: what judging frames by their regions costs next to classifying them whole


BurstSource = Callable[[bool], Iterator[list[Any]]]  # regions on? -> bursts of frames


@dataclass
class ModeRun:
    stages: Stages
    frames: int = 0  # frames classified
    regions: int = 0  # regions classified over those frames
    sources: dict[str, int] = field(default_factory=dict)  # winning regions by source
    cpu_s: float = 0.0  # process CPU time (all threads) in the burst loop


def measure_regions(detector: Any, bursts: BurstSource) -> dict[str, ModeRun]:
    """Each burst through `classify_burst` whole (regions off) and by its regions, with the
    detector's rule; frames arrive as arrays (decode not counted, as from the camera). The two
    alternate burst by burst, so a machine whose load changes loads both alike."""
    from dataclasses import replace

    from camtrap.core.pipeline import classify_burst

    dets = {"full": replace(detector, regions=None), "regions": detector}
    runs = {mode: ModeRun(Stages()) for mode in dets}
    for pair in zip(bursts(False), bursts(True), strict=True):  # burst by burst: the same load
        for (mode, det), frames in zip(dets.items(), pair, strict=True):
            run = runs[mode]
            t0 = time.process_time()
            v = classify_burst(iter(frames), len(frames), det, run.stages).verdict
            run.cpu_s += time.process_time() - t0
            scored = [f for f in v.frames if f.error is None]
            run.frames += len(scored)
            run.regions += sum(f.where.regions for f in scored)
            for f in scored:
                run.sources[f.where.source] = run.sources.get(f.where.source, 0) + 1
    return runs


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


def _recorded(paths: Sequence[str], detector: Any) -> BurstSource:
    """Recorded bursts, decoded at the working width (regions) or the model input (full)."""
    from camtrap.errors import BadFrameError
    from camtrap.sim.bursts import discover
    from camtrap.sim.replay_camera import detector_decode_size, read_frame

    found = discover(paths)

    def bursts(regions: bool) -> Iterator[list[Any]]:
        size = detector_decode_size(detector) if regions else detector.classifier.input_size
        for b in found:
            try:
                yield [read_frame(p, i, 0.0, size) for i, p in enumerate(b.frames)]
            except BadFrameError:
                continue  # said once already by the stage timings above

    return bursts


def _walking(size: tuple[int, int], bursts: int) -> BurstSource:
    """Synthetic bursts: a textured scene with a far animal (a tenth of the width) walking."""
    import numpy as np
    from PIL import Image

    from camtrap.core.types import Frame

    def make(regions: bool) -> Iterator[list[Any]]:
        w, h = size
        for b in range(bursts):
            rng = np.random.default_rng(b)
            grid = rng.integers(40, 200, (12, 16, 3), dtype=np.uint8)
            scene = np.asarray(Image.fromarray(grid).resize(size, Image.Resampling.BICUBIC))
            aw, ah = w // 10, h // 12
            patch = rng.integers(0, 256, (ah, aw, 3), dtype=np.uint8)
            frames = []
            for i in range(5):
                f = scene.copy()
                x = (w // 8 + i * aw) % (w - aw)
                f[h // 2 : h // 2 + ah, x : x + aw] = patch
                frames.append(Frame(i, 0.5 * i, f, f"{i:03d}.jpg"))
            yield frames

    return make


def _ratio(part: float, whole: float) -> str:
    return "n/a" if whole <= 0 else f"{100 * part / whole:.1f} %"
