"""The FHIR client on its own: where it may go, how it fills templates, how it fails."""

from __future__ import annotations

import http.client
import inspect
import json
import logging
import os
from collections.abc import Iterator
from typing import Any, cast

import pytest
import requests
import responses
import urllib3.exceptions
from requests import exceptions as rexc

from cds_service.core.fhir_base import FhirBase
from cds_service.fhir import client as fhir_client
from cds_service.fhir import session as fhir_session
from cds_service.fhir.allowlist import resolve_base
from cds_service.fhir.client import FhirClient, merge_pages
from cds_service.fhir.deadline import Deadline
from cds_service.fhir.errors import (
    FhirAccessError,
    FhirAccessRefused,
    FhirConnectionError,
    FhirConnectionReset,
    FhirInvalidResponse,
    FhirRedirected,
    FhirRequestError,
    FhirResponseTooLarge,
    FhirStatusError,
    FhirTimeout,
    FhirTlsError,
    NoFhirAccess,
    UnresolvedToken,
)
from cds_service.fhir.session import new_session
from cds_service.fhir.templates import fill_template
from cds_service.fhir.transport_errors import REQUESTS_EXCEPTION_MAP, translate_exception

BASE = "https://ehr.example/fhir"
NO_POOL: Any = None  # urllib3 errors want their connection or pool; none exists here
TOKEN = "secret-token-value"  # a value that must never show up in logs


@pytest.fixture
def session() -> Iterator[requests.Session]:
    s = new_session()
    yield s
    s.close()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def make_client(session: requests.Session, *, seconds: float = 5.0, max_pages: int = 5) -> FhirClient:
    return FhirClient(
        session,
        FhirBase.parse(BASE),
        TOKEN,
        Deadline(seconds),
        hook_instance="hook-1",
        max_pages=max_pages,
    )


def bundle(*ids: str, next_url: str | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "self", "url": f"{BASE}/Condition?patient=p1"}],
        "entry": [{"resource": {"resourceType": "Condition", "id": i}} for i in ids],
    }
    if next_url:
        b["link"].append({"relation": "next", "url": next_url})
    return b


# --------------------------------------------------------------------------- allowlist


@pytest.mark.parametrize(
    ("fhir_server", "allowlist", "reason_part"),
    [
        ("https://ehr.example/fhir", (), "turned off (empty allowlist)"),
        (None, (BASE,), "gives no FHIR server"),
        ("https://other.example/fhir", (BASE,), "not on the allowlist"),
        ("https://ehr.example/fhir/tenant2", (BASE,), "not on the allowlist"),
        ("https://ehr.example/", (BASE,), "not on the allowlist"),
        (
            "http://hooks.smarthealthit.org:9080",
            ("http://hooks.smarthealthit.org:9080",),
            "does not use https",
        ),
        ("http://127.0.0.1:8080/fhir", ("https://127.0.0.1:8080/fhir",), "not on the allowlist"),
        ("https://user:pw@ehr.example/fhir", (BASE,), "address is not usable"),
        ("https://ehr.example/fhir?x=1", (BASE,), "address is not usable"),
        ("ftp://ehr.example/fhir", (BASE,), "address is not usable"),
        ("https://ehr.example/fhir/../admin", (BASE,), "address is not usable"),
    ],
)
def test_fhir_server_that_may_not_be_called_gives_a_plain_reason(
    fhir_server: str | None, allowlist: tuple[str, ...], reason_part: str
) -> None:
    with pytest.raises(NoFhirAccess) as caught:
        resolve_base(fhir_server, allowlist)
    assert reason_part in caught.value.reason


@pytest.mark.parametrize(
    ("fhir_server", "allowlist"),
    [
        ("https://ehr.example/fhir", ("https://ehr.example/fhir",)),
        ("https://EHR.example:443/fhir/", ("https://ehr.example/fhir",)),
        ("https://ehr.example/fhir", (" https://other.example ", "https://ehr.example/fhir/")),
        ("http://127.0.0.1:8080/fhir", ("http://127.0.0.1:8080/fhir",)),
        ("http://localhost:8080", ("http://localhost:8080",)),
        ("http://[::1]:8080/r4", ("http://[::1]:8080/r4",)),
    ],
)
def test_allowlisted_https_or_listed_loopback_http_is_usable(
    fhir_server: str, allowlist: tuple[str, ...]
) -> None:
    base = resolve_base(fhir_server, allowlist)
    assert base == FhirBase.parse(allowlist[-1].strip())


