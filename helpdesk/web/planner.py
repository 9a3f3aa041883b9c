"""Planner console: the CPD needs dashboard, its CSV / JSON exports and the printable report.

Planners (and admins) see aggregates only: every number here comes from analytics.service, which suppresses
cells with fewer than settings.report_min_teachers distinct teachers. No teacher id, number or name is
ever loaded by these views.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for

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


QUERY_KEYS = ("from", "to", "district", "level", "subject", "by")
LEVELS = ("ece", "primary", "middle", "high", "higher-secondary")
GRANULARITIES = ("week", "month")


class QueryError(ValueError):
    """A period or filter a planner cannot have: answered with status 400, in words, naming the field. A page
    shows the default instead (`fallback` says which); an export answers with the message alone."""

    def __init__(self, message: str, field: str, fallback: str = "Showing the last four weeks instead."):
        super().__init__(message)
        self.field = field
        self.fallback = fallback


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
        raise QueryError(f"'{name}' must be a date written YYYY-MM-DD, e.g. 2026-03-01.", name) from None


def today(settings) -> date:
    """Today in the helpdesk's time zone (the server's UTC date is yesterday's in Pakistan before 5 a.m.,
    and the local evening's questions would fall outside a period ending on the UTC date)."""
    return datetime.now(ZoneInfo(settings.timezone)).date()


def requested_period(settings) -> Period:
    """The period asked for in the query string (default: the four weeks ending today), checked."""
    start, end = _day("from"), _day("to")
    latest = today(settings) + timedelta(days=LATEST_AHEAD_DAYS)
    for name, day in (("from", start), ("to", end)):
        if day is not None and not EARLIEST_DAY <= day <= latest:
            raise QueryError(f"Dates must lie between {EARLIEST_DAY.isoformat()} and {latest.isoformat()}.",
                             name)
    default = service.default_period(end or today(settings))
    period = Period(start or default.start, end or default.end)
    if period.end < period.start:
        raise QueryError("'From' is after 'to': choose a start date on or before the end date.", "from")
    if period.days > MAX_DAYS:
        raise QueryError(f"A report covers at most {MAX_DAYS} days; choose a shorter period.", "from")
    return period


def requested_filters(districts: list[str]) -> tuple[Filters, str]:
    """(filters, granularity) from the query string, each checked against what the menus offer."""
    args = request.args
    for key in args:
        if key not in QUERY_KEYS:
            raise QueryError(f"There is no filter '{key}': use {', '.join(QUERY_KEYS)}.", key,
                             "Showing the report without it.")
    subjects = {s.slug for s in load_taxonomy().subjects}
    choices = {"district": districts, "level": LEVELS, "subject": subjects, "by": GRANULARITIES}
    for key, allowed in choices.items():
        value = args.get(key) or ""
        if value and value not in allowed:
            shown = "a district from the dashboard's menu" if key == "district" else ", ".join(sorted(allowed))
            raise QueryError(f"'{key}' cannot be '{value[:40]}': choose {shown}.", key,
                             "Showing every value of it instead.")
    filters = Filters(district=args.get("district") or None, school_level=args.get("level") or None,
                      subject=args.get("subject") or None)
    return filters, args.get("by") or "week"


def _request_page():
    """(page, granularity, query, districts, error). A bad period or filter: the default, with the error."""
    rt = current_app.extensions["helpdesk"]
    error = None
    try:
        period = requested_period(rt.settings)
    except QueryError as exc:
        error = exc
        period = service.default_period(today(rt.settings))
    with rt.db.session_scope() as session:
        districts = store.option_values(session, "district")
        try:
            filters, granularity = requested_filters(districts)
        except QueryError as exc:
            error = error or exc
            filters, granularity = Filters(), "week"
        page = service.build_page(session, period=period, filters=filters, k=rt.settings.report_min_teachers,
                                  granularity=granularity)
    query = {"from": page.period.start.isoformat(), "to": page.period.end.isoformat(),
             "district": filters.district or "", "level": filters.school_level or "",
             "subject": filters.subject or "", "by": granularity}
    return page, granularity, {k: v for k, v in query.items() if v}, districts, error


def _export_error(error: QueryError) -> Response:
    """A download's answer to a bad query: short plain text naming the field."""
    return Response(f"Bad request ({error.field}): {error}\n", status=400, mimetype="text/plain")


def _filename(page, ext: str) -> str:
    return f"cpd-needs-{page.period.start}-{page.period.end}.{ext}"


@bp.get("/")
@login_required("planner")
def dashboard():
    page, granularity, query, districts, error = _request_page()
    tax = load_taxonomy()
    options = {"districts": districts, "levels": LEVELS,
               "subjects": [(s.slug, s.en) for s in tax.subjects]}
    charts = service.chart_data(page, today=today(current_app.extensions["helpdesk"].settings))
    html = render_template("planner_dashboard.html", page=page, charts=charts,
                           options=options, granularity=granularity, query=query, query_error=error)
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
        return jsonify(error=str(error), field=error.field), 400
    return Response(service.to_json(page), mimetype="application/json")


@bp.get("/report")
@login_required("planner")
def printable():
    page, *_, error = _request_page()
    if error:  # a page: said on a page, with the way back
        back = url_for("planner.dashboard")
        return render_template("planner_bad_request.html", error=error, back=back), 400
    return Response(service.render_html(page), mimetype="text/html")
