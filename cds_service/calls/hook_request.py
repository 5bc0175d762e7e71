"""The typed hook request, built from a body that already passed the JSON Schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FhirAuthorization:
    """The bearer token for ``fhirServer``: transient, never logged, stored or echoed."""

    access_token: str = field(repr=False)
    token_type: str = "Bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None


@dataclass(frozen=True)
class HookRequest:
    hook: str
    hook_instance: str
    context: Mapping[str, Any]
    prefetch: Mapping[str, Any]
    fhir_server: str | None = None
    fhir_authorization: FhirAuthorization | None = None

    @property
    def patient_id(self) -> str:
        return str(self.context["patientId"])

    @property
    def user_id(self) -> str | None:
        value = self.context.get("userId")
        return str(value) if value is not None else None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> HookRequest:
        auth = body.get("fhirAuthorization")
        return cls(
            hook=body["hook"],
            hook_instance=body["hookInstance"],
            context=body["context"],
            prefetch=body.get("prefetch") or {},
            fhir_server=body.get("fhirServer"),
            fhir_authorization=(
                FhirAuthorization(
                    access_token=auth["access_token"],
                    token_type=auth.get("token_type", "Bearer"),
                    expires_in=auth.get("expires_in"),
                    scope=auth.get("scope"),
                    subject=auth.get("subject"),
                    patient=auth.get("patient"),
                )
                if isinstance(auth, Mapping)
                else None
            ),
        )
