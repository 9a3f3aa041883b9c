"""Experts and tickets for the expert-queue tests: real rows through the real functions."""
from __future__ import annotations

import uuid

from sqlalchemy import select

ALWAYS = dict(start="00:00", end="24:00", days=range(7))


def add_expert(rt, phone: str, subjects=("maths",), *, role: str = "expert", name: str | None = None,
               password: str = "correct horse battery", **options) -> dict:
    """A console user with an expert profile, on duty around the clock unless told otherwise."""
    from helpdesk.web.admin import create_user
    from helpdesk.web.experts_admin import save_expert

    options = {**ALWAYS, "channel": "sms", **options}
    with rt.db.session_scope() as session:
        user, _ = create_user(session, email=f"{role}-{uuid.uuid4().hex[:6]}@example.org",
                              name=name or f"{role.title()} {phone[-3:]}", role=role, password=password)
        expert = save_expert(session, user=user, phone=phone, subjects=list(subjects), **options)
        return {"id": expert.id, "email": user.email, "password": password, "name": user.name, "phone": phone}


def teacher_question(rt, phone: str, text: str, channel: str = "sms", **teacher_fields) -> tuple[int, int]:
    """A teacher's stored message (rows made directly, so these tests do not depend on how the conversation
    answers it); returns (teacher id, inbound id)."""
    from helpdesk.models import InboundMessage, Teacher, utcnow

    with rt.db.session_scope() as session:
        teacher = session.scalars(select(Teacher).where(Teacher.phone == phone)).first()
        if teacher is None:
            teacher = Teacher(phone=phone)
            session.add(teacher)
        teacher.channel, teacher.last_inbound_at = channel, utcnow()
        if channel == "whatsapp":
            teacher.last_whatsapp_inbound_at = utcnow()
        for key, value in teacher_fields.items():
            setattr(teacher, key, value)
        session.flush()
        inbound = InboundMessage(message_sid="SM" + uuid.uuid4().hex, phone=phone, channel=channel, body=text,
                                 status="done", teacher_id=teacher.id)
        session.add(inbound)
        session.flush()
        return teacher.id, inbound.id


def open_ticket_for(rt, phone: str, text: str, *, urgent: bool = False, reason: str = "no-match",
                    channel: str = "sms", **teacher_fields) -> int:
    """The teacher asks and the question escalates (as the conversation does): returns the ticket id."""
    from helpdesk.experts import tickets
    from helpdesk.models import InboundMessage, Teacher

    teacher_id, inbound_id = teacher_question(rt, phone, text, channel, **teacher_fields)
    with rt.db.session_scope() as session:
        match = rt.knowledge.view().match(text)
        ticket = tickets.open_ticket(session, rt, teacher=session.get(Teacher, teacher_id),
                                     inbound=session.get(InboundMessage, inbound_id), question=text,
                                     match=match, urgent=urgent, reason=reason)
        ticket_id = ticket.id
    rt.jobs.drain()
    return ticket_id


def ticket_with_media(rt, phone: str, question: str, urls: list[tuple[str, str]], **teacher_fields
                      ) -> tuple[int, int]:
    """A ticket whose teacher sent media with the question: `urls` are (media URL, content type) as an inbound
    webhook carries them (the fake Twilio's add_media gives such URLs). Returns (ticket id, inbound id)."""
    from helpdesk.models import InboundMessage
    from helpdesk.models.tickets import Ticket

    ticket_id = open_ticket_for(rt, phone, question, **teacher_fields)
    with rt.db.session_scope() as session:
        inbound = session.get(InboundMessage, session.get(Ticket, ticket_id).inbound_id)
        inbound.num_media, inbound.media = len(urls), [{"url": u, "content_type": t} for u, t in urls]
        return ticket_id, inbound.id


def expert_says(rt, phone: str, body: str, channel: str = "sms") -> None:
    """A message from an expert's phone, handled as the dialogue does for experts (contract: expert_for_phone,
    then handle_expert_message), in one transaction; then the sends run."""
    from helpdesk.experts import tickets
    from helpdesk.models import InboundMessage

    with rt.db.session_scope() as session:
        inbound = InboundMessage(message_sid="SM" + uuid.uuid4().hex, phone=phone, channel=channel, body=body,
                                 status="done")
        session.add(inbound)
        session.flush()
        expert = tickets.expert_for_phone(session, phone)
        assert expert is not None, "not an expert's phone"
        tickets.handle_expert_message(session, rt, expert, inbound)
    rt.jobs.drain()


def sent_to(twilio_api, address: str) -> list[str]:
    return [m.get("Body", "") for m in twilio_api.messages if m.get("To") == address]
