"""An expert's answer reaches a WhatsApp teacher whose 24-hour window has closed: the approved template goes
out ("answer ready, reply OPEN"), the answer is held, and it is sent when the teacher writes again."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.experts import tickets
from helpdesk.models import OutboundMessage, Teacher, utcnow
from helpdesk.models.tickets import Ticket
from support.experts import add_expert, open_ticket_for, sent_to
from support.teachers import Phone

TEMPLATE = "HX" + "a" * 32
WA_TEACHER = "+923331234567"
MATHS = "+923110000001"


def close_the_window(rt, phone: str = WA_TEACHER) -> None:
    # The teacher's last WhatsApp message was 25 hours ago.
    with rt.db.session_scope() as session:
        teacher = session.scalars(select(Teacher).where(Teacher.phone == phone)).one()
        teacher.last_whatsapp_inbound_at = teacher.last_inbound_at = utcnow() - timedelta(hours=25)


def wa_ticket(rt) -> int:
    add_expert(rt, MATHS, ["maths"])
    return open_ticket_for(rt, WA_TEACHER, "Students cannot understand fractions", channel="whatsapp",
                           subjects="maths")


def answer_from_phone(app, rt, ticket_id: int, text: str) -> None:
    Phone(app.test_client(), MATHS).send(f"#{ticket_id} {text}")
    rt.jobs.drain()


def ticket_events(rt, ticket_id):
    with rt.db.session_scope() as session:
        return [(e.kind, e.detail) for e in session.get(Ticket, ticket_id).events]


@pytest.fixture
def template_app(make_app, database_url):
    return make_app(database_url, whatsapp_answer_ready_template_sid=TEMPLATE)


def test_closed_window_sends_the_template_and_the_next_message_releases_the_answer(template_app, twilio_api):
    rt = template_app.extensions["helpdesk"]
    ticket_id = wa_ticket(rt)
    close_the_window(rt)
    answer_from_phone(template_app, rt, ticket_id, "Fold paper strips into halves.")

    to_teacher = [m for m in twilio_api.messages if m["To"] == f"whatsapp:{WA_TEACHER}"]
    assert len(to_teacher) == 1 and to_teacher[0]["ContentSid"] == TEMPLATE and not to_teacher[0].get("Body")
    with rt.db.session_scope() as session:
        held = session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "relay")).all()
        assert [row.status for row in held] == ["held"]
    assert ("delivery", "WhatsApp window closed: answer held until the teacher replies (template sent)") in \
        ticket_events(rt, ticket_id)

    Phone(template_app.test_client(), WA_TEACHER, whatsapp=True).send("OPEN")
    rt.jobs.drain()
    bodies = sent_to(twilio_api, f"whatsapp:{WA_TEACHER}")
    answer = [b for b in bodies
              if b.startswith("Answer from a subject expert:\nFold paper strips into halves.")]
    assert len(answer) == 1
    # The answer follows the template, on WhatsApp, and was sent once.
    assert bodies.index(answer[0]) > 0
    with rt.db.session_scope() as session:
        relay = session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "relay")).all()
        assert [row.status for row in relay] == ["accepted"] and relay[0].twilio_sid is not None


def test_sms_fallback_sends_the_answer_by_sms_at_once(make_app, database_url, twilio_api):
    app = make_app(database_url, whatsapp_answer_ready_template_sid=TEMPLATE, answer_sms_fallback=True)
    rt = app.extensions["helpdesk"]
    ticket_id = wa_ticket(rt)
    close_the_window(rt)
    answer_from_phone(app, rt, ticket_id, "Fold paper strips into halves.")
    assert sent_to(twilio_api, f"whatsapp:{WA_TEACHER}") == []
    assert not any(m.get("ContentSid") for m in twilio_api.messages)
    by_sms = sent_to(twilio_api, WA_TEACHER)
    assert len(by_sms) >= 1 and by_sms[0].startswith("Answer from a subject expert:")
    assert ("delivery", "WhatsApp window closed: answer sent by SMS") in ticket_events(rt, ticket_id)


def test_open_window_answers_on_whatsapp_directly(template_app, twilio_api):
    rt = template_app.extensions["helpdesk"]
    ticket_id = wa_ticket(rt)
    answer_from_phone(template_app, rt, ticket_id, "Fold paper strips into halves.")
    to_teacher = [m for m in twilio_api.messages if m["To"] == f"whatsapp:{WA_TEACHER}"]
    assert len(to_teacher) == 1 and not to_teacher[0].get("ContentSid")
    assert to_teacher[0]["Body"].startswith("Answer from a subject expert:\nFold paper strips")


def test_urdu_teachers_get_the_answer_frame_in_urdu(app, rt, twilio_api):
    add_expert(rt, MATHS, ["maths"])
    ticket_id = open_ticket_for(rt, "+923001234567", "کسر کیسے سمجھاؤں", subjects="maths", language="ur")
    answer_from_phone(app, rt, ticket_id, "کاغذ تہہ کریں")
    body = sent_to(twilio_api, "+923001234567")[0]
    assert body.startswith("ماہر استاد کا جواب:\nکاغذ تہہ کریں") and "1 لکھیں" in body


def test_the_teacher_rates_the_answer_by_replying(app, rt, twilio_api):
    """Through the whole pipeline: the expert answers, the teacher replies 2 (reopened), then 1 (closed)."""
    add_expert(rt, MATHS, ["maths"])
    teacher = Phone(app.test_client(), "+923001234567")
    ticket_id = open_ticket_for(rt, teacher.phone, "Students cannot understand fractions", subjects="maths",
                                onboarded=True)
    answer_from_phone(app, rt, ticket_id, "Fold paper strips into halves.")
    teacher.send("2")
    rt.jobs.drain()
    with rt.db.session_scope() as session:
        ticket = session.get(Ticket, ticket_id)
        assert (ticket.rating, ticket.status) == (2, "assigned")
    answer_from_phone(app, rt, ticket_id, "Try sharing a roti into equal parts.")
    teacher.send("1")
    rt.jobs.drain()
    with rt.db.session_scope() as session:
        ticket = session.get(Ticket, ticket_id)
        assert (ticket.rating, ticket.status) == (1, "closed")
        assert [e.detail for e in ticket.events if e.kind == "rated"] == ["did not help", "helped"]
        t = session.scalars(select(Teacher).where(Teacher.phone == teacher.phone)).one()
        assert tickets.awaiting_expert_rating(session, t) is None


def test_open_releases_the_answer_and_is_not_taken_as_a_new_question(template_app, twilio_api):
    rt = template_app.extensions["helpdesk"]
    ticket_id = wa_ticket(rt)
    close_the_window(rt)
    answer_from_phone(template_app, rt, ticket_id, "Fold paper strips into halves.")
    Phone(template_app.test_client(), WA_TEACHER, whatsapp=True).send("OPEN")
    rt.jobs.drain()
    with rt.db.session_scope() as session:
        assert [t.id for t in session.scalars(select(Ticket))] == [ticket_id]
        assert session.get(Ticket, ticket_id).status == "answered"
    assert tickets.is_open_request("open") and tickets.is_open_request(" Open. ")
    assert not tickets.is_open_request("open the book")
