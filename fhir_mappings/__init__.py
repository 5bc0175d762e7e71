"""FHIR R4 chart -> typed, explained clinical facts of the severe-MR guideline.

Pure functions: no Flask, no HTTP, no clock (``now`` is always passed in).

    map_chart (mapping)          prefetch -> PatientFacts (facts)
      collect, Report (parse)    bundles, null, OperationOutcome, dedup, validation, data-quality notes
      conditions                 active / confirmed Conditions in a value set, onset
      observations, units        status, effective time and window; UCUM units and conversions
      vitals, labs, mr_grade     hypotension; lactate and organ labs; the 0-4+ MR grade
      procedures, medications    organ support (procedures, devices); drug classes
    valuesets, codesystems       value sets as data, matched on (system, code); code-system URIs
    thresholds                   cut-offs and windows as data, with sources; overridable
    docgen                       docs/data-requirements.md from the data files
"""

from __future__ import annotations

from fhir_mappings.facts import PatientFacts
from fhir_mappings.mapping import map_chart
from fhir_mappings.prefetch import ChartInput
from fhir_mappings.thresholds import Thresholds, load_thresholds

__all__ = ["ChartInput", "PatientFacts", "Thresholds", "load_thresholds", "map_chart"]
