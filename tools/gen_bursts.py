"""Procedural recorded bursts: synthetic camera-trap sequences for demos, tests and training.

Each burst is a directory with ``burst.json`` (schema ``camtrap-burst/1``) and 3-8 JPEG frames
of an animal walking across a procedurally drawn scene (textured ground, vegetation, trunks).
Day bursts are in colour, night bursts are infrared greyscale with an IR-flash falloff and eye
shine. Everything is drawn with numpy and Pillow and is fully determined by ``--seed``, so a
training set and an evaluation set are simply two seeds.

    python -m tools.gen_bursts out/bursts --seed 7 --per-class 3
    python -m tools.gen_bursts out/train --seed 1001 --per-class 60 --size 320x240
    python -m tools.gen_bursts out/far --seed 7 --per-class 0 --far 2 --far-size 640x480

Far animals (``--far N``: N more bursts per class) are drawn at `FAR_SCALE` of their usual
size, 5-25 % of the frame width head to tail, as a camera trap sees an animal on the far side of
a clearing: the case the regions stage exists for (squashed whole to the model input, a far
leopard is a few pixels of fur). They go in ``<slug>-far-s<seed>-<nnn>``; their ``burst.json``
says ``far`` and the animal's box per frame (``boxes``: normalised [x, y, w, h], top-left origin).

Layout: ``OUT/<label>/<slug>-s<seed>-<nnn>/{burst.json,000.jpg,...}``; the class folder is the
exact label, so the same tree is also a folder-per-class dataset for ``tools.train``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CLASSES: tuple[str, ...] = (
    "leopard",
    "tiger",
    "small spotted cat",
    "deer",
    "boar",
    "person",
    "empty",
)
SCHEMA = "camtrap-burst/1"
GENERATOR = "tools/gen_bursts.py"
JPEG_QUALITY = 80
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)

RGB = tuple[int, int, int]
Rng = np.random.Generator


def slug(label: str) -> str:
    """File-name form of a label: ``small spotted cat`` -> ``small-spotted-cat``."""
    return label.replace(" ", "-")


def jitter(rng: Rng, colour: Sequence[int], spread: int) -> RGB:
    """A colour near ``colour``, each channel moved by up to ``spread``."""
    c = np.asarray(colour) + rng.integers(-spread, spread + 1, size=3)
    r, g, b = (int(v) for v in np.clip(c, 0, 255))
    return (r, g, b)


def smooth_noise(rng: Rng, w: int, h: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1], ``cells`` blobs across the width, as an HxW float32 array."""
    gw, gh = max(2, cells), max(2, cells * h // max(w, 1))
    grid = (rng.random((gh, gw)) * 255).astype(np.uint8)
    img = Image.fromarray(grid, "L").resize((w, h), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float32) / 255.0


# ---------------------------------------------------------------------------------------------
# Scene: background, swaying foreground grass, occluders, lighting


@dataclass(frozen=True)
class Scene:
    """Everything about a burst's setting that stays fixed across its frames."""

    background: np.ndarray  # HxWx3 float32 0..255
    horizon: int  # y of the ground's far edge
    blades: np.ndarray  # N x 5: x, y, length, lean, shade
    grass_colour: RGB
    occluder: tuple[int, int, int, RGB] | None  # x, width, kind (0 trunk, 1 branch), colour
    night: bool


def make_background(rng: Rng, w: int, h: int) -> tuple[np.ndarray, int]:
    """Ground with texture, a dark forest edge, far trunks and bushes."""
    horizon = int(h * rng.uniform(0.25, 0.5))
    snow = rng.random() < 0.2
    ground = (225, 228, 235) if snow else jitter(rng, rng.choice(GROUNDS), 15)
    forest = jitter(rng, (55, 70, 45), 20)
    yy = np.arange(h, dtype=np.float32)[:, None]
    is_ground = (yy >= horizon).astype(np.float32)
    base = np.where(is_ground[..., None] > 0, np.array(ground), np.array(forest)).astype(np.float32)
    base = base * np.ones((h, w, 1), np.float32)
    texture = smooth_noise(rng, w, h, 12) * 0.6 + smooth_noise(rng, w, h, 48) * 0.4
    base *= (0.7 + 0.6 * texture)[..., None]
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 7))):  # far trunks
        x, tw = int(rng.integers(0, w)), int(rng.integers(4, 18))
        draw.rectangle((x, 0, x + tw, horizon + int(rng.integers(0, 10))), fill=bark(rng))
    for _ in range(int(rng.integers(2, 8))):  # bushes along the forest edge
        x, y = int(rng.integers(-20, w)), horizon + int(rng.integers(-15, 20))
        r = int(rng.integers(12, 40))
        draw.ellipse((x - r, y - r // 2, x + r, y + r // 2), fill=jitter(rng, (50, 85, 40), 20))
    arr = np.asarray(img.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float32)
    return arr, horizon


GROUNDS: tuple[RGB, ...] = ((120, 100, 70), (95, 105, 60), (140, 120, 90), (85, 80, 60))


def bark(rng: Rng) -> RGB:
    return jitter(rng, (80, 70, 60), 25)


def make_scene(rng: Rng, w: int, h: int, night: bool) -> Scene:
    background, horizon = make_background(rng, w, h)
    n = int(rng.integers(20, 70))
    blades = np.column_stack(
        [
            rng.uniform(0, w, n),
            rng.uniform(horizon + 0.3 * (h - horizon), h + 5, n),
            rng.uniform(8, 28, n),
            rng.uniform(-0.4, 0.4, n),
            rng.uniform(0.6, 1.3, n),
        ]
    )
    occluder = None
    if rng.random() < 0.3:
        kind = int(rng.integers(0, 2))
        occluder = (int(rng.integers(0, w)), int(rng.integers(10, 30)), kind, bark(rng))
    grass = jitter(rng, (90, 120, 50), 25)
    return Scene(background, horizon, blades, grass, occluder, night)


def draw_foreground(img: Image.Image, scene: Scene, sway: float) -> None:
    """Grass blades (swaying with ``sway``) and the occluding trunk or branch, over the animal."""
    draw = ImageDraw.Draw(img)
    gr, gg, gb = scene.grass_colour
    for x, y, length, lean, shade in scene.blades:
        tip = (x + (lean + sway) * length, y - length)
        c = (int(min(255, gr * shade)), int(min(255, gg * shade)), int(min(255, gb * shade)))
        draw.line(((x, y), tip), fill=c, width=2)
    if scene.occluder is not None:
        x, width, kind, colour = scene.occluder
        h = img.height
        if kind == 0:
            draw.rectangle((x, 0, x + width, h), fill=colour)
        else:
            y = int(h * 0.45)
            draw.line(((x - 80, y - 30), (x + 90, y + 25)), fill=colour, width=max(4, width // 3))
            for i in range(6):
                lx = x - 60 + i * 25
                ly = y - 20 + i * 8
                draw.ellipse((lx - 9, ly - 5, lx + 9, ly + 5), fill=(60, 100, 40))


def apply_light(arr: np.ndarray, rng: Rng, night: bool, flicker: float) -> np.ndarray:
    """Day: moving sun flecks; night: infrared greyscale, flash falloff and sensor noise."""
    h, w = arr.shape[:2]
    if not night:
        flecks = smooth_noise(rng, w, h, 6)
        arr = arr * (0.85 + flicker * 0.35 * flecks)[..., None]
        return np.clip(arr, 0, 255)
    grey = arr @ np.array([0.35, 0.45, 0.20], np.float32)  # IR: foliage and fur both bright
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w * 0.7)) ** 2 + ((yy - h * 0.6) / (h * 0.8)) ** 2
    falloff = np.clip(1.25 - r2, 0.25, 1.0) * (0.9 + 0.2 * flicker)
    grey = grey * falloff * 1.15 + rng.normal(0, 6, size=grey.shape).astype(np.float32)
    grey = np.clip(grey, 0, 255)
    return np.repeat(grey[..., None], 3, axis=2)


# ---------------------------------------------------------------------------------------------
# Animals: a coat mask (body, head, legs, tail) filled with a per-species pattern


@dataclass(frozen=True)
class Body:
    """Shape of a four-legged animal, in units of the body length ``length`` (pixels)."""

    length: int
    depth: float  # body height / length
    leg: float  # leg length / length
    leg_width: float
    head: float  # head size / length
    head_up: float  # head height above the back, in body depths
    tail: float  # tail length / length (0: none)
    neck: float = 0.0


FAR_SCALE = (0.22, 0.32)  # a far animal's size as a share of its usual size (low, high)
FAR_INDEX = 100  # far bursts' index offset: their random streams never meet the near ones'
SPECIES_SIZE = {  # body length as a fraction of the frame width: (low, high)
    "leopard": (0.34, 0.6),
    "tiger": (0.38, 0.68),
    "small spotted cat": (0.18, 0.32),
    "deer": (0.3, 0.55),
    "boar": (0.3, 0.52),
}


def body_for(label: str, length: int) -> Body:
    if label in ("leopard", "small spotted cat"):
        return Body(length, 0.33, 0.38, 0.075, 0.26, 0.15, 0.85)
    if label == "tiger":
        return Body(length, 0.38, 0.40, 0.09, 0.28, 0.1, 0.7)
    if label == "deer":
        return Body(length, 0.40, 0.75, 0.05, 0.22, 0.9, 0.08, neck=0.45)
    # boar
    return Body(length, 0.62, 0.28, 0.09, 0.36, -0.1, 0.12)


def body_mask(body: Body, phase: float) -> tuple[Image.Image, tuple[int, int], tuple[int, int]]:
    """Mask of the animal facing right; returns mask, head centre, rump point."""
    L = body.length
    bd = int(L * body.depth)
    leg = int(L * body.leg)
    head = int(L * body.head)
    tail = int(L * body.tail)
    neck_h = int(L * body.neck)
    w = int(L * 1.0 + head + tail * 0.6) + 8
    top = max(head, neck_h + head) + 4
    h = top + bd + leg + 6
    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    x0 = int(tail * 0.6) + 2
    y0 = top
    d.ellipse((x0, y0, x0 + L, y0 + bd), fill=255)
    lw = max(2, int(L * body.leg_width))
    for i, lx in enumerate((x0 + L * 0.15, x0 + L * 0.3, x0 + L * 0.7, x0 + L * 0.85)):
        swing = math.sin(phase + i * math.pi / 2) * leg * 0.3
        top_pt = (lx, y0 + bd * 0.6)
        foot = (lx + swing, y0 + bd + leg)
        d.line((top_pt, foot), fill=255, width=lw)
    hx = x0 + L - head * 0.2
    hy = y0 - body.head_up * bd - neck_h + head * 0.3
    if neck_h:
        d.line(((x0 + L * 0.85, y0 + bd * 0.3), (hx, hy + head * 0.3)), fill=255, width=lw * 3)
    d.ellipse((hx, hy, hx + head * 1.1, hy + head * 0.8), fill=255)
    if tail:
        pts = [
            (x0 + L * 0.05 - t * tail * 0.6, y0 + bd * 0.3 + (t**2) * tail * 0.5)
            for t in (0, 0.3, 0.6, 1)
        ]
        d.line(pts, fill=255, width=max(2, lw // 2 + 1), joint="curve")
    head_c = (int(hx + head * 0.8), int(hy + head * 0.3))
    rump = (x0 + int(L * 0.08), y0 + int(bd * 0.45))
    return mask, head_c, rump


def pattern_leopard(rng: Rng, w: int, h: int, L: int) -> Image.Image:
    """Tawny coat with rosettes: rings of dark blotches around a darker tawny centre."""
    img = Image.new("RGB", (w, h), jitter(rng, (205, 155, 75), 18))
    d = ImageDraw.Draw(img)
    spacing = max(9, int(L / 6.5))
    inner = jitter(rng, (165, 110, 45), 10)
    for cx, cy in jittered_grid(rng, w, h, spacing):
        r = spacing * rng.uniform(0.3, 0.38)
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=inner)
        n = int(rng.integers(4, 7))
        a0 = rng.uniform(0, 2 * math.pi)
        for k in range(n):
            if rng.random() < 0.15:  # rosettes are open rings
                continue
            a = a0 + 2 * math.pi * k / n
            bx, by = cx + r * math.cos(a), cy + r * math.sin(a)
            br = max(1.2, spacing * rng.uniform(0.1, 0.14))
            d.ellipse((bx - br, by - br, bx + br, by + br), fill=(30, 22, 15))
    return img


def pattern_small_cat(rng: Rng, w: int, h: int, L: int) -> Image.Image:
    """Buff-grey coat with small solid dark spots."""
    img = Image.new("RGB", (w, h), jitter(rng, (175, 150, 105), 18))
    d = ImageDraw.Draw(img)
    spacing = max(4, L // 13)
    for cx, cy in jittered_grid(rng, w, h, spacing):
        r = max(1.0, spacing * rng.uniform(0.18, 0.26))
        d.ellipse((cx - r, cy - r * 0.8, cx + r, cy + r * 0.8), fill=(35, 28, 20))
    return img


def pattern_tiger(rng: Rng, w: int, h: int, L: int) -> Image.Image:
    """Orange coat with dark wavy vertical stripes."""
    img = Image.new("RGB", (w, h), jitter(rng, (225, 120, 35), 15))
    d = ImageDraw.Draw(img)
    spacing = max(5, L // 11)
    x = rng.uniform(0, spacing)
    while x < w:
        wave = rng.uniform(2, 6)
        width = max(2, int(spacing * rng.uniform(0.25, 0.45)))
        pts = [(x + wave * math.sin(y / 9 + x), y) for y in range(0, h + 6, 6)]
        d.line(pts, fill=(25, 18, 12), width=width)
        x += spacing * rng.uniform(0.8, 1.25)
    return img


def pattern_plain(base: RGB, rng: Rng, w: int, h: int, bristle: float) -> Image.Image:
    """A plain coat with fine shading, or bristly strokes when ``bristle`` > 0."""
    tone = smooth_noise(rng, w, h, 8) * 0.3 + 0.85
    arr = np.asarray(base, np.float32) * tone[..., None]
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    if bristle:
        d = ImageDraw.Draw(img)
        for _ in range(int(w * h * bristle / 40)):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            c = jitter(rng, base, 35)
            d.line(((x, y), (x + rng.uniform(-2, 2), y - rng.uniform(3, 7))), fill=c, width=1)
    return img


def jittered_grid(rng: Rng, w: int, h: int, spacing: int) -> list[tuple[float, float]]:
    pts = []
    for gy in range(-spacing, h + spacing, spacing):
        for gx in range(-spacing, w + spacing, spacing):
            off = (gy // spacing) % 2 * spacing / 2
            pts.append(
                (gx + off + rng.uniform(-0.2, 0.2) * spacing, gy + rng.uniform(-0.2, 0.2) * spacing)
            )
    return pts


def coat_for(label: str, rng: Rng, w: int, h: int, L: int) -> Image.Image:
    if label == "leopard":
        return pattern_leopard(rng, w, h, L)
    if label == "small spotted cat":
        return pattern_small_cat(rng, w, h, L)
    if label == "tiger":
        return pattern_tiger(rng, w, h, L)
    if label == "deer":
        return pattern_plain(jitter(rng, (140, 95, 58), 15), rng, w, h, 0)
    return pattern_plain(jitter(rng, (62, 52, 45), 12), rng, w, h, 1.0)  # boar


@dataclass(frozen=True)
class Sprite:
    """An animal drawn for one frame: colour image and alpha, plus its eye position."""

    image: Image.Image
    alpha: Image.Image
    eye: tuple[int, int]


class Quadruped:
    """A four-legged animal with a coat fixed for the burst; ``sprite(phase)`` per frame."""

    def __init__(self, label: str, length: int, facing_left: bool, rng: Rng) -> None:
        self.label = label
        self.body = body_for(label, length)
        self.facing_left = facing_left
        mask, _, _ = body_mask(self.body, 0.0)
        self.coat = coat_for(label, rng, mask.width, mask.height, length)
        self.belly = jitter(rng, (235, 225, 200), 10) if label != "boar" else None

    def sprite(self, phase: float) -> Sprite:
        mask, head, rump = body_mask(self.body, phase)
        img = self.coat.copy()
        d = ImageDraw.Draw(img)
        L, bd = self.body.length, int(self.body.length * self.body.depth)
        if self.label == "deer":  # light rump patch and a dark nose
            rx, ry = rump
            d.ellipse((rx - L * 0.06, ry - bd * 0.3, rx + L * 0.1, ry + bd * 0.3), fill=self.belly)
        if self.label == "boar":  # snout disc
            d.ellipse(
                (head[0] + 2, head[1], head[0] + L * 0.09, head[1] + L * 0.08), fill=(40, 30, 30)
            )
        shade = Image.linear_gradient("L").resize(mask.size)  # darker back, lighter belly
        img = Image.composite(
            img,
            Image.new("RGB", img.size, (0, 0, 0)),
            shade.point([150 + v // 3 for v in range(256)]),
        )
        mask = mask.filter(ImageFilter.GaussianBlur(0.7))
        eye = head
        if self.facing_left:
            img, mask = mirror(img), mirror(mask)
            eye = (mask.width - 1 - head[0], head[1])
        return Sprite(img, mask, eye)


class Person:
    """An upright walker: head, torso in a shirt colour, trousers, swinging arms and legs."""

    def __init__(self, height: int, facing_left: bool, rng: Rng) -> None:
        self.height = height
        self.shirt = jitter(rng, rng.choice(SHIRTS), 20)
        self.trousers = jitter(rng, rng.choice(TROUSERS), 15)
        self.skin = jitter(rng, (200, 160, 130), 25)
        self.hat = jitter(rng, rng.choice(SHIRTS), 20) if rng.random() < 0.5 else None
        self.pack = jitter(rng, (60, 70, 50), 20) if rng.random() < 0.5 else None
        self.facing_left = facing_left

    def sprite(self, phase: float) -> Sprite:
        H = self.height
        w = int(H * 0.5)
        img = Image.new("RGB", (w, H + 4), self.shirt)
        mask = Image.new("L", img.size, 0)
        paint = Painter(img, mask)
        cx, head_r = w / 2, H * 0.065
        swing = math.sin(phase) * H * 0.12
        for s in (1, -1):  # legs
            paint.line(((cx, H * 0.55), (cx + s * swing, H)), self.trousers, int(H * 0.07))
        paint.rectangle((cx - H * 0.1, H * 0.17, cx + H * 0.1, H * 0.57), self.shirt)
        if self.pack is not None:
            paint.rectangle((cx - H * 0.17, H * 0.2, cx - H * 0.08, H * 0.45), self.pack)
        for s in (1, -1):  # arms
            paint.line(((cx, H * 0.2), (cx - s * swing * 0.7, H * 0.5)), self.shirt, int(H * 0.045))
        paint.ellipse((cx - head_r, H * 0.02, cx + head_r, H * 0.02 + 2 * head_r), self.skin)
        if self.hat is not None:
            paint.rectangle((cx - head_r * 1.2, H * 0.01, cx + head_r * 1.2, H * 0.06), self.hat)
        eye = (int(cx + head_r * 0.5), int(H * 0.02 + head_r))
        if self.facing_left:
            img, mask = mirror(img), mirror(mask)
            eye = (w - 1 - eye[0], eye[1])
        return Sprite(img, mask, eye)


class Painter:
    """Draws each shape in its colour on the image and opaque on the alpha mask."""

    def __init__(self, img: Image.Image, mask: Image.Image) -> None:
        self.img, self.mask = ImageDraw.Draw(img), ImageDraw.Draw(mask)

    def line(self, xy: Sequence[tuple[float, float]], colour: RGB, width: int) -> None:
        self.img.line(xy, fill=colour, width=width)
        self.mask.line(xy, fill=255, width=width)

    def rectangle(self, box: tuple[float, float, float, float], colour: RGB) -> None:
        self.img.rectangle(box, fill=colour)
        self.mask.rectangle(box, fill=255)

    def ellipse(self, box: tuple[float, float, float, float], colour: RGB) -> None:
        self.img.ellipse(box, fill=colour)
        self.mask.ellipse(box, fill=255)


def mirror(img: Image.Image) -> Image.Image:
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


SHIRTS: tuple[RGB, ...] = (
    (40, 90, 160),
    (180, 40, 40),
    (60, 110, 60),
    (220, 200, 60),
    (50, 50, 50),
    (230, 120, 30),
)
TROUSERS: tuple[RGB, ...] = ((40, 40, 45), (70, 80, 60), (30, 50, 100), (110, 90, 60))


# ---------------------------------------------------------------------------------------------
# Bursts


@dataclass(frozen=True)
class BurstSpec:
    """Everything decided up front for one burst (deterministic from the seed)."""

    label: str
    night: bool
    n_frames: int
    seed: tuple[int, int, int]
    far: bool = False  # drawn at FAR_SCALE of the usual size


def burst_rng(seed: int, label: str, index: int) -> Rng:
    return np.random.default_rng([seed, CLASSES.index(label), index])


def render_burst(spec: BurstSpec, size: tuple[int, int]) -> list[Image.Image]:
    """The frames of one burst, as RGB images (greyscale in all three channels at night)."""
    frames, _ = render_burst_boxes(spec, size)
    return frames


def render_burst_boxes(
    spec: BurstSpec, size: tuple[int, int]
) -> tuple[list[Image.Image], list[list[float]]]:
    """`render_burst` and the animal's visible box per frame (normalised [x, y, w, h])."""
    rng = np.random.default_rng(list(spec.seed))
    w, h = size
    scene = make_scene(rng, w, h, spec.night)
    scale = rng.uniform(*FAR_SCALE) if spec.far else 1.0
    actor = make_actor(spec.label, rng, w, h, scale)
    path = actor_path(rng, w, h, scene.horizon, spec.n_frames, actor)
    boxes: list[list[float]] = []
    sway0, phase0 = rng.uniform(-0.3, 0.3), rng.uniform(0, 2 * math.pi)
    frames = []
    for i in range(spec.n_frames):
        img = Image.fromarray(scene.background.astype(np.uint8), "RGB")
        if actor is not None and path is not None:
            sprite = actor.sprite(phase0 + i * 1.7)
            x, y = path[i]
            img.paste(sprite.image, (x, y), sprite.alpha)
            boxes.append(visible_box(sprite.alpha, (x, y), size))
            if spec.night and rng.random() < 0.7:
                ex, ey = x + sprite.eye[0], y + sprite.eye[1]
                ImageDraw.Draw(img).ellipse((ex - 2, ey - 2, ex + 2, ey + 2), fill=(255, 255, 255))
        draw_foreground(img, scene, sway0 + 0.25 * math.sin(i * 1.3 + phase0))
        arr = apply_light(np.asarray(img, np.float32), rng, spec.night, float(rng.random()))
        frames.append(Image.fromarray(arr.astype(np.uint8), "RGB"))
    return frames, boxes


def visible_box(alpha: Image.Image, at: tuple[int, int], size: tuple[int, int]) -> list[float]:
    """The normalised [x, y, w, h] of a sprite's opaque pixels pasted at ``at`` in a frame."""
    bbox = alpha.point([0] * 128 + [255] * 128).getbbox() or (0, 0, 1, 1)
    w, h = size
    x0, y0 = max(0, at[0] + bbox[0]), max(0, at[1] + bbox[1])
    x1, y1 = min(w, at[0] + bbox[2]), min(h, at[1] + bbox[3])
    return [
        round(x0 / w, 4),
        round(y0 / h, 4),
        round(max(1, x1 - x0) / w, 4),
        round(max(1, y1 - y0) / h, 4),
    ]


Actor = Quadruped | Person


def make_actor(label: str, rng: Rng, w: int, h: int, scale: float = 1.0) -> Actor | None:
    facing_left = bool(rng.random() < 0.5)
    if label == "empty":
        return None
    if label == "person":
        return Person(max(12, int(h * rng.uniform(0.45, 0.85) * scale)), facing_left, rng)
    lo, hi = SPECIES_SIZE[label]
    animal = Quadruped(label, max(12, int(w * rng.uniform(lo, hi) * scale)), facing_left, rng)
    while animal.coat.height > 0.92 * h:  # tall animals (a deer close up) must fit the frame
        animal = Quadruped(label, int(animal.body.length * 0.9), facing_left, rng)
    return animal


def actor_path(
    rng: Rng, w: int, h: int, horizon: int, n: int, actor: Actor | None
) -> list[tuple[int, int]] | None:
    """Top-left positions per frame: walking across, mostly (>= ~60 %) inside the frame."""
    if actor is None:
        return None
    sw, sh = actor.sprite(0.0).image.size
    low = min(max(horizon + 0.3 * (h - horizon), sh * 0.9), h - 3)
    y = int(rng.uniform(low, h - 2) - sh)
    start = rng.uniform(-sw * 0.3, w - sw * 0.7)
    speed = rng.uniform(0.04, 0.12) * w * (-1 if actor.facing_left else 1)
    xs = [start + speed * i for i in range(n)]
    lo, hi = -sw * 0.35, w - sw * 0.65
    if min(xs) < lo or max(xs) > hi:  # shift the walk so every frame keeps the animal in view
        shift = (lo - min(xs)) if min(xs) < lo else (hi - max(xs))
        xs = [x + shift for x in xs]
        if min(xs) < lo or max(xs) > hi:  # walk too long for the frame: slow down
            xs = list(np.linspace(max(lo, min(xs)), min(hi, max(xs)), n))
    return [(int(x), int(y + rng.uniform(-2, 2))) for x in xs]


def burst_json(spec: BurstSpec, rng: Rng, seed: int) -> dict[str, object]:
    """The ``burst.json`` record: PIR timing, ground-truth label, night flag and seed."""
    hour = int(rng.choice([20, 22, 23, 1, 3, 5])) if spec.night else int(rng.integers(8, 17))
    when = EPOCH + timedelta(
        days=int(rng.integers(0, 120)), hours=hour, seconds=int(rng.integers(0, 3600))
    )
    interval = float(rng.choice([0.25, 0.5, 0.5, 1.0]))
    extra = rng.uniform(0.3, spec.n_frames * interval, int(rng.integers(0, 3)))
    pulses = [0.0, *sorted(round(float(t), 2) for t in extra)]
    return {
        "schema": SCHEMA,
        "device_id": "sim-01",
        "trigger_time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "frame_interval_s": interval,
        "pir_pulses": pulses,
        "label": spec.label,
        "night": spec.night,
        "seed": seed,
        "generator": GENERATOR,
        **({"far": True} if spec.far else {}),
    }


def plan(seed: int, per_class: int, classes: Sequence[str], far: int = 0) -> list[BurstSpec]:
    """Burst specs: alternately day and night per class, 3-8 frames each; then ``far`` bursts
    per class of far animals (indices from `FAR_INDEX`, so adding them changes no other burst).
    """
    specs = []
    for label in classes:
        for i in range(per_class):
            specs.append(_spec(seed, label, i, far=False))
    for label in classes:
        for i in range(far):
            specs.append(_spec(seed, label, FAR_INDEX + i, far=True))
    return specs


def _spec(seed: int, label: str, index: int, far: bool) -> BurstSpec:
    rng = burst_rng(seed, label, index)
    night = index % 2 == 1
    return BurstSpec(
        label, night, int(rng.integers(3, 9)), (seed, CLASSES.index(label), index), far
    )


def write_burst(out: Path, spec: BurstSpec, size: tuple[int, int], crops: int = 0) -> Path:
    seed, _, index = spec.seed
    name = f"{slug(spec.label)}{'-far' if spec.far else ''}-s{seed}-{index:03d}"
    bdir = out / spec.label / name
    bdir.mkdir(parents=True, exist_ok=True)
    frames, boxes = render_burst_boxes(spec, size)
    for i, frame in enumerate(frames):
        frame.save(bdir / f"{i:03d}.jpg", quality=JPEG_QUALITY, optimize=True)
    meta = burst_json(spec, np.random.default_rng([*spec.seed, 99]), seed)
    if spec.far and boxes:
        meta["boxes"] = boxes
    (bdir / "burst.json").write_text(json.dumps(meta, indent=2) + "\n")
    if crops:
        rng = np.random.default_rng([*spec.seed, 77])
        for i, crop in enumerate(region_crops(frames, boxes, crops, rng)):
            crop.save(bdir / f"crop-{i:03d}.jpg", quality=JPEG_QUALITY)
    return bdir


def region_crops(
    frames: Sequence[Image.Image], boxes: Sequence[Sequence[float]], size: int, rng: Rng
) -> list[Image.Image]:
    """Training images as the regions stage cuts them (`camtrap.core.crops`): around the
    animal's box, jittered in place and scale as motion boxes are, one per frame; in a burst
    without an animal, random squares of the scene. ``size`` is the crops' side in pixels."""
    from camtrap.core.crops import cut
    from camtrap.core.regions import Region, clipped_box

    out = []
    for i, frame in enumerate(frames):
        if boxes:
            x, y, w, h = boxes[i]
            s = rng.uniform(0.85, 1.3)
            cx = x + w / 2 + rng.uniform(-0.1, 0.1) * w
            cy = y + h / 2 + rng.uniform(-0.1, 0.1) * h
            box = clipped_box(cx - s * w / 2, cy - s * h / 2, cx + s * w / 2, cy + s * h / 2)
        else:
            side = rng.uniform(0.1, 0.5)
            x, y = rng.uniform(0, 1 - side), rng.uniform(0.3, 1 - side)
            box = clipped_box(x, y, x + side * frame.height / frame.width, y + side)
        pixels = cut(frame, Region(box, "motion"), (size, size))
        out.append(Image.fromarray(pixels))
    return out


def generate(
    out: Path,
    seed: int,
    per_class: int,
    size: tuple[int, int] = (320, 240),
    classes: Sequence[str] = CLASSES,
    far: int = 0,
    far_size: tuple[int, int] | None = None,
    crops: int = 0,
) -> list[Path]:
    """Write ``per_class`` bursts of each class under ``out`` (and ``far`` far-animal bursts per
    class, at ``far_size``, default ``size``; with ``crops``, region crops of that side beside
    each burst's frames, for training); return the burst directories."""
    return [
        write_burst(out, spec, (far_size or size) if spec.far else size, crops)
        for spec in plan(seed, per_class, classes, far)
    ]


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size: want WxH like 320x240, got {text!r}") from None
    if not (64 <= w <= 2048 and 64 <= h <= 2048):
        raise argparse.ArgumentTypeError(f"--size: each side must be 64..2048, got {text!r}")
    return w, h


def parse_classes(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in CLASSES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"--classes: unknown {unknown}; known: {', '.join(CLASSES)}"
        )
    return names


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tools.gen_bursts", description="Write procedural recorded bursts."
    )
    ap.add_argument("out", type=Path, help="output directory (created)")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--per-class", type=int, default=3, help="bursts per class (default 3)")
    ap.add_argument("--size", type=parse_size, default=(320, 240), help="frame size WxH (320x240)")
    ap.add_argument("--classes", type=parse_classes, default=CLASSES, help="comma-separated subset")
    ap.add_argument("--far", type=int, default=0, help="far-animal bursts per class (default 0)")
    ap.add_argument("--far-size", type=parse_size, help="far bursts' frame size (default --size)")
    ap.add_argument(
        "--crops",
        type=int,
        default=0,
        metavar="PX",
        help="also write region crops of this side (training sets only: replay reads them)",
    )
    args = ap.parse_args(argv)
    if args.per_class < 0 or args.far < 0 or args.per_class + args.far < 1:
        ap.error("--per-class and --far must be >= 0, and one of them >= 1")
    dirs = generate(
        args.out,
        args.seed,
        args.per_class,
        args.size,
        args.classes,
        args.far,
        args.far_size,
        args.crops,
    )
    frames = sum(len(list(d.glob("*.jpg"))) for d in dirs)
    print(f"wrote {len(dirs)} bursts ({frames} frames) under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
