"""Rerun the issue-12 probe of a huge frame: the peak RSS of decoding a 10000 x 10000 PNG.

    python -m tools.probe_limits            # writes a temporary PNG, measures two fresh processes

Each case runs in its own Python process reading the same file, so the figure is that
process's peak RSS (``ru_maxrss``): with the default pixel budget (refused from the header)
and with the budget lifted (the old behaviour: decoded). A measurement, not a test: the tests
assert the refusal (tests/edge/test_replay_limits.py), this prints what it saves.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

SIDE = 10_000

CHILD = """
import resource, sys
from pathlib import Path
from PIL import Image
from camtrap.errors import BadFrameError
from camtrap.sim.replay_camera import decode_frame
Image.MAX_IMAGE_PIXELS = None  # measure the decode itself, not Pillow's own bomb check
data = Path(sys.argv[1]).read_bytes()
try:
    decode_frame(data, 0, 0.0, "big.png", None, max_pixels=int(sys.argv[2]))
    what = "decoded"
except BadFrameError:
    what = "refused"
print(what, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def _make_png(path: Path) -> None:
    code = (
        "import sys\nfrom PIL import Image\n"
        f"Image.new('RGB', ({SIDE}, {SIDE}), (200, 100, 50)).save(sys.argv[1], compress_level=1)"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)


def _measure(path: Path, budget: int) -> tuple[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(budget)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return out[0], int(out[1])


def main() -> int:
    from camtrap.sim.replay_camera import MAX_PIXELS

    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "big.png"
        _make_png(png)
        print(f"{SIDE} x {SIDE} PNG, {png.stat().st_size:,} bytes")
        for budget in (MAX_PIXELS, SIDE * SIDE + 1):
            what, mb = _measure(png, budget)
            print(f"  budget {budget:>11,} pixels: {what:7}  peak RSS {mb:,} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
