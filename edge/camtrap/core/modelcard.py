"""The model card (``model.json`` beside ``model.tflite``): parse and validate, pure.

Schema ``camtrap-model-card/1``. Known keys are checked for type and range; ``metrics`` and
``training`` are free-form (they document the model, the service does not read them). Every
problem is a `ModelError` naming the card file and the key.

>>> card = parse_card(EXAMPLE, "model.json")
>>> card.ident, card.decision.describe(), card.input.size
('demo@00112233', 'k_of_n:2/0.50', (96, 96))
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from camtrap.core.preprocess import InputDtype, ResizeMode
from camtrap.core.targets import TargetGroup, groups_from_mapping
from camtrap.core.verdict import RULES, Rule
from camtrap.errors import ModelError, UsageError

SCHEMA = "camtrap-model-card/1"
_DTYPES = ("uint8", "int8", "float32")
_KNOWN = {
    "schema",
    "name",
    "version",
    "file",
    "sha256",
    "labels_file",
    "labels",
    "background_class",
    "input",
    "output",
    "targets",
    "decision",
    "taxa",  # label -> scientific name or blank/human/vehicle (the survey exports)
    "metrics",
    "training",
    "description",
    "target_groups",
    "head",
}


@dataclass(frozen=True)
class CardInput:
    width: int
    height: int
    channels: int
    dtype: InputDtype
    scale: float
    zero_point: int
    resize: ResizeMode
    range: tuple[float, float] | None  # float models: real values of pixels 0 and 255

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


@dataclass(frozen=True)
class CardHead:
    """A numpy head run on the model's output (the model is then an embedding extractor)."""

    file: str
    sha256: str
    embedding: int  # values per embedding the head takes
    classes: int


@dataclass(frozen=True)
class ModelCard:
    source: str
    name: str
    version: str
    file: str
    sha256: str
    labels_file: str
    labels: tuple[str, ...] | None
    background_class: bool
    input: CardInput
    output_dtype: str
    output_classes: int
    targets: tuple[str, ...]
    decision: Rule
    target_groups: tuple[TargetGroup, ...] = ()
    head: CardHead | None = None

    @property
    def ident(self) -> str:
        """``name@sha256-prefix``: the model's provenance in every message."""
        return f"{self.name}@{self.sha256[:8]}"


class _Reader:
    """Typed access to one JSON object, with errors naming the card and the key path."""

    def __init__(self, raw: Any, source: str, prefix: str = "") -> None:
        self.source, self.prefix = source, prefix
        if not isinstance(raw, Mapping):
            self.fail("", f"must be an object, got {type(raw).__name__}")
        self.raw: Mapping[str, Any] = raw

    def fail(self, key: str, problem: str) -> None:
        where = ".".join(x for x in (self.prefix, key) if x) or "(root)"
        raise ModelError(f"{self.source}: {where}: {problem}")

    def get(self, key: str, kinds: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.raw:
            if default is ...:
                self.fail(key, "missing")
            return default
        value = self.raw[key]
        if isinstance(value, bool) and bool not in _as_tuple(kinds):
            self.fail(key, f"must be {_names(kinds)}, got {value!r}")
        if not isinstance(value, kinds):
            self.fail(key, f"must be {_names(kinds)}, got {value!r}")
        return value

    def number(self, key: str, lo: float, hi: float, default: Any = ...) -> Any:
        value = self.get(key, (int, float), default)
        if value is not None and not lo <= value <= hi:
            self.fail(key, f"must be in {lo:g}..{hi:g}, got {value}")
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: Any = ...) -> Any:
        value = self.get(key, str, default)
        if value not in allowed:
            self.fail(key, f"must be one of {', '.join(allowed)}, got {value!r}")
        return value

    def sub(self, key: str) -> _Reader:
        return _Reader(self.get(key, dict), self.source, f"{self.prefix}.{key}".strip("."))


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _names(kinds: type | tuple[type, ...]) -> str:
    ks = _as_tuple(kinds)
    if int in ks and float in ks:
        ks = tuple(k for k in ks if k is not int)
    names = {
        int: "an integer",
        float: "a number",
        str: "a string",
        bool: "true or false",
        list: "a list",
        dict: "an object",
    }
    return " or ".join(names.get(k, k.__name__) for k in ks)


