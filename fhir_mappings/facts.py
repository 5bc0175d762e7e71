"""The clinical facts of the guideline, as the rules in ``hooks`` see them.

``PatientFacts`` is the only thing ``hooks`` receives from ``fhir_mappings``. Every fact
carries the evidence that decided it (resource type and id, code, value and unit, time),
so a card can name the patient's own facts, and says what could not be assessed and why,
so a card can say what it did not know.

A three-valued status is used on purpose: ``absent`` means the data was there and did not
meet the criterion; ``unknown`` means the data needed to decide was not available (key not
fetched, FHIR server error, no measurement in the window, unit not usable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import cached_property
from typing import Any, TypeVar

from fhir_mappings.criteria import INSTABILITY
from fhir_mappings.dict_init import dict_init
from fhir_mappings.gaps import Missing

_Frozen = TypeVar("_Frozen")


def _copied(original: _Frozen, changes: dict[str, Any]) -> _Frozen:
    """``dataclasses.replace(original, **changes)`` for a frozen dataclass whose instance dict
    holds its fields and nothing else (no ``__post_init__``, no cached property): the fields
    copied into a new instance's dict, without the generated ``__init__``'s call of
    ``object.__setattr__`` per field (0.5 against 2.3 us for an ``Evidence``)."""
    copy = object.__new__(type(original))
    fields = copy.__dict__
    fields.update(original.__dict__)
    fields.update(changes)
    return copy


class Status(str, Enum):  # noqa: UP042 - str() kept as the contract had it
    """Whether a criterion is met, not met, or could not be decided."""

    PRESENT = "present"
    ABSENT = "absent"
    UNKNOWN = "unknown"


@dict_init
@dataclass(frozen=True)
class Evidence:
    """One piece of the patient's record that a fact rests on."""

    resource_type: str
    resource_id: str | None
    #: What the resource is: ``system|code`` of the matching coding, and its display.
    system: str | None = None
    code: str | None = None
    display: str | None = None
    #: The value as recorded (numeric) and its unit as a UCUM code when known.
    value: float | None = None
    unit: str | None = None
    #: The value as text when it is not a number (a coded grade, a status, ``4+``).
    value_text: str | None = None
    #: Effective / onset / performed time of the resource.
    time: datetime | None = None
    #: Which rule this evidence satisfied, as a trail for ``--explain`` (``SBP 82 mm[Hg] < 90``).
    note: str | None = None
    #: What the evidence is, as a key ``hooks`` words for people: ``sbp``, ``map``,
    #: ``lactate``, ``echo-grade``, a value-set id (``cardiogenic-shock``), a drug name.
    what: str | None = None
    #: Its state as a key: ``active-order``, ``running``, ``in-progress``, ``inserted``,
    #: ``inserted-no-end``, ``performed``, ``active-device``, ``computed``...
    status: str | None = None
    #: Why it is shown without counting, as a key: ``name-only``, ``not-intravenous``,
    #: ``combination``, ``configuration-not-coded``, ``end-not-recorded``, ``artefact``.
    reason: str | None = None

    def with_reason(self, reason: str | None) -> Evidence:
        """``dataclasses.replace(self, reason=reason)`` (``_copied``: a chart with vasoactive
        drugs makes a few a call)."""
        return _copied(self, {"reason": reason})

    def with_note(self, note: str | None, time: datetime | None) -> Evidence:
        """``dataclasses.replace(self, note=note, time=time)`` (``_copied``)."""
        return _copied(self, {"note": note, "time": time})

    @property
    def reference(self) -> str:
        """Relative FHIR reference such as ``Observation/bp-1`` (or the type alone)."""
        return f"{self.resource_type}/{self.resource_id}" if self.resource_id else self.resource_type


@dict_init
@dataclass(frozen=True)
class Fact:
    """A yes/no/unknown criterion with what decided it."""

    name: str
    status: Status
    evidence: tuple[Evidence, ...] = ()
    #: Why the fact is unknown or partly assessed: a ``Gap`` (source, reason, parameters:
    #: ``hooks`` words it) or, during the transition, plain words ("no blood pressure in the
    #: last 24 h").
    missing: tuple[Missing, ...] = ()
    #: Found but not counted (a drug matched by name only, support whose end is not
    #: recorded): shown to the clinician to verify, never deciding the fact.
    shown: tuple[Evidence, ...] = ()

    @property
    def present(self) -> bool:
        return self.status is Status.PRESENT


