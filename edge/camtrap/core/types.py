"""Frozen values passed between pipeline stages.

Every stage takes and returns these, never bare tuples or dicts, so each boundary is typed and
validated once, on construction: a `Verdict` or `Hit` out of range (a score outside 0..1, more
frames agreeing than classified, an event sequence past 24 bits) cannot exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Decision = Literal["hit", "miss", "error"]
DECISIONS: tuple[Decision, ...] = ("hit", "miss", "error")

EVENT_SEQ_MAX = (1 << 24) - 1  # the LoRa hit uplink carries the event sequence in 24 bits


def make_event_id(device_id: str, event_seq: int) -> str:
    """The one id of an event, used by MQTT, LoRa, the store and exports.

    >>> make_event_id("trap-07", 42)
    'trap-07-42'
    """
    if not 0 <= event_seq <= EVENT_SEQ_MAX:
        raise ValueError(f"event_seq out of range 0..{EVENT_SEQ_MAX}: {event_seq}")
    return f"{device_id}-{event_seq}"


@dataclass(frozen=True)
class BurstMeta:
    """What the trap knew about a burst when it was triggered (``burst.json``)."""

    source: str  # path of the burst directory or image, or "camera"
    device_id: str
    trigger_time: float  # unix seconds, UTC
    frame_interval_s: float
    pir_pulses: tuple[float, ...] = ()  # seconds since trigger at which the PIR went high
    label: str | None = None  # ground truth, for evaluation only
    event_seq: int | None = None  # the event sequence the trigger carried (the MCU's), if any


@dataclass(frozen=True)
class Frame:
    """One captured frame: an RGB uint8 array, usually already near the model's input size."""

    index: int
    t: float  # seconds since the trigger
    pixels: np.ndarray  # H x W x 3, uint8, for inference (the lores stream, or a decoded file)
    name: str = ""  # file name to store it under, e.g. "003.jpg"
    image: bytes = b""  # encoded full-size image to store (replayed file bytes, main stream)

    def __post_init__(self) -> None:
        p = self.pixels
        if p.ndim != 3 or p.shape[2] != 3 or p.dtype != np.uint8:
            raise ValueError(f"frame {self.index}: want HxWx3 uint8, got {p.shape} {p.dtype}")


RegionSource = Literal["motion", "tiles", "full"]


@dataclass(frozen=True)
class Where:
    """Where a frame's reading came from: its winning region and how the regions were found."""

    box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)  # normalised x, y, w, h
    source: RegionSource = "full"  # motion, tiles or the full frame
    regions: int = 1  # regions classified in the frame
    reason: str | None = None  # why motion was not used (tiles or the full frame alone)


@dataclass(frozen=True)
class FrameScore:
    """The classifier's reading of one frame: its best target score over its regions."""

    index: int
    target_score: float  # max probability over the target labels, in the winning region
    top_label: str  # the winning region's top class
    top_score: float
    error: str | None = None  # set when this frame failed to decode
    where: Where = Where()


@dataclass(frozen=True)
class Verdict:
    """The burst-level decision and everything that led to it."""

    decision: Decision
    target_score: float  # burst score under the rule
    top_label: str
    top_score: float
    frames_total: int
    frames_classified: int
    frames: tuple[FrameScore, ...] = ()
    frames_agreeing: int = 0  # frames whose target score passed the rule's frame threshold
    rule: str = ""  # the rule that decided, e.g. "k_of_n:2/0.60"
    error: str | None = None

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError(f"verdict: decision must be one of {DECISIONS}, got {self.decision!r}")
        _fraction("verdict", "target_score", self.target_score)
        _fraction("verdict", "top_score", self.top_score)
        _counts("verdict", self.frames_agreeing, self.frames_classified)
        if self.frames_total < 0:
            raise ValueError(f"verdict: frames_total must be >= 0, got {self.frames_total}")
        if self.error is not None and self.decision != "error":
            raise ValueError(f"verdict: a {self.decision} carries no error ({self.error!r})")


@dataclass(frozen=True)
class Hit:
    """A target-species hit, as stored in the outbox and published (MQTT JSON, LoRa uplink)."""

    event_id: str
    event_seq: int
    device_id: str
    time: float  # trigger time, unix seconds UTC
    label: str  # the target label that won
    score: float  # burst score, 0..1
    frames_agreeing: int
    frames_classified: int
    model: str = ""  # model name and sha256 prefix, for provenance
    deployment_id: str = ""  # the [deployment] it was taken in; empty when none is configured
    time_trusted: bool = True  # False: ``time`` is an unknown clock's reading (never shown)
    box: tuple[float, ...] | None = None  # winning region of the best frame, [x, y, w, h]
    region_source: RegionSource | None = None  # where that region came from

    def __post_init__(self) -> None:
        if not self.event_id or not self.device_id or not self.label:
            raise ValueError(f"hit {self.event_id!r}: event_id, device_id and label must be set")
        if not 0 <= self.event_seq <= EVENT_SEQ_MAX:
            raise ValueError(f"hit {self.event_id}: event_seq out of range: {self.event_seq}")
        if not math.isfinite(self.time):
            raise ValueError(f"hit {self.event_id}: time must be finite, got {self.time}")
        _fraction(f"hit {self.event_id}", "score", self.score)
        _counts(f"hit {self.event_id}", self.frames_agreeing, self.frames_classified)
        if self.box is not None:  # a list from JSON (the outbox) is the same box
            box = tuple(float(v) for v in self.box)
            if len(box) != 4 or not all(0.0 <= v <= 1.0 for v in box):
                raise ValueError(f"hit {self.event_id}: box must be 4 numbers in 0..1, got {box}")
            object.__setattr__(self, "box", box)


def _fraction(what: str, name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise ValueError(f"{what}: {name} must be in 0..1, got {value}")


def _counts(what: str, agreeing: int, classified: int) -> None:
    if not 0 <= agreeing <= classified:
        raise ValueError(
            f"{what}: want 0 <= frames_agreeing <= frames_classified, got {agreeing}/{classified}"
        )
