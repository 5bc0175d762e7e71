"""Units of the quantities the guideline reads: recognise, never guess, convert.

docs/clinical-rules.md: match the UCUM ``code`` when the quantity's ``system`` is UCUM; otherwise
accept the ``unit`` text only when it is a known spelling. Anything else is left out and
reported. Conversions are limited to the pairs the spec names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir_mappings.codesystems import UCUM
from fhir_mappings.elements import number

MM_HG = "mm[Hg]"
MG_DL = "mg/dL"
UMOL_L = "umol/L"
MMOL_L = "mmol/L"
THOUSAND_PER_UL = "10*3/uL"
BILLION_PER_L = "10*9/L"
KPA = "kPa"

#: Unit text (no UCUM system) accepted as a known spelling -> UCUM code. Source: spec
#: section 1 ("mmHg, mg/dL, umol/L or µmol/L, mmol/L, 10*3/uL or 10^3/uL or K/uL, 10*9/L"),
#: and kPa for blood pressure (section 'Time series');
#: the UCUM codes themselves are accepted as text too, and "µ" as micro sign or Greek mu.
KNOWN_SPELLINGS: Mapping[str, str] = {
    "mmHg": MM_HG,
    MM_HG: MM_HG,
    "mg/dL": MG_DL,
    "umol/L": UMOL_L,
    "\u00b5mol/L": UMOL_L,
    "\u03bcmol/L": UMOL_L,
    "mmol/L": MMOL_L,
    "10*3/uL": THOUSAND_PER_UL,
    "10^3/uL": THOUSAND_PER_UL,
    "K/uL": THOUSAND_PER_UL,
    "10*9/L": BILLION_PER_L,
    "kPa": KPA,
}


COMPARATORS = frozenset({"<", "<=", ">=", ">"})


class UnitProblem(ValueError):
    """A quantity whose unit cannot be used; the message says why (no patient data)."""


@dataclass(frozen=True)
class Analyte:
    """What is measured, the unit its threshold is stated in, and accepted units."""

    name: str
    #: Accepted UCUM unit -> factor that turns a value in that unit into ``canonical``.
    to_canonical: Mapping[str, float]
    canonical: str
    #: A value with a comparator (``>15``) is kept, to count by its bound when that decides.
    comparator_decides: bool = False


#: Conversion factors. Creatinine: molar mass 113.12 g/mol, so 1 mg/dL = 88.4 umol/L;
#: total bilirubin: 584.66 g/mol, so 1 mg/dL = 17.1 umol/L (standard SI conversion
#: factors, e.g. AMA Manual of Style SI conversion table); lactate: docs/clinical-rules.md,
#: mg/dL / 9.008 = mmol/L (90.08 g/mol); platelets: 10*3/uL = 10*9/L (same quantity).
CREATININE_UMOL_PER_MG_DL = 88.4
BILIRUBIN_UMOL_PER_MG_DL = 17.1
LACTATE_MG_DL_PER_MMOL_L = 9.008
#: 1 kPa = 7.50062 mmHg (1 mmHg = 133.322 Pa, the conventional millimetre of mercury).
MM_HG_PER_KPA = 7.50062

BLOOD_PRESSURE = Analyte("blood pressure", {MM_HG: 1.0, KPA: MM_HG_PER_KPA}, MM_HG)
LACTATE = Analyte(
    "lactate", {MMOL_L: 1.0, MG_DL: 1 / LACTATE_MG_DL_PER_MMOL_L}, MMOL_L, comparator_decides=True
)
CREATININE = Analyte("creatinine", {MG_DL: 1.0, UMOL_L: 1 / CREATININE_UMOL_PER_MG_DL}, MG_DL)
BILIRUBIN = Analyte("total bilirubin", {MG_DL: 1.0, UMOL_L: 1 / BILIRUBIN_UMOL_PER_MG_DL}, MG_DL)
PLATELETS = Analyte("platelets", {THOUSAND_PER_UL: 1.0, BILLION_PER_L: 1.0}, THOUSAND_PER_UL)


@dataclass(frozen=True)
class Measured:
    """A value in a recognised UCUM unit."""

    value: float
    unit: str
    #: ``<``, ``<=``, ``>=`` or ``>`` when the value is a bound, not a measurement.
    comparator: str | None = None


def unit_of(quantity: Mapping[str, Any]) -> str:
    """The UCUM code of a Quantity dict; UnitProblem when it is not recognised."""
    code, text = quantity.get("code"), quantity.get("unit")
    if quantity.get("system") == UCUM and isinstance(code, str):
        return code
    if isinstance(text, str) and text in KNOWN_SPELLINGS:
        return KNOWN_SPELLINGS[text]
    shown = text if isinstance(text, str) else code if isinstance(code, str) else None
    if shown is None:
        raise UnitProblem("no unit")
    # A unit string is a unit, not patient data; cut it short all the same.
    raise UnitProblem(f"unit {shown[:20]!r} not recognised")


def measure(quantity: Any, analyte: Analyte) -> Measured:
    """The value and UCUM unit of a Quantity for ``analyte``; UnitProblem if unusable."""
    if not isinstance(quantity, Mapping):
        raise UnitProblem("no value")
    value = number(quantity.get("value"))
    if value is None:
        raise UnitProblem("no numeric value")
    comparator = quantity.get("comparator")
    if comparator is not None and (not analyte.comparator_decides or comparator not in COMPARATORS):
        # "<2.0" is not a measured value; treating it as 2.0 would be a guess.
        raise UnitProblem("value has a comparator")
    unit = unit_of(quantity)
    if unit not in analyte.to_canonical:
        raise UnitProblem(f"unit {unit[:20]!r} is not a {analyte.name} unit")
    return Measured(value, unit, comparator)


def to_canonical(measured: Measured, analyte: Analyte) -> float:
    """The value in the analyte's canonical unit."""
    return measured.value * analyte.to_canonical[measured.unit]


def convert(value: float, from_unit: str, to_unit: str, analyte: Analyte) -> float:
    """Convert between two accepted units of the same analyte."""
    return value * analyte.to_canonical[from_unit] / analyte.to_canonical[to_unit]
