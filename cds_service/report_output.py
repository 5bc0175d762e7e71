"""The feedback report as text, JSON or CSV, and as a bar chart (matplotlib, optional)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from cds_service.db.report import FeedbackReport, OverrideReasonCount, RecommendationReport
from cds_service.errors import ConfigurationError

REPORT_FORMATS = ("text", "json", "csv")
TOP_REASONS_IN_TEXT = 3


def render_report(report: FeedbackReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.as_json(), indent=2) + "\n"
    if fmt == "csv":
        return _csv(report)
    return _text(report)


def _rate(rec: RecommendationReport) -> str:
    return "-" if rec.acceptance_rate is None else f"{rec.acceptance_rate:.0%}"


def _reason(r: OverrideReasonCount) -> str:
    named = r.display if r.code is None or r.display == r.code else f"{r.display} ({r.code})"
    return f"{named}: {r.count}"


def _text(report: FeedbackReport) -> str:
    since = f" since {report.since.isoformat()}" if report.since else ""
    lines = [
        f"Feedback report{since}",
        f"Feedback entries: {report.total_feedback} "
        f"({report.unattributed_feedback} for cards this service never issued)",
        "",
    ]
    if not report.recommendations:
        lines.append("No cards issued and no feedback for a known card.")
    width = max((len(r.recommendation) for r in report.recommendations), default=14)
    if report.recommendations:
        lines.append(f"{'recommendation':<{width}}  issued  accepted  overridden  acceptance")
    for rec in report.recommendations:
        lines.append(
            f"{rec.recommendation:<{width}}  {rec.issued:>6}  {rec.accepted:>8}  {rec.overridden:>10}  "
            f"{_rate(rec):>10}"
        )
        for reason in rec.override_reasons[:TOP_REASONS_IN_TEXT]:
            lines.append(f"{'':<{width}}    overridden because {_reason(reason)}")
    lines.append("")
    lines.append(
        "acceptance = accepted / (accepted + overridden); cards nobody acted on count as issued only."
    )
    return "\n".join(lines) + "\n"


def _csv(report: FeedbackReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["recommendation", "title", "issued", "accepted", "overridden", "acceptance_rate", "override_reasons"]
    )
    for rec in report.recommendations:
        writer.writerow(
            [
                rec.recommendation,
                rec.title or "",
                rec.issued,
                rec.accepted,
                rec.overridden,
                "" if rec.acceptance_rate is None else rec.acceptance_rate,
                "; ".join(_reason(r) for r in rec.override_reasons),
            ]
        )
    return out.getvalue()


def write_plot(report: FeedbackReport, path: Path) -> None:
    """Accepted and overridden cards per recommendation, side by side, as a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display on servers
        from matplotlib import pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise ConfigurationError(
            "--plot needs matplotlib: pip install 'mr-cds-hooks[plot]'", expression=["--plot"]
        ) from None
    recs = report.recommendations
    # Cards nobody acted on show only in the issued count under each name.
    names = [f"{r.recommendation}\n{r.issued} issued" for r in recs]
    positions = list(range(len(recs)))
    fig, ax = plt.subplots(figsize=(max(6.0, 2.0 * len(recs) + 1), 4.5), layout="constrained")
    try:
        bar = 0.38
        accepted = ax.bar(
            [p - bar / 2 for p in positions],
            [r.accepted for r in recs],
            bar,
            label="accepted",
            color="#2b8a3e",
        )
        overridden = ax.bar(
            [p + bar / 2 for p in positions],
            [r.overridden for r in recs],
            bar,
            label="overridden",
            color="#c92a2a",
        )
        ax.bar_label(accepted, padding=2)
        ax.bar_label(overridden, padding=2)
        ax.set_xticks(positions, names)
        ax.set_ylabel("cards")
        since = f" since {report.since.date().isoformat()}" if report.since else ""
        ax.set_title(f"Clinicians' feedback per recommendation{since}")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.margins(y=0.15)
        ax.legend()
        if not recs:
            ax.text(0.5, 0.5, "no feedback yet", ha="center", va="center", transform=ax.transAxes)
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)
