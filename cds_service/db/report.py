"""What clinicians did with each recommendation's cards: the numbers behind
``mr-cds feedback-report``.

Per recommendation (``source.topic.code`` of the card): cards issued, cards accepted, cards
overridden, the acceptance rate ``accepted / (accepted + overridden)`` (cards nobody acted on
are in ``issued`` only), and the override reasons by count. A card counts once per outcome
however many entries were sent for it.

Feedback is attributed when the report is made, not when it arrives: each entry is joined to
the issued-card record of its card uuid as the database holds it now, so feedback that came
before its card was recorded (the record is written once the answer has been sent), or long
after, still counts for its recommendation. The recommendation copied into the feedback row
when it arrived is the fallback once the issued-card record has been pruned. Only feedback
with neither is ``unattributed_feedback`` (and in ``total_feedback``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, distinct, func, select

from cds_service.db.tables import feedback, issued_cards

NO_REASON = "no reason given"


@dataclass(frozen=True)
class OverrideReasonCount:
    system: str | None
    code: str | None
    display: str
    count: int

    def as_json(self) -> dict[str, Any]:
        return {"system": self.system, "code": self.code, "display": self.display, "count": self.count}


@dataclass(frozen=True)
class RecommendationReport:
    recommendation: str
    title: str | None  # the guideline's title for the id, when this version knows it
    issued: int
    accepted: int
    overridden: int
    override_reasons: tuple[OverrideReasonCount, ...]

    @property
    def acceptance_rate(self) -> float | None:
        acted = self.accepted + self.overridden
        return round(self.accepted / acted, 3) if acted else None

    def as_json(self) -> dict[str, Any]:
        return {
            "recommendation": self.recommendation,
            "title": self.title,
            "issued": self.issued,
            "accepted": self.accepted,
            "overridden": self.overridden,
            "acceptance_rate": self.acceptance_rate,
            "override_reasons": [r.as_json() for r in self.override_reasons],
        }


@dataclass(frozen=True)
class FeedbackReport:
    since: datetime | None
    total_feedback: int
    unattributed_feedback: int
    recommendations: tuple[RecommendationReport, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "total_feedback": self.total_feedback,
            "unattributed_feedback": self.unattributed_feedback,
            "recommendations": [r.as_json() for r in self.recommendations],
        }


def feedback_report(
    engine: Engine,
    *,
    since: datetime | None = None,
    reason_displays: Mapping[tuple[str, str], str] | None = None,
    titles: Mapping[str, str] | None = None,
) -> FeedbackReport:
    """The report over feedback whose outcomeTimestamp (and cards issued) are at or after ``since``.

    ``reason_displays`` names override reason codes whose feedback came without a display
    (the public sandbox sends code and system only); ``titles`` names recommendation ids.
    """
    displays = reason_displays or {}
    fb_since = [feedback.c.outcome_timestamp >= since] if since else []
    issued_since = [issued_cards.c.issued_at >= since] if since else []
    cards = func.count(distinct(feedback.c.card_uuid))
    # The card's recommendation as the database knows it now (see the module's docstring).
    attributed = feedback.outerjoin(
        issued_cards,
        and_(
            issued_cards.c.card_uuid == feedback.c.card_uuid,
            issued_cards.c.service_id == feedback.c.service_id,
        ),
    )
    recommendation = func.coalesce(issued_cards.c.recommendation_id, feedback.c.recommendation_id)
    with engine.connect() as conn:
        total, unattributed = conn.execute(
            select(func.count(), func.count().filter(recommendation.is_(None)))
            .select_from(attributed)
            .where(*fb_since)
        ).one()
        issued: dict[str, int] = dict(
            conn.execute(
                select(issued_cards.c.recommendation_id, func.count())
                .where(*issued_since)
                .group_by(issued_cards.c.recommendation_id)
            ).all()
        )
        outcomes = conn.execute(
            select(recommendation, feedback.c.outcome, cards)
            .select_from(attributed)
            .where(recommendation.is_not(None), *fb_since)
            .group_by(recommendation, feedback.c.outcome)
        ).all()
        reasons = conn.execute(
            select(
                recommendation,
                feedback.c.override_system,
                feedback.c.override_code,
                func.max(feedback.c.override_display),
                cards,
            )
            .select_from(attributed)
            .where(recommendation.is_not(None), feedback.c.outcome == "overridden", *fb_since)
            .group_by(recommendation, feedback.c.override_system, feedback.c.override_code)
        ).all()
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for recommendation, outcome, n in outcomes:
        counts[recommendation][outcome] = n
    by_reason: dict[str, list[OverrideReasonCount]] = defaultdict(list)
    for recommendation, system, code, sent_display, n in reasons:
        display = displays.get((system, code)) or sent_display or (code if code else NO_REASON)
        by_reason[recommendation].append(OverrideReasonCount(system, code, display, n))
    report = [
        RecommendationReport(
            recommendation=rec,
            title=(titles or {}).get(rec),
            issued=issued.get(rec, 0),
            accepted=counts[rec].get("accepted", 0),
            overridden=counts[rec].get("overridden", 0),
            override_reasons=tuple(sorted(by_reason[rec], key=lambda r: (-r.count, r.display))),
        )
        for rec in sorted(set(issued) | set(counts))
    ]
    return FeedbackReport(since, total, unattributed, tuple(report))