@pytest.mark.parametrize(
    ("url", "inside"),
    [
        (f"{BASE}/Condition?_page=2", True),
        (f"{BASE}?_getpages=abc", True),
        ("https://ehr.example:443/fhir/Condition", True),
        ("https://EHR.example/fhir/Condition", True),
        ("https://ehr.example/fhir2/Condition", False),
        ("https://ehr.example/other/Condition", False),
        ("http://ehr.example/fhir/Condition", False),
        ("https://ehr.example:8443/fhir/Condition", False),
        ("https://evil.example/fhir/Condition", False),
        ("https://ehr.example.evil.example/fhir/Condition", False),
        ("https://user@ehr.example/fhir/Condition", False),
        ("https://ehr.example/fhir/../admin", False),
        ("https://ehr.example/fhir/%2e%2e/admin", False),
    ],
)
def test_base_contains_only_same_scheme_host_port_and_path_prefix(url: str, inside: bool) -> None:
    assert FhirBase.parse(BASE).contains(url) is inside


# --------------------------------------------------------------------------- templates


def test_context_token_is_filled_and_url_encoded() -> None:
    assert (
        fill_template("Condition?patient={{context.patientId}}", {"patientId": "a b"})
        == "Condition?patient=a%20b"
    )


@pytest.mark.parametrize("value", ["1/../../Patient", "1?x=2", "1&patient=2", "1#frag", "1%2F2"])
def test_token_value_cannot_inject_path_query_or_fragment(value: str) -> None:
    filled = fill_template("Patient/{{context.patientId}}", {"patientId": value})
    tail = filled.removeprefix("Patient/")
    assert not set(tail) & set("/?&#")
    assert "%" in tail


@pytest.mark.parametrize(
    ("user_id", "template", "expected"),
    [
        ("Practitioner/abc", "Practitioner/{{userPractitionerId}}", "Practitioner/abc"),
        ("PractitionerRole/r1", "PractitionerRole?_id={{userPractitionerRoleId}}", "PractitionerRole?_id=r1"),
        ("Patient/p9", "Patient/{{userPatientId}}", "Patient/p9"),
        ("RelatedPerson/rp", "RelatedPerson/{{ userRelatedPersonId }}", "RelatedPerson/rp"),
    ],
)
def test_user_tokens_come_from_context_user_id(user_id: str, template: str, expected: str) -> None:
    assert fill_template(template, {"userId": user_id, "patientId": "p1"}) == expected


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ("PractitionerRole?_id={{userPractitionerRoleId}}", {"userId": "Practitioner/abc"}),
        ("Encounter/{{context.encounterId}}", {"patientId": "p1"}),
        ("Observation?x={{context.medications}}", {"medications": {"a": 1}}),
        ("Patient/{{context.patientId}}", {"patientId": ".."}),
        ("Patient/{{context.patientId}}", {"patientId": ""}),
        ("Patient/{{unknownToken}}", {"patientId": "p1"}),
        ("Patient/{{context.patientId", {"patientId": "p1"}),
    ],
)
def test_template_with_unresolved_token_is_refused(template: str, context: dict[str, Any]) -> None:
    with pytest.raises(UnresolvedToken) as caught:
        fill_template(template, context)
    assert "not prefetched" in caught.value.reason


# --------------------------------------------------------------------------- error table


def _requests_exception_classes() -> list[type[rexc.RequestException]]:
    return [
        cls
        for _, cls in inspect.getmembers(rexc, inspect.isclass)
        if issubclass(cls, rexc.RequestException) and cls.__module__ == rexc.__name__
    ]


def test_every_requests_exception_has_its_own_entry_in_the_table() -> None:
    classes = _requests_exception_classes()
    assert len(classes) > 15  # the walk found the module's exceptions
    assert set(classes) == set(REQUESTS_EXCEPTION_MAP)


