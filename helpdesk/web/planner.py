"""Planner console: the CPD needs dashboard, its CSV / JSON exports and the printable report.

Planners (and admins) see aggregates only: every number here comes from analytics.service, which suppresses
cells with fewer than settings.report_min_teachers distinct teachers. No teacher id, number or name is
ever loaded by these views.
"""
from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, Response, abort, current_app, render_template, request

from analytics import service, store
from analytics.reports import Filters, Period
from analytics.taxonomy import load_taxonomy
from helpdesk.web.auth import login_required

bp = Blueprint("planner", __name__, url_prefix="/planner")
MAX_DAYS = 730  # a two-year window is the longest report a planner needs; it bounds the query


def register(app) -> None:
    app.register_blueprint(bp)
    app.config["NAV_LINKS"].append(("planner.dashboard", "CPD needs", ("planner",)))
    app.config["HOME_PAGES"].append(("planner.dashboard", ("planner",)))


def _day(name: str) -> date | None:
    raw = request.args.get(name) or ""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, f"{name} must be YYYY-MM-DD")


def _request_page():
    rt = current_app.extensions["helpdesk"]
    start, end = _day("from"), _day("to")
    default = service.default_period(end or datetime.now().date())
    period = Period(start or default.start, end or default.end)
    if period.end < period.start or period.days > MAX_DAYS:
        abort(400, f"the period must run forwards and be at most {MAX_DAYS} days")
    filters = Filters(district=request.args.get("district") or None,
                      school_level=request.args.get("level") or None,
                      subject=request.args.get("subject") or None)
    granularity = request.args.get("by") if request.args.get("by") in ("week", "month") else "week"
    with rt.db.session_scope() as session:
        page = service.build_page(session, period=period, filters=filters, k=rt.settings.report_min_teachers,
                                  granularity=granularity)
        districts = store.option_values(session, "district")
    query = {"from": period.start.isoformat(), "to": period.end.isoformat(), "district": filters.district or "",
             "level": filters.school_level or "", "subject": filters.subject or "", "by": granularity}
    return page, granularity, {k: v for k, v in query.items() if v}, districts


def _filename(page, ext: str) -> str:
    return f"cpd-needs-{page.period.start}-{page.period.end}.{ext}"


@bp.get("/")
@login_required("planner")
def dashboard():
    page, granularity, query, districts = _request_page()
    tax = load_taxonomy()
    options = {"districts": districts, "levels": ("ece", "primary", "middle", "high", "higher-secondary"),
               "subjects": [(s.slug, s.en) for s in tax.subjects]}
    return render_template("planner_dashboard.html", page=page, charts=service.chart_data(page),
                           options=options, granularity=granularity, query=query)


@bp.get("/needs.csv")
@login_required("planner")
def export_csv():
    page, *_ = _request_page()
    return Response(service.to_csv(page), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{_filename(page, "csv")}"'})


@bp.get("/report.json")
@login_required("planner")
def export_json():
    page, *_ = _request_page()
    return Response(service.to_json(page), mimetype="application/json")


@bp.get("/report")
@login_required("planner")
def printable():
    page, *_ = _request_page()
    return Response(service.render_html(page), mimetype="text/html")