@dataclass(frozen=True)
class DraftOrder:
    """A medication order being signed or selected (``context.draftOrders`` of an order hook),
    with the drug classes it belongs to (docs/clinical-rules.md, section 'Order safety')."""

    #: The draft's relative reference ("MedicationRequest/123"); None without an id.
    reference: str | None
    #: Value-set ids of the classes the drug belongs to ("ace-inhibitors", ...).
    classes: tuple[str, ...]
    #: The drug as a clinician reads it (ingredient or display), and how it was recognised.
    evidence: Evidence
    #: Ingredients that raise afterload (phenylephrine), when the drug is one.
    afterload_raising: bool = False
    #: A route is coded and none of its codes is intravenous (eye drops, tablets, patches).
    not_intravenous: bool = False
    #: Recognised by its name only (no listed code): the card says "name match: verify".
    name_only: bool = False


class GradeSource(str, Enum):  # noqa: UP042 - str() kept as the contract had it
    ECHO = "echo"
    CONDITION = "condition"
    NONE = "none"


@dict_init
@dataclass(frozen=True)
class MRGrade:
    """The MR severity grade on a 0-4+ scale (docs/clinical-rules.md, MR grade).

    ``grade`` is None when there is no grade within 365 days, or when the deciding
    resource was not machine-readable (``machine_readable`` False); never rounded up.
    """

    grade: int | None
    source: GradeSource
    machine_readable: bool = True
    evidence: tuple[Evidence, ...] = ()
    missing: tuple[Missing, ...] = ()
    #: A completed mitral valve repair/replacement dated after the deciding echo (whatever
    #: the problem list says), or a resolved MR Condition dated after it with no active MR
    #: Condition left: the grade no longer describes the valve.
    superseded_by: tuple[Evidence, ...] = ()
    #: A grade recorded as a range (``3-4+``, "mild to moderate"): (lowest, highest). Never
    #: severe; a range below 4+ is a current grade, one reaching 4+ asks for a single grade.
    grade_range: tuple[int, int] | None = None
    #: The deciding echo is preliminary: it may raise a card, labelled, never lower one.
    preliminary: bool = False
    #: The newest echo had no readable grade: the grade is from an echo before it (evidence
    #: holds the deciding echo first, then this newest one).
    fallback: bool = False

    @property
    def severe(self) -> bool:
        return self.grade is not None and self.grade >= 4 and not self.superseded_by

    @property
    def level(self) -> int | None:
        """The highest grade the record allows (a range by its top), for comparing readings."""
        return self.grade_range[1] if self.grade_range else self.grade

    @property
    def current_echo_grade(self) -> bool:
        """A current grade from an echo: a single grade, or a range that stays below 4+."""
        if self.source is not GradeSource.ECHO or self.superseded_by:
            return False
        return self.grade is not None or (self.grade_range is not None and self.grade_range[1] < 4)


class MatchKind(str, Enum):  # noqa: UP042 - str() kept as the contract had it
    """How a medication was recognised; ``NAME`` is flagged in cards."""

    CODE = "code"  # RxNorm ingredient or clinical drug code on the medication itself
    INGREDIENT = "ingredient"  # Medication.ingredient of a referenced/contained Medication
    ATC = "atc"
    NAME = "name"  # matched on text only: reported as such


@dataclass(frozen=True)
class MedicationMatch:
    """An active medication order (or administration) in one medication class."""

    value_set: str  # e.g. "loop-diuretics"
    match_kind: MatchKind
    evidence: Evidence


@dataclass(frozen=True)
class MedicationClasses:
    """Active medications per class, and whether medication data was available."""

    by_class: dict[str, tuple[MedicationMatch, ...]] = field(default_factory=dict)
    #: Why medication data could not be assessed (key not fetched, server error).
    missing: tuple[Missing, ...] = ()
    #: Drugs RUNNING now per class (newest administration in progress, or an active inpatient
    #: continuous-infusion order): the same test as vasoactive support.
    running_by_class: dict[str, tuple[MedicationMatch, ...]] = field(default_factory=dict)

    def active(self, value_set: str) -> tuple[MedicationMatch, ...]:
        return self.by_class.get(value_set, ())

    def running(self, value_set: str) -> tuple[MedicationMatch, ...]:
        return self.running_by_class.get(value_set, ())

    @property
    def assessed(self) -> bool:
        return not self.missing


