"""Planner reports cannot be subtracted from each other to reveal a small group, and bad periods get a clear
message, on SQLite and PostgreSQL.

The data are analytics.demo's synthetic interactions (many small district x area cells, questions every day);
the attack is the one the issue reproduced: two reports whose periods differ by one day.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from analytics import demo, service
from analytics.models import Interaction
from analytics.reports import Period
from conftest import login

K = 5
START = date(2025, 3, 3)
END = date(2025, 5, 25)  # 12 weeks of questions


@pytest.fixture
def rows(rt):
    generated = list(demo.generate(2500, start=START, end=END, teachers=160, seed=3))
    with rt.db.session_scope() as session:
        session.execute(insert(Interaction), generated)
    return generated


def days_of(period: Period) -> set[date]:
    return {period.start + timedelta(days=n) for n in range(period.days)}


def teachers_in(rows, days: set[date], key: tuple[str, ...], dims: tuple[str, ...]) -> int:
    return len({r["teacher_key"] for r in rows if r["day"] in days and tuple(r[d] for d in dims) == key})


def shown_cells(page) -> dict[tuple, dict[str, int]]:
    """Every count a planner sees, by what it is about (needs, previous-period counts, heatmap, weeks)."""
    cells = {}
    for need in page.needs:
        cells[("area", "cur", need.area)] = need.questions
        if need.previous_questions is not None:
            cells[("area", "prev", need.area)] = need.previous_questions
    for district, ranked in page.district_needs.items():
        for need in ranked:
            cells[("district", "cur", district, need.area)] = need.questions
            if need.previous_questions is not None:
                cells[("district", "prev", district, need.area)] = need.previous_questions
    for c in page.heatmap:
        if not c.suppressed:
            cells[("district", "cur") + c.key] = c.questions
    for c in page.weekly:
        if not c.suppressed:
            cells[("week", c.period)] = c.questions
    return cells


def periods_of(page, which: str) -> Period:
    return page.period if which == "cur" else page.previous


def revealed_groups(rows, first, second) -> list[tuple]:
    """Cells shown in both reports whose counts differ, where one side's extra days hold 1..k-1 teachers."""
    found = []
    a, b = shown_cells(first), shown_cells(second)
    for cell in a.keys() & b.keys():
        if a[cell] == b[cell]:
            continue
        kind, which, *key = cell
        if kind == "week":
            found.append(cell)  # a whole week is a fixed block: its count must never change between reports
            continue
        dims = ("area",) if kind == "area" else ("district", "area")
        days_a, days_b = days_of(periods_of(first, which)), days_of(periods_of(second, which))
        for extra in (days_a - days_b, days_b - days_a):
            teachers = teachers_in(rows, extra, tuple(key), dims)
            if 0 < teachers < K:
                found.append((cell, teachers))
    return found


def report(rt, start: date, end: date, granularity: str = "week"):
    with rt.db.session_scope() as session:
        return service.build_page(session, period=Period(start, end), k=K, granularity=granularity,
                                  with_gaps=False)


@pytest.mark.parametrize("granularity", ["week", "month"])
def test_two_reports_a_day_apart_reveal_no_group_under_k(rt, rows, granularity):
    compared = 0
    end = date(2025, 5, 18)
    for offset in range(9):  # start days across a week boundary (and a month boundary for the monthly ones)
        start = date(2025, 3, 27) + timedelta(days=offset)
        pairs = [(report(rt, start, end, granularity), report(rt, start + timedelta(days=1), end, granularity)),
                 (report(rt, start, start + timedelta(days=27), granularity),
                  report(rt, start + timedelta(days=1), start + timedelta(days=28), granularity))]
        for first, second in pairs:
            assert revealed_groups(rows, first, second) == [], (first.period, second.period)
            compared += len(shown_cells(first).keys() & shown_cells(second).keys())
    assert compared > 100  # the reports do show cells: the check above is not vacuous


def test_periods_snap_to_whole_weeks_and_months(rt, rows):
    assert report(rt, date(2025, 4, 2), date(2025, 4, 16)).period == Period(date(2025, 3, 31), date(2025, 4, 20))
    monthly = report(rt, date(2025, 4, 2), date(2025, 4, 16), "month")
    assert (monthly.period, monthly.previous) == (Period(date(2025, 4, 1), date(2025, 4, 30)),
                                                  Period(date(2025, 3, 1), date(2025, 3, 31)))
    assert report(rt, date(2025, 4, 2), date(2025, 4, 16)).needs == report(rt, date(2025, 3, 31),
                                                                            date(2025, 4, 20)).needs


# --- 8. planner inputs ------------------------------------------------------------------------------------

@pytest.fixture
def planner(client, make_user):
    login(client, *make_user("planner"))
    return client


@pytest.mark.parametrize("query, message", [
    ("from=0001-01-01&to=0001-01-02", "Dates must lie between"),
    ("from=9999-12-30&to=9999-12-31", "Dates must lie between"),
    ("from=2025-03-01&to=2025-02-01", "after"),
    ("from=2025-02-30", "YYYY-MM-DD"),
    ("from=2020-01-01&to=2025-01-01", "at most 730 days"),
])
def test_bad_periods_get_a_clear_message_on_the_page(planner, query, message):
    response = planner.get(f"/planner/?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message in html and 'role="alert"' in html
    assert "CPD needs" in html  # the dashboard itself, not a bare error page
    for export in ("needs.csv", "report.json", "report"):
        exported = planner.get(f"/planner/{export}?{query}")
        assert exported.status_code == 400 and message in exported.get_data(as_text=True)


@pytest.mark.parametrize("timezone", ["Etc/GMT-14", "Etc/GMT+12"])  # at any hour one of them is not UTC's date
def test_the_default_period_ends_today_in_the_helpdesks_time_zone(make_app, database_url, timezone):
    from helpdesk.web.planner import requested_period

    app = make_app(database_url, timezone=timezone)
    with app.test_request_context("/planner/"):
        period = requested_period(app.extensions["helpdesk"].settings)
    assert period.end == datetime.now(ZoneInfo(timezone)).date() and period.days == 28
