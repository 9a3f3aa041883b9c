"""Live helpdesk sessions end to end, on SQLite and PostgreSQL with the fake Twilio: a lead schedules a session
in the console, the teachers whose questions or district needs match its area are told, teachers in three
languages book by number and by tap, capacity holds, reminders go at the right local times (a fixed clock),
attendance credits CPD minutes and the summary carries the recording link."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from helpdesk import content
from helpdesk.cpd import subscriptions as cpd
from helpdesk.models import CpdCredit, OutboundMessage, Teacher, utcnow
from helpdesk.models.programme import LiveSession, SessionBooking, SessionReminder
from helpdesk.programme import service
from programme_support import add_teacher, asked, csrf, latest_menu_sid, lead_client, local_start, say, sent_to
from support.teachers import Phone
from workers.programme_jobs import send_session_reminders

EN, UR, ROMAN, OTHER = "+923001230001", "+923331230002", "+923001230003", "+923001230004"
TZ = ZoneInfo("Asia/Karachi")


def setup_teachers(rt):
    now = utcnow()
    add_teacher(rt, EN, language="en", district="Lahore", role="teacher")
    add_teacher(rt, UR, language="ur", language_chosen=True, district="Multan", channel="whatsapp",
                last_whatsapp_inbound_at=now - timedelta(hours=1), role="teacher")
    add_teacher(rt, ROMAN, language="roman-ur", language_chosen=True, district="Karachi", role="head_teacher")
    add_teacher(rt, OTHER, language="en", district="Quetta")
    asked(rt, EN, "assessment", "Lahore")              # their own recent question
    asked(rt, ROMAN, "assessment", "Karachi", days_ago=9)
    for n in range(3):                                 # Multan's top need (the Urdu teacher asked nothing)
        asked(rt, f"+92300999000{n}", "assessment", "Multan")
    asked(rt, OTHER, "literacy", "Quetta")


def schedule(app, make_user, rt, **fields):
    client = lead_client(app, make_user)
    form = dict(csrf_token=csrf(client, "/console/sessions"), title="Assessment clinic", area="assessment",
                starts=local_start().strftime("%Y-%m-%dT%H:%M"), duration_minutes="60",
                meeting_link="https://meet.example.org/abc", capacity="2", languages=list(content.LANGUAGES))
    form.update(fields)
    response = client.post("/console/sessions", data=form)
    assert response.status_code == 302, response.data
    rt.jobs.drain()
    return client


def test_a_scheduled_session_is_announced_booked_reminded_and_credited(app, rt, make_user, twilio_api):
    setup_teachers(rt)
    lead = schedule(app, make_user, rt)
    with rt.db.session_scope() as session:
        live = session.scalars(select(LiveSession)).one()
        session_id, starts_at = live.id, live.starts_at
        assert starts_at == local_start().replace(tzinfo=TZ).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
        announcements = session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "announcement")).all()
        assert {row.lane for row in announcements} == {"bulk"}

    # Matched by their own questions (English, Roman Urdu) or their district's needs (Urdu); Quetta is not.
    assert "New live helpdesk session: Assessment clinic" in sent_to(twilio_api, EN)[0]
    assert "16:00" in sent_to(twilio_api, EN)[0]
    assert "نیا لائیو ہیلپ ڈیسک سیشن" in sent_to(twilio_api, f"whatsapp:{UR}")[0]
    assert "Naya live helpdesk session" in sent_to(twilio_api, ROMAN)[0]
    assert "shaam 4 baje" in sent_to(twilio_api, ROMAN)[0]
    assert sent_to(twilio_api, OTHER) == []

    english = Phone(app.test_client(), EN)
    urdu = Phone(app.test_client(), UR, whatsapp=True)
    roman = Phone(app.test_client(), ROMAN)

    menu = say(rt, twilio_api, english, "LIVE")
    assert "1 Assessment clinic:" in menu
    assert "Booked: Assessment clinic" in say(rt, twilio_api, english, "1")
    assert "host will see your question" in say(rt, twilio_api, english, "How do I mark group work fairly? Call me on 03001234567")

    assert "لائیو ہیلپ ڈیسک سیشن" in say(rt, twilio_api, urdu, "لائیو")
    tapped = say(rt, twilio_api, urdu, "Assessment clinic", ButtonPayload="1", ButtonText="Assessment clinic",
                 OriginalRepliedMessageSid=latest_menu_sid(rt, urdu))
    assert "بک ہو گیا" in tapped and "https://meet.example.org/abc" in tapped
    assert "ٹھیک ہے" in say(rt, twilio_api, urdu, "SKIP")

    assert "(jagah nahi)" in say(rt, twilio_api, roman, "live")   # capacity 2: full
    assert "jagah nahi rahi" in say(rt, twilio_api, roman, "1")

    assert "(بک شدہ" in say(rt, twilio_api, urdu, "لائیو")
    assert "منسوخ ہو گئی" in say(rt, twilio_api, urdu, "1")          # a booked one's number cancels it
    say(rt, twilio_api, roman, "live")
    assert "Book ho gaya" in say(rt, twilio_api, roman, "1")

    # Reminders by the scheduler's clock: the day before and the hour before, each once, in local time.
    before = len(twilio_api.messages)
    assert send_session_reminders((starts_at - timedelta(hours=25)).isoformat()) == 0
    assert send_session_reminders((starts_at - timedelta(hours=24)).isoformat()) == 2
    assert send_session_reminders((starts_at - timedelta(hours=23, minutes=59)).isoformat()) == 0
    rt.jobs.drain()
    day = [m["Body"] for m in twilio_api.messages[before:]]
    assert any(b.startswith("Reminder: Assessment clinic is tomorrow") and "16:00" in b for b in day)
    assert any("Yaad dihani" in b and "shaam 4 baje" in b for b in day)
    assert send_session_reminders((starts_at - timedelta(minutes=60)).isoformat()) == 2
    assert send_session_reminders((starts_at - timedelta(minutes=30)).isoformat()) == 0
    rt.jobs.drain()
    assert "starts in an hour" in sent_to(twilio_api, EN)[-1]
    with rt.db.session_scope() as session:
        assert session.scalar(select(SessionReminder.id).limit(1)) is not None
        kinds = sorted(r.kind for r in session.scalars(select(SessionReminder)))
        assert kinds == ["day", "day", "hour", "hour"]
        assert {r.lane for r in session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "reminder"))} == {"bulk"}

    # The host's page: the question without the phone number; the lead marks the English teacher attended.
    page = lead.get(f"/console/sessions/{session_id}").get_data(as_text=True)
    assert "How do I mark group work fairly?" in page and "03001234567" not in page
    assert EN not in page and ROMAN not in page
    with rt.db.session_scope() as session:
        english_id = session.scalars(select(Teacher.id).where(Teacher.phone == EN)).one()
        booking_id = session.scalars(select(SessionBooking.id).where(SessionBooking.teacher_id == english_id)).one()
    token = csrf(lead, f"/console/sessions/{session_id}")
    assert lead.post(f"/console/sessions/{session_id}/attendance",
                     data={"csrf_token": token, "attended": [str(booking_id), "99999"]}).status_code == 302
    lead.post(f"/console/sessions/{session_id}/attendance", data={"csrf_token": token, "attended": str(booking_id)})
    with rt.db.session_scope() as session:
        assert cpd.credited_minutes(session, english_id) == 60
        assert cpd.credited_lessons(session, english_id) == 0       # a session is no lesson
        assert session.scalars(select(CpdCredit.lesson_id)).all() == [f"live-{session_id}"]
        session.get(LiveSession, session_id).recording_link = "https://video.example.org/rec1"

    # After the session: the summary with the recording link, to attendees only, once.
    before = len(twilio_api.messages)
    assert send_session_reminders((starts_at + timedelta(minutes=61)).isoformat()) == 1
    assert send_session_reminders((starts_at + timedelta(minutes=62)).isoformat()) == 0
    rt.jobs.drain()
    summary = [m for m in twilio_api.messages[before:]]
    assert [m["To"] for m in summary] == [EN]
    assert "https://video.example.org/rec1" in summary[0]["Body"]


def test_joined_credits_minutes_once_in_three_languages(app, rt, twilio_api, make_user):
    now = utcnow()
    phones = {"en": "+923001231001", "ur": "+923001231002", "roman-ur": "+923001231003"}
    for lang, number in phones.items():
        add_teacher(rt, number, language=lang, language_chosen=True)
    with rt.db.session_scope() as session:
        started = (now - timedelta(minutes=5)).replace(tzinfo=ZoneInfo("UTC")).astimezone(TZ)
        service.save_session(session, rt, title="Reading circles", area="literacy", capacity=10,
                             starts=started.strftime("%Y-%m-%d %H:%M"), meeting_link="https://meet.example.org/r",
                             duration_minutes=45)
    joined_words = {"en": "joined", "ur": "شامل ہو گیا", "roman-ur": "join ho gaya"}
    credited = {"en": "45 CPD minutes credited", "ur": "45 CPD منٹ شامل", "roman-ur": "45 CPD minute shamil"}
    for lang, number in phones.items():
        phone = Phone(app.test_client(), number)
        assert "Reading circles" in say(rt, twilio_api, phone, "live")
        say(rt, twilio_api, phone, "1")
        say(rt, twilio_api, phone, "skip")
        assert credited[lang] in say(rt, twilio_api, phone, joined_words[lang])
        again = say(rt, twilio_api, phone, joined_words[lang])
        assert "Reading circles" in again and "45" not in again
    with rt.db.session_scope() as session:
        assert session.scalar(select(CpdCredit.minutes).limit(1)) == 45
        assert len(session.scalars(select(CpdCredit)).all()) == 3
    # Without a booked session running, JOINED says so.
    lonely = Phone(app.test_client(), "+923001231009")
    add_teacher(rt, lonely.phone)
    assert "No session you booked is running now" in say(rt, twilio_api, lonely, "joined")


def test_a_bad_console_form_gets_an_answer_not_a_500(app, rt, make_user, twilio_api):
    client = lead_client(app, make_user)
    for bad in (dict(starts="tomorrow"), dict(capacity="lots"), dict(area="astrology"),
                dict(meeting_link="javascript:alert(1)"), dict(languages=[]), dict(host_expert_id="x")):
        form = dict(csrf_token=csrf(client, "/console/sessions"), title="T", area="assessment",
                    starts="2030-01-01T10:00", meeting_link="https://m.example.org", capacity="5",
                    languages=["en"])
        form.update(bad)
        response = client.post("/console/sessions", data=form, follow_redirects=True)
        assert response.status_code == 200
    with rt.db.session_scope() as session:
        assert session.scalars(select(LiveSession)).all() == []
    assert client.get("/console/sessions/12345").status_code == 404
    token = csrf(client, "/console/sessions")
    assert client.post("/console/sessions/12345/attendance", data={"csrf_token": token}).status_code == 404
    assert client.post("/console/sessions/12345", data={"csrf_token": token, "title": "x"}).status_code == 404
    # Teachers and planners do not reach the lead's pages.
    from conftest import login

    planner = app.test_client()
    login(planner, *make_user("planner"))
    assert planner.get("/console/sessions").status_code == 403
    assert planner.get("/console/programme").status_code == 200


def test_delete_my_data_erases_the_question_for_the_host(app, rt, twilio_api):
    number = "+923001232001"
    add_teacher(rt, number)
    with rt.db.session_scope() as session:
        start = (utcnow() + timedelta(days=2)).replace(tzinfo=ZoneInfo("UTC")).astimezone(TZ)
        service.save_session(session, rt, title="Clinic", area="assessment", capacity=5,
                             starts=start.strftime("%Y-%m-%d %H:%M"), meeting_link="https://meet.example.org/c")
    phone = Phone(app.test_client(), number)
    say(rt, twilio_api, phone, "LIVE")
    say(rt, twilio_api, phone, "1")
    say(rt, twilio_api, phone, "My head teacher Mr Aslam will not allow group work")
    with rt.db.session_scope() as session:
        assert session.scalars(select(SessionBooking.question)).one().startswith("My head teacher")
    say(rt, twilio_api, phone, "delete my data")
    say(rt, twilio_api, phone, "yes")
    with rt.db.session_scope() as session:
        assert session.scalars(select(SessionBooking.question)).one() is None


def test_a_moved_session_is_reminded_again_for_its_new_time(app, rt, twilio_api):
    teacher_id = add_teacher(rt, "+923001234401")
    start = local_start(days_ahead=4)
    with rt.db.session_scope() as session:
        live = service.save_session(session, rt, title="Clinic", area="assessment", capacity=5,
                                    starts=start.isoformat(), meeting_link="https://meet.example.org/m")
        session_id, first = live.id, live.starts_at
        assert service.book(session, session.get(Teacher, teacher_id), live.id, utcnow())[0] == "booked"
    with rt.db.session_scope() as session:
        assert service.send_due(session, rt, first - timedelta(hours=24)) == 1
        service.save_session(session, rt, session_id=session_id, title="Clinic", area="assessment", capacity=5,
                             starts=(start + timedelta(days=2)).isoformat(), meeting_link="https://meet.example.org/m")
    with rt.db.session_scope() as session:
        assert service.send_due(session, rt, first - timedelta(hours=23)) == 0
        assert service.send_due(session, rt, first + timedelta(days=1)) == 1
