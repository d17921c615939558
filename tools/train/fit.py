"""The ``fit`` and ``evaluate`` commands: dataset -> Keras -> int8 TFLite -> model directory.

``run_fit`` imports TensorFlow (inside the function); ``run_evaluate`` needs only LiteRT.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from camtrap.core.targets import resolve_targets
from camtrap.core.verdict import Rule
from camtrap.datasets import (
    DatasetError,
    Sample,
    Skipped,
    Split,
    decode_images,
    labels_of,
    load_coco,
    load_folder,
    split_samples,
)
from camtrap.errors import UsageError
from tools.train.card import (
    INPUT_SCALE,
    INPUT_ZERO_POINT,
    default_decision,
    make_card,
    read_card,
    write_card,
    write_model_dir,
)
from tools.train.evaluate import (
    TfliteClassifier,
    agreement,
    burst_summary,
    evaluate_bursts,
    find_bursts,
    frame_metrics,
)

ARCHS = ("small-cnn", "mobilenetv2", "mobilenetv3small")


def check_fit_args(args: argparse.Namespace) -> None:
    if args.arch not in ARCHS:
        raise UsageError(f"--arch: want one of {', '.join(ARCHS)}, got {args.arch!r}")
    if not 96 <= args.size <= 224:
        raise UsageError(f"--size: want 96..224, got {args.size}")
    if args.coco and not args.images:
        raise UsageError("--coco needs --images (the folder the file_name paths are under)")
    if args.arch == "small-cnn" and args.weights != "none":
        raise UsageError("--weights imagenet is for the MobileNets, not small-cnn")
    if args.epochs < 1 or args.batch_size < 1:
        raise UsageError("--epochs and --batch-size must be >= 1")
    if not 0 <= args.threshold <= 1 or args.k < 1:
        raise UsageError("--threshold must be in 0..1 and --k >= 1")


def load_samples(args: argparse.Namespace, skipped: Skipped) -> list[Sample]:
    if args.coco:
        return load_coco(Path(args.coco), Path(args.images), skipped)
    return load_folder(Path(args.data))


def generator_seeds(samples: list[Sample]) -> list[int]:
    """Seeds of ``tools.gen_bursts`` bursts in the dataset (from their burst.json)."""
    seeds = set()
    for d in {s.path.parent for s in samples}:
        meta = d / "burst.json"
        if meta.is_file():
            try:
                seed = json.loads(meta.read_text()).get("seed")
            except (OSError, ValueError):
                continue
            if isinstance(seed, int):
                seeds.add(seed)
    return sorted(seeds)


def decode_split(split: Split, labels: list[str], size: int, skipped: Skipped) -> dict[str, Any]:
    parts = {}
    for name in ("train", "val", "test"):
        x, y, kept = decode_images(getattr(split, name), labels, (size, size), skipped)
        parts[name] = (x, y, kept)
    missing = sorted(set(labels) - {labels[i] for i in set(parts["train"][1].tolist())})
    if missing:
        raise DatasetError(f"no decodable training images for class(es): {', '.join(missing)}")
    return parts


def run_fit(args: argparse.Namespace) -> int:
    """Dataset -> split -> train -> int8 export -> held-out metrics -> model directory."""
    started = time.monotonic()
    check_fit_args(args)
    skipped = Skipped()
    samples = load_samples(args, skipped)
    labels = labels_of(samples)
    resolve_targets(args.target, labels)
    split = split_samples(
        samples,
        seed=args.seed,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        by=args.split_by,
        min_per_class=args.min_per_class,
    )
    parts = decode_split(split, labels, args.size, skipped)
    tflite, metrics, training = train_and_export(args, labels, parts)
    training["data"] = data_summary(args, split, samples, skipped)
    training["duration_s"] = round(time.monotonic() - started, 1)
    out = Path(args.out)
    card = make_card(
        name=args.name or out.name,
        version=args.version,
        sha256="",
        labels=labels,
        size=args.size,
        input_quant=(INPUT_SCALE, INPUT_ZERO_POINT),
        targets=args.target,
        decision=default_decision(args.k, args.threshold),
        metrics={**metrics, "held_out": {**metrics["held_out"], "split_by": split.by}},
        training=training,
    )
    write_model_dir(out, tflite, labels, card)
    print_fit_summary(out, tflite, metrics, skipped, training["duration_s"])
    return 0


def import_tensorflow_tools() -> tuple[Any, Any]:
    """(model, export) modules; a missing TensorFlow is a usage error saying what to install."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        from tools.train import export, model
    except ImportError as e:
        raise UsageError(f"training needs TensorFlow (pip install -e '.[train]'): {e}") from None
    return model, export


