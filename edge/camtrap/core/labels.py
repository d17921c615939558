"""Labels as evaluation classes, and the class a burst or a frame is predicted as. Pure.

**Predicted class.** A burst whose verdict is ``hit`` is predicted as the target that scored:
the record's ``target`` (a group's name for a label roll-up), else its ``top_label`` when that
label is a target, else the first target name. A burst that is not a hit is predicted as its
``top_label`` (the arg-max of the element-wise max of class probabilities over its frames),
except that a target label there becomes `BELOW`: the model leaned to the target but the rule
said no, and counting that as found would make the per-class table disagree with the
decision's recall. Frames alike, with the rule's threshold on the frame's target score. Labels
are compared by their first comma-separated name, ignoring case, so ``"leopard, Panthera
pardus"`` and ``"Leopard"`` are one class; ``aliases`` maps a group member's name to its group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from camtrap.core.burst_record import BurstRecord, FrameRecord

BELOW = "(below threshold)"  # not a hit, though the top label was a target


def short_label(label: str) -> str:
    """A label's first comma-separated name, lower case: the class name metrics use.

    >>> short_label("Leopard, Panthera pardus")
    'leopard'
    """
    return label.split(",")[0].strip().lower()


def is_target_label(label: str | None, targets: Sequence[str]) -> bool:
    """Whether a (ground-truth or model) label names one of the targets (contract rule)."""
    if not label:
        return False
    whole, first = label.strip().lower(), short_label(label)
    return any(t.strip().lower() in (whole, first) for t in targets)


def burst_predicted(
    record: BurstRecord, targets: Sequence[str], aliases: Mapping[str, str] | None = None
) -> str:
    """The class a burst is predicted as: the target that scored on a hit, else its top label."""
    if record.verdict == "hit":
        return as_class(record.target or _hit_label(record.top_label, targets), aliases)
    return _not_hit(record.top_label, targets)


def frame_predicted(
    frame: FrameRecord,
    targets: Sequence[str],
    threshold: float,
    aliases: Mapping[str, str] | None = None,
) -> str:
    """The class a frame is predicted as: the target when its score reaches the threshold."""
    if frame.target_score is not None and frame.target_score >= threshold:
        return as_class(_hit_label(frame.top_label, targets), aliases)
    return _not_hit(frame.top_label, targets)


def _hit_label(top_label: str, targets: Sequence[str]) -> str:
    return top_label if is_target_label(top_label, targets) else targets[0]


def _not_hit(top_label: str, targets: Sequence[str]) -> str:
    return BELOW if is_target_label(top_label, targets) else short_label(top_label)


def as_class(label: str, aliases: Mapping[str, str] | None) -> str:
    """A label's class: its short name, or its group's when ``aliases`` maps it to one."""
    short = short_label(label)
    return (aliases or {}).get(short, short)


def group_aliases(groups: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Member name -> group name, for `evaluate_records` (``{"leopard": ["jaguar"]}``)."""
    return {short_label(m): short_label(g) for g, members in groups.items() for m in members}
