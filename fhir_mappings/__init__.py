"""FHIR R4 chart -> typed, explained clinical facts of the severe-MR guideline.

Pure functions: no Flask, no HTTP, no clock (``now`` is always passed in).
"""

from __future__ import annotations

from fhir_mappings.facts import PatientFacts
from fhir_mappings.prefetch import ChartInput

__all__ = ["ChartInput", "PatientFacts"]