def train_and_export(
    args: argparse.Namespace, labels: list[str], parts: dict[str, Any]
) -> tuple[bytes, dict[str, Any], dict[str, Any]]:
    """Train, convert to int8 and measure both on the test split: (tflite, metrics, training)."""
    m, export = import_tensorflow_tools()
    settings = m.TrainSettings(
        arch=args.arch,
        size=args.size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        weights=args.weights,
        fine_tune_epochs=args.fine_tune_epochs,
        infrared_fraction=args.infrared_fraction,
        seed=args.seed,
        threads=args.threads,
    )
    m.configure(settings)
    net = m.build(settings, len(labels))
    (x_train, y_train, _), (x_val, y_val, _), (x_test, y_test, _) = (
        parts["train"],
        parts["val"],
        parts["test"],
    )
    print(f"training {args.arch} {args.size}px on {len(x_train)} images, {len(labels)} classes")
    verbose = 0 if args.quiet else 2
    history = m.fit(net, settings, (x_train, y_train), (x_val, y_val), verbose)
    float_probs = m.predict(net, x_test)
    tflite = export.to_int8_tflite(net, x_train, seed=args.seed)
    int8_probs = run_tflite(tflite, x_test, args.threads)
    metrics = held_out_metrics(y_test, float_probs, int8_probs, labels)
    training = {
        "arch": args.arch,
        "weights": args.weights,
        "input_size": args.size,
        "epochs_run": len(history.get("loss", [])),
        "epochs_max": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "augmentation": "flip, shift/zoom 0.8-1, brightness/contrast, infrared grey "
        f"{args.infrared_fraction}",
        "seed": args.seed,
        "tensorflow": m.tf.__version__,
    }
    return tflite, metrics, training


def run_tflite(tflite: bytes, images: np.ndarray, threads: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(tflite)
        return TfliteClassifier(path, threads).probs_many(images)


def held_out_metrics(
    y_test: np.ndarray,
    float_probs: np.ndarray,
    int8_probs: np.ndarray,
    labels: list[str],
) -> dict[str, Any]:
    """Frame-level metrics of the int8 model on the test split, and float/int8 agreement."""
    frame = frame_metrics(y_test, np.argmax(int8_probs, axis=1), labels)
    float_acc = float(np.mean(np.argmax(float_probs, axis=1) == y_test)) if len(y_test) else None
    return {
        "held_out": {"split": "test", "model": "int8"},
        "frame": frame,
        "float_accuracy": None if float_acc is None else round(float_acc, 4),
        "float_int8_top1_agreement": agreement(float_probs, int8_probs),
    }


def data_summary(
    args: argparse.Namespace, split: Split, samples: list[Sample], skipped: Skipped
) -> dict[str, Any]:
    source = (
        {"kind": "coco", "path": args.coco} if args.coco else {"kind": "folder", "path": args.data}
    )
    return {
        **source,
        "images": len(samples),
        "counts": split.counts(),
        "split_by": split.by,
        "skipped": dict(sorted(skipped.reasons.items())),
        "generator_seeds": generator_seeds(samples),
    }


def print_fit_summary(
    out: Path, tflite: bytes, metrics: dict[str, Any], skipped: Skipped, seconds: float
) -> None:
    frame = metrics["frame"]
    print(f"wrote {out}/model.tflite ({len(tflite) / 1024:.0f} KiB), labels.txt, model.json")
    print(
        f"held-out frames: {frame['images']}, int8 accuracy {frame['accuracy']}, float accuracy "
        f"{metrics['float_accuracy']}, float/int8 top-1 agreement "
        f"{metrics['float_int8_top1_agreement']}"
    )
    if skipped.total:
        print(f"skipped images: {dict(skipped.reasons)}")
    print(f"took {seconds:.0f} s")


# ---------------------------------------------------------------------------------------------


def run_evaluate(args: argparse.Namespace) -> int:
    model_dir = Path(args.model_dir)
    card = read_card(model_dir)
    labels = read_labels(model_dir / str(card.get("labels_file", "labels.txt")))
    targets = args.target or card.get("targets") or []
    decision = card.get("decision", {})
    rule = Rule(
        "k_of_n" if decision.get("rule", "k_of_n") == "k_of_n" else "mean_top_k",
        args.k or int(decision.get("k", 2)),
        args.threshold if args.threshold is not None else float(decision.get("threshold", 0.5)),
    )
    bursts = find_bursts(Path(args.bursts))
    clf = TfliteClassifier(model_dir / str(card.get("file", "model.tflite")), args.threads)
    results = evaluate_bursts(clf, labels, bursts, targets, rule)
    summary = burst_summary(results, targets, labels, rule)
    summary["source"] = str(args.bursts)
    summary["generator_seeds"] = burst_seeds([b[0] for b in bursts])
    summary["runtime"] = "ai_edge_litert, int8 model.tflite"
    print(json.dumps({k: v for k, v in summary.items() if k != "per_label"}))
    for label, row in summary["per_label"].items():
        print(f"  {label:20s} bursts {row['bursts']:4d}  hits {row['hits']:4d}")
    if args.update_card:
        card.setdefault("metrics", {})["burst"] = summary
        write_card(model_dir, card)
        print(f"updated {model_dir}/model.json metrics.burst")
    return 0


def read_labels(path: Path) -> list[str]:
    try:
        return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    except OSError as e:
        raise UsageError(f"{path}: cannot read the labels file ({e.strerror})") from None


def burst_seeds(dirs: list[Path]) -> list[int]:
    seeds: Counter[int] = Counter()
    for d in dirs:
        try:
            seed = json.loads((d / "burst.json").read_text()).get("seed")
        except (OSError, ValueError):
            continue
        if isinstance(seed, int):
            seeds[seed] += 1
    return sorted(seeds)
