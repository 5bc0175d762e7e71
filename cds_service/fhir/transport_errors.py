"""Foreign errors translated at the boundary: every ``requests`` (and socket) exception
raised while talking to a FHIR server becomes one of ``cds_service.fhir.errors``.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable, Mapping

import urllib3.exceptions
from requests import exceptions as rexc

from cds_service.fhir.errors import (
    FhirAccessError,
    FhirAccessRefused,
    FhirConnectionError,
    FhirConnectionReset,
    FhirInvalidResponse,
    FhirRedirected,
    FhirRequestError,
    FhirStatusError,
    FhirTimeout,
    FhirTlsError,
)


def _always(cls: type[FhirAccessError]) -> Callable[[rexc.RequestException], FhirAccessError]:
    return lambda _exc: cls()


def _from_status(exc: rexc.RequestException) -> FhirAccessError:
    status = exc.response.status_code if exc.response is not None else 0
    return FhirAccessRefused(status) if status in (401, 403) else FhirStatusError(status)


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (``args``, urllib3's ``reason``, ``__cause__``), a few levels deep."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 16:
        current = todo.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        inner = [getattr(current, "reason", None), current.__cause__, current.__context__, *current.args]
        todo.extend(x for x in inner if isinstance(x, BaseException))
    return seen


def _from_connection_error(exc: rexc.RequestException) -> FhirAccessError:
    causes = _causes(exc)
    # requests reports a read timeout while streaming the body as a ConnectionError.
    if any(isinstance(c, urllib3.exceptions.ReadTimeoutError | TimeoutError) for c in causes):
        return FhirTimeout()
    reset = (ConnectionResetError, http.client.RemoteDisconnected, urllib3.exceptions.ProtocolError)
    if any(isinstance(c, reset) for c in causes):
        return FhirConnectionReset()
    return FhirConnectionError()


#: Every ``requests`` exception, by exact class, to the error it means here. Looked up
#: along the exception's MRO, so a future subclass still lands on its parent's entry.
REQUESTS_EXCEPTION_MAP: Mapping[
    type[rexc.RequestException], Callable[[rexc.RequestException], FhirAccessError]
] = {
    rexc.RequestException: _always(FhirRequestError),
    rexc.InvalidJSONError: _always(FhirRequestError),
    rexc.JSONDecodeError: _always(FhirInvalidResponse),
    rexc.HTTPError: _from_status,
    rexc.ConnectionError: _from_connection_error,
    rexc.ProxyError: _always(FhirConnectionError),
    rexc.SSLError: _always(FhirTlsError),
    rexc.Timeout: _always(FhirTimeout),
    rexc.ConnectTimeout: _always(FhirTimeout),
    rexc.ReadTimeout: _always(FhirTimeout),
    rexc.URLRequired: _always(FhirRequestError),
    rexc.TooManyRedirects: _always(FhirRedirected),
    rexc.MissingSchema: _always(FhirRequestError),
    rexc.InvalidSchema: _always(FhirRequestError),
    rexc.InvalidURL: _always(FhirRequestError),
    rexc.InvalidHeader: _always(FhirRequestError),
    rexc.InvalidProxyURL: _always(FhirRequestError),
    # The body was cut off mid-transfer: the server (or a proxy) dropped the connection.
    rexc.ChunkedEncodingError: _always(FhirConnectionReset),
    rexc.ContentDecodingError: _always(FhirInvalidResponse),
    rexc.StreamConsumedError: _always(FhirRequestError),
    rexc.RetryError: _always(FhirConnectionError),
    rexc.UnrewindableBodyError: _always(FhirRequestError),
}


#: What talking to a FHIR server can raise; anything else is a bug of ours and propagates
#: (a 500 with a logged stack), never a "FHIR server unavailable" for every caller.
TRANSPORT_ERRORS = (rexc.RequestException, OSError, urllib3.exceptions.HTTPError)


def translate_exception(exc: BaseException) -> FhirAccessError:
    """Our error for an exception raised while talking to the FHIR server; any exception
    outside ``TRANSPORT_ERRORS`` (and not already ours) is re-raised as it is."""
    if isinstance(exc, FhirAccessError):
        return exc
    if isinstance(exc, rexc.RequestException):
        for cls in type(exc).__mro__:
            translate = REQUESTS_EXCEPTION_MAP.get(cls)
            if translate is not None:
                return translate(exc)
    if isinstance(exc, OSError | urllib3.exceptions.HTTPError):
        # Not wrapped by requests (rare): still a transport failure, not a bug of ours.
        return FhirConnectionError()
    raise exc
