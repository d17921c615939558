"""Ground truth for labelled photos and bursts: folder names, a CSV or COCO Camera Traps. Pure.

`camtrap replay|evaluate|calibrate --truth SPEC` labels what it runs without a ``burst.json``
per image:

* ``folders``: the label is the first folder under the path given on the command line
  (``photos/leopard/a.jpg`` found under ``photos`` is ``leopard``); a burst or image given
  directly takes the name of the folder it is in.
* ``csv:FILE``: rows ``file,label`` (a header row naming ``file`` and ``label`` is optional).
* ``coco:FILE``: COCO Camera Traps JSON (``images`` with ``id`` and ``file_name``,
  ``annotations`` with ``image_id`` and ``category_id``, ``categories``; category 0 is
  ``empty``).

A file named in a CSV or COCO file matches a frame whose path *ends* with it, component by
component (``leopard/a.jpg`` matches ``/data/photos/leopard/a.jpg``, never ``xleopard/a.jpg``);
the longest match wins. A burst takes the label of its frames: the one animal label among them
when there is one (frames before the animal arrives are ``empty``), ``empty`` when every known
frame is empty, and no label when its frames name two different animals (counted as
``ambiguous``). Truth from ``--truth`` replaces the ``label`` of ``burst.json``; bursts it does
not cover keep theirs.

>>> t = truth_from_csv("file,label\\nleopard/a.jpg,leopard\\nb.jpg,empty\\n", "t.csv")
>>> t.label_of("/x/photos/leopard/a.jpg"), t.label_of("/x/xleopard/a.jpg"), t.label_of("c/b.jpg")
('leopard', None, 'empty')
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath
from typing import Any, Literal

from camtrap.errors import UsageError

EMPTY = "empty"
TruthKind = Literal["folders", "csv", "coco"]


@dataclass(frozen=True)
class TruthSpec:
    """What ``--truth`` asked for: the kind and, for csv/coco, the file."""

    kind: TruthKind
    path: str = ""


def parse_truth_spec(text: str) -> TruthSpec:
    """``folders``, ``csv:FILE`` or ``coco:FILE``."""
    kind, sep, path = text.partition(":")
    kind = kind.strip().lower()
    if kind == "folders" and not sep:
        return TruthSpec("folders")
    if kind in ("csv", "coco") and sep and path.strip():
        return TruthSpec(kind, path.strip())  # type: ignore[arg-type]
    raise UsageError(f"--truth: want folders, csv:FILE or coco:FILE, got {text!r}")


@dataclass(frozen=True)
class Truth:
    """Labels by relative file path (components, lower-cased for matching)."""

    by_path: Mapping[tuple[str, ...], str]
    source: str

    def label_of(self, path: str | PurePath) -> str | None:
        """The label of the longest known path that ``path`` ends with."""
        parts = _key(PurePath(path).as_posix())
        for start in range(len(parts)):
            label = self.by_path.get(parts[start:])
            if label is not None:
                return label
        return None


def _key(path: str) -> tuple[str, ...]:
    return tuple(p.casefold() for p in PurePosixPath(path.replace("\\", "/")).parts if p != "/")


def _truth(pairs: Iterable[tuple[str, str, str]], source: str) -> Truth:
    """From (path, label, where) triples; one path with two labels is an error naming both."""
    by_path: dict[tuple[str, ...], str] = {}
    for path, label, where in pairs:
        key = _key(path)
        if not key or key[0] == "..":
            raise UsageError(f"{where}: file: want a relative path, got {path!r}")
        if by_path.get(key, label) != label:
            raise UsageError(f"{where}: {path!r} is labelled both {by_path[key]!r} and {label!r}")
        by_path[key] = label
    if not by_path:
        raise UsageError(f"{source}: no labelled files")
    return Truth(by_path, source)


def truth_from_csv(text: str, source: str) -> Truth:
    """Rows ``file,label``; an optional header row ``file,label``; blank lines skipped."""
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["file", "label"]:
        rows = [[], *rows[1:]]  # keep line numbers: the header is line 1
    pairs = []
    for i, row in enumerate(rows, 1):
        if not row:
            continue
        where = f"{source}: line {i}"
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise UsageError(f"{where}: want file,label, got {','.join(row)!r}")
        pairs.append((row[0].strip(), row[1].strip(), where))
    return _truth(pairs, source)


def truth_from_coco(doc: Any, source: str) -> Truth:
    """Image labels from a parsed COCO Camera Traps document; errors name the key."""
    if not isinstance(doc, Mapping):
        raise UsageError(f"{source}: want a JSON object with images, annotations, categories")
    images = _items(doc, "images", ("id", "file_name"), source)
    annotations = _items(doc, "annotations", ("image_id", "category_id"), source)
    cats = _items(doc, "categories", ("id", "name"), source)
    categories = {c["id"]: str(c["name"]) for c in cats}
    categories[0] = EMPTY
    files = {img["id"]: str(img["file_name"]) for img in images}
    labels: dict[Any, set[str]] = {}
    for i, a in enumerate(annotations):
        if a["image_id"] not in files:
            where = f"{source}: annotations[{i}]"
            raise UsageError(f"{where}: image_id {a['image_id']!r} not in images")
        if a["category_id"] not in categories:
            raise UsageError(
                f"{source}: annotations[{i}]: category_id {a['category_id']!r} not in categories"
            )
        labels.setdefault(a["image_id"], set()).add(categories[a["category_id"]])
    pairs = [
        (files[image_id], burst_label(sorted(found)) or "", f"{source}: image {image_id!r}")
        for image_id, found in labels.items()
    ]
    return _truth([p for p in pairs if p[1]], source)  # an image of two animals: no label


def _items(doc: Mapping[str, Any], key: str, needed: Sequence[str], source: str) -> list[Any]:
    items = doc.get(key)
    if not isinstance(items, list):
        raise UsageError(f"{source}: {key}: missing or not a list")
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or any(k not in item for k in needed):
            raise UsageError(f"{source}: {key}[{i}]: needs {', '.join(needed)}")
    return items


def burst_label(frame_labels: Sequence[str | None]) -> str | None:
    """A burst's label from its frames': the one animal, else empty, else None (ambiguous)."""
    known = {x for x in frame_labels if x}
    animals = {x for x in known if x.casefold() != EMPTY}
    if len(animals) == 1:
        return animals.pop()
    if not animals and known:
        return next(iter(known))
    return None


def folder_label(found: str | PurePath, root: str | PurePath) -> str | None:
    """``folders`` truth: the first folder of ``found`` under ``root``, else root's folder."""
    found, root = PurePath(found), PurePath(root)
    try:
        rel = found.relative_to(root)
    except ValueError:
        return None
    if len(rel.parts) >= 2:
        return rel.parts[0]
    folder = root.name if rel.parts else root.parent.name  # found in root, or root itself
    return folder or None
