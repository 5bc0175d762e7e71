"""Generate ``docs/data-requirements.md`` from the value-set, threshold and prefetch files.

Run ``python -m fhir_mappings.docgen`` from the repository root to rewrite the document,
or ``python -m fhir_mappings.docgen --check`` to fail when it is out of date. A test does
the same comparison, so the tables cannot drift from the data the service uses.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from fhir_mappings import codesystems
from fhir_mappings.conditions import ACTIVE, EXCLUDED, UNCONFIRMED
from fhir_mappings.medications import CLASSES
from fhir_mappings.mr_grade import qualifier_grades
from fhir_mappings.observations import COUNTED
from fhir_mappings.requirements import prefetch_keys
from fhir_mappings.thresholds import Thresholds, default_thresholds, documented_defaults
from fhir_mappings.timing import describe_window
from fhir_mappings.units import (
    BILIRUBIN,
    BILIRUBIN_UMOL_PER_MG_DL,
    BLOOD_PRESSURE,
    CREATININE,
    CREATININE_UMOL_PER_MG_DL,
    KNOWN_SPELLINGS,
    LACTATE,
    LACTATE_MG_DL_PER_MMOL_L,
    PLATELETS,
)
from fhir_mappings.valuesets import all_value_sets, value_set

DOC = Path("docs") / "data-requirements.md"

SYSTEM_NAMES = {
    codesystems.SNOMED: "SNOMED CT",
    codesystems.LOINC: "LOINC",
    codesystems.ICD10CM: "ICD-10-CM",
    codesystems.ICD10PCS: "ICD-10-PCS",
    codesystems.RXNORM: "RxNorm",
    codesystems.CPT: "CPT",
    codesystems.ATC: "ATC",
}


def facts_table(t: Thresholds) -> tuple[tuple[str, str, str], ...]:
    """Fact -> (resources and value sets read, rule), with the windows of ``t`` (the defaults
    unless a site overrides them: the windows are never written here by hand)."""
    vitals, lactate, labs = (describe_window(w) for w in (t.vitals_window, t.lactate_window, t.labs_window))
    echo, on_echo = describe_window(t.echo_grade_window), describe_window(t.mr_on_echo_window)
    support, trigger = describe_window(t.support_procedure_window), describe_window(t.acute_trigger_window)
    return (
        (
            "mr_documented",
            "Condition: `mitral-regurgitation`",
            "active, not refuted; provisional/differential = unconfirmed",
        ),
        (
            "mr_grade",
            "Observation: `echo-mr-grade`; else Condition.severity",
            f"newest echo within {echo} decides (preliminary counts, never lowers a grade); an ungraded "
            f"newest echo falls back to a readable one within {describe_window(t.echo_fallback_window)} "
            "before it; else Condition.severity recorded within "
            f"{describe_window(t.problem_list_severity_window)}; superseded by any later completed "
            "`mitral-valve-intervention` Procedure, or a resolved MR Condition when no active MR "
            "Condition is left",
        ),
        (
            "recent_echo",
            "Observation: `echo-mr-grade`; Procedure: `echocardiography`",
            f"an echo within {describe_window(t.echo_recent_window)}: no new echo is suggested",
        ),
        ("mr_on_echo", "Observation: `echo-mr-grade`", f"latest echo within {on_echo} is 2+ or worse"),
        (
            "hypotension",
            "Observation: `systolic-bp`, `diastolic-bp`, `mean-arterial-pressure`",
            f"latest plausible value within {vitals}",
        ),
        ("hypoperfusion", "Observation: `lactate`", f"latest plausible value within {lactate}"),
        ("cardiogenic_shock", "Condition: `cardiogenic-shock`", "active"),
        (
            "vasoactive_support",
            "MedicationRequest / MedicationAdministration: `vasopressors`, `inotropes`; "
            "route: `non-intravenous-route`, `intravenous-route`",
            "see below",
        ),
        (
            "mechanical_support",
            "Procedure / Device / DeviceUseStatement: `ecmo-circulatory`, `ecmo-unspecified`, `iabp`, "
            "`percutaneous-vad`, `ecmo-device`, `iabp-device`, `percutaneous-vad-device`",
            f"in progress, or inserted within {support} and not removed; active device. "
            "Unknown: ECMO without its configuration, or a performedDateTime only",
        ),
        (
            "organ_dysfunction",
            "Condition: `acute-kidney-injury`, `liver-failure`, `acute-respiratory-failure`; "
            "Observation: `creatinine`, `bilirubin-total`, `platelets`; "
            "Procedure: `invasive-ventilation`, `ecmo-respiratory`",
            f"labs: latest within {labs}",
        ),
        ("multi_organ_failure", "Condition: `multiple-organ-failure`, or two organ systems above", ""),
        (
            "acute_mr_trigger",
            "Condition: `acute-myocardial-infarction`, `infective-endocarditis`, "
            "`papillary-muscle-or-chordal-rupture`",
            f"onset within {trigger}",
        ),
        ("pulmonary_edema", "Condition: `acute-pulmonary-edema`", "active"),
        (
            "heart_failure_symptoms",
            "Condition: `heart-failure`, `dyspnea`, `acute-pulmonary-edema`",
            "active",
        ),
        ("medication classes", "MedicationRequest: " + ", ".join(f"`{c}`" for c in CLASSES), "status active"),
    )


INTRO = """\
# Data requirements for integration engineers

