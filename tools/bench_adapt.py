"""Benchmark of `camtrap adapt`: wall time on 150 real photos and the head's cost per frame.

Targets (issue 11): adapting on 150 photos takes under 60 s on the 2-core dev machine, and the
numpy head adds under 1 ms per frame to the extractor. Uses ../shared (the embedding extractor
and the real photos: 98 leopards, 49 other scenes, plus the 3 decodable odd encodings, so 150
photos, and the truncated one, which is skipped and counted); skips with a message without it.
Reported as measured in this run, with each figure's ratio to its target.

    python -m tools.bench_adapt [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EXTRACTOR = (
    SHARED
    / "models"
    / "mobilenet_v1_embedding_extractor"
    / "mobilenet_v1_1.0_224_quant_embedding_extractor.tflite"
)
PHOTOS = SHARED / "realdata" / "photos"
ODD = SHARED / "realdata" / "odd"
ADAPT_BUDGET_S = 60.0
HEAD_BUDGET_MS = 1.0


def dataset(root: Path) -> Path:
    """DATA/<label>/ as symbolic links to the shared photos (nothing is copied)."""
    for label in ("leopard", "other"):
        (root / label).mkdir(parents=True)
        for p in sorted((PHOTOS / label).iterdir()):
            (root / label / p.name).symlink_to(p)
    for p in sorted(ODD.iterdir()):
        (root / "other" / p.name).symlink_to(p)
    return root


def measure() -> dict[str, float]:
    from camtrap.adapt import run_adapt
    from camtrap.adapters.embedding import EmbeddingExtractor

    with tempfile.TemporaryDirectory() as tmp:
        data = dataset(Path(tmp) / "data")
        start = time.perf_counter()
        run = run_adapt(data, EXTRACTOR, "leopard", Path(tmp) / "out", progress=False)
        adapt_s = time.perf_counter() - start
    x, head = run.embedded.x, run.adapted.head
    extractor = EmbeddingExtractor.open(EXTRACTOR)
    pixels = np.zeros((*extractor.input_size[::-1], 3), np.uint8)
    extractor_ms = _per_call_ms(lambda: extractor.embed(pixels), 30)
    rows = itertools.cycle(range(len(x)))
    head_ms = _per_call_ms(lambda: head.probabilities(x[next(rows)]), 2000)
    return {
        "photos": float(len(run.embedded.samples)),
        "skipped": float(run.embedded.skipped),
        "adapt_s": adapt_s,
        "embed_s": run.embedded.seconds,
        "fit_s": run.fit_seconds,
        "extractor_ms_per_frame": extractor_ms,
        "head_ms_per_frame": head_ms,
    }


def _per_call_ms(call: Callable[[], object], n: int) -> float:
    call()  # warm up (first-call allocations)
    start = time.perf_counter()
    for _ in range(n):
        call()
    return 1000 * (time.perf_counter() - start) / n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="camtrap adapt: time on 150 photos, head cost")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    if not (EXTRACTOR.is_file() and PHOTOS.is_dir() and ODD.is_dir()):
        print("bench_adapt: ../shared (extractor, real photos) not on this machine: skipped")
        return 0
    m = measure()
    if args.json:
        print(json.dumps(m, indent=2))
        return 0
    print(
        f"adapt on {m['photos']:.0f} photos ({m['skipped']:.0f} undecodable skipped): "
        f"{m['adapt_s']:.1f} s (embed {m['embed_s']:.1f} s, fit {m['fit_s']:.2f} s) = "
        f"{m['adapt_s'] / ADAPT_BUDGET_S:.2f} of the {ADAPT_BUDGET_S:.0f} s budget"
    )
    head, ext = m["head_ms_per_frame"], m["extractor_ms_per_frame"]
    print(
        f"head {head:.3f} ms/frame = {head / HEAD_BUDGET_MS:.2f} of the {HEAD_BUDGET_MS:g} ms "
        f"budget; extractor {ext:.1f} ms/frame (head/extractor {head / ext:.4f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
