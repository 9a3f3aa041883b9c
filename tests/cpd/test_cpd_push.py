"""Subscriptions, the push (claims, channels, the WhatsApp template), credit, belts and certificates,
on SQLite and PostgreSQL, with the fake Twilio."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.cpd import subscriptions as cpd
from helpdesk.models import (
    Certificate, CpdCredit, LessonDelivery, OutboundMessage, Subscription, Teacher, utcnow,
)
from support.teachers import Phone
from workers.cpd_jobs import push_batch as push_batch_job
from workers.cpd_jobs import push_due_lessons

LESSON_TEMPLATE = "HX" + "1" * 32


@pytest.fixture
def app(make_app, database_url):
    return make_app(database_url, whatsapp_lesson_template_sid=LESSON_TEMPLATE)


def add_teacher(rt, phone, **fields):
    with rt.db.session_scope() as session:
        teacher = Teacher(phone=phone, **fields)
        session.add(teacher)
        session.flush()
        return teacher.id


def subscribe(rt, teacher_id, now=None, due=None):
    with rt.db.session_scope() as session:
        teacher = session.get(Teacher, teacher_id)
        reply = cpd.subscribe(session, rt, teacher, now=now)
        if due is not None:
            cpd.subscription_of(session, teacher).next_lesson_at = due
        return reply


def deliveries(rt):
    with rt.db.session_scope() as session:
        return [(d.teacher_id, d.lesson_id, d.via_template, d.reason) for d in
                session.scalars(select(LessonDelivery).order_by(LessonDelivery.id))]


def test_subscribe_and_unsubscribe_reply_in_the_teachers_language(rt):
    now = utcnow()
    english = add_teacher(rt, "+923001110001")
    urdu = add_teacher(rt, "+923001110002", language="ur")
    assert "signed up for the CPD hour" in subscribe(rt, english, now)
    assert "سی پی ڈی" in subscribe(rt, urdu, now)
    assert "already signed up" in subscribe(rt, english, now)
    with rt.db.session_scope() as session:
        teacher = session.get(Teacher, english)
        sub = cpd.subscription_of(session, teacher)
        assert sub.active and sub.joined_at == now and now < sub.next_lesson_at <= now + timedelta(days=2)
        assert "stopped" in cpd.unsubscribe(session, rt, teacher)
        assert (sub.active, sub.next_lesson_at) == (False, None)
        assert "not signed up" in cpd.unsubscribe(session, rt, teacher)
    # Coming back skips the welcome series and waits for the weekly hour.
    subscribe(rt, english, now)
    with rt.db.session_scope() as session:
        sub = session.scalars(select(Subscription).where(Subscription.teacher_id == english)).one()
        assert sub.active and sub.series_position == len(rt.settings.cpd_welcome_offsets_days)


def test_a_roman_urdu_teacher_gets_roman_urdu_cpd_replies_and_lesson_footer(rt, twilio_api):
    now = utcnow()
    teacher_id = add_teacher(rt, "+923001110011", language="roman-ur", subjects="maths", school_level="primary")
    reply = subscribe(rt, teacher_id, now - timedelta(days=3), due=now - timedelta(minutes=1))
    assert "CPD ghante mein shamil ho gaye hain" in reply and "har hafte Peer shaam 4 baje" in reply
    assert "signed up" not in reply and all(ord(ch) < 0x600 for ch in reply)  # Latin letters, not Urdu script
    assert push_due_lessons(now.isoformat()) == 1
    rt.jobs.drain()
    (delivery,) = deliveries(rt)
    (message,) = twilio_api.messages
    lesson = cpd.lesson_by_id(rt, delivery[1])
    footer = f"DONE likhein: {lesson.minutes} CPD min. Band: CPD OFF."
    assert message["Body"] == f"{lesson.sms['roman-ur']}\n{footer}"
    assert lesson.sms["roman-ur"] != lesson.sms["en"]
    with rt.db.session_scope() as session:
        assert "CPD sabaq band kar diye gaye" in cpd.unsubscribe(session, rt, session.get(Teacher, teacher_id))


def test_a_roman_urdu_whatsapp_teacher_reads_the_whole_lesson_in_roman_urdu(rt, twilio_api):
    now = utcnow()
    open_ = add_teacher(rt, "+923331110021", channel="whatsapp", language="roman-ur",
                        last_whatsapp_inbound_at=now - timedelta(hours=1))
    closed = add_teacher(rt, "+923331110022", channel="whatsapp", language="roman-ur", name="Sana Ali",
                         last_whatsapp_inbound_at=now - timedelta(hours=30))
    for teacher_id in (open_, closed):
        subscribe(rt, teacher_id, now - timedelta(days=3), due=now - timedelta(minutes=1))
    push_due_lessons(now.isoformat())
    rt.jobs.drain()
    lessons = {d[0]: cpd.lesson_by_id(rt, d[1]) for d in deliveries(rt)}
    by_to = {}
    for message in twilio_api.messages:
        by_to.setdefault(message["To"], []).append(message)
    # Compared with runs of whitespace folded: a lesson over WhatsApp's 1600 characters arrives in parts.
    def folded(text):
        return " ".join(text.split())

    lesson = lessons[open_]
    received = folded(" ".join(message["Body"] for message in by_to["whatsapp:+923331110021"]))
    assert received.startswith(f"*CPD ghanta: {folded(lesson.title['roman-ur'])} ({lesson.minutes} minute)*")
    assert all(folded(part["roman-ur"]) in received for part in lesson.parts)
    assert folded(f"Class mein aazmayein: {lesson.activity['roman-ur']}") in received
    assert folded(f"Samaan: {lesson.materials['roman-ur']}") in received
    assert folded(f"Ghaur karein: {lesson.reflection['roman-ur']}") in received
    assert folded(lesson.parts[0]["en"]) not in received and all(ord(ch) < 0x600 for ch in received)
    # Outside the 24-hour window the template names the lesson by its Roman Urdu title.
    (template,) = by_to["whatsapp:+923331110022"]
    assert json.loads(template["ContentVariables"]) == {"1": "Sana", "2": lessons[closed].title["roman-ur"]}


def test_push_sends_the_sms_short_form_once_even_when_the_batch_runs_twice(rt, twilio_api):
    now = utcnow()
    teacher_id = add_teacher(rt, "+923001110003", subjects="maths", school_level="primary")
    subscribe(rt, teacher_id, now - timedelta(days=3), due=now - timedelta(minutes=1))
    with rt.db.session_scope() as session:
        sub_id = cpd.subscription_of(session, session.get(Teacher, teacher_id)).id
    assert push_due_lessons(now.isoformat()) == 1
    rt.jobs.drain()
    assert push_due_lessons(now.isoformat()) == 0  # nothing due any more
    assert push_batch_job([sub_id], now.isoformat())["sent"] == 0  # a duplicated batch job sends nothing
    rt.jobs.drain()
    (delivery,) = deliveries(rt)
    lesson = cpd.lesson_by_id(rt, delivery[1])
    (message,) = twilio_api.messages
    assert message["To"] == "+923001110003"
    assert message["Body"].startswith(lesson.sms["en"]) and "DONE" in message["Body"]
    with rt.db.session_scope() as session:
        sub = session.get(Subscription, sub_id)
        assert sub.series_position == 1 and sub.next_lesson_at > now


def test_the_claim_refuses_a_subscription_another_job_already_pushed(rt):
    now = utcnow()
    teacher_id = add_teacher(rt, "+923001110010")
    subscribe(rt, teacher_id, now - timedelta(days=3), due=now - timedelta(minutes=1))
    with rt.db.session_scope() as slow:
        stale = slow.scalars(select(Subscription)).one()  # read before the other job claims it
        with rt.db.session_scope() as fast:
            assert cpd.push_batch(fast, rt, [stale.id], now).claimed == 1
        assert cpd._claim(slow, rt, stale, now) is False
    assert len(deliveries(rt)) == 1


def test_closed_window_whatsapp_teacher_gets_the_template_and_the_lesson_follows_the_reply(rt, client, twilio_api):
    now = utcnow()
    closed = add_teacher(rt, "+923331110004", channel="whatsapp", name="Sana Ali",
                         last_whatsapp_inbound_at=now - timedelta(hours=30))
    open_ = add_teacher(rt, "+923331110005", channel="whatsapp", last_whatsapp_inbound_at=now - timedelta(hours=1))
    for teacher_id in (closed, open_):
        subscribe(rt, teacher_id, now - timedelta(days=3), due=now - timedelta(minutes=1))
    push_due_lessons(now.isoformat())
    rt.jobs.drain()
    by_to = {}
    for message in twilio_api.messages:
        by_to.setdefault(message["To"], []).append(message)
    (template,) = by_to["whatsapp:+923331110004"]
    assert template["ContentSid"] == LESSON_TEMPLATE
    assert '"1": "Sana"' in template["ContentVariables"]
    assert "CPD hour:" in by_to["whatsapp:+923331110005"][0]["Body"]  # window open: the lesson itself
    with rt.db.session_scope() as session:
        held = session.scalars(select(OutboundMessage).where(OutboundMessage.teacher_id == closed,
                                                             OutboundMessage.kind == "lesson")).all()
        assert held and {row.status for row in held} == {"held"}
    assert sorted((d[0], d[2]) for d in deliveries(rt)) == [(closed, True), (open_, False)]
    # The teacher answers the template: the held lesson is released on the open window.
    Phone(client, "+923331110004", whatsapp=True).send("hello")
    rt.jobs.drain()
    lesson_bodies = [m["Body"] for m in twilio_api.messages if m["To"] == "whatsapp:+923331110004" and m.get("Body")]
    assert any(body.startswith("*CPD hour:") for body in lesson_bodies)


def test_lessons_follow_the_rule_and_never_repeat_across_pushes(rt):
    from analytics.models import Interaction
    from helpdesk.privacy import pseudonym, pseudonym_key

    now = utcnow()
    teacher_id = add_teacher(rt, "+923001110006", district="Multan", school_level="primary")
    other_id = add_teacher(rt, "+923001110007", district="Multan", school_level="primary")
    key = pseudonym_key(rt.settings)
    with rt.db.session_scope() as session:
        def asked(phone, area, days_ago):
            when = now - timedelta(days=days_ago)
            session.add(Interaction(created_at=when, day=when.date(), week=when.date(), month=when.date(),
                                    teacher_key=pseudonym(phone, key), channel="sms", language="en",
                                    district="Multan", area=area, route="answered"))
        asked("+923001110006", "multigrade", 3)
        asked("+923001110006", "multigrade", 10)
        for days_ago, phone in enumerate(["+923001110090", "+923001110091", "+923001110092"]):
            asked(phone, "literacy", days_ago + 1)  # the district's top need
    for teacher_id_ in (teacher_id, other_id):
        subscribe(rt, teacher_id_, now - timedelta(days=10), due=now - timedelta(minutes=1))
    push_due_lessons(now.isoformat())
    rt.jobs.drain()
    firsts = {d[0]: (cpd.lesson_by_id(rt, d[1]).area, d[3]) for d in deliveries(rt)}
    assert firsts[teacher_id] == ("multigrade", "own-questions")
    assert firsts[other_id] == ("literacy", "district-needs")
    # Push again and again: each time a new lesson, never one already sent. The first teacher sends DONE after
    # each lesson, so the journey opens practice and then mentor lessons; the other never does.
    for week in range(1, 6):
        later = now + timedelta(weeks=week)
        with rt.db.session_scope() as session:
            assert cpd.record_done(session, rt, session.get(Teacher, teacher_id), "DONE", now=later)
            for sub in session.scalars(select(Subscription)):
                sub.next_lesson_at = later - timedelta(minutes=1)
        push_due_lessons(later.isoformat())
        rt.jobs.drain()
    sent = [d[1] for d in deliveries(rt) if d[0] == teacher_id]
    assert len(sent) == 6 and len(set(sent)) == 6
    journey = [(cpd.lesson_by_id(rt, lesson_id).area, cpd.lesson_by_id(rt, lesson_id).level) for lesson_id in sent]
    assert journey[:4] == [("multigrade", "foundation"), ("multigrade", "practice"), ("multigrade", "practice"),
                           ("multigrade", "mentor")]
    others = [cpd.lesson_by_id(rt, d[1]) for d in deliveries(rt) if d[0] == other_id]
    assert len(others) == 6 and {lesson.level for lesson in others} == {"foundation"}


def test_done_credits_minutes_then_the_check_and_a_milestone_issues_a_certificate(rt, client):
    now = utcnow()
    teacher_id = add_teacher(rt, "+923001110008", name="Ayesha Bibi Khan")
    subscribe(rt, teacher_id, now - timedelta(days=10))
    with rt.db.session_scope() as session:
        teacher = session.get(Teacher, teacher_id)
        assert cpd.record_done(session, rt, teacher, "DONE") is None  # nothing pending yet
        assert not cpd.awaiting_reflection(session, teacher)
    minutes = []
    replies = []
    for step in range(3):
        pushed_at = now + timedelta(hours=step)
        with rt.db.session_scope() as session:
            sub = session.scalars(select(Subscription)).one()
            sub.next_lesson_at = pushed_at - timedelta(minutes=1)
        push_due_lessons(pushed_at.isoformat())
        rt.jobs.drain()
        with rt.db.session_scope() as session:
            teacher = session.get(Teacher, teacher_id)
            assert cpd.awaiting_reflection(session, teacher)
            pending = cpd.pending_delivery(session, teacher)
            lesson = cpd.lesson_by_id(rt, pending.lesson_id)
            minutes.append(lesson.minutes)
            text = "done" if step != 1 else "The children loved the slates; two still copied."
            replies.append(cpd.record_done(session, rt, teacher, text))
            assert "Question 1 of" in replies[-1] and teacher.state == "cpd_check"
            # A second DONE credits nothing more: it asks the check again from the first question.
            assert cpd.record_done(session, rt, teacher, "DONE").startswith("Now a short check")
            assert session.scalar(select(func.count(CpdCredit.id))) == step + 1
            for question in lesson.check:
                replies.append(cpd.answer_check(session, rt, teacher, question.answer))
            assert "Check passed" in replies[-1] and teacher.state is None
    assert f"{minutes[0]} minutes of CPD credited" in replies[0]
    assert any(reply.startswith("Thank you for sharing") for reply in replies)
    with rt.db.session_scope() as session:
        assert session.scalar(select(func.sum(CpdCredit.minutes))) == sum(minutes)
        reflection = session.scalars(select(LessonDelivery.reflection).where(LessonDelivery.reflection.is_not(None))).one()
        assert "slates" in reflection
        certificates = session.scalars(select(Certificate).order_by(Certificate.id)).all()
        teacher = session.get(Teacher, teacher_id)
        progress = cpd.progress_text(session, rt, teacher)
    # 3 lessons of 30-45 minutes with 3 checks passed: the white belt (60 min, 1 check) was crossed exactly once.
    assert [c.level for c in certificates] == ["white"]
    white = certificates[0]
    crossing = [reply for reply in replies if "White belt" in reply]
    assert len(crossing) == 1 and white.code in crossing[0]
    assert f"CPD hours so far: {sum(minutes) / 60:.1f} (3 lessons completed)" in progress
    assert "Lesson checks passed: 3." in progress
    page = client.get(f"/certificates/{white.code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "A.B.K." in html and "White belt" in html and white.code in html
    assert "923001110008" not in html and "1110008" not in html
    assert client.get("/certificates/CPD-NOPE-NOPE").status_code == 404


def test_a_teacher_who_sent_stop_gets_no_lesson(rt, twilio_api):
    now = utcnow()
    teacher_id = add_teacher(rt, "+923001110009", opted_out_at=now - timedelta(days=1))
    subscribe(rt, teacher_id, now - timedelta(days=3), due=now - timedelta(minutes=1))
    push_due_lessons(now.isoformat())
    rt.jobs.drain()
    assert deliveries(rt) == [] and twilio_api.messages == []
    with rt.db.session_scope() as session:
        assert session.scalars(select(Subscription.active)).one() is False


def test_planners_see_completion_rates_with_small_cells_suppressed(rt, client, make_user):
    from conftest import login

    now = utcnow()
    ids = [add_teacher(rt, f"+9230011120{i:02d}", district="Lahore" if i < 6 else "Swat") for i in range(8)]
    for teacher_id in ids:
        subscribe(rt, teacher_id, now - timedelta(days=3), due=now - timedelta(minutes=1))
    push_due_lessons(now.isoformat())
    rt.jobs.drain()
    with rt.db.session_scope() as session:
        for teacher_id in ids[:3]:
            cpd.record_done(session, rt, session.get(Teacher, teacher_id), "done")
    login(client, *make_user("planner"))
    html = client.get("/cpd").get_data(as_text=True)
    assert "<td>Lahore</td><td>6</td><td>3</td><td>50%</td>" in html.replace("\n", "").replace("    ", "")
    assert "Swat" in html and "fewer than 5" in html
    assert "923001112" not in html
    login(client, *make_user("expert"))
    assert client.get("/cpd").status_code == 403
