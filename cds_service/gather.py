"""Obtain the chart for one hook call: prefetch as sent, and (later) what must be fetched.

Absent keys are not fetched yet: they are unavailable and say so. (Issue 5 replaces this
with a FHIR client that fetches them from ``fhirServer``.)
"""

from __future__ import annotations

from collections.abc import Sequence

from cds_service.hook_request import HookRequest
from cds_service.settings import Settings
from fhir_mappings.prefetch import ChartInput, PrefetchKind, classify
from fhir_mappings.requirements import PrefetchKey

NOT_PREFETCHED = "not prefetched, and fetching from the FHIR server is not available"
CLIENT_FAILED = "the EHR could not fetch it (it sent an OperationOutcome)"
NOT_FHIR = "the prefetch value is not a FHIR resource"


def gather(request: HookRequest, keys: Sequence[PrefetchKey], settings: Settings) -> ChartInput:
    """Classify each of the service's keys; anything not usable is unavailable with a reason."""
    prefetch = {}
    unavailable: dict[str, str] = {}
    for key in keys:
        if key.key not in request.prefetch:
            unavailable[key.key] = NOT_PREFETCHED
            continue
        value = request.prefetch[key.key]
        kind = classify(value)
        if kind is PrefetchKind.ERROR:
            unavailable[key.key] = CLIENT_FAILED
        elif kind is PrefetchKind.INVALID:
            unavailable[key.key] = NOT_FHIR
        else:
            prefetch[key.key] = value
    return ChartInput(patient_id=request.patient_id, prefetch=prefetch, unavailable=unavailable)
