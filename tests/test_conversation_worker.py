"""Conversations through the production path: PostgreSQL, Redis, the real `helpdesk worker` process and the
fake Twilio server. The conversation state lives in the database, so it survives a worker restart."""
from __future__ import annotations

from sqlalchemy import select

from helpdesk.models import Teacher, Ticket
from support.teachers import Phone


def exchange(phone: Phone, twilio_api, body: str) -> str:
    before = len(twilio_api.messages)
    phone.send(body)
    sent = twilio_api.wait_for_messages(before + 1, timeout=30)
    return sent[before]["Body"]


def test_onboarding_state_survives_a_worker_restart(prod_app, worker, twilio_api):
    phone = Phone(prod_app.test_client(), "+923002223334", whatsapp=True)
    first = worker()
    assert "What is your name?" in exchange(phone, twilio_api, "Assalam o alaikum")
    first.stop()

    worker()  # a new process: everything it knows about the conversation comes from the database
    assert "role" in exchange(phone, twilio_api, "Ayesha Khan")
    assert "school level" in exchange(phone, twilio_api, "1")
    rt = prod_app.extensions["helpdesk"]
    with rt.db.session_scope() as session:
        teacher = session.scalars(select(Teacher)).one()
        assert (teacher.name, teacher.role, teacher.state) == ("Ayesha Khan", "teacher", "onboarding")


def test_an_urdu_answer_rated_unhelpful_becomes_a_ticket(prod_app, worker, twilio_api):
    phone = Phone(prod_app.test_client(), "+923004445557", whatsapp=True)
    worker()
    answer = exchange(phone, twilio_api, "بچے جماعت میں بہت شور کرتے ہیں")
    assert "خاموشی" in answer and "1 لکھیں" in answer
    assert "ماہر" in exchange(phone, twilio_api, "نہیں")
    rt = prod_app.extensions["helpdesk"]
    with rt.db.session_scope() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert ticket.question.startswith("بچے جماعت") and ticket.language == "ur"


def test_roman_urdu_stop_and_start_on_sms(prod_app, worker, twilio_api):
    phone = Phone(prod_app.test_client(), "+923006667778")
    worker()
    assert "khush aamdeed" in exchange(phone, twilio_api, "Assalam o alaikum, kya haal hai aap ka")
    assert "START" in exchange(phone, twilio_api, "band")
    assert "dobara khush aamdeed" in exchange(phone, twilio_api, "start")
