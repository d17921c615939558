"""Confidence intervals on rates counted over labelled bursts: pure, no I/O.

`wilson` bounds a proportion (a recall, a false alert rate) at 95 %; the rule of three
(`zero_alert_upper_bound`) says how low a false alert rate a set of non-target bursts, none
firing, can show at all, and `unsupported_rate` turns that into the refusal `camtrap
calibrate` prints when the negatives are too few.

>>> wilson(8, 10)
(0.4901624715, 0.9433178485)
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # two-sided 95 % normal quantile


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion, rounded to 10 places; (0, 1) if n = 0."""
    if not 0 <= successes <= n:
        raise ValueError(f"wilson: need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return (0.0, 1.0)
    p, z2 = successes / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return (round(max(0.0, centre - half), 10), round(min(1.0, centre + half), 10))


# --------------------------------------------------------------------------------------------
# Can the negatives support the asked false alert rate?


def zero_alert_upper_bound(negatives: int) -> float:
    """The one-sided 95 % upper bound of the false alert rate when none of ``negatives``
    non-target bursts fired: ``1 - 0.05 ** (1 / n)``, about 3/n (the rule of three)."""
    return 1.0 if negatives <= 0 else 1.0 - 0.05 ** (1.0 / negatives)


def negatives_needed(rate: float) -> int:
    """Non-target bursts, none firing, that show a false alert rate below ``rate`` (~3/rate)."""
    if not 0 < rate < 1:
        raise ValueError(f"want a rate in (0, 1), got {rate}")
    return math.ceil(math.log(0.05) / math.log(1.0 - rate))


def unsupported_rate(negatives: int, max_rate: float) -> str | None:
    """Why ``negatives`` non-target bursts cannot show a false alert rate <= ``max_rate``, or
    None when they can (even a perfect result on them would leave the bound above it)."""
    bound = zero_alert_upper_bound(negatives)
    if bound <= max_rate:
        return None
    return (
        f"{negatives} non-target bursts cannot show a false alert rate of {100 * max_rate:.2g} %"
        f": with none firing, the 95 % upper bound is still {100 * bound:.2g} % (about 3/n); "
        f"label at least {negatives_needed(max_rate)} non-target bursts"
    )
