"""Label recorded bursts from ``--truth`` (folder names, a CSV or COCO Camera Traps JSON).

The rules are `camtrap.core.truth`'s; this module reads the files and lays the labels over the
bursts `camtrap.sim.bursts.discover` found, so real photos need no ``burst.json`` each.

    bursts = discover_with_truth(["photos"], parse_truth_spec("folders"))
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from camtrap.core.truth import (
    Truth,
    TruthSpec,
    burst_label,
    folder_label,
    truth_from_coco,
    truth_from_csv,
)
from camtrap.errors import UsageError
from camtrap.sim.bursts import RecordedBurst, discover


def read_truth(spec: TruthSpec) -> Truth | None:
    """The labels of a csv/coco spec (None for ``folders``: they come from the paths)."""
    if spec.kind == "folders":
        return None
    path = Path(spec.path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"{path}: cannot read the truth file: {e}") from None
    if spec.kind == "csv":
        return truth_from_csv(text, str(path))
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}: not JSON: {e.msg} (line {e.lineno})") from None
    return truth_from_coco(doc, str(path))


def label_of(burst: RecordedBurst, root: Path, truth: Truth | None) -> str | None:
    if truth is None:
        return folder_label(burst.meta.source, root)
    whole = truth.label_of(burst.meta.source)  # a row may name the burst directory itself
    return whole or burst_label([truth.label_of(f) for f in burst.frames])


def discover_with_truth(paths: Sequence[str | Path], spec: TruthSpec | None) -> list[RecordedBurst]:
    """`discover`, with each burst's label from ``spec`` where it gives one (else its own)."""
    if spec is None:
        return discover(paths)
    truth = read_truth(spec)
    out = []
    for raw in paths:
        for burst in discover([raw]):
            label = label_of(burst, Path(raw), truth)
            if label is not None:
                burst = replace(burst, meta=replace(burst.meta, label=label))
            out.append(burst)
    return out
