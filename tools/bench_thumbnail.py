"""Benchmark: the cost of a hit's picture on a full-size frame, as a ratio to decoding it whole.

    python -m tools.bench_thumbnail                 # a 2028 x 1520 frame made from a demo burst
    python -m tools.bench_thumbnail --repeat 20

The service builds the picture on its own thread after each hit (`camtrap.core.thumbnail`): it
decodes the best frame's stored JPEG with libjpeg's DCT scaling (Pillow's ``draft``) only as
large as the picture needs, then fits the byte budget. This prints the time per picture, the
time of the plain way (decode the whole frame, then the same fitting) and their ratio, measured
in one run; and the picture's size against the 30 KB budget. The target is a ratio <= 0.5 (a
Pi 4 decodes a 2028 x 1520 JPEG in about 0.2 s). A benchmark, not a test: it prints PASS or
MISS and exits 0 either way.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from camtrap.core.thumbnail import Thumbnail, ThumbnailSpec, build_thumbnail, thumbnail_for
from camtrap.core.types import Frame, FrameScore, Verdict

TARGET_RATIO = 0.5
SOURCE = Path("demo/bursts/leopard/leopard-s7-000/000.jpg")
SIZE = (2028, 1520)  # the HQ camera's 2x2-binned mode, a typical main-stream frame


def full_size_frame(source: Path, seed: int = 1) -> bytes:
    """The demo frame at ``SIZE`` with sensor-like noise (so JPEG has detail to code)."""
    with Image.open(source) as img:
        big = img.convert("RGB").resize(SIZE, Image.Resampling.BICUBIC)
    noise = np.random.default_rng(seed).integers(-12, 12, (SIZE[1], SIZE[0], 3))
    px = np.clip(np.asarray(big, np.int16) + noise, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(px).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def timed(fn: Callable[[], Thumbnail], repeat: int) -> tuple[float, Thumbnail]:
    result = fn()  # warm up
    start = time.perf_counter()
    for _ in range(repeat):
        result = fn()
    return (time.perf_counter() - start) / repeat, result


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="the cost of a hit picture on a full-size frame")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--source", type=Path, default=SOURCE)
    args = ap.parse_args(argv)
    if not args.source.is_file():
        print(f"bench_thumbnail: error: {args.source}: not found", file=sys.stderr)
        return 2
    data = full_size_frame(args.source)
    spec = ThumbnailSpec()
    frame = Frame(0, 0.0, np.zeros((48, 64, 3), np.uint8), "000.jpg", data)
    verdict = Verdict("hit", 0.9, "leopard", 0.9, 1, 1, (FrameScore(0, 0.9, "leopard", 0.9),))

    def plain() -> Thumbnail:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return build_thumbnail(img.convert("RGB"), None, spec)

    ours, thumb = timed(lambda: thumbnail_for(verdict, [frame], spec), args.repeat)
    base, _ = timed(plain, args.repeat)
    ratio = ours / base
    verdict_text = "PASS" if ratio <= TARGET_RATIO and len(thumb.jpeg) <= spec.max_bytes else "MISS"
    print(
        f"hit picture from a {SIZE[0]}x{SIZE[1]} frame ({len(data)} B): {ours * 1000:.0f} ms, "
        f"whole-frame decode {base * 1000:.0f} ms, ratio {ratio:.2f} (target <= {TARGET_RATIO}); "
        f"{thumb.width}x{thumb.height} q{thumb.quality} {len(thumb.jpeg)} B "
        f"(budget {spec.max_bytes}) {verdict_text}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