<!-- Generated by `python -m fhir_mappings.docgen` from fhir_mappings/valuesets/*.json,
fhir_mappings/thresholds.json, fhir_mappings/mr_grade_map.json and
fhir_mappings/prefetch_keys.json. Do not edit by hand: a test fails when it is out of date. -->

What the severe-MR service reads from your EHR on `patient-view`, in which form, and what
it ignores. Send FHIR R4 JSON. Codes are matched on (system, code) exactly: no display
text, no code-system hierarchy (a SNOMED descendant or an ATC group member that is not
listed below is not recognised). Every decision is made as of the time of the hook call.

## What the service does with what you send

- **Prefetch**: send the keys below (CDS Hooks 2.0 prefetch). `null` means you searched
  and found nothing. An OperationOutcome means you could not fetch the data: the facts
  that depend on it are reported as *unknown*, never as *absent*. A search Bundle with an
  OperationOutcome entry of severity error or fatal is treated as partial.
- **Any key**: resources are classified by `resourceType` and code, wherever they arrive;
  duplicates (same type and id) count once. Bundle entries with `search.mode = include`
  (for example the Medication behind a MedicationRequest) are used to resolve references;
  contained resources (`#id`) are resolved too.
- **Validation**: resources the guideline can use are validated against the FHIR R4B
  models in the elements a fact reads (`fhir_mappings/read_elements.json`), and only
  there: the model validates the resource reduced to those elements, as strictly as the
  whole resource. An error in a read element leaves the resource out, listed (type, id,
  first error path among the read elements), never the whole request. Elements no fact
  reads are not validated (narrative, identifiers, notes cost nothing): a malformed
  `note` goes unremarked. An element R4 does not define and no fact reads (such as an R5
  `encounter` on a MedicationAdministration) does not stop the resource counting either;
  `--explain` lists the resource with the names of those elements. Most resources never
  reach the model: a plain check of the same elements (`fhir_mappings/fast_validation.py`)
  clears a resource that is certainly valid (only elements R4B defines, every value
  present, non-empty and of its JSON type, codes, ids, dates and numbers in forms the
  model accepts, required and choice elements as R4B says). Anything else (a `null`, an
  empty value, an unknown key, a leap second, a datatype it does not check) goes to the
  model, which decides as before, with the same error.
- **Another patient**: a resource whose `subject` / `patient` names another patient is
  left out and listed.
- **Left out and listed** (in `mr-cds evaluate --explain`, never on a card): statuses that
  do not count, times outside a window or after the evaluation time, units that are not
  recognised, implausible values (artefacts), values with a comparator (`<`, `>`) except a
  lactate bound that decides, references that cannot be resolved. A card says only what
  was not assessed and could change it.
- **Read newest first**: within its window a measurement is read from the newest reading
  back, only as far as older readings can still change the fact: for a lab, to the newest
  usable value; for blood pressure, to the newest usable reading (by itself and as a MAP
  alone) and the confirmation window before it. What is wrong with an older reading in the
  window (validation, unit, artefact) is then not listed; a reading outside the window
  always is.
"""

ECHO = """\
## How to send the echo MR grade

No LOINC code exists for a categorical MR grade and no precoordinated SNOMED CT concept
for "severe MR" was found. Send one Observation per echo:

- `code`: SNOMED CT `48724000` (Mitral valve regurgitation), system `http://snomed.info/sct`
- `status`: `final`, `amended` or `corrected`; `preliminary` also counts, and every card
  that cites it says "preliminary" (a preliminary echo may raise a grade, never lower one)
- `effectiveDateTime`: the date of the study (a date alone is enough for this 365-day window);
  two echoes at the same time are told apart by status (amended or corrected, then final,
  then preliminary), then `issued`, then `meta.lastUpdated`
- the grade, in one of these forms (in this order of preference):
  - `valueCodeableConcept` with a SNOMED CT severity qualifier (table below), or with an
    exact grade word as its `text` or as the `display` of a local coding;
  - `valueInteger` 0-4, or `valueQuantity` 0-4 with no unit or UCUM `{grade}` or `1`;
  - `valueString` that is exactly a grade (`0`-`4`, optionally followed by `+`: `4+`), a
    range (`3-4+`), or an exact grade word.

Grade words (case and hyphens do not matter; a trailing "MR", "mitral regurgitation" or
"regurgitation" is allowed): none, trace, trivial (0); mild (1+); mild to moderate (the
range 1-2+); moderate (2+); moderate to severe, moderately severe (3+); severe (4+). They
live in `fhir_mappings/mr_grade_map.json`. Nothing else is read: "not severe", "severe AS"
or "severe MR, see report" are **not machine-readable**, and so are a fraction of a grade
(`3.5`) and a code not listed. A range is never severe; one that reaches 4+ asks for a single
grade. When the newest echo has no readable grade (or a `dataAbsentReason`), a readable grade
from an echo at most 30 days before it decides, and the cards say so; otherwise the grade is
unknown and the card asks for a structured grade. Nothing is rounded up.

```json
{
  "resourceType": "Observation",
  "status": "final",
  "code": {"coding": [{"system": "http://snomed.info/sct", "code": "48724000",
                       "display": "Mitral valve regurgitation (disorder)"}]},
  "subject": {"reference": "Patient/123"},
  "effectiveDateTime": "2026-11-02",
  "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "24484000",
                                       "display": "Severe (severity modifier) (qualifier value)"}]}
}
```

Only when there is no echo grade within the window is `Condition.severity` on the MR
Condition used, coded with the same qualifiers, and only when that Condition was recorded
(`recordedDate`, else onset) within 365 days; the grade card then still asks for an echo.
"""

STATUS_TEXT = """\
## Statuses that count

| resource | counts | does not count (listed when unusual) |
|---|---|---|
| Observation | {observation} (an echo MR grade also when preliminary) | \
registered, preliminary, unknown, cancelled, entered-in-error |
| Condition | clinicalStatus {condition} (no clinicalStatus: active unless `abatement[x]` is set); \
verificationStatus not {excluded} | inactive, remission, resolved; refuted, entered-in-error (listed) |
| Condition (unconfirmed) | verificationStatus {unconfirmed}: counted, but the card says "unconfirmed" | |
| Procedure | in-progress; completed with `performedPeriod.start` within {support} and no `end`; \
completed with only a `performedDateTime` within {support}: support unknown (removal not recorded) | \
completed with an end; any other status (listed) |
| Device | active | inactive; entered-in-error, unknown (listed) |
| DeviceUseStatement | active, with `device` resolving to a contained or sent Device of a listed type | \
entered-in-error (listed); other statuses |
| MedicationRequest | active, without `doNotPerform: true` | \
all other statuses; cancelled, entered-in-error, unknown and doNotPerform (listed) |
| MedicationAdministration | in-progress (vasopressors and inotropes only) | \
completed (a bolus or a stress-echo dose is not running); other statuses (listed) |

Times: `effectiveDateTime` / `effectiveInstant` / `effectivePeriod` (end, else start) for
Observations; onset for acute triggers is `onsetDateTime`, else `onsetPeriod.start`, else
`recordedDate` (undated: not counted, and said so). Hour windows need a time of day with a
time zone. In day windows a date counts when any part of that day is inside; a month or a
year only when it lies wholly inside (one that straddles the window start is not counted,
and said so). "Latest" means the latest effective time among resources that count.
"""

MEDICATIONS = """\
## Medications

A drug is recognised by, in order: an RxNorm ingredient or clinical-drug code or an ATC
code listed below, on `medicationCodeableConcept` or on the referenced Medication's
`code`; a listed code on `Medication.ingredient`; only then by an ingredient name found in
the drug's text or coding display. A name-only match is flagged in the card and never
counts as vasoactive support; neither does a product whose coded SNOMED CT route is not
intravenous, nor one with an ingredient outside `vasopressors` and `inotropes` (lidocaine
with epinephrine). ATC group codes (e.g. `C01CA`) match only when sent as such, never as
a prefix of a longer code.
"""


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _number(value: float) -> str:
    return f"{value:g}"


def _keys() -> list[str]:
    rows = [
        (f"`{k.key}`", k.resource_type, "yes" if k.required else "no", f"`{k.template}`", k.purpose)
        for k in prefetch_keys()
    ]
    return ["## Prefetch keys", "", *_table(("key", "resource", "required", "query", "used for"), rows)]


def _facts() -> list[str]:
    rows = [(f"`{name}`", reads, rule) for name, reads, rule in facts_table(default_thresholds())]
    return ["## Facts and what they read", "", *_table(("fact", "reads (value sets)", "rule"), rows)]


def _thresholds() -> list[str]:
    rows = [(f"`{t.name}`", _number(t.value), t.unit, t.source) for t in documented_defaults()]
    intro = (
        "Defaults below; a site can override any of them with a JSON file "
        '(`{"sbp_below_mmhg": 85}`); creatinine and bilirubin cut-offs are stated in both '
        "units and must be overridden together."
    )
    return [
        "## Thresholds and time windows",
        "",
        intro,
        "",
        *_table(("name", "value", "unit", "source"), rows),
    ]


def _units() -> list[str]:
    analytes = (BLOOD_PRESSURE, LACTATE, CREATININE, BILIRUBIN, PLATELETS)
    rows = [(a.name, ", ".join(f"`{u}`" for u in a.to_canonical)) for a in analytes]
    spellings = [(f"`{text}`", f"`{code}`") for text, code in KNOWN_SPELLINGS.items()]
    factors = [
        f"- creatinine: 1 mg/dL = {_number(CREATININE_UMOL_PER_MG_DL)} umol/L",
        f"- total bilirubin: 1 mg/dL = {_number(BILIRUBIN_UMOL_PER_MG_DL)} umol/L",
        f"- lactate: mg/dL / {_number(LACTATE_MG_DL_PER_MMOL_L)} = mmol/L",
        "- platelets: 10*3/uL = 10*9/L",
    ]
    return [
        "## Units",
        "",
        "The UCUM `code` is used when `system` is `http://unitsofmeasure.org`; otherwise the",
        "`unit` text is accepted only if it is one of the spellings below. Any other unit is",
        "never guessed: the value is left out and listed. Cut-offs stated in a unit are",
        "compared in that unit; other accepted units are converted.",
        "",
        *_table(("measurement", "accepted UCUM units"), rows),
        "",
        *_table(("unit text (no UCUM system)", "read as UCUM"), spellings),
        "",
        "Conversions:",
        "",
        *factors,
    ]


def _grades() -> list[str]:
    qualifiers = {c.code: c.display for c in value_set("mr-severity-qualifiers").codes}
    rows = [
        (f"`{code}`", qualifiers.get(code, ""), f"{grade}+")
        for (_, code), grade in qualifier_grades().items()
    ]
    return [
        "Severity qualifiers (SNOMED CT) and the grade they mean:",
        "",
        *_table(("code", "display", "grade"), rows),
    ]


def _value_sets() -> list[str]:
    lines = ["## Value sets", "", "Every code, with the public source it was checked against."]
    for vs in all_value_sets().values():
        rows = [(SYSTEM_NAMES.get(c.system, c.system), f"`{c.code}`", c.display, c.source) for c in vs.codes]
        lines += [
            "",
            f"### `{vs.id}`",
            "",
            vs.title,
            "",
            *_table(("system", "code", "display", "source"), rows),
        ]
    return lines


def render() -> str:
    """The whole document."""
    status = STATUS_TEXT.format(
        observation=", ".join(sorted(COUNTED)),
        condition=", ".join(sorted(ACTIVE)),
        excluded=" / ".join(sorted(EXCLUDED)),
        unconfirmed=", ".join(sorted(UNCONFIRMED)),
        support=describe_window(default_thresholds().support_procedure_window),
    )
    parts = [
        INTRO,
        "\n".join(_keys()),
        "\n".join(_facts()),
        status,
        "\n".join(_thresholds()),
        "\n".join(_units()),
        ECHO + "\n" + "\n".join(_grades()),
        MEDICATIONS,
        "\n".join(_value_sets()),
    ]
    return "\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def main(argv: Sequence[str]) -> int:
    text = render()
    if "--check" in argv:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run python -m fhir_mappings.docgen", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
