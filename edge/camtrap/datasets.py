"""Training datasets: a folder per class or COCO Camera Traps JSON, split by sequence/location.

Shared by the training toolkit (``python -m tools.train``) and `camtrap adapt`, so both split
alike. No TensorFlow here, so the dataset rules are testable on any machine. A dataset is a list of
``Sample`` values (image path, label, sequence, location). Splits never cut a sequence: whole
groups (locations when the data has them, else sequences) go to train, val or test, so frames
of one burst never sit on both sides of an evaluation.

    samples, skipped = load_folder(Path("out/train"))
    split = split_samples(samples, seed=0)
    images, labels, failed = decode_images(split.train, labels_of(samples), (96, 96))
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageOps

from camtrap.errors import UsageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
SplitBy = Literal["auto", "location", "sequence"]
EMPTY = "empty"


class DatasetError(UsageError):
    """The dataset is unusable: dangling ids, unknown categories, too few examples."""


@dataclass(frozen=True)
class Sample:
    """One labelled image. ``sequence`` groups the frames of a burst; ``location`` a site."""

    path: Path
    label: str
    sequence: str
    location: str | None = None
    frame: int = 0


@dataclass(frozen=True)
class Split:
    """Train / validation / test samples; no sequence (or location) is in two of them."""

    train: tuple[Sample, ...]
    val: tuple[Sample, ...]
    test: tuple[Sample, ...]
    by: str  # "location" or "sequence"

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per class per split, for the model card."""
        return {
            name: dict(sorted(Counter(s.label for s in part).items()))
            for name, part in (("train", self.train), ("val", self.val), ("test", self.test))
        }


@dataclass
class Skipped:
    """Images left out of a dataset, by reason (counted, never silent)."""

    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, reason: str, n: int = 1) -> None:
        self.reasons[reason] += n

    @property
    def total(self) -> int:
        return sum(self.reasons.values())


def is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


# ---------------------------------------------------------------------------------------------
# Folder per class


def load_folder(root: Path) -> list[Sample]:
    """Samples from ``root/<label>/**/image``: the folder name is the label.

    A directory holding images is one sequence (a recorded burst); an optional ``location``
    key in a ``burst.json`` beside the frames names its site.
    """
    if not root.is_dir():
        raise DatasetError(f"{root}: not a directory")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DatasetError(f"{root}: no class folders (want {root}/<label>/<images>)")
    samples = []
    for cdir in classes:
        for path in sorted(p for p in cdir.rglob("*") if is_image(p)):
            rel = path.parent.relative_to(root).as_posix()
            sequence = rel if path.parent != cdir else f"{rel}/{path.stem}"
            samples.append(Sample(path, cdir.name, sequence, folder_location(path.parent)))
    if not samples:
        raise DatasetError(f"{root}: no images (.jpg .jpeg .png .bmp) under the class folders")
    return samples


def folder_location(directory: Path) -> str | None:
    meta = directory / "burst.json"
    if not meta.is_file():
        return None
    try:
        location = json.loads(meta.read_text()).get("location")
    except (OSError, ValueError, AttributeError):
        return None
    return str(location) if location is not None else None


# ---------------------------------------------------------------------------------------------
# COCO Camera Traps


def load_coco(json_path: Path, image_root: Path, skipped: Skipped | None = None) -> list[Sample]:
    """Samples from a COCO Camera Traps file (``images``, ``annotations``, ``categories``).

    Category id 0 is ``empty``. An image whose annotations name different categories is
    skipped as ``ambiguous``, one with none as ``unannotated``. Annotations that point at
    image ids or category ids the file does not define make the whole file refused.
    """
    skipped = skipped if skipped is not None else Skipped()
    doc = read_coco(json_path)
    categories = coco_categories(json_path, doc)
    images = {img["id"]: img for img in doc["images"]}
    check_references(json_path, doc["annotations"], images, categories)
    cats_of: dict[Any, set[Any]] = defaultdict(set)
    for ann in doc["annotations"]:
        cats_of[ann["image_id"]].add(ann["category_id"])
    samples = []
    for image_id, img in images.items():
        cats = cats_of.get(image_id, set())
        if len(cats) != 1:
            skipped.add("ambiguous" if cats else "unannotated")
            continue
        samples.append(coco_sample(image_root, img, categories[cats.pop()]))
    return samples


