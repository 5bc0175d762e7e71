"""Why a resource's status keeps it out of the facts: one check-and-report for every type."""

from __future__ import annotations

from fhir_mappings.elements import Resource, resource_type
from fhir_mappings.parse import Report


def report_status(
    resource: Resource, status: str | None, *, known: frozenset[str], reported: frozenset[str], report: Report
) -> None:
    """Note a status outside the resource type's code set (always), or one in ``reported``
    (withdrawn, unknown, not yet final) by name; other statuses simply do not count."""
    if status not in known:
        shown = status[:30] if isinstance(status, str) else None
        kind = resource_type(resource)
        article = "an" if kind[:1] in "AEIOU" else "a"
        report.note(resource, f"status {shown!r} is not {article} {kind} status")
    elif status in reported:
        report.note(resource, f"status {status}")
