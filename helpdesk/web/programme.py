"""Console pages of the support programme: leads schedule live sessions and run teacher hubs; a session's host
(an expert) sees its questions and profile mix and marks attendance; planners see session demand and the
hubs' top challenges, k-suppressed like every planner view. The data functions: helpdesk.programme.service."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from helpdesk import content
from helpdesk.db import enqueue_after_commit
from helpdesk.experts.tickets import taxonomy
from helpdesk.models import User, utcnow
from helpdesk.models.programme import Hub, HubMeeting, LiveSession
from helpdesk.models.tickets import Expert
from helpdesk.programme import service, texts
from helpdesk.web.auth import login_required

bp = Blueprint("programme", __name__, url_prefix="/console")
ANNOUNCE_JOB = "workers.programme_jobs.announce_session"
LEAD, HOSTS = ("lead",), ("lead", "expert")
PLANNER_WEEKS = 26


def register(app) -> None:
    app.register_blueprint(bp)
    app.config["NAV_LINKS"].append(("programme.sessions", "Live sessions", HOSTS))
    app.config["NAV_LINKS"].append(("programme.hubs", "Teacher hubs", LEAD))
    app.config["NAV_LINKS"].append(("programme.planner", "Sessions & hubs", ("planner",)))


def _rt():
    return current_app.extensions["helpdesk"]


def _is_lead() -> bool:
    return g.user.has_role("lead")


def _local(when):
    return texts.local(when, _rt().settings.timezone) if when else None


def _session_form() -> dict:
    form = request.form
    return dict(title=form.get("title", ""), area=form.get("area", ""), starts=form.get("starts", ""),
                meeting_link=form.get("meeting_link", ""), capacity=form.get("capacity", ""),
                duration_minutes=form.get("duration_minutes", "60"), languages=form.getlist("languages"),
                host_expert_id=form.get("host_expert_id") or None, recording_link=form.get("recording_link", ""))


def _hosts(db):
    return db.execute(select(Expert.id, User.name).join(User, User.id == Expert.user_id)
                      .where(Expert.active.is_(True)).order_by(User.name)).all()


@bp.get("/sessions")
@login_required(*HOSTS)
def sessions():
    rt = _rt()
    with rt.db.session_scope() as db:
        rows = db.scalars(select(LiveSession).order_by(LiveSession.starts_at.desc())).all()
        if not _is_lead():
            hosted = service.hosted_by(db, g.user.id)
            rows = [row for row in rows if row.id in hosted]
        counts = service.booked_counts(db, [row.id for row in rows])
        listed = [dict(id=r.id, title=r.title, area=r.area, status=r.status, starts=_local(r.starts_at),
                       capacity=r.capacity, booked=counts.get(r.id, 0)) for r in rows]
        return render_template("console_sessions.html", rows=listed, hosts=_hosts(db), areas=taxonomy()["areas"],
                               languages=content.LANGUAGES, lead=_is_lead(), tz=rt.settings.timezone)


@bp.post("/sessions")
@login_required(*LEAD)
def create_session():
    rt = _rt()
    try:
        with rt.db.session_scope() as db:
            live = service.save_session(db, rt, **_session_form())
            enqueue_after_commit(db, ANNOUNCE_JOB, live.id, job_id=f"announce-session-{live.id}", queue="low")
            session_id = live.id
    except service.ProgrammeError as exc:
        flash(str(exc))
        return redirect(url_for("programme.sessions"))
    flash("Session scheduled; matching teachers will be told.")
    return redirect(url_for("programme.session_page", session_id=session_id))


def _may_host(db, session_id: int) -> None:
    if not _is_lead() and session_id not in service.hosted_by(db, g.user.id):
        abort(403)


@bp.get("/sessions/<int:session_id>")
@login_required(*HOSTS)
def session_page(session_id: int):
    rt = _rt()
    with rt.db.session_scope() as db:
        _may_host(db, session_id)
        try:
            view = service.host_view(db, rt, session_id)
        except LookupError:
            abort(404)
        live = view["session"]
        return render_template("console_session.html", view=view, live=live, starts=_local(live.starts_at),
                               hosts=_hosts(db), areas=taxonomy()["areas"], languages=content.LANGUAGES,
                               lead=_is_lead(), tz=rt.settings.timezone, k=rt.settings.report_min_teachers)


@bp.post("/sessions/<int:session_id>")
@login_required(*LEAD)
def edit_session(session_id: int):
    rt = _rt()
    try:
        with rt.db.session_scope() as db:
            service.save_session(db, rt, session_id=session_id, **_session_form())
        flash("Session saved.")
    except LookupError:
        abort(404)
    except service.ProgrammeError as exc:
        flash(str(exc))
    return redirect(url_for("programme.session_page", session_id=session_id))


@bp.post("/sessions/<int:session_id>/cancel")
@login_required(*LEAD)
def cancel_session(session_id: int):
    with _rt().db.session_scope() as db:
        try:
            service.cancel_session(db, session_id)
        except LookupError:
            abort(404)
    flash("Session cancelled.")
    return redirect(url_for("programme.session_page", session_id=session_id))


@bp.post("/sessions/<int:session_id>/attendance")
@login_required(*HOSTS)
def attendance(session_id: int):
    rt = _rt()
    now = utcnow()
    with rt.db.session_scope() as db:
        _may_host(db, session_id)
        try:
            booking_ids = {b["id"] for b in service.host_view(db, rt, session_id)["bookings"]}
        except LookupError:
            abort(404)
        marked = 0
        for raw in request.form.getlist("attended"):
            if raw.isdigit() and int(raw) in booking_ids:
                marked += service.mark_attended(db, int(raw), now) is not None
    flash(f"Attendance recorded for {marked} teacher(s); their CPD minutes are credited.")
    return redirect(url_for("programme.session_page", session_id=session_id))


@bp.get("/hubs")
@login_required(*LEAD)
def hubs():
    rt = _rt()
    with rt.db.session_scope() as db:
        rows = db.scalars(select(Hub).order_by(Hub.district, Hub.name)).all()
        meetings = db.scalars(select(HubMeeting).where(HubMeeting.starts_at >= utcnow() - timedelta(days=31))
                              .order_by(HubMeeting.starts_at)).all()
        by_hub: dict[int, list] = {}
        for meeting in meetings:
            by_hub.setdefault(meeting.hub_id, []).append((meeting, _local(meeting.starts_at)))
        return render_template("console_hubs.html", rows=rows, meetings=by_hub, tz=rt.settings.timezone)


@bp.post("/hubs")
@login_required(*LEAD)
def create_hub():
    rt = _rt()
    form = request.form
    try:
        with rt.db.session_scope() as db:
            service.save_hub(db, name=form.get("name", ""), district=form.get("district", ""),
                             tehsil=form.get("tehsil", ""), markaz=form.get("markaz", ""),
                             coordinator_phone=form.get("coordinator_phone", ""), tz=rt.settings.timezone)
        flash("Hub created.")
    except service.ProgrammeError as exc:
        flash(str(exc))
    return redirect(url_for("programme.hubs"))


@bp.post("/hubs/<int:hub_id>/meetings")
@login_required(*LEAD)
def announce_meeting(hub_id: int):
    rt = _rt()
    form = request.form
    try:
        with rt.db.session_scope() as db:
            service.announce_meeting(db, rt, hub_id, starts=form.get("starts", ""), place=form.get("place", ""),
                                     topic=form.get("topic", ""))
        flash("Meeting announced to the hub's members.")
    except LookupError:
        abort(404)
    except service.ProgrammeError as exc:
        flash(str(exc))
    return redirect(url_for("programme.hubs"))


@bp.get("/programme")
@login_required("planner")
def planner():
    rt = _rt()
    now = utcnow()
    with rt.db.session_scope() as db:
        demand = service.demand_by_area(db, rt.settings.report_min_teachers, since=now - timedelta(weeks=PLANNER_WEEKS))
        overview = service.hub_overview(db, rt, now)
        areas = taxonomy()["areas"]
        return render_template("planner_programme.html", demand=demand, hubs=overview, areas=areas,
                               k=rt.settings.report_min_teachers, weeks=PLANNER_WEEKS)
