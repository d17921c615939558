"""Held-out figures for `tools.composite_bursts`: two folds, calibrate on one, report the other.

A rule chosen after seeing the figures it is judged by says nothing about new photos. So the
photos are split in two folds, and every burst is built inside one fold (a leopard photo of
fold 0 walks only across scenes of fold 0). Leopard photos are assigned by a hash of their
bytes; scenes by a hash of their *site*, the file name without its trailing number
(``md_sample-dzf-07.jpg`` and ``md_sample-dzf-11.jpg`` are one camera, so both land in one
fold). The operating point is then chosen on one fold by `camtrap calibrate`'s own search
(`camtrap.core.calibrate.choose`) with a false-hit budget stated up front
(`camtrap.core.operating_point.MaxRecall`: the most leopard bursts found while the 95 % upper
bound of the fold's false-hit rate stays within the budget), and applied to the other fold; and
the other way round.
Every burst is so judged once, by a rule that never saw it: the pooled figures are held out.

>>> fold_of_site("md_sample-dzf-07.jpg") == fold_of_site("md_sample-dzf-11.jpg")
True
>>> site_of("st_blank3.jpg"), site_of("md_nacti.jpg")
('st_blank', 'md_nacti')
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

BUDGET = 0.02  # the false-hit target, held by the calibration fold's 95 % upper bound
BOUND = "wilson"  # a rate measured at the budget's edge on one fold is, on average, over it next
FOLDS = (0, 1)
Record = dict[str, Any]


def site_of(name: str) -> str:
    """A scene's site: its file stem without a trailing number (and the separator before it)."""
    return re.sub(r"[-_ ]*\d+$", "", Path(name).stem) or Path(name).stem


def _fold(key: bytes, seed: int) -> int:
    return hashlib.sha256(f"{seed}:".encode() + key).digest()[0] % len(FOLDS)


def fold_of_site(name: str, seed: int = 0) -> int:
    """The fold of a scene, by its site."""
    return _fold(site_of(name).encode(), seed)


def fold_of_photo(path: Path, seed: int = 0) -> int:
    """The fold of a leopard photo, by its bytes (a renamed copy stays where it was)."""
    return _fold(hashlib.sha256(path.read_bytes()).digest(), seed)


def by_fold(paths: Sequence[Path], fold: Any) -> dict[int, list[Path]]:
    """``paths`` grouped by ``fold(path)``, every fold present (maybe empty)."""
    out: dict[int, list[Path]] = {f: [] for f in FOLDS}
    for p in paths:
        out[fold(p)].append(p)
    return out


@dataclass(frozen=True)
class FoldChoice:
    """The operating point one fold chose, what it did there and on the other fold."""

    fold: int
    rule: Any  # camtrap.core.verdict.Rule
    calibration: str  # the fold's own figures, one line
    held_out: dict[str, tuple[int, int]]  # group -> (hits, bursts) on the other fold


def cross_fit(
    records: Mapping[str, Sequence[Record]],
    folds: Mapping[str, int],
    budget: float = BUDGET,
    bound: str = BOUND,
) -> list[FoldChoice]:
    """Per fold: the `MaxRecall` operating point chosen on its records (regions, every frame
    scored), applied to the other fold's. ``records``: group -> records; ``folds``: source ->
    fold; a group whose name starts with ``leopard`` holds the target bursts."""
    from camtrap.core.calibrate import choose
    from camtrap.core.operating_point import MaxRecall
    from camtrap.core.verdict import Rule, RuleName

    out = []
    for fold in FOLDS:
        mine = [(g, r) for g, rs in records.items() for r in rs if folds.get(r["source"]) == fold]
        goal = MaxRecall(budget, "wilson" if bound == "wilson" else "point")
        point = choose([_scored(g, r) for g, r in mine], goal)
        rule = Rule(cast(RuleName, point.rule), point.k, point.threshold, early_exit=False)
        line = (
            f"{point.goal}: {rule.describe()}; on its own fold recall {point.tp}/{point.targets}, "
            f"false hits {point.fp}/{point.non_targets}"
        )
        other = {
            g: [r for r in rs if folds.get(r["source"]) == 1 - fold] for g, rs in records.items()
        }
        held = {g: (sum(_hit(rule, r) for r in rs), len(rs)) for g, rs in other.items()}
        out.append(FoldChoice(fold, rule, line, held))
    return out


def pooled(choices: Sequence[FoldChoice]) -> dict[str, tuple[int, int]]:
    """Held-out (hits, bursts) per group over both folds."""
    total: dict[str, tuple[int, int]] = {}
    for c in choices:
        for g, (h, n) in c.held_out.items():
            th, tn = total.get(g, (0, 0))
            total[g] = (th + h, tn + n)
    return total


def _scored(group: str, record: Record) -> Any:
    from camtrap.core.operating_point import ScoredBurst

    return ScoredBurst(_scores(record), group.startswith("leopard"), record["frames_total"])


def _scores(record: Record) -> tuple[float, ...]:
    return tuple(f["target_score"] or 0.0 for f in record["frames"] if f.get("error") is None)


def _hit(rule: Any, record: Record) -> bool:
    from camtrap.core.verdict import bounds

    scores = _scores(record)
    return bool(scores) and bounds(rule, scores, record["frames_total"])[0] >= rule.threshold