@dict_init
@dataclass(frozen=True)
class DataQualityNote:
    """A resource that was left out, and why (never patient free text); or, with ``kept``,
    a resource used although part of it was not."""

    resource_type: str
    resource_id: str | None
    reason: str  # e.g. "entered-in-error", "unit 'mmol' not recognised", "failed validation: ..."
    #: The resource still counts; the note names what in it was not used (an element R4
    #: does not define, which no fact reads).
    kept: bool = False


def _absent(name: str) -> Callable[[], Fact]:
    return lambda: Fact(name, Status.ABSENT)


@dataclass(frozen=True)
class Scope:
    """The scope facts; defaults say "nothing recorded" so older callers keep working."""

    #: Age in whole years at the evaluation time, the oldest the birthDate allows (a year
    #: alone: born on 1 January); None without a birthDate.
    age_years: int | None = None
    deceased: Fact = field(default_factory=_absent("deceased"))
    comfort_care: Fact = field(default_factory=_absent("comfort_care"))
    dnr: Fact = field(default_factory=_absent("dnr"))
    pregnant: Fact = field(default_factory=_absent("pregnant"))
    durable_vad: Fact = field(default_factory=_absent("durable_vad"))
    mitral_stenosis: Fact = field(default_factory=_absent("mitral_stenosis"))
    #: CKD stage 4-5, end-stage renal disease or cirrhosis on the problem list.
    surgical_risk: Fact = field(default_factory=_absent("surgical_risk"))
    #: The adult age the guideline starts at (thresholds: ``adult_age_years``).
    adult_age: int = 18

    def with_patient(self, age_years: int | None, deceased: Fact) -> Scope:
        """``dataclasses.replace(self, age_years=..., deceased=...)`` (``_copied``: a chart
        with nothing but the Patient for scope makes one a call)."""
        return _copied(self, {"age_years": age_years, "deceased": deceased})

    @property
    def out_of_scope(self) -> str | None:
        """Why no card may be shown at all (``under-18``, ``deceased``), else None."""
        if self.deceased.present:
            return "deceased"
        if self.age_years is not None and self.age_years < self.adult_age:
            return "under-18"
        return None


