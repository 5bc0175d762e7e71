"""What the service reads from the EHR: prefetch keys and their FHIR query templates.

One data file (``prefetch_keys.json``) is the source for the discovery templates, for the
data-requirements document and for deciding which keys are required.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from fhir_mappings.valuesets import value_set

PATIENT_TOKEN = "{{context.patientId}}"  # noqa: S105 - a CDS Hooks prefetch token, not a secret


@dataclass(frozen=True)
class PrefetchKey:
    key: str
    resource_type: str
    required: bool
    purpose: str
    read: bool = False
    code_param: str | None = None
    value_sets: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def template(self) -> str:
        """The prefetch template (a relative FHIR read or search URL with tokens)."""
        if self.read:
            return f"{self.resource_type}/{PATIENT_TOKEN}"
        params = [f"patient={PATIENT_TOKEN}"]
        if self.code_param and self.value_sets:
            params.append(f"{self.code_param}={','.join(self.codes())}")
        params.extend(f"{name}={value}" for name, value in self.extra)
        return f"{self.resource_type}?{'&'.join(params)}"

    def codes(self) -> list[str]:
        """``system|code`` tokens of every listed value set, without repeats, in order."""
        seen: dict[str, None] = {}
        for vs_id in self.value_sets:
            for c in value_set(vs_id).codes:
                seen.setdefault(f"{c.system}|{c.code}", None)
        return list(seen)


@cache
def prefetch_keys() -> tuple[PrefetchKey, ...]:
    """Every prefetch key the guideline reads, in a stable order."""
    raw = resources.files("fhir_mappings").joinpath("prefetch_keys.json").read_text(encoding="utf-8")
    return tuple(
        PrefetchKey(
            key=k["key"],
            resource_type=k["resourceType"],
            required=k["required"],
            purpose=k["purpose"],
            read=k.get("read", False),
            code_param=k.get("codeParam"),
            value_sets=tuple(k.get("valueSets", ())),
            extra=tuple((p[0], p[1]) for p in k.get("extra", ())),
        )
        for k in json.loads(raw)["keys"]
    )
