"""Prefetch templates filled from the hook context (CDS Hooks 2.0 prefetch tokens), URL-encoded."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from cds_service.fhir.errors import UnresolvedToken

_TOKEN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
#: CDS Hooks 2.0 user tokens: the id part of ``context.userId`` when it has that type.
USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


def token_values(context: Mapping[str, Any]) -> dict[str, str]:
    """Every prefetch token the hook context can fill, unencoded."""
    values: dict[str, str] = {}
    for name, value in context.items():
        text = _primitive_text(value)
        if text is not None:
            values[f"context.{name}"] = text
    user = context.get("userId")
    if isinstance(user, str) and user.count("/") == 1:
        resource_type, _, ident = user.partition("/")
        for token, wanted in USER_TOKENS.items():
            if resource_type == wanted and ident:
                values[token] = ident
    return values


def _primitive_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None  # objects and arrays are not prefetch tokens (2.0 #prefetch-tokens)


def fill_template(template: str, context: Mapping[str, Any]) -> str:
    """Fill a relative query's tokens, URL-encoded; ``UnresolvedToken`` if one cannot be filled."""
    values = token_values(context)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name)
        # A value of dots would climb out of the path once the URL is normalised.
        if not value or set(value) <= {"."}:
            raise UnresolvedToken(name)
        # safe="" encodes "/", "?", "&", "#" and "%": a value cannot add a path, a parameter or a fragment.
        return quote(value, safe="")

    filled = _TOKEN.sub(substitute, template)
    if "{{" in filled or "}}" in filled:
        raise UnresolvedToken("?")
    return filled
