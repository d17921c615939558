"""Benchmark: `camtrap replay` (full frame) against a plain sequential decode + invoke loop.

    python -m tools.bench_replay                      # 1,000 photos, the shared MobileNetV2
    python -m tools.bench_replay --photos 300 --model models/camtrap-demo/model.tflite

The plain loop is what anyone would write: for each photo, Pillow opens it, decodes it (drafted
to the model input, as replay does), resizes it to the input, and LiteRT invokes the model; one
after the other. Replay runs the same photos (each a one-frame burst) through the service's
pipeline, with the next frame decoded on a thread while the model classifies this one, and its
per-burst work (verdict, record) on top. Same model object, same threads. Target (issue 10):
replay's throughput >= 1.0x the plain loop's, as a ratio from one run. It prints the figures and
PASS or MISS and exits 0 either way (2 on bad input).

Photos come from ``../shared/realdata/photos`` (cycled to the count asked for) where that
exists, else from bursts `tools.gen_bursts` writes at 640x480 into a temporary directory; the
model defaults to the shared MobileNetV2, else the demo model.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED_PHOTOS = ROOT.parent / "shared" / "realdata" / "photos"
SHARED_MODEL = ROOT.parent / "shared" / "models" / "mobilenet_v2_imagenet_quant"
DEMO_MODEL = ROOT / "models" / "camtrap-demo" / "model.tflite"
TARGET_RATIO = 1.0


def photos(count: int, tmp: Path) -> list[Path]:
    """``count`` photo paths, cycling through the shared photos or generated frames."""
    if SHARED_PHOTOS.is_dir():
        found = sorted(SHARED_PHOTOS.rglob("*.jpg"))
    else:
        from tools.gen_bursts import generate

        generate(tmp / "bursts", seed=5, per_class=4, size=(640, 480))
        found = sorted((tmp / "bursts").rglob("*.jpg"))
    return [found[i % len(found)] for i in range(count)]


def load(model: str | None) -> Any:
    from camtrap.config import ModelConfig, RegionsConfig, VerdictConfig
    from camtrap.detector import build_detector

    if model is None and (SHARED_MODEL / "mobilenet_v2_1.0_224_quant.tflite").is_file():
        cfg = ModelConfig(
            path=str(SHARED_MODEL / "mobilenet_v2_1.0_224_quant.tflite"),
            labels=str(SHARED_MODEL / "imagenet_labels.txt"),
        )
        verdict = VerdictConfig(targets=("leopard",))
    else:
        cfg, verdict = ModelConfig(path=model or str(DEMO_MODEL)), VerdictConfig()
    return build_detector(cfg, verdict, RegionsConfig(mode="off"))


def plain_loop(paths: Sequence[Path], detector: Any) -> float:
    """Seconds for the plain sequential decode + resize + invoke loop over ``paths``."""
    import numpy as np
    from PIL import Image

    from camtrap.core.preprocess import to_input

    clf = detector.classifier
    size = tuple(clf.input_size)
    t0 = time.perf_counter()
    for path in paths:
        with Image.open(path) as img:
            img.draft("RGB", size)
            pixels = np.asarray(img.convert("RGB").resize(size, Image.Resampling.BILINEAR))
        clf.probabilities(clf.invoke(to_input(pixels, clf.spec)))
    return time.perf_counter() - t0


def replay_run(paths: Sequence[Path], detector: Any) -> float:
    """Seconds for `camtrap.replay.replay` over the same photos, each a one-frame burst."""
    from camtrap.replay import replay
    from camtrap.sim.bursts import single_image

    bursts = [single_image(p) for p in paths]
    t0 = time.perf_counter()
    replay(bursts, replace(detector, rule=replace(detector.rule, early_exit=False)), out=None)
    return time.perf_counter() - t0


def bench(count: int, model: str | None) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="camtrap-bench-replay-") as tmp:
        paths = photos(count, Path(tmp))
        detector = load(model)
        plain_loop(paths[:20], detector)  # warm-up: file cache, interpreter, Pillow
        cpu0 = time.process_time()
        plain = plain_loop(paths, detector)
        cpu1 = time.process_time()
        replayed = replay_run(paths, detector)
        cpu2 = time.process_time()
    ratio = plain / replayed if replayed > 0 else 0.0
    verdict = "PASS" if ratio >= TARGET_RATIO else "MISS"
    kind = "shared" if SHARED_PHOTOS.is_dir() else "generated"
    return [
        f"model {detector.model}, {count} photos ({kind})",
        f"  plain loop (decode + resize + invoke): {plain:.2f} s wall, {cpu1 - cpu0:.2f} s CPU, "
        f"{count / plain:.1f} photos/s",
        f"  camtrap replay (full frame, prefetch): {replayed:.2f} s wall, {cpu2 - cpu1:.2f} s CPU, "
        f"{count / replayed:.1f} photos/s",
        f"  replay throughput / plain loop: {ratio:.2f}x (target >= {TARGET_RATIO:.1f}x) {verdict}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench_replay", description=__doc__)
    ap.add_argument("--photos", type=int, default=1000, help="photos to run (1000)")
    ap.add_argument("--model", help="a .tflite model (default: shared MobileNetV2, else demo)")
    args = ap.parse_args(argv)
    if args.photos < 1:
        ap.error("--photos must be >= 1")
    from camtrap.errors import CamtrapError

    try:
        print("\n".join(bench(args.photos, args.model)))
    except CamtrapError as e:
        print(f"bench_replay: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
