"""The HTML report is one self-contained file, readable at 1280 px: checked in headless Chromium.

Chromium comes from Debian (`apt-get install chromium`, in .ci/run). Without it the browser
checks skip, except under ``CI=true``, where they fail (CI installs it).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from camtrap.adapters.thumbs import thumbnail_uri
from camtrap.core.burst_record import parse_record
from camtrap.core.metrics import evaluate_records
from camtrap.core.report import ReportInput, Thumb, build_sections, to_html

PROBE = """<script>window.addEventListener('load', () => {
  const probe = {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
    images: [...document.images].map(i => i.complete && i.naturalWidth > 0),
    figures: document.querySelectorAll('.gallery figure').length,
    external: [...document.querySelectorAll('img,link,script[src]')]
      .map(e => e.getAttribute('src') || e.getAttribute('href') || '')
      .filter(u => u && !u.startsWith('data:'))};
  document.body.setAttribute('data-probe', JSON.stringify(probe));
});</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium not installed: CI must install it (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return found


def render(page: Path, width: int = 1280) -> dict:
    """Load ``page`` in headless Chromium at ``width`` px and return the probe's findings."""
    probed = page.with_name("probed.html")
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    cmd += [f"--window-size={width},900", "--virtual-time-budget=5000", "--dump-dom"]
    out = subprocess.run(
        [*cmd, probed.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    found = re.search(r'data-probe="([^"]*)"', out)
    assert found, "the page did not finish loading in Chromium"
    return json.loads(html.unescape(found.group(1)))


def record(label: str, verdict: str, score: float, top: str) -> dict:
    return {
        "source": f"{label}-{score}.jpg",
        "verdict": verdict,
        "target_score": score,
        "top_label": top,
        "top_score": 0.9,
        "frames_total": 1,
        "frames_classified": 1,
        "frames": [{"index": 0, "target_score": score, "top_label": top, "top_score": 0.9}],
        "label": label,
    }


def a_report(tmp_path: Path, misses: int, false_alerts: int) -> Path:
    rng = np.random.default_rng(1)
    thumbs = []
    for i in range(misses + false_alerts):
        photo = tmp_path / f"frame-{i}.jpg"
        Image.fromarray(rng.integers(0, 255, (768, 1024, 3), np.uint8)).save(photo)
        uri = thumbnail_uri(photo)
        assert uri is not None
        thumbs.append(
            Thumb(f"{photo.name}: leopard read as a very long ImageNet label " * 2, uri, str(photo))
        )
    raws = [record("leopard", "miss", 0.2, "jaguar, panther, Panthera onca")] * misses
    raws += [record("other", "hit", 0.8, "leopard, Panthera pardus")] * false_alerts
    raws += [record("leopard", "hit", 0.9, "leopard, Panthera pardus")] * 5
    ev = evaluate_records([parse_record(r) for r in raws], ("leopard",), 0.5)
    sections = build_sections(
        ReportInput(
            model="mobilenet_v2@7aad0c74",
            rule="k_of_n k=1 threshold 0.5",
            evaluation=ev,
            point=None,
            pr_curve_png=None,
            histogram_png=None,
            misses=tuple(thumbs[:misses]),
            false_alerts=tuple(thumbs[misses:]),
        )
    )
    page = tmp_path / "report.html"
    page.write_text(to_html("camtrap evaluation", sections))
    return page


def test_every_miss_and_false_alert_has_a_thumbnail_inlined_in_the_page(tmp_path):
    text = a_report(tmp_path, misses=3, false_alerts=2).read_text()
    assert text.count("<figure>") == 5 and text.count('src="data:image/jpeg;base64,') == 5
    assert "3 leopard bursts read as jaguar" in text


@pytest.mark.parametrize("misses", [4, 40])
def test_the_report_fits_1280_px_and_every_image_loads_in_chromium(tmp_path, misses):
    probe = render(a_report(tmp_path, misses=misses, false_alerts=3))
    assert probe["scroll"] <= probe["inner"] == 1280  # no sideways scrolling at 1280 px
    assert probe["figures"] == misses + 3
    assert len(probe["images"]) == misses + 3 and all(probe["images"])
    assert probe["external"] == []  # one self-contained file
