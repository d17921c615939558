"""The learning curve of `camtrap adapt` (docs/models.md): recall and false hits against the
number of labelled photos per label, on test splits the heads never saw.

    X=../shared/models/mobilenet_v1_embedding_extractor
    .venv/bin/python -m tools.adapt_curve ../shared/realdata/photos --target leopard \\
        --base $X/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite \\
        --out docs/img/adapt_learning_curve.png

Every photo is embedded once. For each split seed the data is split by sequence/location as
`camtrap adapt` splits it, the penalty and threshold are chosen on that seed's validation split,
and heads fitted on n photos per label of its training split (several random draws) are scored
on its test split; the points are the means over seeds and draws.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from camtrap.adapt import embed_all, part_of, read_data, target_index
from camtrap.adapters.embedding import EmbeddingExtractor
from camtrap.adapters.plots import pyplot
from camtrap.core.adapt import adapt, learning_curve
from camtrap.core.operating_point import MinRecall
from camtrap.datasets import split_samples
from camtrap.errors import CamtrapError


def measure(args: argparse.Namespace) -> tuple[list[int], np.ndarray, np.ndarray]:
    samples, labels = read_data(Path(args.data))
    t = target_index(args.target, labels, Path(args.data))
    embedded = embed_all(samples, EmbeddingExtractor.open(Path(args.base)), progress=True)
    index = {s.path: i for i, s in enumerate(embedded.samples)}
    recalls, fars = [], []
    for seed in range(args.seeds):
        split = split_samples(embedded.samples, seed)
        train, val, test = (
            part_of(p, index, embedded, list(labels)) for p in (split.train, split.val, split.test)
        )
        a = adapt(train, val, test, labels, t, MinRecall(args.min_recall))
        points = learning_curve(
            train, test, labels, t, a.rule.threshold, args.sizes, a.l2, args.repeats, seed
        )
        recalls.append([p.recall for p in points])
        fars.append([p.false_alert_rate for p in points])
    return list(args.sizes), np.array(recalls), np.array(fars)


def plot(path: Path, sizes: list[int], recalls: np.ndarray, fars: np.ndarray, n: int) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    ax.plot(sizes, recalls.mean(axis=0), "o-", label="recall (leopards found)")
    ax.plot(sizes, fars.mean(axis=0), "s-", color="C3", label="false hits (others taken)")
    ax.set(xlabel="labelled photos per label used to fit the head", ylabel="rate on test split")
    ax.set(ylim=(-0.02, 1.02), xscale="log", xticks=sizes, xticklabels=[str(s) for s in sizes])
    ax.set_title(f"camtrap adapt learning curve ({n} split seeds)", fontsize=10)
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend(loc="center right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="camtrap adapt learning curve (docs/models.md)")
    p.add_argument("data")
    p.add_argument("--base", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--out", default="docs/img/adapt_learning_curve.png")
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default="2,5,10,20,40")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--min-recall", type=float, default=0.97)
    args = p.parse_args(argv)
    try:
        sizes, recalls, fars = measure(args)
    except CamtrapError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    plot(Path(args.out), sizes, recalls, fars, args.seeds)
    for i, n in enumerate(sizes):
        recall, false_hits = recalls[:, i].mean(), fars[:, i].mean()
        print(f"{n:4d} per label: recall {recall:.3f}, false hits {false_hits:.3f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
