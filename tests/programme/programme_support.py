"""Shared steps of the programme tests: teachers with a question history, a lead's console session, and
reading what the fake Twilio server received."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from helpdesk.models import OutboundMessage, Teacher, utcnow
from support.teachers import Phone


def local_start(days_ahead=3, hour=16) -> datetime:
    """A start in the helpdesk time zone (Asia/Karachi), `days_ahead` days from today, as the form sends it."""
    day = datetime.now(ZoneInfo("Asia/Karachi")).date() + timedelta(days=days_ahead)
    return datetime(day.year, day.month, day.day, hour, 0)


def add_teacher(rt, phone, **fields):
    with rt.db.session_scope() as session:
        teacher = Teacher(phone=phone, welcomed_at=utcnow() - timedelta(days=30), onboarded=True, **fields)
        session.add(teacher)
        session.flush()
        return teacher.id


def asked(rt, phone, area, district, days_ago=2):
    """An analytics row as the chat leaves one for an answered question (the lesson choice's evidence)."""
    from analytics.models import Interaction
    from helpdesk.privacy import pseudonym, pseudonym_key

    when = utcnow() - timedelta(days=days_ago)
    with rt.db.session_scope() as session:
        session.add(Interaction(created_at=when, day=when.date(), week=when.date(), month=when.date(),
                                teacher_key=pseudonym(phone, pseudonym_key(rt.settings)), channel="sms",
                                language="en", district=district, area=area, route="answered"))


def lead_client(app, make_user=None):
    """A console client signed in as a new lead of this app (make_user serves the `app` fixture's database)."""
    from conftest import login
    from helpdesk.web.admin import create_user

    client = app.test_client()
    if make_user is not None:
        email, password = make_user("lead")
    else:
        email = "lead-programme@example.org"
        with app.extensions["helpdesk"].db.session_scope() as session:
            _, password = create_user(session, email=email, name="Lead", role="lead", password="correct horse battery")
    assert login(client, email, password).status_code == 302
    return client


def csrf(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.data
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def sent_to(twilio_api, address):
    return [m["Body"] for m in twilio_api.messages if m["To"] == address]


def say(rt, twilio_api, phone: Phone, body, **extra) -> str:
    """Send a message, let the jobs run, return the last reply the teacher got."""
    before = len(sent_to(twilio_api, phone.address))
    phone.send(body, **extra)
    rt.jobs.drain()
    replies = sent_to(twilio_api, phone.address)
    assert len(replies) > before, f"no reply to {body!r}"
    return replies[-1]


def latest_menu_sid(rt, phone: Phone):
    with rt.db.session_scope() as session:
        teacher = session.scalars(select(Teacher).where(Teacher.phone == phone.phone)).one()
        return session.scalars(select(OutboundMessage.twilio_sid).where(
            OutboundMessage.teacher_id == teacher.id, OutboundMessage.choices.is_not(None))
            .order_by(OutboundMessage.id.desc())).first()