def read_coco(json_path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(json_path.read_text())
    except FileNotFoundError:
        raise DatasetError(f"{json_path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise DatasetError(f"{json_path}: not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise DatasetError(f"{json_path}: want a JSON object with images, annotations, categories")
    for key in ("images", "annotations", "categories"):
        if not isinstance(doc.get(key), list):
            raise DatasetError(f"{json_path}: {key}: missing or not a list")
    for key, needed in (
        ("images", ("id", "file_name")),
        ("annotations", ("image_id", "category_id")),
        ("categories", ("id", "name")),
    ):
        for i, item in enumerate(doc[key]):
            if not isinstance(item, dict) or any(k not in item for k in needed):
                raise DatasetError(f"{json_path}: {key}[{i}]: needs {', '.join(needed)}")
    return doc


def coco_categories(json_path: Path, doc: Mapping[str, Any]) -> dict[Any, str]:
    """Category id -> label; id 0 is always ``empty`` (the COCO Camera Traps convention)."""
    categories = {c["id"]: str(c["name"]) for c in doc["categories"]}
    categories[0] = EMPTY
    if len(set(categories.values())) != len(categories):
        dupes = sorted(n for n, k in Counter(categories.values()).items() if k > 1)
        raise DatasetError(f"{json_path}: categories: duplicate names {dupes}")
    return categories


def check_references(
    json_path: Path,
    annotations: Sequence[Mapping[str, Any]],
    images: Mapping[Any, Any],
    categories: Mapping[Any, str],
) -> None:
    """Refuse annotations that name undefined image or category ids, listing them."""
    dangling = sorted({str(a["image_id"]) for a in annotations if a["image_id"] not in images})
    if dangling:
        raise DatasetError(f"{json_path}: annotations: image_id not in images: {shorten(dangling)}")
    unknown = sorted(
        {str(a["category_id"]) for a in annotations if a["category_id"] not in categories}
    )
    if unknown:
        raise DatasetError(f"{json_path}: annotations: unknown category_id: {shorten(unknown)}")


def shorten(ids: Sequence[str], limit: int = 10) -> str:
    more = f" (+{len(ids) - limit} more)" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


def coco_sample(image_root: Path, img: Mapping[str, Any], label: str) -> Sample:
    location = img.get("location")
    return Sample(
        path=image_root / str(img["file_name"]),
        label=label,
        sequence=str(img.get("seq_id", f"image:{img['id']}")),
        location=None if location is None else str(location),
        frame=int(img.get("frame_num", 0) or 0),
    )


# ---------------------------------------------------------------------------------------------
# Splits and checks


def labels_of(samples: Iterable[Sample]) -> list[str]:
    """Sorted class labels; ``empty`` is an ordinary class."""
    return sorted({s.label for s in samples})


def group_key(sample: Sample, by: str) -> str:
    if by == "location":
        return f"location:{sample.location}"
    return f"sequence:{sample.sequence}"


def choose_split_by(samples: Sequence[Sample], by: SplitBy) -> str:
    if by != "auto":
        if by == "location" and any(s.location is None for s in samples):
            raise DatasetError("--split-by location: some images have no location")
        return by
    locations = {s.location for s in samples}
    return "location" if None not in locations and len(locations) >= 3 else "sequence"


def split_samples(
    samples: Sequence[Sample],
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    by: SplitBy = "auto",
    min_per_class: int = 8,
) -> Split:
    """Assign whole groups (locations or sequences) to train, val and test.

    Groups are visited in a seeded random order and each goes to the split that most lacks
    the classes it holds (relative to that split's share of each class), so every class with
    two or more groups ends up both in train and held out. A class with fewer than
    ``min_per_class`` images or fewer than two groups is an error naming it.
    """
    check_class_sizes(samples, min_per_class)
    key = choose_split_by(samples, by)
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[group_key(s, key)].append(s)
    check_group_counts(groups, key)
    names = sorted(groups)
    random.Random(seed).shuffle(names)
    fractions = {
        "test": test_fraction,
        "train": 1 - val_fraction - test_fraction,
        "val": val_fraction,
    }
    totals = Counter(s.label for s in samples)
    have: dict[str, Counter[str]] = {p: Counter() for p in fractions}
    parts: dict[str, list[Sample]] = {p: [] for p in fractions}
    for g in names:
        counts = Counter(m.label for m in groups[g])
        part = neediest(counts, fractions, totals, have)
        have[part].update(counts)
        parts[part].extend(groups[g])
    check_held_out(have, totals, key)
    return Split(tuple(parts["train"]), tuple(parts["val"]), tuple(parts["test"]), key)


def neediest(
    counts: Counter[str],
    fractions: Mapping[str, float],
    totals: Counter[str],
    have: Mapping[str, Counter[str]],
) -> str:
    """The split whose relative shortfall in this group's classes is largest (ties: test, train,
    val, so a class with two groups gets one in test and one in train)."""

    def need(part: str) -> float:
        want = {c: fractions[part] * totals[c] for c in counts}
        return sum(n * (want[c] - have[part][c]) / want[c] for c, n in counts.items())

    order = [p for p in ("test", "train", "val") if fractions[p] > 0]
    return max(order, key=lambda p: (need(p), -order.index(p)))


def check_class_sizes(samples: Sequence[Sample], min_per_class: int) -> None:
    counts = Counter(s.label for s in samples)
    if len(counts) < 2:
        raise DatasetError(f"need at least 2 classes, found {sorted(counts) or 'none'}")
    small = sorted(f"{label!r} ({n})" for label, n in counts.items() if n < min_per_class)
    if small:
        raise DatasetError(
            f"too few images (need >= {min_per_class} per class): {', '.join(small)}"
        )


def check_group_counts(groups: Mapping[str, Sequence[Sample]], key: str) -> None:
    per_class: Counter[str] = Counter()
    for members in groups.values():
        per_class.update({m.label for m in members})
    few = sorted(f"{label!r} ({n})" for label, n in per_class.items() if n < 2)
    if few:
        raise DatasetError(
            f"too few {key}s to hold one out (need >= 2 per class): {', '.join(few)}"
        )


def check_held_out(have: Mapping[str, Counter[str]], totals: Counter[str], key: str) -> None:
    lacking = sorted(
        label
        for label in totals
        if not have["train"][label] or not (have["val"][label] or have["test"][label])
    )
    if lacking:
        raise DatasetError(
            f"could not put these classes both in train and held out by {key}: "
            f"{', '.join(map(repr, lacking))}; add {key}s or use --split-by sequence"
        )


# ---------------------------------------------------------------------------------------------
# Decoding


def decode_image(path: Path, size: tuple[int, int]) -> np.ndarray:
    """An H x W x 3 uint8 array, upright (EXIF orientation) and squashed to ``size`` =
    (width, height), like the service decodes a frame.

    Raises ``OSError`` or ``ValueError`` when the file is missing or not a decodable image.
    """
    with Image.open(path) as img:
        img.load()
        rgb = (ImageOps.exif_transpose(img) or img).convert("RGB")
    return np.asarray(rgb.resize(size, Image.Resampling.BILINEAR), dtype=np.uint8)


def decode_images(
    samples: Sequence[Sample],
    labels: Sequence[str],
    size: tuple[int, int],
    skipped: Skipped | None = None,
) -> tuple[np.ndarray, np.ndarray, list[Sample]]:
    """Decode samples into ``N x H x W x 3`` uint8 and label indices; undecodable ones are
    skipped and counted under ``undecodable``. Returns the samples actually kept too."""
    skipped = skipped if skipped is not None else Skipped()
    index = {label: i for i, label in enumerate(labels)}
    images, targets, kept = [], [], []
    for s in samples:
        try:
            images.append(decode_image(s.path, size))
        except (OSError, ValueError, Image.DecompressionBombError):
            skipped.add("undecodable")
            continue
        targets.append(index[s.label])
        kept.append(s)
    w, h = size
    arr = np.stack(images) if images else np.zeros((0, h, w, 3), np.uint8)
    return arr, np.asarray(targets, dtype=np.int64), kept