def parse_card(raw: Any, source: str = "model.json") -> ModelCard:
    """Validate a parsed ``model.json`` into a `ModelCard`."""
    r = _Reader(raw, source)
    unknown = sorted(set(r.raw) - _KNOWN)
    if unknown:
        r.fail(unknown[0], f"unknown key (known: {', '.join(sorted(_KNOWN))})")
    if r.get("schema", str) != SCHEMA:
        r.fail("schema", f"must be {SCHEMA!r}, got {r.raw['schema']!r}")
    _check_taxa(r)
    sha = r.get("sha256", str).lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        r.fail("sha256", "must be 64 hex digits")
    return ModelCard(
        source=source,
        name=_nonempty(r, "name"),
        version=str(r.get("version", (str, int, float), "")),
        file=r.get("file", str, "model.tflite"),
        sha256=sha,
        labels_file=r.get("labels_file", str, "labels.txt"),
        labels=_labels(r),
        background_class=r.get("background_class", bool, False),
        input=_input(r.sub("input")),
        output_dtype=r.sub("output").choice("dtype", _DTYPES),
        output_classes=int(r.sub("output").number("classes", 1, 1_000_000)),
        targets=_targets(r),
        decision=_decision(r.sub("decision")),
        target_groups=_groups(r),
        head=_head(r.sub("head")) if "head" in r.raw else None,
    )


def _groups(r: _Reader) -> tuple[TargetGroup, ...]:
    raw = r.get("target_groups", dict, {})
    try:
        return groups_from_mapping(raw, f"{r.source}: target_groups")
    except UsageError as e:
        raise ModelError(str(e)) from None


def _head(r: _Reader) -> CardHead:
    sha = r.get("sha256", str).lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        r.fail("sha256", "must be 64 hex digits")
    return CardHead(
        file=_nonempty(r, "file"),
        sha256=sha,
        embedding=int(r.number("embedding", 1, 1_000_000)),
        classes=int(r.number("classes", 2, 1_000_000)),
    )


def _check_taxa(r: _Reader) -> None:
    """``taxa``: an object of label -> non-empty string (read by `camtrap export`)."""
    taxa = r.get("taxa", dict, {})
    for label, name in taxa.items():
        if not isinstance(name, str) or not name.strip():
            r.fail(f"taxa.{label}", "must be a non-empty string (a scientific name or blank)")


def _nonempty(r: _Reader, key: str) -> str:
    value = r.get(key, str)
    if not value.strip():
        r.fail(key, "must not be empty")
    return value


def _labels(r: _Reader) -> tuple[str, ...] | None:
    labels = r.get("labels", list, None)
    if labels is not None and not all(isinstance(x, str) for x in labels):
        r.fail("labels", "must be a list of strings")
    return None if labels is None else tuple(labels)


def _targets(r: _Reader) -> tuple[str, ...]:
    targets = r.get("targets", list, [])
    if not all(isinstance(x, str) and x.strip() for x in targets):
        r.fail("targets", "must be a list of non-empty strings")
    return tuple(targets)


def _input(r: _Reader) -> CardInput:
    dtype = r.choice("dtype", _DTYPES)
    quantized = dtype != "float32"
    rng = r.get("range", list, None)
    if rng is not None and (len(rng) != 2 or not all(isinstance(x, int | float) for x in rng)):
        r.fail("range", "must be [low, high]")
    return CardInput(
        width=int(r.number("width", 1, 10_000)),
        height=int(r.number("height", 1, 10_000)),
        channels=int(r.number("channels", 3, 3, 3)),
        dtype=dtype,
        scale=float(r.number("scale", 1e-12 if quantized else 0, 1e6, ... if quantized else 0.0)),
        zero_point=int(r.number("zero_point", -128, 255, ... if quantized else 0)),
        resize=r.choice("resize", ("squash", "crop"), "squash"),
        range=None if rng is None else (float(rng[0]), float(rng[1])),
    )


