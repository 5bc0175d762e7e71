"""The feedback report as text, JSON or CSV, and as a bar chart (matplotlib, optional)."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path

from cds_service.core.errors import ConfigurationError
from cds_service.db.report import FeedbackReport, OverrideReasonCount, RecommendationReport

REPORT_FORMATS = ("text", "json", "csv")
#: Override reasons listed under each recommendation in the text report; the rest are counted.
REASONS_IN_TEXT = 5


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
        for reason in rec.override_reasons[:REASONS_IN_TEXT]:
            lines.append(f"{'':<{width}}    overridden because {_reason(reason)}")
        more = rec.override_reasons[REASONS_IN_TEXT:]
        if more:
            lines.append(
                f"{'':<{width}}    +{len(more)} more reason(s) ({sum(r.count for r in more)} card(s)): "
                "--format json or csv lists them all"
            )
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
    """Accepted and overridden cards per recommendation, side by side, as a PNG.

    Bars differ by shade and by hatching, not by colour alone, so the chart reads in
    greyscale and for colour-blind readers; each recommendation is named by its title, with
    its issued count and acceptance rate.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display on servers
        from matplotlib import pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise ConfigurationError(
            "--plot needs matplotlib: pip install -c constraints.txt 'mr-cds-hooks[plot]'",
            expression=["--plot"],
        ) from None
    recs = report.recommendations
    names = [_plot_label(r) for r in recs]
    positions = list(range(len(recs)))
    fig, ax = plt.subplots(figsize=(max(7.0, 2.4 * len(recs) + 1), 5.0), layout="constrained")
    try:
        since = f" since {report.since.date().isoformat()}" if report.since else ""
        fig.suptitle(f"What clinicians did with each recommendation's cards{since}", fontweight="bold")
        if not recs:
            ax.set_axis_off()
            ax.text(
                0.5,
                0.5,
                "No cards issued and no feedback yet.\n"
                "Cards appear here once the service has answered hook calls.",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
        else:
            bar = 0.38
            accepted = ax.bar(
                [p - bar / 2 for p in positions],
                [r.accepted for r in recs],
                bar,
                label="accepted",
                color="#333333",
                edgecolor="black",
            )
            overridden = ax.bar(
                [p + bar / 2 for p in positions],
                [r.overridden for r in recs],
                bar,
                label="overridden",
                color="#d9d9d9",
                edgecolor="black",
                hatch="//",
            )
            ax.bar_label(accepted, padding=2)
            ax.bar_label(overridden, padding=2)
            ax.set_xticks(positions, names, fontsize=8)
            ax.set_ylabel("cards")
            ax.set_title(
                f"{report.total_feedback} feedback entries, "
                f"{report.unattributed_feedback} for cards this service never issued; "
                "acceptance = accepted / (accepted + overridden)",
                fontsize=9,
            )
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.margins(y=0.15)
            ax.legend()
        try:
            fig.savefig(path, dpi=120)
        except OSError as exc:
            raise ConfigurationError(
                f"--plot: cannot write {path}: {exc.strerror or type(exc).__name__}", expression=["--plot"]
            ) from None
    finally:
        plt.close(fig)


def _plot_label(rec: RecommendationReport) -> str:
    title = textwrap.fill(rec.title or rec.recommendation, width=26)
    rate = "none acted on yet" if rec.acceptance_rate is None else f"acceptance {_rate(rec)}"
    return f"{title}\n{rec.issued} issued, {rate}"
