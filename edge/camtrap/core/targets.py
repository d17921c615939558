"""Which labels are the targets: name matching, pure.

A target name matches a label exactly, ignoring case, or the label's first comma-separated
name: ``leopard`` matches ``leopard, Panthera pardus`` and not ``snow leopard, ounce, Panthera
uncia``. A name that matches no label is a `UsageError`, never an empty target set.

>>> labels = ["background", "leopard, Panthera pardus", "snow leopard, ounce, Panthera uncia"]
>>> resolve_targets(["Leopard"], labels).indices
(1,)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from camtrap.errors import UsageError


@dataclass(frozen=True)
class Targets:
    """Target label indices, with the names they were asked for."""

    names: tuple[str, ...]
    indices: tuple[int, ...]
    labels: tuple[str, ...]

    def score(self, probs: np.ndarray) -> float:
        """Frame target score: the max probability over the target labels."""
        return float(np.max(probs[list(self.indices)]))

    def best_label(self, probs: np.ndarray) -> str:
        """The target label with the highest probability in ``probs``."""
        best = max(self.indices, key=lambda i: float(probs[i]))
        return self.labels[best]


def first_name(label: str) -> str:
    """``"leopard, Panthera pardus"`` -> ``"leopard"``."""
    return label.split(",", 1)[0].strip()


def matches(name: str, label: str) -> bool:
    want = name.strip().casefold()
    return want in (label.strip().casefold(), first_name(label).casefold())


def resolve_targets(names: Sequence[str], labels: Sequence[str]) -> Targets:
    """Indices of the labels the target names match; every name must match at least one."""
    if not names:
        raise UsageError("no target labels: give --target NAME or set them in the model card")
    indices: list[int] = []
    for name in names:
        found = [i for i, label in enumerate(labels) if matches(name, label)]
        if not found:
            raise UsageError(f"target {name!r} matches no label ({_examples(labels)})")
        indices.extend(i for i in found if i not in indices)
    return Targets(tuple(names), tuple(indices), tuple(labels))


def _examples(labels: Sequence[str], n: int = 8) -> str:
    shown = ", ".join(repr(first_name(x)) for x in labels[:n])
    more = f", ... {len(labels)} in all" if len(labels) > n else ""
    return f"labels: {shown}{more}"
