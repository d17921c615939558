"""What `camtrap bench` measures: the service's own burst loop, stage by stage, on recorded or
synthetic bursts; and what judging frames by their regions costs next to judging them whole.

`measure` runs each burst through `classify_burst` with every frame classified (the figures
are per frame), timing decode, resize, quantize and invoke inside a timed `Detector`, the rest
of the loop as "verdict", then a real burst store and outbox with the dry-run publisher.
`measure_regions` runs bursts whole and by their regions with the detector's rule, counting
process CPU time (all threads). Nothing here prints or asserts; the command reports.
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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


def recorded(paths: Sequence[str], detector: Any) -> BurstSource:
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


def walking(size: tuple[int, int], bursts: int) -> BurstSource:
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
