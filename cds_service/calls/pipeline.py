"""One hook call, from a validated body to the response: the path shared by the HTTP
view and ``mr-cds evaluate``.

request -> gather (prefetch, fetch) -> required data check (412) -> fhir_mappings -> hooks -> cards
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cds_service.calls import gather as gathering
from cds_service.calls.hook_request import HookRequest
from cds_service.calls.schemas import validate_request
from cds_service.calls.services import Service
from cds_service.core.errors import DataUnavailable, SchemaViolation
from cds_service.core.settings import Settings
from fhir_mappings.valuesets import use_site_codes
from hooks import Evaluation

log = logging.getLogger(__name__)


def _new_id() -> str:
    """A random (version 4) UUID as text: ``str(uuid.uuid4())``, in 1 us rather than 2.5
    (one per card; issue 18)."""
    return uuid4_text(os.urandom(16))


def uuid4_text(raw: bytes) -> str:
    """``str(uuid.UUID(bytes=raw, version=4))`` for 16 bytes: the version nibble becomes 4
    and the variant's two top bits 10 (so the 17th digit is 8, 9, a or b)."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT_DIGITS[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


_VARIANT_DIGITS = "89ab"


@dataclass(frozen=True)
class HookResult:
    """The response, and (when the rules ran) every rule's decision for ``--explain``."""

    response: dict[str, Any]
    evaluation: Evaluation | None = None


def run_hook(
    service: Service,
    body: Mapping[str, Any],
    *,
    settings: Settings,
    now: datetime,
    ids: Callable[[], str] = _new_id,
) -> dict[str, Any]:
    """Validate ``body``, evaluate the guideline for ``service`` and return the response."""
    return run_hook_detailed(service, body, settings=settings, now=now, ids=ids).response


def run_hook_detailed(
    service: Service,
    body: Mapping[str, Any],
    *,
    settings: Settings,
    now: datetime,
    ids: Callable[[], str] = _new_id,
) -> HookResult:
    """``run_hook``, keeping the rules' decisions (no rules run for an empty chart)."""
    use_site_codes(settings.valuesets_dir or None)  # loaded once per folder (create_app did already)
    if isinstance(body.get("hook"), str) and body["hook"] != service.hook:
        # The caller's value is not quoted: it may be anything, patient data included.
        raise SchemaViolation(
            f"hook must be {service.hook!r} for service {service.id!r}", expression=["hook"]
        )
    # The context is checked against the service's hook (draftOrders for order-sign).
    validate_request(body)
    request = HookRequest.from_json(body)
    auth = request.fhir_authorization
    if auth is not None and auth.patient is not None and auth.patient != request.patient_id:
        # A token for another patient must never be used to read this one's chart.
        raise SchemaViolation(
            "fhirAuthorization.patient must equal context.patientId", expression=["fhirAuthorization.patient"]
        )
    chart = gathering.gather(request, service.prefetch_keys, settings)
    missing_required = [k.key for k in service.prefetch_keys if k.required and k.key in chart.unavailable]
    if missing_required:
        reasons = "; ".join(f"{k}: {chart.unavailable[k]}" for k in missing_required)
        raise DataUnavailable(f"required prefetch data unavailable ({reasons})", keys=missing_required)
    if service.answers_empty_chart_without_rules() and _chart_is_empty(chart.prefetch, chart.unavailable):
        # Every key searched and nothing found: a chart with no data has nothing to say.
        return HookResult({"cards": []})
    chart = service.chart_with_context(chart, request.context)
    evaluation = service.evaluate(chart, now=now, ids=ids, settings=settings)
    # DEBUG: over HTTP the request's log line names the cards (cds_service.http.request_log).
    log.debug("hook %s: %d card(s)", request.hook_instance, len(evaluation.cards))
    return HookResult({"cards": list(evaluation.cards)}, evaluation)


def _chart_is_empty(prefetch: Mapping[str, Any], unavailable: Mapping[str, str]) -> bool:
    return not unavailable and all(value is None for value in prefetch.values())