@pytest.mark.parametrize("cls", _requests_exception_classes(), ids=lambda c: c.__name__)
def test_every_requests_exception_translates_to_a_fhir_access_error(cls: type[rexc.RequestException]) -> None:
    exc = cls.__new__(cls)
    rexc.RequestException.__init__(exc, "message with https://ehr.example/fhir/Condition?patient=p1")
    translated = translate_exception(exc)
    assert isinstance(translated, FhirAccessError)
    assert "patient" not in translated.reason


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (rexc.ConnectTimeout(), FhirTimeout),
        (rexc.ReadTimeout(), FhirTimeout),
        (rexc.SSLError(), FhirTlsError),
        (rexc.ProxyError(), FhirConnectionError),
        (rexc.TooManyRedirects(), FhirRedirected),
        (rexc.ChunkedEncodingError(), FhirConnectionReset),
        (rexc.InvalidURL(), FhirRequestError),
        (
            rexc.ConnectionError(urllib3.exceptions.NewConnectionError(NO_POOL, "refused")),
            FhirConnectionError,
        ),
        (
            rexc.ConnectionError(
                urllib3.exceptions.ProtocolError("aborted", ConnectionResetError(104, "reset"))
            ),
            FhirConnectionReset,
        ),
        (
            rexc.ConnectionError(http.client.RemoteDisconnected("closed without response")),
            FhirConnectionReset,
        ),
        (
            rexc.ConnectionError(urllib3.exceptions.ReadTimeoutError(NO_POOL, "/x", "read timed out")),
            FhirTimeout,
        ),
        (ConnectionRefusedError(111, "refused"), FhirConnectionError),
    ],
)
def test_exceptions_are_translated_to_what_they_mean(
    exc: BaseException, expected: type[FhirAccessError]
) -> None:
    assert type(translate_exception(exc)) is expected


@pytest.mark.parametrize("exc", [ValueError("a bug"), KeyError("x"), TypeError("y")], ids=repr)
def test_exceptions_outside_the_table_are_re_raised(exc: Exception) -> None:
    with pytest.raises(type(exc)):
        translate_exception(exc)


def test_http_error_keeps_its_status() -> None:
    response = requests.Response()
    response.status_code = 403
    translated = translate_exception(rexc.HTTPError(response=response))
    assert isinstance(translated, FhirAccessRefused)
    assert translated.reason == "the FHIR server refused access (HTTP 403)"


def test_only_gateway_errors_and_resets_are_retryable() -> None:
    assert all(FhirStatusError(status).retryable for status in (502, 503, 504))
    assert not FhirStatusError(500).retryable
    assert not FhirAccessRefused(401).retryable
    assert FhirConnectionReset().retryable
    assert not FhirConnectionError().retryable
    assert not FhirTimeout().retryable


# --------------------------------------------------------------------------- GET


