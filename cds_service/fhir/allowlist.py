"""Where the service may go: ``fhirServer`` checked against ``MRCDS_FHIR_ALLOWLIST``.

Only an allowed base (exact, normalised), and https unless the host is loopback.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache

from cds_service.core.fhir_base import FhirBase
from cds_service.fhir.errors import NoFhirAccess

log = logging.getLogger(__name__)


@cache
def _allowed(allowlist: tuple[str, ...]) -> frozenset[FhirBase]:
    """The allowlist, normalised once per process (and warned about once, not per call)."""
    allowed = set()
    for entry in allowlist:
        try:
            base = FhirBase.parse(entry)
        except ValueError:
            log.warning("ignoring an allowlist entry that is not a plain http(s) base URL")
            continue
        if base.scheme != "https" and not base.is_loopback:
            # Kept in the set so the request gets the precise reason ("does not use https").
            log.warning("allowlist entry %s will never be called: http only on loopback hosts", base.url)
        allowed.add(base)
    return frozenset(allowed)


def resolve_base(fhir_server: str | None, allowlist: Sequence[str]) -> FhirBase:
    """The FHIR base the service may call for this request, or ``NoFhirAccess`` with why."""
    if not allowlist:
        raise NoFhirAccess("not prefetched, and fetching from FHIR servers is turned off (empty allowlist)")
    if not fhir_server:
        raise NoFhirAccess("not prefetched, and the request gives no FHIR server to fetch it from")
    try:
        base = FhirBase.parse(fhir_server)
    except ValueError:
        raise NoFhirAccess("not prefetched, and the request's FHIR server address is not usable") from None
    allowed = _allowed(tuple(allowlist))
    if base not in allowed:
        raise NoFhirAccess("not prefetched, and the request's FHIR server is not on the allowlist")
    if base.scheme != "https" and not base.is_loopback:
        raise NoFhirAccess("not prefetched, and the request's FHIR server does not use https")
    return base
