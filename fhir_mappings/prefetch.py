"""What a prefetch value is, and the chart input handed to the mapping.

CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/#prefetch-template): a key that is absent
was not fetched; ``null`` means searched and nothing found; an OperationOutcome means the
client failed to fetch it; otherwise a resource (a read) or a searchset Bundle (a search).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class PrefetchKind(str, Enum):  # noqa: UP042 - str() kept as the contract had it
    EMPTY = "empty"  # null: searched, nothing found
    ERROR = "error"  # OperationOutcome: the client could not fetch it
    BUNDLE = "bundle"  # a Bundle (searchset)
    RESOURCE = "resource"  # any other resource (a read)
    INVALID = "invalid"  # not a FHIR resource at all


#: The kinds as module names (``PrefetchKind.EMPTY`` is a descriptor call on Python 3.11,
#: about 75 ns against 7: every prefetch key is classified and compared, on every call).
EMPTY, ERROR, BUNDLE, RESOURCE, INVALID = (
    PrefetchKind.EMPTY,
    PrefetchKind.ERROR,
    PrefetchKind.BUNDLE,
    PrefetchKind.RESOURCE,
    PrefetchKind.INVALID,
)


def classify(value: Any) -> PrefetchKind:
    """Classify one prefetch value (the key is present)."""
    if value is None:
        return EMPTY
    # ``type(...) is dict`` first: the same answer for parsed JSON, without the slower ABC test.
    if not (type(value) is dict or isinstance(value, Mapping)) or not isinstance(
        value.get("resourceType"), str
    ):
        return INVALID
    if value["resourceType"] == "OperationOutcome":
        return ERROR
    if value["resourceType"] == "Bundle":
        return BUNDLE
    return RESOURCE


@dataclass(frozen=True)
class ChartInput:
    """The patient's data as obtained for one hook call.

    ``prefetch`` holds, per key, the value as received or fetched (a resource, a searchset
    Bundle whose pages have been merged into ``entry``, ``None``, or an OperationOutcome).
    ``unavailable`` gives, per key that could not be obtained at all, the reason in plain
    words (no patient data), e.g. "not prefetched and no FHIR server access".
    ``incomplete`` gives, per key that was obtained only in part (search pages past the cap,
    a ``next`` link to another server, a later page that failed), why: what was obtained is
    used, but nothing found there can be taken as "absent".
    """

    patient_id: str
    prefetch: Mapping[str, Any]
    unavailable: Mapping[str, str] = field(default_factory=dict)
    incomplete: Mapping[str, str] = field(default_factory=dict)
    #: ``context.draftOrders`` of an order hook (a Bundle of draft requests), as received.
    draft_orders: Any = None
    #: ``context.selections`` of order-select: only these drafts are checked (None: all).
    selections: tuple[str, ...] | None = None
