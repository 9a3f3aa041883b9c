"""Public certificate pages (by verification code) and the planners' CPD page (/cpd)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from sqlalchemy import select

from helpdesk.cpd import reports as cpd_reports
from helpdesk.cpd.rules import belt_name, hours_text
from helpdesk.models import Certificate
from helpdesk.web.auth import login_required

public = Blueprint("certificates", __name__)
planner = Blueprint("cpd", __name__, url_prefix="/cpd")


def register(app) -> None:
    app.register_blueprint(public)
    app.register_blueprint(planner)
    app.config["NAV_LINKS"].append(("cpd.report", "CPD hour", ("planner",)))
    app.config["HOME_PAGES"].append(("cpd.report", ("planner",)))


@public.get("/certificates/<code>")
def certificate(code: str):
    rt = current_app.extensions["helpdesk"]
    with rt.db.session_scope() as session:
        found = session.scalars(select(Certificate).where(Certificate.code == code.strip().upper())).first()
        if found is None:
            abort(404)
        return render_template("certificate.html", certificate=found, belt=belt_name(found.level),
                               hours=hours_text(found.minutes), journey=journey_rows(found.journey))


def journey_rows(journey: dict | None) -> list[tuple[str, list[str], list[str]]]:
    """(area label, levels completed, levels under way as 'practice (1 of 2)') per area, in level order."""
    from helpdesk.experts.tickets import label
    from knowledge_base.lessons import LEVELS

    rows = []
    for area, levels in sorted((journey or {}).items()):
        completed = [level for level in LEVELS if level in levels and levels[level][0] >= levels[level][1]]
        started = [f"{level} ({levels[level][0]} of {levels[level][1]} lessons)" for level in LEVELS
                   if level in levels and 0 < levels[level][0] < levels[level][1]]
        rows.append((label("areas", area), completed, started))
    return rows


@planner.get("")
@login_required("planner")
def report():
    rt = current_app.extensions["helpdesk"]
    with rt.db.session_scope() as session:
        return render_template(
            "certificate_cpd_report.html",
            lessons=cpd_reports.completion_by_lesson(session, rt),
            districts=cpd_reports.completion_by_district(session, rt.settings.report_min_teachers),
            effects=cpd_reports.effect_report(session, rt),
            min_cell=rt.settings.report_min_teachers,
        )
