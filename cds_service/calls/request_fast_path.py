"""The common case of the request schema, checked without jsonschema.

jsonschema took 0.14 ms for a demo request, a third of what the bare app spends on a
whole call (issue 18). ``plainly_valid`` checks the patient-view slice of
``schemas/request.schema.json`` with plain comparisons, reading its patterns and limits
from the schema document itself. It answers True only for a body the schema accepts; on
False (another hook, a missing field, a value of another type, anything unusual) the
caller runs jsonschema, which decides and names the field. It may say False for a body
the schema accepts (an ``expires_in`` of ``3600.0``): that body only takes the slow path.

``tests/cds_service/test_request_fast_path.py`` keeps it honest: generated bodies never
get True where jsonschema finds an error, and the schema's patient-view slice holds no
keyword this module does not check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HOOK = "patient-view"


@dataclass(frozen=True)
class _Limits:
    hook_instance: re.Pattern[str]
    fhir_server: re.Pattern[str]
    fhir_server_max: int
    token_type: re.Pattern[str]
    resource_type: re.Pattern[str]
    context: dict[str, re.Pattern[str]]  # property -> pattern; patientId is required


def limits(schema: Mapping[str, Any]) -> _Limits:
    """The patterns and lengths of the request schema (compiled once, by ``schemas``)."""
    props = schema["properties"]
    auth = props["fhirAuthorization"]["properties"]
    context = schema["$defs"]["patientViewContext"]["properties"]
    return _Limits(
        hook_instance=re.compile(props["hookInstance"]["pattern"]),
        fhir_server=re.compile(props["fhirServer"]["pattern"]),
        fhir_server_max=int(props["fhirServer"]["maxLength"]),
        token_type=re.compile(auth["token_type"]["pattern"]),
        resource_type=re.compile(
            props["prefetch"]["additionalProperties"]["properties"]["resourceType"]["pattern"]
        ),
        context={name: re.compile(spec["pattern"]) for name, spec in context.items()},
    )


def _text(value: Any, pattern: re.Pattern[str]) -> bool:
    # jsonschema applies "pattern" with re.search, so the same call is used here.
    return type(value) is str and pattern.search(value) is not None


def plainly_valid(body: Any, lim: _Limits) -> bool:
    """True when ``body`` is a patient-view request the schema accepts, checked cheaply."""
    if type(body) is not dict:
        return False
    hook = body.get("hook")
    if type(hook) is not str or hook != HOOK:
        return False
    if not _text(body.get("hookInstance"), lim.hook_instance):
        return False
    context = body.get("context")
    if type(context) is not dict or "patientId" not in context:
        return False
    for name, pattern in lim.context.items():
        if name in context and not _text(context[name], pattern):
            return False
    if "fhirServer" in body:
        server = body["fhirServer"]
        if not _text(server, lim.fhir_server) or len(server) > lim.fhir_server_max:
            return False
    if "fhirAuthorization" in body and (
        "fhirServer" not in body or not _authorization(body["fhirAuthorization"], lim)
    ):
        return False
    if "prefetch" in body:
        prefetch = body["prefetch"]
        if type(prefetch) is not dict:
            return False
        for value in prefetch.values():
            if value is None:
                continue
            if type(value) is not dict or not _text(value.get("resourceType"), lim.resource_type):
                return False
    return "extension" not in body or type(body["extension"]) is dict


def _authorization(auth: Any, lim: _Limits) -> bool:
    if type(auth) is not dict:
        return False
    token = auth.get("access_token")
    if type(token) is not str or not token:
        return False
    if not _text(auth.get("token_type"), lim.token_type):
        return False
    if "expires_in" in auth:
        expires = auth["expires_in"]
        if type(expires) is not int or expires < 0:
            return False  # a float or a negative number: jsonschema decides
    return all(type(auth[name]) is str for name in ("scope", "subject", "patient") if name in auth)