def _decision(r: _Reader) -> Rule:
    return Rule(
        name=r.choice("rule", RULES, "k_of_n"),
        k=int(r.number("k", 1, 60, 1)),
        threshold=float(r.number("threshold", 0, 1, 0.5)),
        early_exit=r.get("early_exit", bool, True),
    )


# --------------------------------------------------------------------------------------------
# A new card from the model itself (`camtrap card init`, `camtrap models fetch`, `camtrap adapt`)


DEFAULT_NEW_RULE = Rule("k_of_n", 1, 0.5)  # a new card: one frame over 0.5 (recalibrate)


@dataclass(frozen=True)
class TensorFacts:
    """What a .tflite file says about its one input and one output tensor."""

    input_shape: tuple[int, ...]
    input_dtype: str
    input_scale: float
    input_zero_point: int
    output_shape: tuple[int, ...]
    output_dtype: str

    @property
    def output_values(self) -> int:
        """Values per output row (classes, or embedding size)."""
        n = 1
        for d in self.output_shape[1:]:
            n *= d
        return n


def new_card(
    name: str,
    file: str,
    sha256: str,
    facts: TensorFacts,
    labels: tuple[str, ...],
    targets: tuple[str, ...] = (),
    groups: tuple[TargetGroup, ...] = (),
    rule: Rule = DEFAULT_NEW_RULE,
    labels_file: str = "labels.txt",
    resize: ResizeMode = "squash",
    description: str = "",
) -> dict[str, Any]:
    """A ``model.json`` for the model ``facts`` describe, validated like any card.

    The background class is noted when the output has one class more than the labels (the
    loader then adds ``background``), or when the labels file itself starts with it.
    """
    classes = facts.output_values
    card: dict[str, Any] = {
        "schema": SCHEMA,
        "name": name,
        "version": "1",
        "description": description,
        "file": file,
        "sha256": sha256,
        "labels_file": labels_file,
        "labels": list(labels),
        "background_class": classes == len(labels) + 1
        or (bool(labels) and labels[0].casefold() == "background"),
        "input": _card_input(facts, resize),
        "output": {"dtype": facts.output_dtype, "classes": classes},
        "targets": list(targets),
        "target_groups": {g.name: list(g.members) for g in groups},
        "decision": {
            "rule": rule.name,
            "k": rule.k,
            "threshold": rule.threshold,
            "early_exit": rule.early_exit,
        },
    }
    parse_card(card, f"{name}: model.json")
    return card


def _card_input(facts: TensorFacts, resize: ResizeMode) -> dict[str, Any]:
    shape = facts.input_shape
    if len(shape) != 4 or shape[0] != 1 or shape[3] != 3:
        raise ModelError(f"input shape {list(shape)}: want [1, height, width, 3]")
    out: dict[str, Any] = {"width": shape[2], "height": shape[1], "channels": 3}
    out["dtype"] = facts.input_dtype
    if facts.input_dtype != "float32":
        out["scale"], out["zero_point"] = facts.input_scale, facts.input_zero_point
    out["resize"] = resize
    return out


EXAMPLE: dict[str, Any] = {
    "schema": SCHEMA,
    "name": "demo",
    "version": "1",
    "file": "model.tflite",
    "sha256": "00112233" + "0" * 56,
    "labels_file": "labels.txt",
    "labels": ["empty", "leopard"],
    "background_class": False,
    "input": {
        "width": 96,
        "height": 96,
        "channels": 3,
        "dtype": "int8",
        "scale": 0.0039,
        "zero_point": -128,
        "resize": "squash",
    },
    "output": {"dtype": "int8", "classes": 2},
    "targets": ["leopard"],
    "decision": {"rule": "k_of_n", "k": 2, "threshold": 0.5, "early_exit": True},
}
