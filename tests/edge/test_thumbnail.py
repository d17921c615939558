"""The hit picture: best frame, cut around its winning box, a JPEG within the byte budget."""

from __future__ import annotations

import doctest
import io
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

import camtrap.core.thumbnail as thumbnail_module
from camtrap.core.thumbnail import (
    ThumbnailError,
    ThumbnailSpec,
    best_frame,
    build_thumbnail,
    thumbnail_for,
    valid_box,
)
from camtrap.core.types import Frame, FrameScore, Verdict


def scene(w: int = 640, h: int = 480, box=(0.6, 0.5, 0.2, 0.25)) -> np.ndarray:
    """Green grass with a red animal inside ``box``."""
    px = np.zeros((h, w, 3), np.uint8)
    px[..., 1] = 160
    x, y, bw, bh = box
    px[int(y * h) : int((y + bh) * h), int(x * w) : int((x + bw) * w)] = (220, 30, 20)
    return px


def decode(jpeg: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(jpeg)) as img:
        assert img.format == "JPEG"
        return np.asarray(img.convert("RGB"))


def red_fraction(px: np.ndarray) -> float:
    red = (px[..., 0] > 150) & (px[..., 1] < 100)
    return float(red.mean())


def noise(w: int, h: int, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def verdict(scores: list[float], errors: tuple[int, ...] = ()) -> Verdict:
    frames = tuple(
        FrameScore(i, s, "leopard", s, error="bad" if i in errors else None)
        for i, s in enumerate(scores)
    )
    return Verdict("hit", max(scores), "leopard", max(scores), len(scores), len(scores), frames)


def test_docstring_example_holds():
    result = doctest.testmod(thumbnail_module)
    assert result.attempted > 0 and result.failed == 0


def test_a_box_gives_a_crop_around_the_animal_with_context():
    px = scene()
    t = build_thumbnail(px, box=(0.6, 0.5, 0.2, 0.25))
    shown = decode(t.jpeg)
    assert t.source == "region" and t.box is not None
    # the animal fills most of the crop, but not all of it: the margin shows where it stands
    assert 0.3 < red_fraction(shown) < 0.8
    assert red_fraction(px) < 0.1
    x, y, w, h = t.box
    assert x < 0.6 and y < 0.5 and x + w > 0.8 and y + h > 0.75


def test_no_box_gives_the_whole_frame():
    t = build_thumbnail(scene(), box=None)
    assert (t.source, t.box, t.width, t.height) == ("frame", None, 640, 480)
    assert red_fraction(decode(t.jpeg)) == pytest.approx(red_fraction(scene()), abs=0.02)


def test_long_side_is_capped_at_max_side():
    t = build_thumbnail(scene(2028, 1520), spec=ThumbnailSpec(max_side=320))
    assert (t.width, t.height) == (320, 240)


@pytest.mark.parametrize("budget", [8_000, 30_000])
def test_a_hard_to_compress_picture_is_downscaled_and_requantised_until_it_fits(budget: int):
    spec = ThumbnailSpec(max_bytes=budget)
    t = build_thumbnail(noise(2028, 1520), spec=spec)
    assert len(t.jpeg) <= budget
    # noise does not fit at full size and quality: a lower quality, or a smaller picture
    assert (t.width, t.quality) != (spec.max_side, spec.qualities[0])
    if budget == 8_000:
        assert t.width < spec.max_side
    assert decode(t.jpeg).shape == (t.height, t.width, 3)


def test_nothing_fits_gives_up_with_a_counted_reason():
    spec = ThumbnailSpec(max_bytes=1000, min_side=400, max_side=400)
    with pytest.raises(ThumbnailError) as e:
        build_thumbnail(noise(800, 600), spec=spec)
    assert e.value.reason == "over_budget"
    assert "1000 bytes" in str(e.value)


def test_best_frame_is_the_highest_target_score_among_frames_that_decoded():
    assert best_frame(verdict([0.2, 0.9, 0.7])).index == 1  # type: ignore[union-attr]
    assert best_frame(verdict([0.2, 0.9, 0.7], errors=(1,))).index == 2  # type: ignore[union-attr]
    assert best_frame(verdict([0.5, 0.5])).index == 0  # type: ignore[union-attr]
    assert best_frame(verdict([0.5], errors=(0,))) is None


def frame(i: int, px: np.ndarray, image: bytes = b"") -> Frame:
    return Frame(i, 0.5 * i, px, f"{i:03d}.jpg", image)


def jpeg_of(px: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(px).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_the_burst_picture_comes_from_the_full_size_image_of_the_best_frame():
    big = scene(1280, 960)
    lores = np.asarray(Image.fromarray(big).resize((64, 48)))
    frames = [frame(0, lores * 0), frame(1, lores, jpeg_of(big))]
    t = thumbnail_for(verdict([0.1, 0.95]), frames)
    assert t.frame_index == 1 and t.source == "frame"
    assert (t.width, t.height) == (640, 480)  # full size, capped; not the 64 px lores


def test_a_stored_image_that_does_not_decode_falls_back_to_the_pixels():
    px = scene(160, 120)
    t = thumbnail_for(verdict([0.9]), [frame(0, px, b"\xff\xd8 not really a jpeg")])
    assert (t.width, t.height) == (160, 120)


@dataclass(frozen=True)
class Where:
    """Where a frame's reading came from, as the regions stage records it."""

    box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    source: str = "full"


@dataclass(frozen=True)
class BoxedScore(FrameScore):
    """A frame score as the regions stage records it: with the winning region."""

    where: Where = Where()


def boxed(box: tuple[float, float, float, float], source: str = "motion") -> BoxedScore:
    return BoxedScore(0, 0.9, "leopard", 0.9, where=Where(box, source))


def test_the_winning_region_box_of_the_best_frame_is_used_when_recorded():
    px = scene(640, 480, box=(0.1, 0.1, 0.15, 0.2))
    v = Verdict("hit", 0.9, "leopard", 0.9, 1, 1, (boxed((0.1, 0.1, 0.15, 0.2)),))
    t = thumbnail_for(v, [frame(0, px)])
    assert t.source == "region" and red_fraction(decode(t.jpeg)) > 0.3
    whole = Verdict("hit", 0.9, "leopard", 0.9, 1, 1, (boxed((0, 0, 1, 1), "full"),))
    assert thumbnail_for(whole, [frame(0, px)]).source == "frame"  # judged whole: the frame


def test_a_burst_without_a_classified_frame_has_no_picture():
    with pytest.raises(ThumbnailError) as e:
        thumbnail_for(verdict([0.9], errors=(0,)), [frame(0, scene())])
    assert e.value.reason == "no_frame"


@pytest.mark.parametrize(
    ("box", "want"),
    [
        ((0.5, 0.5, 0.2, 0.2), (0.5, 0.5, 0.2, 0.2)),
        ((0.9, 0.9, 0.5, 0.5), (0.9, 0.9, 0.1, 0.1)),
        ((-0.1, 0.0, 0.3, 1.0), (0.0, 0.0, 0.2, 1.0)),
        ((0.2, 0.2, 0.0, 0.3), None),
        ((float("nan"), 0.1, 0.2, 0.2), None),
        ((1.2, 0.1, 0.2, 0.2), None),
        ((0.1, 0.2, 0.3), None),
    ],
)
def test_boxes_are_clipped_to_the_frame_or_refused(box, want):
    got = valid_box(box)
    assert got == want if want is None else got == pytest.approx(want)


@pytest.mark.parametrize(
    "bad",
    [
        {"max_bytes": 10},
        {"min_side": 700},
        {"margin": -0.1},
        {"qualities": ()},
        {"qualities": (100,)},
        {"step": 1.0},
    ],
)
def test_spec_refuses_values_that_cannot_work(bad):
    with pytest.raises(ValueError):
        ThumbnailSpec(**bad)


def test_a_big_stored_frame_is_decoded_only_as_large_as_the_picture_needs():
    big = jpeg_of(scene(2048, 1536))
    lores = np.zeros((48, 64, 3), np.uint8)
    t = thumbnail_for(verdict([0.9]), [frame(0, lores, big)], ThumbnailSpec(max_side=256))
    assert (t.width, t.height) == (256, 192)  # drafted at 1/8 = 256 x 192: no resize needed
    v = Verdict("hit", 0.9, "leopard", 0.9, 1, 1, (boxed((0.6, 0.5, 0.2, 0.25)),))
    crop = thumbnail_for(v, [frame(0, lores, big)], ThumbnailSpec(max_side=256))
    assert crop.source == "region" and max(crop.width, crop.height) == 256  # still full detail
    assert red_fraction(decode(crop.jpeg)) > 0.3
