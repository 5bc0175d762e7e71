"""Scenario charts and the demo of clinical spec revision 3, section 1.1 (MR grade): grade
words, preliminary echoes, ties, the ungraded-newest fallback, problem-list severity,
supersession by a later intervention, the "recent echo" test and one draft echo per response.

Each rule comes with both sides and boundary pairs. ``tests/hooks/cases.py`` adds these to
its lists, so ``python -m tests.hooks.cases`` writes them with the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.hooks import chartkit as k
from tests.hooks.chartkit import at

if TYPE_CHECKING:
    from tests.hooks.cases import Case

SHOCK = k.condition("cs-1", k.CARDIOGENIC_SHOCK, onset=at(hours=10))
CPT = "http://www.ama-assn.org/go/cpt"
TTE_CPT = (CPT, "93306", "Echocardiography, transthoracic, complete, with spectral and color flow Doppler")
LOCAL = "urn:oid:2.16.840.1.113883.19.5.99999.1"


def echo_with(rid: str, when: str, *, status: str = "final", **value: Any) -> dict[str, Any]:
    """An echo MR-grade Observation carrying exactly the value elements given."""
    return {**k.echo(rid, when, status=status), **value}


def word(rid: str, text: str, when: str, **kw: Any) -> dict[str, Any]:
    return echo_with(rid, when, valueString=text, **kw)


def not_graded(rid: str, when: str) -> dict[str, Any]:
    reason = {"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown"}
    absent = {"coding": [reason]}
    return echo_with(rid, when, dataAbsentReason=absent)


def echo_done(when: str, code: tuple[str, str, str] = TTE_CPT) -> dict[str, Any]:
    from tests.hooks.cases import performed

    return performed(code, when)


def scenarios() -> list[Case]:
    """The scenario charts (imported late: ``cases`` imports this module)."""
    from tests.hooks.cases import MR, STABLE, Case, info, performed

    shock_cards = {"mechanical-support": "critical", **info(*STABLE)}
    return [
        # --- grade words: exact, never a substring ---------------------------------------------
        Case(
            "echo_string_severe_word_with_shock",
            "Echo grade is the text 'Severe' (valueString), cardiogenic shock: read as 4+, critical card.",
            [MR, word("echo-1", "Severe", at(days=2)), SHOCK],
            shock_cards,
            {"mechanical-support": ["Echo: severe MR (4+), 2 days ago"]},
        ),
        Case(
            "echo_concept_text_severe_mr_with_shock",
            "Echo grade only as valueCodeableConcept.text 'severe MR', cardiogenic shock: read as 4+.",
            [MR, echo_with("echo-1", at(days=2), valueCodeableConcept={"text": "severe MR"}), SHOCK],
            shock_cards,
        ),
        Case(
            "echo_local_code_display_severe_with_shock",
            "Echo grade as a local code whose display is 'Severe mitral regurgitation': read as 4+.",
            [
                MR,
                echo_with(
                    "echo-1",
                    at(days=2),
                    valueCodeableConcept={
                        "coding": [
                            {"system": LOCAL, "code": "MR-SEV", "display": "Severe mitral regurgitation"}
                        ]
                    },
                ),
                SHOCK,
            ],
            shock_cards,
        ),
        Case(
            "echo_string_not_severe_is_not_read",
            "Echo grade 'not severe' with shock: no substring search, grade not machine-readable, no "
            "critical card.",
            [MR, word("echo-1", "not severe", at(days=2)), SHOCK],
            info("grade-severity"),
            summary={"grade-severity": ["not machine-readable"]},
            suggests={"grade-severity": None},
        ),
        Case(
            "echo_string_severe_as_is_not_read",
            "Echo grade 'severe AS' (another valve): not read as an MR grade.",
            [MR, word("echo-1", "severe AS", at(days=2)), SHOCK],
            info("grade-severity"),
        ),
        Case(
            "echo_string_severe_mr_see_report_is_not_read",
            "Echo grade 'severe MR, see report': a phrase, not read.",
            [MR, word("echo-1", "severe MR, see report", at(days=2)), SHOCK],
            info("grade-severity"),
        ),
        Case(
            "echo_string_moderately_severe_is_3_plus",
            "Echo grade 'Moderately-severe MR' is 3+: not severe, no card even in shock.",
            [MR, word("echo-1", "Moderately-severe MR", at(days=2)), SHOCK],
            {},
        ),
        Case(
            "echo_string_mild_to_moderate_is_a_range_below_4",
            "Echo grade 'mild to moderate' is the range 1-2+: a current grade, not severe, no card.",
            [MR, word("echo-1", "mild to moderate", at(days=2)), SHOCK],
            {},
        ),
        Case(
            "echo_string_trace_is_grade_0",
            "Echo grade 'trace' is 0: no card.",
            [MR, word("echo-1", "Trace", at(days=40))],
            {},
        ),
        Case(
            "echo_range_3_to_4_unstable_grade_card_is_a_warning",
            "Echo grade '3-4+' in cardiogenic shock: never severe; the grade card asks for a single grade, "
            "as a warning.",
            [MR, word("echo-1", "3-4+", at(days=2)), SHOCK],
            {"grade-severity": "warning"},
            summary={"grade-severity": ["recorded as a range (3-4+)"]},
            suggests={"grade-severity": None},
        ),
        Case(
            "echo_range_3_to_4_stable_grade_card_is_info",
            "Echo grade '3-4+' in a stable patient: the grade card asks for a single grade (info).",
            [MR, word("echo-1", "3-4+", at(days=2))],
            info("grade-severity"),
            summary={"grade-severity": ["recorded as a range (3-4+)"]},
        ),
        # --- preliminary echoes: raise, labelled; never lower -------------------------------------
        Case(
            "preliminary_severe_echo_with_shock",
            "A preliminary echo reads severe, cardiogenic shock: it counts, and the cards say 'preliminary'.",
            [MR, k.echo("echo-1", at(hours=6), concept=k.SEVERE, status="preliminary"), SHOCK],
            shock_cards,
            {"mechanical-support": ["Echo (preliminary): severe MR (4+)"]},
            summary={"mechanical-support": ["(4+, preliminary echo)"]},
        ),
        Case(
            "preliminary_mild_after_final_severe_does_not_lower",
            "A final echo 3 days ago reads severe, a preliminary one today reads mild: the preliminary "
            "never lowers the grade, the critical card stays.",
            [
                MR,
                k.echo("echo-1", at(days=3), concept=k.SEVERE),
                k.echo("echo-2", at(hours=3), concept=k.MILD, status="preliminary"),
                SHOCK,
            ],
            shock_cards,
            {"mechanical-support": ["Echo: severe MR (4+), 3 days ago"]},
        ),
        Case(
            "preliminary_ungraded_echo_does_not_hide_final_severe",
            "A preliminary echo today has no grade yet; the last final echo (40 days ago) reads "
            "severe: the preliminary never lowers the grade, the severe cards stay.",
            [
                MR,
                k.echo("echo-1", at(days=40), concept=k.SEVERE),
                word("echo-2", "pending", at(hours=2), status="preliminary"),
            ],
            info(*STABLE),
        ),
        # --- ties on effective time ---------------------------------------------------------------
        Case(
            "tie_amended_echo_beats_final",
            "Two echoes at the same time: the final one says moderate, the amended one severe (listed "
            "second): the amended one decides.",
            [
                MR,
                k.echo("echo-1", at(days=5), concept=k.MODERATE),
                k.echo("echo-2", at(days=5), concept=k.SEVERE, status="amended"),
            ],
            info(*STABLE),
        ),
        Case(
            "tie_final_echoes_later_issued_wins",
            "Two final echoes at the same time: the later-issued one (severe, listed first) decides.",
            [
                echo_with("echo-2", at(days=5), valueCodeableConcept=k.cc(k.SEVERE), issued=at(days=4)),
                echo_with("echo-1", at(days=5), valueCodeableConcept=k.cc(k.MODERATE), issued=at(days=5)),
                MR,
            ],
            info(*STABLE),
        ),
        Case(
            "tie_identical_echoes_that_disagree_are_not_read",
            "Two final echoes at the same time, nothing to tell them apart, moderate and severe: the grade "
            "is not machine-readable (never the order of the Bundle).",
            [
                MR,
                k.echo("echo-1", at(days=5), concept=k.SEVERE),
                k.echo("echo-2", at(days=5), concept=k.MODERATE),
            ],
            info("grade-severity"),
            summary={"grade-severity": ["not machine-readable"]},
        ),
        # --- an ungraded newest echo falls back to a readable one within 30 days -------------------
        Case(
            "newest_echo_not_graded_falls_back_to_severe_tee_day_before",
            "Cardiogenic shock on norepinephrine; the newest echo (12 h ago) has a dataAbsentReason, a "
            "severe echo 36 h ago: the severe grade decides and the card says so.",
            [
                MR,
                not_graded("echo-2", at(hours=12)),
                k.echo("echo-1", at(hours=36), concept=k.SEVERE),
                SHOCK,
                k.med_admin("ma-1", k.NOREPINEPHRINE, "in-progress", start=at(hours=9)),
            ],
            shock_cards,
            {"mechanical-support": ["Newest echo, 12 h ago: not graded; grade from the echo before it"]},
        ),
        Case(
            "newest_echo_not_graded_severe_30_days_before",
            "The newest echo (2 days ago) is not graded; a severe echo 30 days before it: still used.",
            [MR, not_graded("echo-2", at(days=2)), k.echo("echo-1", at(days=32), concept=k.SEVERE)],
            info(*STABLE),
            {"surgical-repair": ["not graded; grade from the echo before it"]},
        ),
        Case(
            "newest_echo_not_graded_severe_31_days_before",
            "The newest echo (2 days ago) is not graded; a severe echo 31 days before it: too old to "
            "stand in, the grade card asks for the grade to be recorded.",
            [MR, not_graded("echo-2", at(days=2)), k.echo("echo-1", at(days=33), concept=k.SEVERE)],
            info("grade-severity"),
            suggests={"grade-severity": None},
        ),
        # --- problem-list severity: only within 365 days, never instead of an echo -----------------
        Case(
            "problem_list_severity_364_days",
            "No echo; severe on the MR Condition recorded 364 days ago: severe cards, labelled, and the "
            "grade card with its draft echo.",
            [k.condition("mr-1", k.MR, severity=k.SEVERE, recorded=at(days=364))],
            info(*STABLE, "grade-severity"),
            {"surgical-repair": ["Severe MR (4+) on the problem list, recorded January 2025"]},
            summary={"surgical-repair": ["(4+ on the problem list)"]},
            suggests={"grade-severity": "routine"},
        ),
        Case(
            "problem_list_severity_366_days",
            "No echo; severe on the MR Condition recorded 366 days ago: not used, only the grade card.",
            [k.condition("mr-1", k.MR, severity=k.SEVERE, recorded=at(days=366))],
            info("grade-severity"),
            suggests={"grade-severity": "routine"},
        ),
        Case(
            "problem_list_severity_4_years_old_with_shock",
            "A 4-year-old problem-list severity and cardiogenic shock: no critical card, only the "
            "grade card.",
            [k.condition("mr-1", k.MR, severity=k.SEVERE, recorded=at(days=1460)), SHOCK],
            info("grade-severity"),
        ),
        # --- supersession: any completed mitral intervention after the grading echo ----------------
        Case(
            "severe_echo_then_clip_problem_list_still_mr",
            "Severe MR on an echo 35 days ago, MitraClip 5 days ago, the problem list still says MR: no "
            "severe-MR card; the grade card asks to re-grade after the repair.",
            [MR, k.echo("echo-1", at(days=35), concept=k.SEVERE), performed(k.TEER, at(days=5))],
            info("grade-severity"),
            {"grade-severity": ["Mitral valve repair or replacement performed, 5 days ago"]},
            summary={"grade-severity": ["re-grade after the valve repair or replacement on 10 Jan"]},
            suggests={"grade-severity": "routine"},
        ),
        Case(
            "severe_echo_after_clip_is_current",
            "MitraClip 60 days ago, severe MR on an echo 10 days ago, MR on the problem list: the echo "
            "is after the repair and decides.",
            [MR, performed(k.TEER, at(days=60)), k.echo("echo-1", at(days=10), concept=k.SEVERE)],
            info(*STABLE),
        ),
        # --- MR seen on echo without coded MR --------------------------------------------------------
        Case(
            "echo_only_mr_without_readable_grade",
            "No MR Condition; an echo 60 days ago assessed MR but its grade is free text: the grade card "
            "fires, with a draft echo order.",
            [word("echo-1", "moderate-severe, eccentric jet", at(days=60))],
            info("grade-severity"),
            summary={"grade-severity": ["MR assessed on echo"]},
            suggests={"grade-severity": "routine"},
        ),
        # --- the recent-echo test: echo procedures (CPT 93306) count --------------------------------
        Case(
            "mr_without_grade_echo_procedure_29_days",
            "MR, no echo grade; a transthoracic echo (CPT 93306) 29 days ago: record its grade, no new "
            "echo order.",
            [MR, echo_done(at(days=29))],
            info("grade-severity"),
            {"grade-severity": ["Echocardiogram done 29 days ago", "no new echo is needed"]},
            suggests={"grade-severity": None},
        ),
        Case(
            "mr_without_grade_echo_procedure_31_days",
            "MR, no echo grade; a transthoracic echo (CPT 93306) 31 days ago: a draft echo order is offered.",
            [MR, echo_done(at(days=31))],
            info("grade-severity"),
            suggests={"grade-severity": "routine"},
        ),
        # --- the 24-hour window of the urgent draft echo, and one draft echo per response ------------
        Case(
            "acute_mr_echo_graded_23_hours_ago",
            "Acute MR after an MI with pulmonary edema; an echo graded 23 h ago: no urgent draft echo.",
            [
                MR,
                k.echo("echo-1", at(hours=23), concept=k.MODERATE),
                k.condition("ami-1", k.AMI, onset=at(days=3)),
                k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(days=1)),
            ],
            {"acute-mr-emergency": "critical"},
            suggests={"acute-mr-emergency": None},
        ),
        Case(
            "acute_mr_echo_graded_25_hours_ago",
            "Acute MR after an MI with pulmonary edema; the echo grade is 25 h old: an urgent draft echo.",
            [
                MR,
                k.echo("echo-1", at(hours=25), concept=k.MODERATE),
                k.condition("ami-1", k.AMI, onset=at(days=3)),
                k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(days=1)),
            ],
            {"acute-mr-emergency": "critical"},
            suggests={"acute-mr-emergency": "urgent"},
        ),
        Case(
            "acute_mr_without_grade_one_draft_echo",
            "Acute MR after an MI with pulmonary edema, MR never graded: the acute card offers the urgent "
            "draft echo and the grade card none (one draft echo per response).",
            [
                MR,
                k.condition("ami-1", k.AMI, onset=at(days=3)),
                k.condition("ape-1", k.PULMONARY_EDEMA, onset=at(days=1)),
            ],
            {"acute-mr-emergency": "critical", "grade-severity": "info"},
            suggests={"acute-mr-emergency": "urgent", "grade-severity": None},
        ),
    ]


def demos() -> list[Case]:
    """The demo patient of this part (imported late, as above)."""
    from tests.hooks.cases import Case, info, performed, person

    return [
        Case(
            "20-regrade-after-clip",
            "Severe MR on an echo 35 days ago, MitraClip (transcatheter edge-to-edge repair) 5 days ago; "
            "the problem list still says MR: no severe-MR card, the grade card asks to re-grade after the "
            "repair, with a draft echo order.",
            [
                k.condition("mr-1", k.MR, recorded=at(days=400)),
                k.echo("echo-1", at(days=35), concept=k.SEVERE),
                performed(k.TEER, at(days=5)),
                k.condition("hf-1", k.HEART_FAILURE, recorded=at(days=300)),
                k.med_request("rx-1", k.FUROSEMIDE),
                k.sbp("bp-1", 112, at(hours=3)),
            ],
            info("grade-severity"),
            summary={"grade-severity": ["re-grade after the valve repair or replacement on 10 Jan"]},
            suggests={"grade-severity": "routine"},
            pid="demo-regrade-clip",
            patient=person("demo-regrade-clip", "Bianchi", "Paolo", "male", "1951-04-18"),
        ),
    ]
