"""The one number formatter: a measured value as a clinician writes it (82, 2.1, 0.35)."""

from __future__ import annotations

import math


def fmt(value: float) -> str:
    """At most three decimals, trailing zeros dropped; never rounds a whole number."""
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")