def test_get_sends_bearer_token_and_fhir_json_accept(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    resource = make_client(session).get_resource("patient", f"{BASE}/Patient/p1")
    assert resource["id"] == "p1"
    sent = rsps.calls[0].request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Accept"] == "application/fhir+json"


def test_get_without_token_sends_no_authorization(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    client = FhirClient(session, FhirBase.parse(BASE), None, Deadline(5), hook_instance="h", max_pages=5)
    client.get_resource("patient", f"{BASE}/Patient/p1")
    assert "Authorization" not in rsps.calls[0].request.headers


@pytest.mark.parametrize("status", [401, 403])
def test_401_or_403_is_access_refused_and_not_retried(
    session: requests.Session, rsps: responses.RequestsMock, status: int
) -> None:
    rsps.get(f"{BASE}/Patient/p1", status=status)
    with pytest.raises(FhirAccessRefused) as caught:
        make_client(session).get_resource("patient", f"{BASE}/Patient/p1")
    assert caught.value.reason == f"the FHIR server refused access (HTTP {status})"
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_error_then_success_is_retried_once(
    session: requests.Session, rsps: responses.RequestsMock, status: int
) -> None:
    rsps.get(f"{BASE}/Patient/p1", status=status)
    rsps.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    assert make_client(session).get_resource("patient", f"{BASE}/Patient/p1")["id"] == "p1"
    assert len(rsps.calls) == 2


def test_gateway_error_twice_gives_up_after_one_retry(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Patient/p1", status=503)
    with pytest.raises(FhirStatusError) as caught:
        make_client(session).get_resource("patient", f"{BASE}/Patient/p1")
    assert caught.value.status == 503
    assert len(rsps.calls) == 2


def test_500_is_not_retried(session: requests.Session, rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/Patient/p1", status=500, json={"resourceType": "OperationOutcome", "issue": []})
    with pytest.raises(FhirStatusError) as caught:
        make_client(session).get_resource("patient", f"{BASE}/Patient/p1")
    assert caught.value.reason == "the FHIR server answered with an error (HTTP 500)"
    assert len(rsps.calls) == 1


def test_connection_reset_then_success_is_retried_once(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    reset = rexc.ConnectionError(
        urllib3.exceptions.ProtocolError("aborted", ConnectionResetError(104, "reset"))
    )
    rsps.get(f"{BASE}/Patient/p1", body=reset)
    rsps.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    assert make_client(session).get_resource("patient", f"{BASE}/Patient/p1")["id"] == "p1"
    assert len(rsps.calls) == 2


def test_no_retry_when_the_deadline_leaves_no_room(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    now = [0.0]

    def answer_slowly(_request: Any) -> tuple[int, dict[str, str], str]:
        now[0] = 0.99  # the first attempt used almost all of the 1 s deadline
        return 503, {}, ""

    rsps.add_callback(responses.GET, f"{BASE}/Patient/p1", callback=answer_slowly)
    client = FhirClient(
        session, FhirBase.parse(BASE), TOKEN, Deadline(1.0, lambda: now[0]), hook_instance="h", max_pages=5
    )
    with pytest.raises(FhirStatusError):
        client.get_resource("patient", f"{BASE}/Patient/p1")
    assert len(rsps.calls) == 1


def test_expired_deadline_makes_no_request(session: requests.Session, rsps: responses.RequestsMock) -> None:
    with pytest.raises(FhirTimeout):
        make_client(session, seconds=0.0).get_resource("patient", f"{BASE}/Patient/p1")
    assert len(rsps.calls) == 0


def test_read_timeout_is_not_answering_in_time(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Patient/p1", body=rexc.ReadTimeout())
    with pytest.raises(FhirTimeout) as caught:
        make_client(session).get_resource("patient", f"{BASE}/Patient/p1")
    assert caught.value.reason == "the FHIR server did not answer in time"


def test_timeouts_are_cut_to_the_deadline(session: requests.Session, rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    make_client(session, seconds=0.5).get_resource("patient", f"{BASE}/Patient/p1")
    connect, read = cast(Any, rsps.calls[0].request).req_kwargs["timeout"]
    assert 0 < connect <= 0.5
    assert 0 < read <= 0.5


def test_redirect_to_another_host_is_not_followed(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Patient/p1", status=302, headers={"Location": "https://evil.example/steal"})
    rsps.get("https://evil.example/steal", json={"resourceType": "Patient"})
    with pytest.raises(FhirRedirected):
        make_client(session).get_resource("patient", f"{BASE}/Patient/p1")
    assert [c.request.url for c in rsps.calls] == [f"{BASE}/Patient/p1"]


def test_redirect_within_the_same_base_is_followed(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Patient/p1", status=301, headers={"Location": "/fhir/Patient/p1-merged"})
    rsps.get(f"{BASE}/Patient/p1-merged", json={"resourceType": "Patient", "id": "p1-merged"})
    assert make_client(session).get_resource("patient", f"{BASE}/Patient/p1")["id"] == "p1-merged"


def test_endless_redirects_within_the_base_stop(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Patient/p1", status=307, headers={"Location": f"{BASE}/Patient/p1"})
    with pytest.raises(FhirRedirected):
        make_client(session).get_resource("patient", f"{BASE}/Patient/p1")
    assert len(rsps.calls) == fhir_client.MAX_REDIRECTS + 1


@pytest.mark.parametrize(
    ("body", "reason_part"),
    [
        ("{not json", "not valid FHIR JSON"),
        ("<html>Tomcat error</html>", "not valid FHIR JSON"),
        (b"\xff\xfe\x00garbage", "not valid FHIR JSON"),
        ('["a list"]', "not a FHIR resource"),
        ('{"id": "no resourceType"}', "not a FHIR resource"),
        ('{"resourceType": "OperationOutcome", "issue": []}', "OperationOutcome instead of data"),
    ],
)
def test_malformed_answer_from_the_server_is_invalid_response(
    session: requests.Session, rsps: responses.RequestsMock, body: str | bytes, reason_part: str
) -> None:
    rsps.get(f"{BASE}/Patient/p1", body=body, content_type="application/fhir+json")
    with pytest.raises(FhirInvalidResponse) as caught:
        make_client(session).get_resource("patient", f"{BASE}/Patient/p1")
    assert reason_part in caught.value.reason


def test_body_larger_than_the_limit_is_refused(
    session: requests.Session, rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fhir_client, "MAX_BODY_BYTES", 100)
    rsps.get(f"{BASE}/Patient/p1", body=json.dumps({"resourceType": "Patient", "text": "x" * 500}))
    with pytest.raises(FhirResponseTooLarge):
        make_client(session).get_resource("patient", f"{BASE}/Patient/p1")


def test_query_that_would_leave_the_base_is_refused(session: requests.Session) -> None:
    with pytest.raises(FhirRequestError):
        make_client(session).url_for("../admin")


# --------------------------------------------------------------------------- paging


def test_next_links_are_followed_and_entries_merged(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Condition", json=bundle("c2", next_url=f"{BASE}/Condition?page=3"))
    rsps.get(f"{BASE}/Condition", json=bundle("c3"))
    paged = make_client(session).all_pages("conditions", bundle("c1", next_url=f"{BASE}/Condition?page=2"))
    assert [e["resource"]["id"] for e in paged.bundle["entry"]] == ["c1", "c2", "c3"]
    assert paged.incomplete is None
    assert [link["relation"] for link in paged.bundle["link"]] == ["self"]
    assert [c.request.url for c in rsps.calls] == [f"{BASE}/Condition?page=2", f"{BASE}/Condition?page=3"]


def test_relative_next_link_is_resolved_against_the_base(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Condition", json=bundle("c2"))
    paged = make_client(session).all_pages("conditions", bundle("c1", next_url="Condition?page=2"))
    assert len(paged.bundle["entry"]) == 2
    assert rsps.calls[0].request.url == f"{BASE}/Condition?page=2"


def test_paging_stops_at_the_page_cap(session: requests.Session, rsps: responses.RequestsMock) -> None:
    for n in range(2, 10):
        rsps.get(f"{BASE}/Condition", json=bundle(f"c{n}", next_url=f"{BASE}/Condition?page={n + 1}"))
    paged = make_client(session, max_pages=2).all_pages(
        "conditions", bundle("c1", next_url=f"{BASE}/Condition?p=2")
    )
    assert [e["resource"]["id"] for e in paged.bundle["entry"]] == ["c1", "c2", "c3"]
    assert len(rsps.calls) == 2
    assert paged.incomplete == "only the first 3 pages of results were read (page limit)"


def test_foreign_next_link_is_not_followed_and_is_logged(
    session: requests.Session, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cds_service")
    paged = make_client(session).all_pages(
        "conditions", bundle("c1", next_url="https://evil.example/fhir/Condition?page=2")
    )
    assert [e["resource"]["id"] for e in paged.bundle["entry"]] == ["c1"]
    assert paged.incomplete == "a further page is on another server and was not read"
    assert len(rsps.calls) == 0
    assert "another server" in caplog.text
    assert "evil.example" not in caplog.text


def test_next_links_in_a_loop_stop(session: requests.Session, rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/Condition", json=bundle("c2", next_url=f"{BASE}/Condition?page=2"))
    paged = make_client(session).all_pages("conditions", bundle("c1", next_url=f"{BASE}/Condition?page=2"))
    assert [e["resource"]["id"] for e in paged.bundle["entry"]] == ["c1", "c2"]
    assert paged.incomplete == "the FHIR server's next links go round in a loop"


def test_failing_later_page_keeps_earlier_pages(
    session: requests.Session, rsps: responses.RequestsMock
) -> None:
    rsps.get(f"{BASE}/Condition", status=500)
    paged = make_client(session).all_pages("conditions", bundle("c1", next_url=f"{BASE}/Condition?page=2"))
    assert [e["resource"]["id"] for e in paged.bundle["entry"]] == ["c1"]
    assert (
        paged.incomplete
        == "a further page could not be read: the FHIR server answered with an error (HTTP 500)"
    )


def test_merged_bundle_of_no_entries_has_no_entry_array() -> None:
    merged = merge_pages({"resourceType": "Bundle", "type": "searchset", "entry": []}, [])
    assert merged == {"resourceType": "Bundle", "type": "searchset"}


# --------------------------------------------------------------------------- session and secrets


def test_shared_session_is_reused_and_recreated_after_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        first = fhir_session.shared_session()
        assert fhir_session.shared_session() is first
        monkeypatch.setattr(os, "getpid", lambda: -1)  # as if in a forked worker
        assert fhir_session.shared_session() is not first
        first.close()
    finally:
        monkeypatch.undo()
        fhir_session.close_shared_session()


def test_session_keeps_no_cookies(session: requests.Session, rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{BASE}/Patient/p1", json={"resourceType": "Patient"}, headers={"Set-Cookie": "sid=abc; Path=/"}
    )
    rsps.get(f"{BASE}/Patient/p2", json={"resourceType": "Patient"})
    client = make_client(session)
    client.get_resource("patient", f"{BASE}/Patient/p1")
    client.get_resource("patient", f"{BASE}/Patient/p2")
    assert len(session.cookies) == 0
    assert "Cookie" not in rsps.calls[1].request.headers


def test_token_is_not_in_logs_or_reprs(
    session: requests.Session, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rsps.get(f"{BASE}/Patient/p1", status=503)
    client = make_client(session)
    with pytest.raises(FhirStatusError) as caught:
        client.get_resource("patient", f"{BASE}/Patient/p1")
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(client)
    assert TOKEN not in repr(client._auth)
    assert TOKEN not in str(caught.value)
    assert "hook-1 patient: 503" in caplog.text
