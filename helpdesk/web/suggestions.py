"""Suggestions in the console: the lead's list (scrubbed text, pseudonym, a reply form; never the number) and
the planner's view (clusters and counts with small-cell suppression, beside the content gaps)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for

from analytics import service
from analytics.taxonomy import load_taxonomy
from helpdesk.programme import suggestion_store
from helpdesk.web import planner
from helpdesk.web.auth import login_required

bp = Blueprint("suggestions", __name__)


def register(app) -> None:
    app.register_blueprint(bp)
    app.config["NAV_LINKS"].extend([
        ("suggestions.lead_list", "Suggestions", ("lead",)),
        ("suggestions.planner_view", "Suggestions", ("planner",)),
    ])


def _rt():
    return current_app.extensions["helpdesk"]


@bp.get("/console/suggestions")
@login_required("lead")
def lead_list():
    with _rt().db.session_scope() as session:
        rows = suggestion_store.recent(session)
        return render_template("console_suggestions.html", rows=rows, label=load_taxonomy().label)


@bp.post("/console/suggestions/<int:suggestion_id>/reply")
@login_required("lead")
def reply(suggestion_id: int):
    try:
        with _rt().db.session_scope() as session:
            suggestion_store.reply(session, suggestion_id=suggestion_id, user=g.user,
                                   text=request.form.get("reply", ""))
        flash(f"Reply sent to the teacher of suggestion #{suggestion_id}.")
    except LookupError:
        abort(404)
    except suggestion_store.ReplyError as exc:
        flash(f"Not sent: {exc}")
    return redirect(url_for("suggestions.lead_list") + f"#suggestion-{suggestion_id}")


@bp.get("/planner/suggestions")
@login_required("planner")
def planner_view():
    rt = _rt()
    error = None
    try:
        period = planner.requested_period(rt.settings)
    except planner.QueryError as exc:
        error = str(exc)
        period = service.default_period(planner.today(rt.settings))
    k = rt.settings.report_min_teachers
    with rt.db.session_scope() as session:
        view = suggestion_store.planner_view(session, period=period, k=k)
        page = service.build_page(session, period=period, k=k)
    html = render_template("planner_suggestions.html", view=view, gaps=page.gaps, period=period,
                           label=load_taxonomy().label, period_error=error)
    return html, 400 if error else 200
