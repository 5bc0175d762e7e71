"""FHIR R4 chart -> typed, explained clinical facts of the severe-MR guideline.

Pure functions: no Flask, no HTTP, no clock (``now`` is always passed in).
"""

from __future__ import annotations

from fhir_mappings.facts import PatientFacts
from fhir_mappings.mapping import map_chart
from fhir_mappings.prefetch import ChartInput
from fhir_mappings.thresholds import Thresholds, load_thresholds

__all__ = ["ChartInput", "PatientFacts", "Thresholds", "load_thresholds", "map_chart"]
