"""Which labels are the targets: name matching and label roll-up groups, pure.

A target name matches a label exactly, ignoring case, or the label's first comma-separated
name: ``leopard`` matches ``leopard, Panthera pardus`` and not ``snow leopard, ounce, Panthera
uncia``. A name that matches no label is a `UsageError`, never an empty target set.

A *target group* rolls several model labels up into one target (``leopard = leopard; jaguar;
cheetah; snow leopard`` for a generic ImageNet model in the Amur leopard's range, where no
jaguar or cheetah lives). A target that names a group means the group. Its frame score is the
**sum** of its members' probabilities: a softmax splits its belief among similar classes, and
the probability that the frame shows any one of them is the sum of theirs (0.45 leopard +
0.35 jaguar is 0.8 that it is the spotted cat we want; the max would say 0.45). Members that
match the same label count once; the sum is capped at 1 for models whose outputs are not a
softmax. A plain target keeps the max over the labels it matches.

>>> labels = ["background", "leopard, Panthera pardus", "snow leopard, ounce, Panthera uncia"]
>>> resolve_targets(["Leopard"], labels).indices
(1,)
>>> t = resolve_targets(["cats"], labels, [parse_group("cats=leopard;snow leopard")])
>>> round(t.score(np.array([0.2, 0.5, 0.3])), 6), t.best(np.array([0.2, 0.5, 0.3]))
(0.8, ('cats', 'leopard, Panthera pardus'))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from camtrap.errors import UsageError


@dataclass(frozen=True)
class TargetGroup:
    """A named roll-up of model labels (members match like ``--target`` names)."""

    name: str
    members: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise UsageError(f"target group {self.name!r}: empty name")
        if not self.members or not all(m.strip() for m in self.members):
            raise UsageError(f"target group {self.name!r}: needs non-empty member labels")


@dataclass(frozen=True)
class Target:
    """One resolved target: the label indices it scores, summed when it is a group."""

    name: str
    indices: tuple[int, ...]
    group: bool = False

    def score(self, probs: np.ndarray) -> float:
        values = probs[list(self.indices)]
        return min(1.0, float(np.sum(values))) if self.group else float(np.max(values))


@dataclass(frozen=True)
class Targets:
    """The resolved targets, with the names they were asked for."""

    names: tuple[str, ...]
    indices: tuple[int, ...]  # every label index any target scores
    labels: tuple[str, ...]
    entries: tuple[Target, ...] = ()

    def __post_init__(self) -> None:
        if not self.entries:  # built from indices alone: one plain target over all of them
            name = self.names[0] if self.names else ""
            object.__setattr__(self, "entries", (Target(name, self.indices),))

    def score(self, probs: np.ndarray) -> float:
        """Frame target score: the best target's score (a group's: its members' sum)."""
        return max(e.score(probs) for e in self.entries)

    def best(self, probs: np.ndarray) -> tuple[str, str]:
        """(target name, model label) of the best-scoring target and its likeliest member."""
        entry = max(self.entries, key=lambda e: e.score(probs))
        member = max(entry.indices, key=lambda i: float(probs[i]))
        return entry.name, self.labels[member]

    def best_label(self, probs: np.ndarray) -> str:
        """The model label that scored: the likeliest member of the best target."""
        return self.best(probs)[1]

    def is_group(self, name: str) -> bool:
        return any(e.group and e.name.casefold() == name.casefold() for e in self.entries)

    def group_labels(self) -> dict[str, tuple[str, ...]]:
        """Each group's name and the model labels its members matched."""
        return {e.name: tuple(self.labels[i] for i in e.indices) for e in self.entries if e.group}

    def truth_names(self) -> tuple[str, ...]:
        """Names whose ground truth counts as a target: the targets, then the first names of
        the labels their groups matched (a burst labelled ``jaguar`` is a target when
        ``jaguar`` is rolled up into ``leopard``)."""
        extra = [first_name(x) for members in self.group_labels().values() for x in members]
        return tuple(dict.fromkeys([*self.names, *extra]))


def first_name(label: str) -> str:
    """``"leopard, Panthera pardus"`` -> ``"leopard"``."""
    return label.split(",", 1)[0].strip()


def matches(name: str, label: str) -> bool:
    want = name.strip().casefold()
    return want in (label.strip().casefold(), first_name(label).casefold())


def parse_group(text: str, where: str = "--target-group") -> TargetGroup:
    """``"NAME=LABEL;LABEL;..."`` as a `TargetGroup`; a bad spec is a `UsageError`."""
    name, sep, rest = text.partition("=")
    members = tuple(m.strip() for m in rest.split(";") if m.strip())
    if not sep or not name.strip() or not members:
        raise UsageError(f"{where}: want NAME=LABEL;LABEL;..., got {text!r}")
    return TargetGroup(name.strip(), members)


def groups_from_mapping(raw: Mapping[str, object], where: str) -> tuple[TargetGroup, ...]:
    """``{NAME: [LABEL, ...]}`` (config, model card) as groups; errors name ``where.NAME``."""
    out = []
    for name, members in raw.items():
        ok = (
            isinstance(members, list | tuple)
            and members
            and all(isinstance(m, str) for m in members)
        )
        if not ok:
            raise UsageError(f"{where}.{name}: must be a non-empty list of labels")
        out.append(TargetGroup(str(name), tuple(str(m) for m in members)))  # type: ignore[union-attr]
    return tuple(out)


def merge_groups(*layers: Iterable[TargetGroup]) -> tuple[TargetGroup, ...]:
    """Groups of several sources; a later layer's group replaces an earlier one of that name."""
    merged: dict[str, TargetGroup] = {}
    for layer in layers:
        for g in layer:
            merged[g.name.casefold()] = g
    return tuple(merged.values())


def resolve_targets(
    names: Sequence[str], labels: Sequence[str], groups: Sequence[TargetGroup] = ()
) -> Targets:
    """Resolve target names (a name of a group means the group) against the model's labels.

    Every plain name and every member of a named group must match at least one label.
    """
    if not names:
        raise UsageError("no target labels: give --target NAME or set them in the model card")
    by_name = {g.name.casefold(): g for g in groups}
    entries = []
    for name in names:
        group = by_name.get(name.strip().casefold())
        if group is None:
            entries.append(Target(name, _indices(name, labels, f"target {name!r}")))
            continue
        found: list[int] = []
        for member in group.members:
            where = f"target group {group.name!r}: member {member!r}"
            found.extend(i for i in _indices(member, labels, where) if i not in found)
        entries.append(Target(group.name, tuple(found), group=True))
    indices: list[int] = []
    for e in entries:
        indices.extend(i for i in e.indices if i not in indices)
    return Targets(tuple(names), tuple(indices), tuple(labels), tuple(entries))


def _indices(name: str, labels: Sequence[str], where: str) -> tuple[int, ...]:
    found = tuple(i for i, label in enumerate(labels) if matches(name, label))
    if not found:
        raise UsageError(f"{where} matches no label ({_examples(labels)})")
    return found


def member_names(targets: Sequence[str], groups: Sequence[TargetGroup]) -> tuple[str, ...]:
    """The target names with every member of the groups they name (for matching truth)."""
    by_name = {g.name.casefold(): g for g in groups}
    out = list(targets)
    for t in targets:
        g = by_name.get(t.strip().casefold())
        if g is not None:
            out.extend(m for m in g.members if m not in out)
    return tuple(out)


def _examples(labels: Sequence[str], n: int = 8) -> str:
    shown = ", ".join(repr(first_name(x)) for x in labels[:n])
    more = f", ... {len(labels)} in all" if len(labels) > n else ""
    return f"labels: {shown}{more}"
