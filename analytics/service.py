"""The I/O edge of planner reports: run the GROUP BY queries, hand the cells to the pure modules, and turn
the suppressed result into CSV, JSON or printable HTML (the same for the web console and the CLI).

Nothing here returns a teacher id, a phone number or a name: the queries return counts, and gap examples are
scrubbed twice (when stored and when shown).
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, replace
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from analytics import challenges, gaps, needs, store
from analytics.reports import (Filters, Page, Period, block_start, previous_period, snap, suppress_complementary, suppress_small,
                               suppress_unstable_edges)
from analytics.taxonomy import load_taxonomy

TEMPLATES = Path(__file__).resolve().parent.parent / "helpdesk" / "templates"


@lru_cache(maxsize=1)
def _lessons_by_track() -> dict[str, list[str]]:
    from knowledge_base.lessons import load_lessons

    return needs.lessons_by_track(load_lessons())


def default_period(today: date, days: int = 28) -> Period:
    return Period(today - timedelta(days=days - 1), today)


def build_page(session, *, period: Period, filters: Filters | None = None, k: int = 5,
               granularity: str = "week", with_gaps: bool = True) -> Page:
    """Every planner view and export. The period is widened to whole weeks or months first (rule 5 of
    analytics.reports), so reports asked for a day apart are the same report or differ by whole blocks."""
    filters = filters or Filters()
    granularity = granularity if granularity in ("week", "month") else "week"
    period = snap(period, granularity)
    previous = previous_period(period, granularity)
    tax = load_taxonomy()
    if session.bind.dialect.name == "postgresql":
        # The GROUP BYs over the teacher pseudonym hash ~500k rows for a 90-day report on 1M rows; at the
        # default 4 MB they spill to disk and the report takes twice as long (bench/report.py).
        from sqlalchemy import text

        session.execute(text("SET LOCAL work_mem = '64MB'"))
    page = Page(period=period, previous=previous, filters=filters, k=k)

    stable = _edge_check(session, previous, period, filters, granularity, k)
    areas = store.aggregate(session, dims=("area",), start=previous.start, end=period.end, filters=filters,
                            split=period.start)
    districts = store.aggregate(session, dims=("district", "area"), start=previous.start, end=period.end,
                                filters=filters, split=period.start)
    result = needs.assess(
        area_cur=stable(("area",), "cur", areas), area_prev=stable(("area",), "prev", areas),
        district_cur=stable(("district", "area"), "cur", districts),
        district_prev=stable(("district", "area"), "prev", districts),
        taxonomy=tax, lessons_by_track=_lessons_by_track(), k=k)
    page.needs, page.district_needs, page.heatmap = result.overall, result.by_district, result.heatmap

    weekly = store.aggregate(session, dims=(), start=period.start, end=period.end, filters=filters, bucket="week")
    # A month-snapped period can start or end inside a week: that week's row counts only some of its days, and
    # another report would count other days of it (rule 5), so a partial week is never shown.
    weekly = [replace(c, suppressed=True) if not _week_inside(c.period, period) else c for c in weekly]
    weekly = suppress_small(weekly, k)
    # The weeks add up to the same total as the areas: rule 2 across the weeks too.
    page.weekly = suppress_complementary(weekly, [range(len(weekly))], k)

    first = store.week_start(period.start) if granularity == "week" else store.month_start(period.start)
    baseline = challenges.previous_bucket(first, granularity)
    cells = store.aggregate(session, dims=challenges.DIMENSIONS, start=baseline, end=period.end, filters=filters,
                            bucket=granularity)
    page.challenges, hidden_challenges = challenges.detect(cells, granularity=granularity, first_bucket=first, k=k)

    hidden_gaps = 0
    if with_gaps:
        questions = store.gap_questions(session, start=previous.start, end=period.end, split=period.start,
                                        filters=filters)
        page.gaps, hidden_gaps = gaps.find_gaps(questions, k=k, block_of=lambda day: block_start(day, granularity))
    page.suppressed_note = (
        f"Cells with fewer than {k} distinct teachers are hidden, with enough neighbouring cells to stop "
        f"subtraction ({result.suppressed_areas} teaching areas, {result.suppressed_district_cells} district "
        f"cells, {sum(1 for w in page.weekly if w.suppressed)} weeks, {hidden_challenges} challenge rows, "
        f"{hidden_gaps} gap clusters hidden)."
    )
    return page


def _edge_check(session, previous: Period, period: Period, filters: Filters, granularity: str, k: int):
    """stable(dims, "cur"|"prev", cells) -> the cells of that period with rule 5 applied (per-block counts)."""
    def stable(dims: tuple[str, ...], which: str, cells: list) -> list:
        if dims not in cache:
            cache[dims] = store.aggregate(session, dims=dims, start=previous.start, end=period.end,
                                          filters=filters, bucket=granularity)
        start = period.start.isoformat()
        blocks = [b for b in cache[dims] if (b.period >= start) == (which == "cur")]
        return suppress_unstable_edges([c for c in cells if c.period == which], blocks, k)

    cache: dict[tuple, list] = {}
    return stable


def _week_inside(monday_iso: str, period: Period) -> bool:
    monday = date.fromisoformat(monday_iso)
    return monday >= period.start and monday + timedelta(days=6) <= period.end


# --- exports -------------------------------------------------------------------------------------------

NEEDS_COLUMNS = ("scope", "rank", "area", "area_label", "area_label_ur", "questions", "teachers",
                 "previous_questions", "trend", "unresolved_share", "escalated_share", "unhelpful_share",
                 "repeat_askers", "score", "lesson_track", "lesson_ids")


def needs_rows(page: Page) -> list[dict]:
    rows = []
    scopes = [("overall", page.needs)] + [(d or "(not given)", n) for d, n in page.district_needs.items()]
    for scope, ranked in scopes:
        for need in ranked:
            rows.append({
                "scope": scope, "rank": need.rank, "area": need.area, "area_label": need.label_en,
                "area_label_ur": need.label_ur, "questions": need.questions, "teachers": need.teachers,
                "previous_questions": "" if need.previous_questions is None else need.previous_questions,
                "trend": need.trend, "unresolved_share": round(need.unresolved_share, 3),
                "escalated_share": round(need.escalated_share, 3),
                "unhelpful_share": round(need.unhelpful_share, 3), "repeat_askers": need.repeat_askers,
                "score": round(need.score, 3), "lesson_track": need.lesson_track,
                "lesson_ids": " ".join(need.lesson_ids),
            })
    return rows


def to_csv(page: Page, *, bom: bool = False) -> str:
    """The needs table as CSV; `bom` starts it with U+FEFF, without which Excel reads UTF-8 Urdu as mojibake
    (the download has it; the CLI's stdout, which is piped into other tools, does not)."""
    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")
    writer = csv.DictWriter(buffer, fieldnames=NEEDS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(needs_rows(page))
    return buffer.getvalue()


def to_dict(page: Page) -> dict:
    def cell(c):
        if c.suppressed:
            return {"key": list(c.key), "period": c.period, "suppressed": True}
        return {"key": list(c.key), "period": c.period, "questions": c.questions, "teachers": c.teachers,
                "suppressed": False}

    return {
        "period": {"from": page.period.start.isoformat(), "to": page.period.end.isoformat()},
        "previous_period": {"from": page.previous.start.isoformat(), "to": page.previous.end.isoformat()},
        "filters": {"district": page.filters.district, "school_level": page.filters.school_level,
                    "subject": page.filters.subject},
        "min_teachers_per_cell": page.k,
        "score_formula": "0.35*T/Tmax + 0.25*Q/Qmax + 0.20*(G+1)/2 + 0.20*U (see analytics/needs.py)",
        "needs": needs_rows(page),
        "weekly_volume": [cell(c) for c in page.weekly],
        "district_area": [cell(c) for c in page.heatmap],
        "recurring_challenges": [_rounded(asdict(ch)) for ch in page.challenges],
        "content_gaps": [_rounded(asdict(g)) for g in page.gaps],
        "suppression": page.suppressed_note,
    }


def _rounded(row: dict) -> dict:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}


def to_json(page: Page) -> str:
    return json.dumps(to_dict(page), ensure_ascii=False, indent=2)


# --- HTML (inline SVG and CSS bars: the console has no JavaScript and the network is closed) -------------

def chart_data(page: Page, *, today: date | None = None) -> dict:
    """Numbers the templates draw: bar lengths are fractions of the largest published value.

    A week still running on `today` (the helpdesk's local date) is marked partial, so that its short bar is
    not read as a collapse in demand."""
    tax = load_taxonomy()
    today = today or date.today()
    weeks = [{"label": c.period, "questions": None if c.suppressed else c.questions,
              "teachers": None if c.suppressed else c.teachers,
              "partial": date.fromisoformat(c.period) + timedelta(days=6) >= today} for c in page.weekly]
    week_max = max([w["questions"] or 0 for w in weeks] or [0]) or 1
    need_max = max([n.score for n in page.needs] or [0]) or 1
    heat_areas = sorted({c.key[1] for c in page.heatmap}, key=lambda a: (a == "", a))
    heat_districts = sorted({c.key[0] for c in page.heatmap}, key=lambda d: (d == "", d))
    by_key = {c.key: c for c in page.heatmap}
    heat_max = max([c.teachers for c in page.heatmap if not c.suppressed] or [0]) or 1
    heat_rows = []
    for district in heat_districts:
        row = []
        for area in heat_areas:
            c = by_key.get((district, area))
            if c is None:
                row.append({"state": "empty"})
            elif c.suppressed:
                row.append({"state": "suppressed"})
            else:
                row.append({"state": "shown", "questions": c.questions, "teachers": c.teachers,
                            "level": round(0.15 + 0.85 * c.teachers / heat_max, 2)})
        heat_rows.append({"district": district or "(not given)", "cells": row})
    gap_max = max([g.size for g in page.gaps] or [0]) or 1
    return {
        "weeks": weeks, "week_max": week_max, "need_max": need_max,
        "heat_areas": [(a, tax.label("area", a)) for a in heat_areas], "heat_rows": heat_rows,
        "gap_max": gap_max, "heat_max": heat_max, "label": tax.label, "weekly_chart": weekly_chart(weeks, page.k),
    }


def weekly_chart(weeks: list[dict], k: int) -> dict:
    """The weekly bars as plain JSON for the console's Chart.js (static/planner_charts.js draws it).

    Suppressed weeks are null (no bar, "<k" in the tooltip): the chart never shows a number the table hides."""
    return {"labels": [w["label"] for w in weeks], "questions": [w["questions"] for w in weeks],
            "teachers": [w["teachers"] for w in weeks], "partial": [w["partial"] for w in weeks],
            "suppressed": [w["questions"] is None for w in weeks], "k": k}


def render_html(page: Page, *, standalone: bool = True) -> str:
    """The printable report (no console chrome), used by the CLI and the console's print view."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    return env.get_template("planner_report.html").render(page=page, charts=chart_data(page),
                                                          standalone=standalone)


def district_top_needs(session, district: str, *, now, weeks: int = 12, limit: int = 5) -> tuple[str, ...]:
    """Teaching areas of one district, best need first, by the needs score over the last `weeks` weeks.

    For the lesson chooser (an internal use: nothing is shown to anyone, so no suppression is applied).
    """
    end = now.date() if hasattr(now, "date") else now
    period = Period(end - timedelta(weeks=weeks) + timedelta(days=1), end)
    cells = store.aggregate(session, dims=("area",), start=period.previous().start, end=period.end,
                            filters=Filters(district=district), split=period.start)
    ranked = needs.rank([c for c in cells if c.period == "cur"], {c.key: c for c in cells if c.period == "prev"},
                        scope=district, taxonomy=load_taxonomy(), lessons_by_track={}, k=1)
    return tuple(n.area for n in ranked[:limit])
