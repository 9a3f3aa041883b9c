"""Admin pages for experts: who answers which subjects, grade bands and languages, when, and how many
tickets at once."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from helpdesk.channels.base import phone_of
from helpdesk.experts import tickets
from helpdesk.models import User
from helpdesk.models.tickets import Expert
from helpdesk.web.auth import login_required

bp = Blueprint("experts_admin", __name__, url_prefix="/admin/experts")

E164 = re.compile(r"^\+[1-9][0-9]{7,14}\Z")  # ASCII digits: "\d" would accept Arabic-Indic ones
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def register(app) -> None:
    app.register_blueprint(bp)
    app.config["NAV_LINKS"].append(("experts_admin.experts", "Experts", ("admin",)))


def parse_hhmm(text: str) -> int:
    found = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text or "")
    if not found or int(found.group(1)) > 24 or int(found.group(2)) > 59:
        raise ValueError(f"time must look like 09:00, got {text!r}")
    return min(24 * 60, int(found.group(1)) * 60 + int(found.group(2)))


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _slugs(values, section: str) -> list[str]:
    known = tickets.taxonomy()[section]
    values = [v.strip() for v in values if v and v.strip()]
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValueError(f"unknown {section.replace('_', ' ')}: {', '.join(unknown)}")
    return values


def save_expert(session, *, user: User, phone: str, subjects, grade_bands=(), languages=("en", "ur"),
                capacity: int = 5, start: str = "09:00", end: str = "17:00", days=(0, 1, 2, 3, 4, 5),
                timezone: str = "Asia/Karachi", is_lead: bool = False, channel: str = "whatsapp",
                active: bool = True) -> Expert:
    """Create or update the expert profile of a console user (validated; raises ValueError)."""
    phone = phone_of(phone.strip())
    if not E164.match(phone):
        raise ValueError("phone must be in international format, e.g. +923001234567")
    if channel not in ("whatsapp", "sms"):
        raise ValueError("channel must be whatsapp or sms")
    if capacity < 1:
        raise ValueError("capacity must be at least 1")
    try:
        ZoneInfo(timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise ValueError(f"unknown time zone {timezone!r}, e.g. Asia/Karachi") from None
    other = session.scalars(select(Expert).where(Expert.phone == phone, Expert.user_id != user.id)).first()
    if other is not None:
        raise ValueError("another expert already has that phone number")
    expert = session.scalars(select(Expert).where(Expert.user_id == user.id)).first()
    if expert is None:
        expert = Expert(user_id=user.id, phone=phone)
        expert.user = user
        session.add(expert)
    expert.phone, expert.channel, expert.capacity, expert.timezone = phone, channel, int(capacity), timezone
    expert.subjects = _slugs(subjects, "subjects")
    if not expert.subjects:
        raise ValueError("at least one subject is required (general answers any)")
    expert.grade_bands = _slugs(grade_bands, "grade_bands")
    expert.languages = [lang for lang in languages if lang in ("en", "ur")] or ["en"]
    expert.work_start_minute, expert.work_end_minute = parse_hhmm(start), parse_hhmm(end)
    expert.work_days = sorted({int(d) for d in days})
    expert.is_lead, expert.active = bool(is_lead), bool(active)
    session.flush()
    return expert


def _rt():
    return current_app.extensions["helpdesk"]


# What the form shows for a user without a profile yet (save_expert's defaults).
NEW_PROFILE = dict(phone="", channel="whatsapp", subjects=[], grade_bands=[], languages=["en", "ur"],
                   capacity=5, start="09:00", end="17:00", days=[0, 1, 2, 3, 4, 5], timezone="Asia/Karachi",
                   is_lead=False, active=True)


def form_values(expert: Expert | None) -> dict:
    """The update form filled with the current profile, so saving it changes only what the admin changed."""
    if expert is None:
        return dict(NEW_PROFILE)
    return dict(phone=expert.phone, channel=expert.channel, subjects=list(expert.subjects or []),
                grade_bands=list(expert.grade_bands or []), languages=list(expert.languages or []),
                capacity=expert.capacity, start=hhmm(expert.work_start_minute),
                end=hhmm(expert.work_end_minute),
                days=list(expert.work_days or []), timezone=expert.timezone, is_lead=expert.is_lead,
                active=expert.active)


@bp.get("/")
@login_required("admin")
def experts():
    with _rt().db.session_scope() as session:
        rows = session.scalars(select(Expert).order_by(Expert.id)).all()
        users = session.scalars(
            select(User).where(User.role.in_(("expert", "lead"))).order_by(User.name)
        ).all()
        chosen = request.args.get("user_id", type=int)
        editing = next((e for e in rows if e.user_id == chosen), None)
        return render_template("console_experts.html", experts=rows, users=users, tax=tickets.taxonomy(),
                               hhmm=hhmm, days=DAY_NAMES, chosen_user=chosen, editing=editing,
                               values=form_values(editing))


@bp.post("/")
@login_required("admin")
def save():
    form = request.form
    try:
        with _rt().db.session_scope() as session:
            user = session.get(User, int(form.get("user_id") or 0)) or abort(404)
            expert = save_expert(
                session, user=user, phone=form.get("phone", ""), subjects=form.getlist("subjects"),
                grade_bands=form.getlist("grade_bands"), languages=form.getlist("languages"),
                capacity=int(form.get("capacity") or 5), start=form.get("start", "09:00"),
                # The form says it sent the days (so none ticked means none); an older form falls back.
                end=form.get("end", "17:00"), days=form.getlist("days") if form.get("days_sent") else
                form.getlist("days") or range(6),
                timezone=form.get("timezone") or NEW_PROFILE["timezone"],
                is_lead=bool(form.get("is_lead")), channel=form.get("channel", "whatsapp"),
                active=form.get("active", "1") == "1")
            flash(f"Saved expert profile for {expert.name}.")
    except ValueError as exc:
        flash(f"Not saved: {exc}")
    return redirect(url_for("experts_admin.experts"))
