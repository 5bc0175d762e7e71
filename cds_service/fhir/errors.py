"""Why data for one prefetch key could not be fetched from the EHR's FHIR server.

These never reach the HTTP layer: ``cds_service.calls.gather`` turns each into the plain reason
of ``ChartInput.unavailable[key]`` (the pipeline answers 412 when the key is required).
Reasons name no patient, URL or token, so they can be shown in cards and logged.

::

    CdsError
    └── FhirAccessError                  (base) the key could not be obtained
        ├── NoFhirAccess                 no usable fhirServer (none, not allowlisted, not https): no request
        ├── UnresolvedToken              the template needs a token the request does not give: no request
        ├── FhirTimeout                  connect/read timeout, or the hook call's deadline passed
        ├── FhirConnectionError          could not connect (refused, DNS, proxy)
        │   ├── FhirConnectionReset      the server dropped the connection (retried once)
        │   └── FhirTlsError             TLS handshake or certificate failure
        ├── FhirStatusError              non-2xx answer (``status``)
        │   └── FhirAccessRefused        401 or 403: the token does not give access
        ├── FhirRedirected               3xx to somewhere other than the same FHIR base; not followed
        ├── FhirInvalidResponse          not JSON, not a FHIR resource, or not what the query asks for
        │   └── FhirResponseTooLarge     body larger than the client accepts
        └── FhirRequestError             the request could not be built or sent (a bug or a bad URL)

``requests`` exceptions are translated into this tree by ``cds_service.fhir.transport_errors``
through one table (``REQUESTS_EXCEPTION_MAP``), which a test checks is complete.
"""

from __future__ import annotations

from cds_service.core.errors import CdsError

__all__ = [
    "FhirAccessError",
    "FhirAccessRefused",
    "FhirConnectionError",
    "FhirConnectionReset",
    "FhirInvalidResponse",
    "FhirRedirected",
    "FhirRequestError",
    "FhirResponseTooLarge",
    "FhirStatusError",
    "FhirTimeout",
    "FhirTlsError",
    "NoFhirAccess",
    "UnresolvedToken",
]


class FhirAccessError(CdsError):
    """Data for one key could not be obtained; ``reason`` says why in plain words."""

    default_reason = "the FHIR server could not be reached"
    #: Whether one quick retry may help (a dropped connection, a gateway error).
    retryable = False

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason or self.default_reason
        super().__init__(self.reason)


class NoFhirAccess(FhirAccessError):
    default_reason = "not prefetched, and the service has no FHIR server it may fetch it from"


class UnresolvedToken(FhirAccessError):
    def __init__(self, token: str) -> None:
        # The token's name (e.g. "userPractitionerId") is not patient data; its value would be.
        super().__init__(
            f"not prefetched, and its query needs {{{{{token}}}}}, which the request does not give"
        )
        self.token = token


class FhirTimeout(FhirAccessError):
    default_reason = "the FHIR server did not answer in time"


class FhirConnectionError(FhirAccessError):
    default_reason = "the FHIR server could not be reached"


class FhirConnectionReset(FhirConnectionError):
    default_reason = "the FHIR server closed the connection"
    retryable = True


class FhirTlsError(FhirConnectionError):
    default_reason = "the secure connection to the FHIR server failed (TLS)"


class FhirStatusError(FhirAccessError):
    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(self._reason(status))
        # Gateway errors are often a restarting upstream: one quick retry is worth it.
        self.retryable = status in (502, 503, 504)

    @staticmethod
    def _reason(status: int) -> str:
        return f"the FHIR server answered with an error (HTTP {status})"


class FhirAccessRefused(FhirStatusError):
    @staticmethod
    def _reason(status: int) -> str:
        return f"the FHIR server refused access (HTTP {status})"


class FhirRedirected(FhirAccessError):
    default_reason = "the FHIR server redirected to another address, which is not followed"


class FhirInvalidResponse(FhirAccessError):
    default_reason = "the FHIR server's answer is not valid FHIR JSON"


class FhirResponseTooLarge(FhirInvalidResponse):
    default_reason = "the FHIR server's answer is larger than the service accepts"


class FhirRequestError(FhirAccessError):
    default_reason = "the request to the FHIR server could not be made"
