"""PNG plots for the evaluation report (matplotlib, imported lazily, Agg backend).

matplotlib comes with the ``[eval]`` (or ``[dev]``) extra; without it the functions raise
`UsageError` saying how to install it, and `camtrap evaluate` writes the report without images.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from camtrap.core.metrics import PrPoint
from camtrap.errors import UsageError


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, or a `UsageError` saying how to install it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("plots need matplotlib: pip install 'camtrap[eval]'") from None
    return plt


def pr_curve_png(
    path: Path,
    points: Sequence[PrPoint],
    chosen: tuple[float, float] | None = None,
    title: str = "Burst-level precision-recall",
) -> Path:
    """Precision against recall, with the chosen operating point (recall, precision) marked."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    try:
        if points:
            recall = [0.0, *(p.recall for p in points)]
            precision = [points[0].precision, *(p.precision for p in points)]
            ax.step(recall, precision, where="post", label="burst score threshold")
        if chosen is not None:
            ax.plot([chosen[0]], [chosen[1]], "o", color="C3", label="decision")
        ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02), title=title)
        ax.grid(alpha=0.3)
        if points or chosen is not None:
            ax.legend(loc="lower left")
        else:
            ax.text(0.5, 0.5, "no labelled target bursts", ha="center", va="center")
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def score_histogram_png(
    path: Path,
    target_scores: Sequence[float],
    other_scores: Sequence[float],
    threshold: float | None = None,
    title: str = "Burst target scores",
) -> Path:
    """Overlaid histograms of burst scores for target and non-target bursts."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
    try:
        bins = [i / 20 for i in range(21)]
        ax.hist(list(other_scores), bins=bins, alpha=0.6, label="non-target", color="C0")
        ax.hist(list(target_scores), bins=bins, alpha=0.6, label="target", color="C1")
        if threshold is not None:
            ax.axvline(threshold, color="C3", linestyle="--", label=f"threshold {threshold:g}")
        ax.set(xlabel="burst target score", ylabel="bursts", xlim=(0, 1), title=title)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path
