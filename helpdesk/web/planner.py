"""Planner console: the CPD needs dashboard, its CSV / JSON exports and the printable report.

Planners (and admins) see aggregates only: every number here comes from analytics.service, which suppresses
cells with fewer than settings.report_min_teachers distinct teachers. No teacher id, number or name is
ever loaded by these views.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template, request

from analytics import service, store
from analytics.reports import Filters, Period
from analytics.taxonomy import load_taxonomy
from helpdesk.web.auth import login_required

bp = Blueprint("planner", __name__, url_prefix="/planner")
MAX_DAYS = 730  # a two-year window is the longest report a planner needs; it bounds the query
# Nothing was asked before the helpdesk existed; the bound also keeps the previous period's dates valid
# (0001-01-01 minus a period was an OverflowError, i.e. a 500).
EARLIEST_DAY = date(2020, 1, 1)
LATEST_AHEAD_DAYS = 366


class PeriodError(ValueError):
    """A period a planner cannot have: shown on the page, in words."""


def register(app) -> None:
    app.register_blueprint(bp)
    app.config["NAV_LINKS"].append(("planner.dashboard", "CPD needs", ("planner",)))
    app.config["HOME_PAGES"].append(("planner.dashboard", ("planner",)))


def _day(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise PeriodError(f"'{name}' must be a date written YYYY-MM-DD, e.g. 2026-03-01.") from None


def today(settings) -> date:
    """Today in the helpdesk's time zone (the server's UTC date is yesterday's in Pakistan before 5 a.m.,
    and the local evening's questions would fall outside a period ending on the UTC date)."""
    return datetime.now(ZoneInfo(settings.timezone)).date()


def requested_period(settings) -> Period:
    """The period asked for in the query string (default: the four weeks ending today), checked."""
    start, end = _day("from"), _day("to")
    latest = today(settings) + timedelta(days=LATEST_AHEAD_DAYS)
    for day in (start, end):
        if day is not None and not EARLIEST_DAY <= day <= latest:
            raise PeriodError(f"Dates must lie between {EARLIEST_DAY.isoformat()} and {latest.isoformat()}.")
    default = service.default_period(end or today(settings))
    period = Period(start or default.start, end or default.end)
    if period.end < period.start:
        raise PeriodError("'From' is after 'to': choose a start date on or before the end date.")
    if period.days > MAX_DAYS:
        raise PeriodError(f"A report covers at most {MAX_DAYS} days; choose a shorter period.")
    return period


def _request_page():
    """(page, granularity, query, districts, error). A bad period shows the default one, with the error."""
    rt = current_app.extensions["helpdesk"]
    error = None
    try:
        period = requested_period(rt.settings)
    except PeriodError as exc:
        error = str(exc)
        period = service.default_period(today(rt.settings))
    filters = Filters(district=request.args.get("district") or None,
                      school_level=request.args.get("level") or None,
                      subject=request.args.get("subject") or None)
    granularity = request.args.get("by") if request.args.get("by") in ("week", "month") else "week"
    with rt.db.session_scope() as session:
        page = service.build_page(session, period=period, filters=filters, k=rt.settings.report_min_teachers,
                                  granularity=granularity)
        districts = store.option_values(session, "district")
    query = {"from": page.period.start.isoformat(), "to": page.period.end.isoformat(),
             "district": filters.district or "", "level": filters.school_level or "",
             "subject": filters.subject or "", "by": granularity}
    return page, granularity, {k: v for k, v in query.items() if v}, districts, error


def _export_error(error: str):
    return Response(f"Bad request: {error}\n", status=400, mimetype="text/plain")


def _filename(page, ext: str) -> str:
    return f"cpd-needs-{page.period.start}-{page.period.end}.{ext}"


@bp.get("/")
@login_required("planner")
def dashboard():
    page, granularity, query, districts, error = _request_page()
    tax = load_taxonomy()
    options = {"districts": districts, "levels": ("ece", "primary", "middle", "high", "higher-secondary"),
               "subjects": [(s.slug, s.en) for s in tax.subjects]}
    charts = service.chart_data(page, today=today(current_app.extensions["helpdesk"].settings))
    html = render_template("planner_dashboard.html", page=page, charts=charts,
                           options=options, granularity=granularity, query=query, period_error=error)
    return html, 400 if error else 200


@bp.get("/needs.csv")
@login_required("planner")
def export_csv():
    page, *_, error = _request_page()
    if error:
        return _export_error(error)
    return Response(service.to_csv(page, bom=True), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{_filename(page, "csv")}"'})


@bp.get("/report.json")
@login_required("planner")
def export_json():
    page, *_, error = _request_page()
    if error:
        return _export_error(error)
    return Response(service.to_json(page), mimetype="application/json")


@bp.get("/report")
@login_required("planner")
def printable():
    page, *_, error = _request_page()
    if error:
        return _export_error(error)
    return Response(service.render_html(page), mimetype="text/html")
