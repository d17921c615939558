"""`camtrap adapt DATA --base EXTRACTOR --target NAME --out DIR`: a site's own classifier head.

The shell around `camtrap.core.adapt`: read the folder-per-label photos (`camtrap.datasets`,
the training toolkit's reader and splits), embed each photo once with the int8 extractor
(decoded upright, squashed to its input like the service does), fit and calibrate the head,
and write a model directory the service runs like any other:

    DIR/model.json            card: extractor sha256, head sha256, labels, decision, metrics
    DIR/labels.txt            the head's labels (DATA's folder names)
    DIR/head.npz              the head (numpy arrays, no pickles)
    DIR/<extractor>.tflite    a copy of the base, so the directory deploys as it is

Bad input is one `UsageError`/`ModelError` line naming the folder or file: fewer than two
labels, an empty label folder, a target that is no label, a base that is not an extractor.
Photos that cannot be decoded are skipped and counted.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from camtrap.adapters.embedding import EmbeddingExtractor, tensor_facts
from camtrap.core.adapt import Adapted, CurvePoint, Part, adapt, learning_curve
from camtrap.core.modelcard import new_card, parse_card
from camtrap.core.operating_point import FieldRates, MinRecall
from camtrap.core.preprocess import resize
from camtrap.core.targets import matches
from camtrap.datasets import (
    DatasetError,
    Sample,
    SplitBy,
    is_image,
    labels_of,
    load_folder,
    split_samples,
)
from camtrap.errors import BadFrameError, UsageError
from camtrap.sim.replay_camera import read_frame

HEAD_FILE = "head.npz"
LABELS_FILE = "labels.txt"
CARD_FILE = "model.json"


@dataclass(frozen=True)
class Embedded:
    samples: tuple[Sample, ...]
    x: np.ndarray
    skipped: int
    seconds: float


@dataclass(frozen=True)
class AdaptRun:
    adapted: Adapted
    labels: tuple[str, ...]
    counts: dict[str, dict[str, int]]
    split_by: str
    embedded: Embedded
    fit_seconds: float
    out: Path
    parts: tuple[Part, Part, Part]  # train, val, test


def read_data(data: Path) -> tuple[list[Sample], tuple[str, ...]]:
    """The photos under ``data/<label>/``; an empty label folder or a single label is an error."""
    samples = load_folder(data)
    for cdir in sorted(p for p in data.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not any(is_image(p) for p in cdir.rglob("*")):
            raise DatasetError(f"{cdir}: empty label folder (no .jpg .jpeg .png .bmp in it)")
    labels: tuple[str, ...] = tuple(labels_of(samples))
    if len(labels) < 2:
        raise DatasetError(
            f"{data}: only one label ({', '.join(map(repr, labels))}); adapt needs the target "
            "and at least one other label (negatives: empty scenes, other animals, people)"
        )
    return samples, labels


def target_index(target: str, labels: Sequence[str], data: Path) -> int:
    found = [i for i, label in enumerate(labels) if matches(target, label)]
    if not found:
        raise UsageError(f"{data}: target {target!r} is none of the labels {list(labels)}")
    return found[0]


def embed_all(
    samples: Sequence[Sample], extractor: EmbeddingExtractor, progress: bool = True
) -> Embedded:
    """Every decodable photo's embedding; the others are skipped and counted."""
    from tqdm import tqdm

    kept, vectors, skipped = [], [], 0
    start = time.monotonic()
    disable = None if progress else True  # None: tqdm draws the bar on a terminal only
    for s in tqdm(samples, desc="embedding", unit="photo", file=sys.stderr, disable=disable):
        try:
            frame = read_frame(s.path, 0, 0.0, extractor.input_size)
        except BadFrameError:
            skipped += 1
            continue
        vectors.append(extractor.embed(resize(frame.pixels, extractor.input_size)))
        kept.append(s)
    x = np.stack(vectors) if vectors else np.zeros((0, extractor.dims), np.float32)
    return Embedded(tuple(kept), x, skipped, time.monotonic() - start)


def part_of(samples: Sequence[Sample], index: dict[Path, int], e: Embedded, labels: Any) -> Part:
    rows = [index[s.path] for s in samples]
    y = np.array([labels.index(s.label) for s in samples], np.int64)
    return Part(e.x[rows], y, tuple(s.sequence for s in samples))


