"""A `Hit` as the 11-byte LoRaWAN hit uplink (``trapfw.payload.encode_hit``).

The same bytes go to a USB modem on the Pi (``[lora] via = "serial"``) and, inside the link's
HIT message, to the MCU, which forwards them unchanged::

    >>> from camtrap.core.types import Hit
    >>> hit = Hit("trap-07-42", 42, "trap-07", 1000.0, "leopard", 0.93, 3, 4)
    >>> hit_uplink(hit, now=1012.0, battery_mv=3710).hex()
    '0100002a01ba030456000c'
"""

from __future__ import annotations

from camtrap.core.timebase import age_s
from camtrap.core.types import Hit
from trapfw import payload


def class_code(label: str) -> int:
    """The wire class code of a model label (0 = other); see docs/lora.md for the table."""
    return int(payload.code_for(label))


def hit_uplink(
    hit: Hit, now: float, battery_mv: int | None = None, now_trusted: bool = True
) -> bytes:
    """Encode ``hit`` as it stands at ``now`` (age = now - trigger time, never negative; "age
    unknown" when either clock is unknown or the age absurd, `camtrap.core.timebase.age_s`).

    Raises ``trapfw.payload.PayloadError`` naming the field when the hit cannot be encoded.
    """
    return bytes(
        payload.encode_hit(
            hit.event_seq,
            class_code(hit.label),
            hit.score,  # in 0..1: a Hit validates it
            min(hit.frames_agreeing, 255),
            min(hit.frames_classified, 255),
            battery_mv,
            age_s(hit.time, hit.time_trusted, now, now_trusted),
        )
    )
