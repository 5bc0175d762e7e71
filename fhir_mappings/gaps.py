"""What could not be assessed, as data: a source, a reason and parameters (no words).

``fhir_mappings`` says WHAT is missing and why as keys; ``hooks`` writes the words a
clinician reads ("medication list could not be read") from ``guideline.json``, and
``--explain`` adds the technical detail (the parameters). Server words (OperationOutcome
codes, timeouts, allowlists, prefetch) travel only as parameters, never onto a card.

Transition: ``Fact.missing`` holds ``Gap`` or a plain string (``Missing``). A plain string
is shown as written, so a fact module that still writes English keeps working; new code
builds a ``Gap`` (``Gap.of("labs", Reason.NOT_OBTAINED, detail="timeout")``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Reason(StrEnum):
    """Why a source could not be assessed (the key ``hooks`` words)."""

    #: The EHR did not send the key (not in the prefetch, and not fetched).
    NOT_SENT = "not-sent"
    #: Asked for, but it could not be obtained (an error, a timeout, not FHIR).
    NOT_OBTAINED = "not-obtained"
    #: Obtained in part (a search partly answered, pages not read): "none found" is not "none".
    PARTIAL = "partial"


@dataclass(frozen=True)
class Gap:
    """One thing not assessed: ``source`` (a prefetch key such as ``vital-signs``, or what
    was measured), ``reason`` (a ``Reason`` or another key ``hooks`` knows) and parameters
    for the words and the trail; ``part``: the organ or criterion it belongs to, if any."""

    source: str
    reason: str
    parameters: tuple[tuple[str, str], ...] = ()
    part: str = ""

    @classmethod
    def of(cls, source: str, reason: str, **parameters: str) -> Gap:
        return cls(source, str(reason), tuple(sorted(parameters.items())))

    def parameter(self, name: str) -> str | None:
        return dict(self.parameters).get(name)

    def within(self, part: str) -> Gap:
        """The same gap, as part of an organ or criterion (``renal``, ``hypotension``)."""
        return replace(self, part=self.part or part)

    def __str__(self) -> str:
        """A neutral trail line (logs, a caller still formatting strings): keys, not words."""
        detail = self.parameter("detail")
        text = f"{self.source}: {self.reason}" + (f" ({detail})" if detail else "")
        return f"{self.part}: {text}" if self.part else text


#: An item of ``Fact.missing``: structured, or (during the transition) a plain string.
Missing = Gap | str


def part_of(part: str, missing: Missing) -> Missing:
    """``missing`` as part of an organ or criterion, structured or not."""
    return missing.within(part) if isinstance(missing, Gap) else f"{part}: {missing}"
