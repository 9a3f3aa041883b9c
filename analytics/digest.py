"""The weekly planner digest: the needs report as one HTML email with its charts inline and the CSV attached.
Pure: it builds an EmailMessage from already suppressed figures (an analytics.reports.Page, the suggestion
clusters, session demand rows); helpdesk.mail sends it and workers.programme_jobs decides when and to whom.

The charts are the dashboard's bars (analytics.service.chart_data: the same numbers and the same scale) drawn
here as inline SVG: no image host, no CDN, nothing fetched when the email is opened. Each chart's numbers are
also in the text beside it, for mail clients that do not draw SVG.

Session demand comes from the live sessions (helpdesk.programme.service.demand_by_area, per teaching area,
already k-suppressed); with no session yet the section says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from html import escape
from typing import Sequence

from analytics import service
from analytics.reports import Page

TOP = 5  # rows per section: a digest is read on a phone between two meetings
BAR_WIDTH = 260
BAR_HEIGHT = 16
INK = "#1f5f8b"


@dataclass(frozen=True)
class DemandRow:
    """One line of the session demand part (a live session, or an area): counts already k-suppressed."""
    label: str
    requested: int | None  # None: suppressed
    attended: int | None = None


@dataclass(frozen=True)
class Digest:
    page: Page
    suggestion_clusters: Sequence = ()   # analytics.gaps.Gap rows (helpdesk.programme.suggestions.clusters)
    suggestion_total: int | None = None  # None: fewer than k teachers
    session_demand: Sequence[DemandRow] = ()
    dashboard_url: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return f"CPD needs digest: {self.page.period.start} to {self.page.period.end}"


def csv_attachment(page: Page) -> bytes:
    """The dashboard's CSV export, UTF-8 with a byte-order mark so Excel reads the Urdu labels."""
    return service.to_csv(page).encode("utf-8-sig")


def attachment_name(page: Page) -> str:
    return f"cpd-needs-{page.period.start}-{page.period.end}.csv"


def build_message(digest: Digest, *, to: str, sender: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = digest.subject
    message["To"] = to
    if sender:
        message["From"] = sender
    message.set_content(plain_text(digest))
    message.add_alternative(html(digest), subtype="html")
    message.add_attachment(csv_attachment(digest.page), maintype="text", subtype="csv",
                           filename=attachment_name(digest.page))
    return message


# --- the sections ------------------------------------------------------------------------------------

def _needs(page: Page) -> list[tuple[str, float, str]]:
    return [(f"{n.label_en}: {n.questions} questions, {n.teachers} teachers ({n.trend})", n.score, n.label_en)
            for n in page.needs[:TOP]]


def _weeks(page: Page) -> list[tuple[str, float | None, str]]:
    return [(f"week of {c.period}: " + ("fewer than k teachers" if c.suppressed else f"{c.questions} questions"),
             None if c.suppressed else c.questions, c.period) for c in page.weekly]


def _gap_lines(gaps: Sequence, what: str) -> list[str]:
    return [f"{g.size} {what} from {g.teachers} teachers ({g.trend}): " + " / ".join(g.examples)
            for g in list(gaps)[:TOP]]


def plain_text(digest: Digest) -> str:
    page = digest.page
    lines = [digest.subject, f"Cells with fewer than {page.k} teachers are not shown.", "", "Top needs"]
    lines += [f"  {text}" for text, _, _ in _needs(page)] or ["  (none published)"]
    lines += ["", "Questions per week"] + [f"  {text}" for text, _, _ in _weeks(page)]
    lines += ["", "Content gaps"] + ([f"  {t}" for t in _gap_lines(page.gaps, "questions")] or ["  (none)"])
    lines += ["", f"Suggestions: {_total(digest)}"]
    lines += [f"  {t}" for t in _gap_lines(digest.suggestion_clusters, "suggestions")]
    lines += ["", "Session demand"] + ([f"  {_demand_text(r)}" for r in digest.session_demand]
                                       or ["  (no live sessions yet)"])
    if digest.dashboard_url:
        lines += ["", f"The dashboard: {digest.dashboard_url}"]
    lines += ["", "The full table is attached (CSV)."]
    return "\n".join(lines) + "\n"


def _total(digest: Digest) -> str:
    if digest.suggestion_total is None:
        return f"fewer than {digest.page.k} teachers"
    return str(digest.suggestion_total)


def _demand_text(row: DemandRow) -> str:
    requested = "fewer than k" if row.requested is None else str(row.requested)
    attended = "" if row.attended is None else f", {row.attended} attended"
    return f"{row.label}: {requested} booked{attended}"


def bars_svg(rows: Sequence[tuple[str, float | None, str]], *, title: str) -> str:
    """Horizontal bars, each a fraction of the largest published value (a suppressed row draws no bar)."""
    top = max([v for _, v, _ in rows if v] or [0]) or 1
    height = BAR_HEIGHT * len(rows) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{BAR_WIDTH}" height="{height}" role="img" '
             f'aria-label="{escape(title)}">']
    for i, (text, value, _label) in enumerate(rows):
        width = round(BAR_WIDTH * (value or 0) / top)
        parts.append(f'<rect x="0" y="{i * BAR_HEIGHT + 2}" width="{width}" height="{BAR_HEIGHT - 4}" '
                     f'fill="{INK}"><title>{escape(text)}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def _chart(rows, title: str) -> str:
    if not rows:
        return '<p class="muted">None published.</p>'
    texts = "".join(f"<li>{escape(text)}</li>" for text, _, _ in rows)
    return (f'<table role="presentation"><tr><td valign="top">{bars_svg(rows, title=title)}</td>'
            f'<td valign="top"><ol style="margin:0;line-height:{BAR_HEIGHT}px">{texts}</ol></td></tr></table>')


def _list(lines: Sequence[str], empty: str) -> str:
    if not lines:
        return f"<p>{escape(empty)}</p>"
    return "<ul>" + "".join(f'<li dir="auto">{escape(line)}</li>' for line in lines) + "</ul>"


def html(digest: Digest) -> str:
    page = digest.page
    demand = [_demand_text(r) for r in digest.session_demand]
    link = (f'<p><a href="{escape(digest.dashboard_url)}">Open the dashboard</a></p>'
            if digest.dashboard_url else "")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{escape(digest.subject)}</title></head>
<body style="font-family:sans-serif;color:#222">
<h1 style="font-size:20px">{escape(digest.subject)}</h1>
<p>Cells with fewer than {page.k} teachers are not shown.</p>
<h2 style="font-size:16px">Top needs</h2>{_chart(_needs(page), "Top needs by score")}
<h2 style="font-size:16px">Questions per week</h2>{_chart(_weeks(page), "Questions per week")}
<h2 style="font-size:16px">Content gaps</h2>{_list(_gap_lines(page.gaps, "questions"), "None published.")}
<h2 style="font-size:16px">Suggestions ({escape(_total(digest))})</h2>
{_list(_gap_lines(digest.suggestion_clusters, "suggestions"), "No cluster published.")}
<h2 style="font-size:16px">Session demand</h2>{_list(demand, "No live sessions yet.")}
{link}<p>The full table is attached (CSV).</p>
</body></html>
"""
