"""The bulk push builds exactly the messages the one-teacher-at-a-time path builds (issue 7, performance):
same recipients, bodies, templates, held lessons, skipped teachers and deliveries, on SQLite and PostgreSQL."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk import outbound
from helpdesk.channels.templates import lesson_invite_variables
from helpdesk.cpd import subscriptions as cpd
from helpdesk.models import LessonDelivery, OutboundMessage, Subscription, Teacher, utcnow
from workers.cpd_jobs import push_due_lessons

LESSON_TEMPLATE = "HX" + "2" * 32


@pytest.fixture
def app(make_app, database_url):
    return make_app(database_url, whatsapp_lesson_template_sid=LESSON_TEMPLATE)


# Every kind of recipient the push treats differently.
TEACHERS = [
    dict(phone="+923002220001", subjects="maths", school_level="primary", district="Multan"),
    dict(phone="+923002220002", language="ur", district="Multan", school_level="middle"),
    dict(phone="+923332220003", channel="whatsapp", district="Lahore", open_window=True, subjects="science"),
    dict(phone="+923332220004", channel="whatsapp", language="ur", name="Sana Ali", district="Lahore"),
    dict(phone="+923332220005", channel="whatsapp", district="Swat"),  # never wrote on WhatsApp: closed
    dict(phone="+923002220006", opted_out=True, district="Multan"),
    dict(phone="+923002220007", blocked=True),
    dict(phone="+923002220008", district="Lahore", already_sent=2, subjects="english"),
    dict(phone="+923332220009", channel="whatsapp", open_window=True, language="ur", welcome=True),
    dict(phone="+923002220010", not_due=True),
]


def build_fixture(rt, now):
    """Teachers, subscriptions, earlier deliveries and analytics questions. Returns the teacher ids."""
    from analytics.models import Interaction
    from helpdesk.privacy import pseudonym, pseudonym_key

    key = pseudonym_key(rt.settings)
    ids = []
    with rt.db.session_scope() as session:
        def asked(phone, district, area, days_ago):
            when = now - timedelta(days=days_ago)
            session.add(Interaction(created_at=when, day=when.date(), week=when.date(), month=when.date(),
                                    teacher_key=pseudonym(phone, key), channel="sms", language="en",
                                    district=district, area=area, route="answered"))

        for spec in TEACHERS:
            spec = dict(spec)
            flags = {name: spec.pop(name, None) for name in ("open_window", "opted_out", "already_sent",
                                                             "welcome", "not_due")}
            if spec.get("channel") == "whatsapp" and flags["open_window"]:
                spec["last_whatsapp_inbound_at"] = now - timedelta(hours=2)
            elif spec.get("channel") == "whatsapp" and spec.get("name"):
                spec["last_whatsapp_inbound_at"] = now - timedelta(hours=30)
            if flags["opted_out"]:
                spec["opted_out_at"] = now - timedelta(days=1)
            teacher = Teacher(**spec)
            session.add(teacher)
            session.flush()
            ids.append(teacher.id)
            position = 0 if flags["welcome"] else len(rt.settings.cpd_welcome_offsets_days) + 1
            session.add(Subscription(teacher_id=teacher.id, active=True, joined_at=now - timedelta(days=40),
                                     series_position=position, updated_at=now - timedelta(days=7),
                                     next_lesson_at=now + timedelta(hours=5) if flags["not_due"]
                                     else now - timedelta(minutes=1)))
            for lesson in cpd.lessons(rt)[:flags["already_sent"] or 0]:
                session.add(LessonDelivery(teacher_id=teacher.id, lesson_id=lesson.id, area=lesson.area,
                                           reason="catalogue", channel="sms", sent_at=now - timedelta(days=20)))
        asked("+923002220001", "Multan", "multigrade", 3)
        asked("+923002220001", "Multan", "multigrade", 9)
        asked("+923002220001", "Multan", "assessment", 1)
        asked("+923332220003", "Lahore", "literacy", 5)
        for number, area in enumerate(["numeracy", "numeracy", "numeracy", "inclusive-education"]):
            asked(f"+92300999000{number}", "Multan", area, number + 2)  # Multan's needs
        for number, area in enumerate(["classroom-management", "classroom-management", "assessment"]):
            asked(f"+92300999100{number}", "Lahore", area, number + 2)  # Lahore's needs
    return ids


def snapshot(session, teacher_ids):
    """What was queued, per teacher, in queue order: comparable across databases and runs (no row ids)."""
    messages = {}
    rows = session.scalars(select(OutboundMessage).where(OutboundMessage.teacher_id.in_(teacher_ids))
                           .order_by(OutboundMessage.id)).all()
    position = {row.id: index for index, row in enumerate(rows)}
    for row in rows:
        messages.setdefault(row.teacher_id, []).append(
            (row.to_address, row.channel, row.kind, row.body, row.content_sid, row.content_variables, row.status,
             row.segments, position.get(row.follows_id), row.in_reply_to_id))
    deliveries = sorted(
        (d.teacher_id, d.lesson_id, d.area, d.series, d.reason, d.channel, d.via_template)
        for d in session.scalars(select(LessonDelivery).where(LessonDelivery.teacher_id.in_(teacher_ids)))
    )
    subs = sorted((s.teacher_id, s.active, s.series_position, s.next_lesson_at is None)
                  for s in session.scalars(select(Subscription).where(Subscription.teacher_id.in_(teacher_ids))))
    return messages, deliveries, subs


def one_teacher_at_a_time(session, rt, now):
    """The reference: the per-teacher path (lesson chosen by `choose_for`'s own queries, every message stored
    by `outbound.queue_message`, one row and one flush at a time)."""
    pairs = session.execute(
        select(Subscription, Teacher).join(Teacher, Teacher.id == Subscription.teacher_id)
        .where(Subscription.active.is_(True), Subscription.next_lesson_at <= now).order_by(Subscription.id)
    ).all()
    for sub, teacher in pairs:
        choice = cpd.choose_for(session, rt, teacher, now)
        sub.series_position += 1  # the claim moves the series on; the lesson's series is read after it
        series = "welcome" if sub.series_position <= len(rt.settings.cpd_welcome_offsets_days) else "weekly"
        if teacher.opted_out_at is not None or teacher.blocked:
            sub.active, sub.next_lesson_at = False, None
            continue
        lesson = cpd.lesson_by_id(rt, choice.lesson_id)
        lang = "ur" if teacher.language == "ur" else "en"
        via_template = teacher.channel == "whatsapp" and not outbound.whatsapp_window_open(teacher, now)
        if via_template:
            first_name = (teacher.name or "").split()[0] if teacher.name else ""
            outbound.queue_message(session, teacher=teacher, body="", kind="template", channel="whatsapp",
                                   content_sid=LESSON_TEMPLATE,
                                   content_variables=lesson_invite_variables(first_name, lesson.text("title", lang),
                                                                             lang))
        body = cpd.sms_text(lesson, lang) if teacher.channel == "sms" else cpd.whatsapp_text(lesson, lang)
        outbound.queue_message(session, teacher=teacher, body=body, kind="lesson")
        session.add(LessonDelivery(teacher_id=teacher.id, lesson_id=lesson.id, area=lesson.area, series=series,
                                   reason=choice.tier, channel=teacher.channel, via_template=via_template,
                                   sent_at=now))
    session.flush()


def test_a_batch_builds_the_same_messages_as_one_teacher_at_a_time(rt, twilio_api):
    now = utcnow()
    ids = build_fixture(rt, now)
    session = rt.db.Session()
    try:
        one_teacher_at_a_time(session, rt, now)
        expected = snapshot(session, ids)
    finally:
        session.rollback()
        session.close()

    assert push_due_lessons(now.isoformat()) == 1
    rt.jobs.drain()
    with rt.db.session_scope() as session:
        actual = snapshot(session, ids)
    expected_messages, expected_deliveries, expected_subs = expected
    messages, deliveries, subs = actual
    assert deliveries == expected_deliveries and len(deliveries) == 2 + 7  # 2 sent earlier
    assert subs == expected_subs
    # Sending changed the statuses (pending -> sent, lessons of closed windows -> held); the rest is identical.
    strip = lambda rows: [row[:6] + row[7:] for row in rows]  # noqa: E731
    assert {t: strip(rows) for t, rows in messages.items()} == {t: strip(rows) for t, rows in expected_messages.items()}
    reasons = {d[0]: d[4] for d in deliveries}
    assert reasons[ids[0]] == "own-questions" and reasons[ids[1]] == "district-needs"
    # Opted out, blocked and not yet due: nothing queued.
    assert not {ids[5], ids[6], ids[9]} & set(messages)
    # What reached the fake Twilio: every SMS and open-window lesson, a template for each closed window.
    sent = sorted((m["To"], m.get("Body") or "", m.get("ContentSid") or "") for m in twilio_api.messages)
    wanted = sorted((row[0], row[3] if not row[4] else "", row[4] or "")
                    for rows in expected_messages.values() for row in rows
                    if not (row[2] == "lesson" and row[1] == "whatsapp" and
                            any(other[2] == "template" for other in rows)))
    assert sent == wanted
    assert [m["To"] for m in twilio_api.messages].count("whatsapp:+923332220004") == 1
    with rt.db.session_scope() as session:
        held = session.scalars(select(OutboundMessage.status).where(OutboundMessage.kind == "lesson",
                                                                    OutboundMessage.teacher_id.in_(ids[3:5]))).all()
    assert held == ["held", "held"]