@dataclass(frozen=True, init=False)
class PatientFacts:
    """Everything the rules may use, as of ``as_of``."""

    as_of: datetime
    patient_id: str
    mr_documented: Fact
    #: True when the deciding MR Condition is provisional or differential.
    mr_unconfirmed: bool
    mr_grade: MRGrade
    #: The latest echo MR grade within 30 days is 2+ or worse (a range counts by its lower bound).
    mr_on_echo: Fact
    hypotension: Fact
    hypoperfusion: Fact
    cardiogenic_shock: Fact
    vasoactive_support: Fact
    mechanical_support: Fact
    #: Veno-venous ECMO in progress: respiratory support only, named on circulatory cards.
    respiratory_ecmo: Fact
    #: Organ system -> fact; keys: "renal", "hepatic", "respiratory", "coagulation".
    organ_dysfunction: dict[str, Fact]
    multi_organ_failure: Fact
    acute_mr_trigger: Fact
    pulmonary_edema: Fact
    heart_failure_symptoms: Fact
    medications: MedicationClasses
    #: Resources left out (status, window, unit, validation) for the card detail.
    data_quality: tuple[DataQualityNote, ...] = ()
    #: Data sources that could not be obtained: (prefetch key, reason).
    unavailable: tuple[tuple[str, str], ...] = ()
    #: Medication orders being signed or selected (order hooks only; empty otherwise).
    draft_orders: tuple[DraftOrder, ...] = ()
    #: MR looked at on echo: an echo MR-grade Observation within 365 days, readable or not.
    mr_on_echo_any: Fact = Fact("mr_on_echo_any", Status.ABSENT)
    #: An echo (an echo MR-grade Observation or an echocardiography Procedure) within
    #: ``echo_recent_days``: a new echo is not suggested, the grade is to be recorded.
    recent_echo: Fact = Fact("recent_echo", Status.ABSENT)
    #: The MR grade comes from an echo within ``echo_graded_urgent_hours`` (no urgent echo).
    echo_graded_recently: Fact = Fact("echo_graded_recently", Status.ABSENT)
    #: Age, death, goals of care and contraindications (docs/clinical-rules.md, section 'Scope').
    scope: Scope = field(default_factory=lambda: Scope())

    def __init__(
        self,
        as_of: datetime,
        patient_id: str,
        mr_documented: Fact,
        mr_unconfirmed: bool,
        mr_grade: MRGrade,
        mr_on_echo: Fact,
        hypotension: Fact,
        hypoperfusion: Fact,
        cardiogenic_shock: Fact,
        vasoactive_support: Fact,
        mechanical_support: Fact,
        respiratory_ecmo: Fact,
        organ_dysfunction: dict[str, Fact],
        multi_organ_failure: Fact,
        acute_mr_trigger: Fact,
        pulmonary_edema: Fact,
        heart_failure_symptoms: Fact,
        medications: MedicationClasses,
        data_quality: tuple[DataQualityNote, ...] = (),
        unavailable: tuple[tuple[str, str], ...] = (),
        draft_orders: tuple[DraftOrder, ...] = (),
        mr_on_echo_any: Fact = Fact("mr_on_echo_any", Status.ABSENT),
        recent_echo: Fact = Fact("recent_echo", Status.ABSENT),
        echo_graded_recently: Fact = Fact("echo_graded_recently", Status.ABSENT),
        scope: Scope | None = None,
    ) -> None:
        # Written out as Evidence's is (tests/hooks/test_model.py keeps it in step): the
        # generated frozen __init__ sets two dozen fields one object.__setattr__ at a time.
        self.__dict__.update(
            {
                "as_of": as_of,
                "patient_id": patient_id,
                "mr_documented": mr_documented,
                "mr_unconfirmed": mr_unconfirmed,
                "mr_grade": mr_grade,
                "mr_on_echo": mr_on_echo,
                "hypotension": hypotension,
                "hypoperfusion": hypoperfusion,
                "cardiogenic_shock": cardiogenic_shock,
                "vasoactive_support": vasoactive_support,
                "mechanical_support": mechanical_support,
                "respiratory_ecmo": respiratory_ecmo,
                "organ_dysfunction": organ_dysfunction,
                "multi_organ_failure": multi_organ_failure,
                "acute_mr_trigger": acute_mr_trigger,
                "pulmonary_edema": pulmonary_edema,
                "heart_failure_symptoms": heart_failure_symptoms,
                "medications": medications,
                "data_quality": data_quality,
                "unavailable": unavailable,
                "draft_orders": draft_orders,
                "mr_on_echo_any": mr_on_echo_any,
                "recent_echo": recent_echo,
                "echo_graded_recently": echo_graded_recently,
                "scope": Scope() if scope is None else scope,
            }
        )

    @property
    def data_quality_by_reason(self) -> tuple[tuple[str, int], ...]:
        """Left-out resources counted per reason, most frequent first (a chart can have hundreds)."""
        counts: dict[str, int] = {}
        for note in self.data_quality:
            counts[note.reason] = counts.get(note.reason, 0) + 1
        return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    @property
    def severe_mr(self) -> bool:
        return self.mr_grade.severe

    @cached_property
    def hemodynamic_instability(self) -> tuple[Fact, ...]:
        """The instability criteria that are present (empty: none present)."""
        return tuple(f for f in self.instability_criteria if f.present)

    @property
    def hemodynamic_instability_unknown(self) -> tuple[Fact, ...]:
        """The instability criteria that could not be assessed."""
        return tuple(f for f in self.instability_criteria if f.status is Status.UNKNOWN)

    @cached_property  # read three times by the rules of one evaluation
    def instability_criteria(self) -> tuple[Fact, ...]:
        """The instability facts, in the order of ``criteria.INSTABILITY`` (one list)."""
        return tuple(getattr(self, name) for name in INSTABILITY)
