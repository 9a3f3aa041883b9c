"""The production path: PostgreSQL, Redis and the real `helpdesk worker` process. A lead schedules a session in
the console, the worker announces it to the matching teacher, the teacher books by number, and the reminder
tick (enqueued with a fixed clock, as the scheduler does) reaches the teacher; a hub meeting is confirmed."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from helpdesk.models import Teacher
from helpdesk.models.programme import HubMeetingReply, LiveSession
from helpdesk.programme import service
from programme_support import add_teacher, asked, csrf, lead_client, local_start
from support.teachers import Phone


def next_body(twilio_api, before: int) -> str:
    return twilio_api.wait_for_messages(before + 1, timeout=30)[before]["Body"]


def exchange(phone: Phone, twilio_api, body: str) -> str:
    before = len(twilio_api.messages)
    phone.send(body)
    return next_body(twilio_api, before)


def test_a_session_and_a_hub_meeting_through_the_real_worker(prod_app, worker, twilio_api):
    rt = prod_app.extensions["helpdesk"]
    number = "+923001233001"
    add_teacher(rt, number, language="roman-ur", language_chosen=True, district="Multan")
    asked(rt, number, "assessment", "Multan")
    worker()

    lead = lead_client(prod_app)
    before = len(twilio_api.messages)
    assert lead.post("/console/sessions", data=dict(
        csrf_token=csrf(lead, "/console/sessions"), title="Assessment clinic", area="assessment",
        starts=local_start().strftime("%Y-%m-%dT%H:%M"), meeting_link="https://meet.example.org/w", capacity="5",
        languages=["en", "ur", "roman-ur"])).status_code == 302
    assert "Naya live helpdesk session: Assessment clinic" in next_body(twilio_api, before)

    phone = Phone(prod_app.test_client(), number)
    assert "1 Assessment clinic:" in exchange(phone, twilio_api, "live")
    assert "Book ho gaya" in exchange(phone, twilio_api, "1")
    with rt.db.session_scope() as session:
        starts_at = session.scalars(select(LiveSession.starts_at)).one()
    before = len(twilio_api.messages)
    rt.enqueue("workers.programme_jobs.send_session_reminders", (starts_at - timedelta(hours=24)).isoformat(),
               queue="low")
    assert "Yaad dihani: Assessment clinic kal hai" in next_body(twilio_api, before)

    with rt.db.session_scope() as session:
        hub = service.save_hub(session, name="Multan Hub", district="Multan", coordinator_phone="+923001233999")
        hub_id = hub.id
    assert "Multan Hub mein shamil ho gaye" in exchange(phone, twilio_api, "hub")
    before = len(twilio_api.messages)
    token = csrf(lead, "/console/hubs")
    day = local_start(days_ahead=4, hour=11)
    lead.post(f"/console/hubs/{hub_id}/meetings", data=dict(csrf_token=token, starts=day.strftime("%Y-%m-%dT%H:%M"),
                                                            place="GHS Multan", topic="Peer observation"))
    assert "Multan Hub meeting: Peer observation" in next_body(twilio_api, before)
    assert "Shukriya" in exchange(phone, twilio_api, "1")
    with rt.db.session_scope() as session:
        reply = session.scalars(select(HubMeetingReply)).one()
        assert reply.coming and session.get(Teacher, reply.teacher_id).phone == number
