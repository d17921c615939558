"""Pure policies of the storage and delivery shell: what to evict, how long to back off.

Eviction: the oldest non-hit bursts go first; hits go only once every non-hit is gone, and the
plan says so (``evicts_hits``) so the store can log it. Backoff: exponential between a minimum
and a maximum, with the jitter passed in (a number in [0, 1)), so tests need no randomness.

    >>> a = StoredBurst("a", created=1.0, size=60, is_hit=False)
    >>> b = StoredBurst("b", created=2.0, size=60, is_hit=True)
    >>> [x.key for x in plan_eviction([b, a], quota_bytes=100).evict]
    ['a']
    >>> [backoff_delay(n, 1.0, 10.0, jitter=1.0) for n in range(5)]
    [1.0, 2.0, 4.0, 8.0, 10.0]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StoredBurst:
    """What the policy needs to know about one stored burst."""

    key: str  # e.g. the burst directory relative to the store root
    created: float  # trigger time, unix seconds
    size: int  # bytes on disk
    is_hit: bool


@dataclass(frozen=True)
class EvictionPlan:
    evict: tuple[StoredBurst, ...]
    evicts_hits: bool  # True when hits had to go: log it, it is data loss of targets
    total_after: int  # bytes kept
    fits: bool  # total_after <= quota (False only when protected bursts alone exceed it)


def eviction_order(bursts: Iterable[StoredBurst]) -> list[StoredBurst]:
    """Non-hits oldest first, then hits oldest first (ties broken by key, for determinism)."""
    return sorted(bursts, key=lambda b: (b.is_hit, b.created, b.key))


def plan_eviction(
    bursts: Sequence[StoredBurst], quota_bytes: int, protect: Iterable[str] = ()
) -> EvictionPlan:
    """Evict in `eviction_order` until the total is within the quota, skipping ``protect``."""
    keep = set(protect)
    total = sum(b.size for b in bursts)
    chosen: list[StoredBurst] = []
    for b in eviction_order(bursts):
        if total <= quota_bytes:
            break
        if b.key in keep:
            continue
        chosen.append(b)
        total -= b.size
    return EvictionPlan(
        tuple(chosen), any(b.is_hit for b in chosen), total, fits=total <= quota_bytes
    )


def plan_free(bursts: Sequence[StoredBurst], need_bytes: int) -> tuple[StoredBurst, ...]:
    """For a full disk: the oldest non-hits whose sizes add up to ``need_bytes`` (or all of
    them when they do not). Hits are never evicted to make room on a full disk."""
    chosen: list[StoredBurst] = []
    freed = 0
    for b in eviction_order(x for x in bursts if not x.is_hit):
        if freed >= need_bytes:
            break
        chosen.append(b)
        freed += b.size
    return tuple(chosen)


def backoff_delay(attempt: int, min_s: float, max_s: float, jitter: float) -> float:
    """Seconds to wait before reconnect attempt ``attempt`` (0 = the first retry).

    The cap doubles each attempt from ``min_s`` up to ``max_s``; the delay is spread over the
    upper half of the cap by ``jitter`` in [0, 1) ("equal jitter"), never below ``min_s``.
    """
    if not 0.0 <= jitter <= 1.0:
        raise ValueError(f"jitter must be in [0, 1], got {jitter}")
    if min_s <= 0 or max_s < min_s:
        raise ValueError(f"need 0 < min_s <= max_s, got {min_s}, {max_s}")
    cap = min(max_s, min_s * 2.0 ** min(max(attempt, 0), 64))
    return max(min_s, cap * (0.5 + 0.5 * jitter))
