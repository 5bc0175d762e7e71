"""The one number formatter: a value as a clinician writes it (82, 2.1, 0.35, MAP 63).

With a unit, a value is written to the precision laboratories and monitors report in that
unit: whole mmHg, lactate to one decimal, creatinine and bilirubin in mg/dL to two. A
value as recorded already has that precision, so only computed or converted values change
(a MAP of (78 + 2 x 55) / 3 = 62.667 reads 63; lactate 120 mg/dL / 9.008 reads 13.3).
Halves round up, as people round (``round`` in Python rounds 62.5 to 62).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

#: Decimals written per UCUM unit code; a unit not listed keeps up to three.
DECIMALS: Mapping[str, int] = {
    "mm[Hg]": 0,
    "kPa": 1,
    "mmol/L": 1,
    "mg/dL": 2,
    "umol/L": 0,
    "10*3/uL": 0,
    "10*9/L": 0,
}
_DEFAULT_DECIMALS = 3


def fmt(value: float, unit: str | None = None) -> str:
    """``value`` with the decimals its ``unit`` is written with (trailing zeros dropped);
    without a known unit at most three decimals. A whole number stays whole."""
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    decimals = DECIMALS.get(unit or "", _DEFAULT_DECIMALS)
    try:
        rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # too many digits to quantize (1e300): written as Python does
        return f"{value:.{decimals}f}"
    text = f"{rounded.copy_abs() if rounded.is_zero() else rounded:f}"  # never "-0"
    return text.rstrip("0").rstrip(".") if "." in text else text