def run_adapt(
    data: Path,
    base: Path,
    target: str,
    out: Path,
    min_recall: float = 0.97,
    seed: int = 0,
    split_by: SplitBy = "auto",
    min_per_class: int = 8,
    rates: FieldRates | None = None,
    progress: bool = True,
    num_threads: int = 2,
) -> AdaptRun:
    """Embed, split, fit, calibrate and write the model directory."""
    samples, labels = read_data(data)
    t = target_index(target, labels, data)
    extractor = EmbeddingExtractor.open(base, num_threads)
    embedded = embed_all(samples, extractor, progress)
    if embedded.skipped == len(samples):
        raise DatasetError(f"{data}: none of the {len(samples)} photos could be decoded")
    split = split_samples(embedded.samples, seed, by=split_by, min_per_class=min_per_class)
    index = {s.path: i for i, s in enumerate(embedded.samples)}
    train, val, test = (
        part_of(p, index, embedded, list(labels)) for p in (split.train, split.val, split.test)
    )
    start = time.monotonic()
    adapted = adapt(train, val, test, labels, t, MinRecall(min_recall), rates or FieldRates())
    seconds = time.monotonic() - start
    run = AdaptRun(
        adapted, labels, split.counts(), split.by, embedded, seconds, out, (train, val, test)
    )
    write_model_dir(run, base, extractor.dims)
    return run


def curve(run: AdaptRun, sizes: Sequence[int], repeats: int = 5, seed: int = 0) -> list[CurvePoint]:
    """The learning curve of a finished run: heads fitted on ``n`` training photos per label
    (its penalty and threshold), scored on its test split."""
    train, _, test = run.parts
    a = run.adapted
    return learning_curve(
        train, test, run.labels, a.target, a.rule.threshold, sizes, a.l2, repeats, seed
    )


def write_model_dir(run: AdaptRun, base: Path, dims: int) -> None:
    out = run.out
    try:
        out.mkdir(parents=True, exist_ok=True)
        head_path = out / HEAD_FILE
        arrays = run.adapted.head.to_arrays()  # plain arrays: loaded with allow_pickle=False
        np.savez(head_path, **arrays)  # pyright: ignore[reportArgumentType]
        (out / LABELS_FILE).write_text("\n".join(run.labels) + "\n", encoding="utf-8")
        if base.resolve() != (out / base.name).resolve():
            shutil.copyfile(base, out / base.name)
        card = adapted_card(run, out / base.name, head_path, dims)
        (out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    except OSError as e:
        raise UsageError(f"{out}: cannot write the model directory: {e}") from None


def adapted_card(run: AdaptRun, extractor: Path, head_path: Path, dims: int) -> dict[str, Any]:
    facts, sha = tensor_facts(extractor)
    a = run.adapted
    card = new_card(
        name=run.out.name or "adapted",
        file=extractor.name,
        sha256=sha,
        facts=facts,
        labels=run.labels,
        targets=(run.labels[a.target],),
        rule=a.rule,
        description=(
            f"camtrap adapt: a {len(run.labels)}-label head on {extractor.name} embeddings, "
            f"trained on {sum(run.counts['train'].values())} photos"
        ),
    )
    card["background_class"] = False
    card["output"] = {"dtype": "float32", "classes": len(run.labels)}
    card["head"] = {
        "file": head_path.name,
        "sha256": hashlib.sha256(head_path.read_bytes()).hexdigest(),
        "embedding": dims,
        "classes": len(run.labels),
    }
    card["metrics"] = {
        "operating_point": {**a.chosen.card_metrics(), "split": "val"},
        "held_out": {**a.held_out.card_metrics(), "split": "test"},
    }
    card["training"] = training_summary(run, extractor)
    parse_card(card, str(run.out / CARD_FILE))
    return card


def training_summary(run: AdaptRun, extractor: Path) -> dict[str, Any]:
    e = run.embedded
    return {
        "tool": "camtrap adapt",
        "base": extractor.name,
        "head": "class-balanced logistic regression (numpy)",
        "l2": run.adapted.l2,
        "data": {
            "images": run.counts,
            "split_by": run.split_by,
            "skipped": {"undecodable": e.skipped},
            "per_label": dict(sorted(Counter(s.label for s in e.samples).items())),
        },
        "seconds": {"embed": round(e.seconds, 2), "fit": round(run.fit_seconds, 2)},
    }
