"""DELETE MY DATA: after the teacher confirms, no table holds their words or their number.

What goes (every copy, wherever it was written):
- the teacher row's number (a tombstone `deleted-<id>` takes its place), profile and conversation state;
- every message they sent (body, media links, Twilio's extra fields, number) and every message sent to them
  (body, address, template variables, Twilio's error text, which quotes the number);
- their tickets' question, answer, conversation and profile snapshots, and the detail of every history event
  (follow-ups, answers, notices to leads); open tickets are closed;
- the notices sent to experts and leads about those tickets, and the experts' `#123 ...` replies about them;
- FAQ proposals drawn from those tickets (pending or rejected ones are deleted; the teacher's exact wording is
  taken out of an approved one and out of the published FAQ);
- CPD reflections and the name initials on certificates;
- questions sent ahead to a live session's host, and hub membership (helpdesk.programme.service.forget_teacher).
- their suggestions' text, the lead's reply and the link to the teacher (the row stays, blank, under a fresh
  random key, like an analytics row).

What stays, as the welcome message says: anonymous counts. Analytics rows keep their coding (area, subject,
district...) under a fresh random key with the wording blanked (analytics.store.forget_teacher); ticket rows
keep their timings, status and taxonomy for the service figures; CPD credits and certificates keep their
numbers. Messages still being sent keep their address until sent; finish_erasure scrubs them afterwards.
"""
from __future__ import annotations

import logging

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from helpdesk.channels.base import all_addresses
from helpdesk.models import (Certificate, Expert, FaqProposal, FaqRecord, InboundMessage, LessonDelivery,
                             OutboundMessage, ReflectionReply, Teacher, Ticket, TicketEvent, utcnow)

log = logging.getLogger(__name__)

FINISH_ERASURE_JOB = "workers.teacher_jobs.finish_erasure"
# The DELETE MY DATA confirmation still needs the number to be delivered; the number is scrubbed from it
# (and from anything else still in flight) this long afterwards.
FINISH_ERASURE_AFTER = 300
IN_FLIGHT = ("pending", "retrying", "sending", "held")
ERASED_QUESTION = "(erased at the teacher's request)"
ERASED_LABEL = "(name erased)"


def erase_teacher(session: Session, rt, teacher: Teacher) -> None:
    """Erase the teacher's personal data in the caller's transaction (see the module docstring for the scope)."""
    from analytics import store

    from helpdesk.db import enqueue_after_commit
    from helpdesk.programme import service as programme

    phone, tombstone = teacher.phone, f"deleted-{teacher.id}"
    ticket_ids = list(session.scalars(select(Ticket.id).where(Ticket.teacher_id == teacher.id)))
    store.forget_teacher(session, rt, phone)
    _erase_messages(session, teacher, phone, tombstone)
    if ticket_ids:
        _erase_expert_traffic(session, ticket_ids)
        _erase_faq_proposals(session, rt, ticket_ids)
        _erase_tickets(session, ticket_ids)
    _erase_reflections(session, teacher)
    programme.forget_teacher(session, teacher)
    _erase_suggestions(session, teacher)
    session.execute(update(Certificate).where(Certificate.teacher_id == teacher.id).values(label=ERASED_LABEL))
    teacher.phone = tombstone
    for name in ("name", "role", "school_level", "subjects", "district", "school_type", "state", "state_data",
                 "state_expires_at", "last_whatsapp_inbound_at"):
        setattr(teacher, name, None)
    teacher.onboarded, teacher.deleted_at = False, utcnow()
    enqueue_after_commit(session, FINISH_ERASURE_JOB, teacher.id, job_id=f"erase-{teacher.id}",
                         delay=FINISH_ERASURE_AFTER)
    log.info("erased the personal data of teacher %s at their request (%d tickets)", teacher.id, len(ticket_ids))


def _erase_reflections(session: Session, teacher: Teacher) -> None:
    """The classroom try-out reflections, and the mentors' replies that quote and answer them."""
    deliveries = select(LessonDelivery.id).where(LessonDelivery.teacher_id == teacher.id)
    session.execute(delete(ReflectionReply).where(ReflectionReply.delivery_id.in_(deliveries)))
    session.execute(update(LessonDelivery).where(LessonDelivery.teacher_id == teacher.id).values(reflection=None))


def _erase_suggestions(session: Session, teacher: Teacher) -> None:
    import secrets

    from helpdesk.models import Suggestion

    session.execute(update(Suggestion).where(Suggestion.teacher_id == teacher.id)
                    .values(text="", reply_text=None, teacher_id=None, inbound_id=None,
                            teacher_key=f"erased-{secrets.token_hex(8)}"))


def _erase_messages(session: Session, teacher: Teacher, phone: str, tombstone: str) -> None:
    session.execute(
        update(InboundMessage).where(or_(InboundMessage.teacher_id == teacher.id, InboundMessage.phone == phone))
        .values(body="", media=None, extra=None, phone=tombstone)
    )
    session.execute(
        update(OutboundMessage)
        .where(or_(OutboundMessage.teacher_id == teacher.id,
                   OutboundMessage.to_address.in_(all_addresses(phone))),
               OutboundMessage.status.notin_(IN_FLIGHT))
        .values(body="", to_address=tombstone, content_variables=None, error_message=None)
    )


def _erase_expert_traffic(session: Session, ticket_ids: list[int]) -> None:
    """Notices to experts quoted the question and follow-ups; their `#123 answer` replies hold the answer."""
    from helpdesk.experts.tickets import parse_command

    # Not yet sent: cancelled (the ticket it is about is gone). The claim in the sender is a conditional
    # UPDATE on these statuses, so a notice is either cancelled here or sent, never both.
    session.execute(
        update(OutboundMessage).where(OutboundMessage.ticket_id.in_(ticket_ids),
                                      OutboundMessage.status.in_(("pending", "retrying", "held")))
        .values(body="", status="suppressed")
    )
    session.execute(
        update(OutboundMessage).where(OutboundMessage.ticket_id.in_(ticket_ids),
                                      OutboundMessage.status.notin_(IN_FLIGHT))
        .values(body="", content_variables=None)
    )
    expert_phones = list(session.scalars(select(Expert.phone)))
    if not expert_phones:
        return
    wanted = set(ticket_ids)
    since = session.scalar(select(Ticket.created_at).where(Ticket.id == min(ticket_ids)))
    replies = session.execute(
        select(InboundMessage.id, InboundMessage.body)
        .where(InboundMessage.phone.in_(expert_phones), InboundMessage.received_at >= since)
    ).all()
    quoting = [row_id for row_id, body in replies
               if (command := parse_command(body or "")) is not None and command.ticket_id in wanted]
    if quoting:
        session.execute(update(InboundMessage).where(InboundMessage.id.in_(quoting)).values(body="", extra=None))


def _erase_faq_proposals(session: Session, rt, ticket_ids: list[int]) -> None:
    proposals = session.scalars(select(FaqProposal).where(FaqProposal.ticket_id.in_(ticket_ids))).all()
    if not proposals:
        return
    wordings = {" ".join(question.split()) for question in
                session.scalars(select(Ticket.question).where(Ticket.id.in_(ticket_ids)))}
    for proposal in proposals:
        if proposal.status != "approved":
            session.delete(proposal)
            continue
        # Approved: a lead edited and published it; only the teacher's own wording comes out.
        proposal.data = _without_questions(proposal.data, wordings)
        proposal.ticket_id = None
        record = session.scalars(select(FaqRecord).where(FaqRecord.faq_id == proposal.faq_id)).first()
        if record is not None:
            record.data = _without_questions(record.data, wordings)
            from helpdesk.experts.faq_review import _invalidate_after_commit

            _invalidate_after_commit(session, rt)


def _without_questions(data: dict, wordings: set[str]) -> dict:
    questions = [q for q in data.get("questions", []) if " ".join(q.split()) not in wordings]
    return {**data, "questions": questions or [ERASED_QUESTION]}  # an FAQ needs one question to load


def _erase_tickets(session: Session, ticket_ids: list[int]) -> None:
    now = utcnow()
    session.execute(
        update(Ticket).where(Ticket.id.in_(ticket_ids), Ticket.status != "closed")
        .values(status="closed", closed_at=now, due_at=None, assignee_id=None)
    )
    session.execute(
        update(Ticket).where(Ticket.id.in_(ticket_ids))
        .values(question=ERASED_QUESTION, conversation=[], profile=None, answer=None, updated_at=now)
    )
    # The events keep who and when (the service figures count them); what was said goes.
    session.execute(update(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids)).values(detail=""))


def scrub_sent_messages(session: Session, teacher_id: int) -> bool:
    """After the deletion confirmation has gone, take the number off it (and anything else sent since).
    True while some message about the teacher is still being sent (the job runs again later)."""
    teacher = session.get(Teacher, teacher_id)
    if teacher is None or teacher.deleted_at is None:
        return False
    ticket_ids = list(session.scalars(select(Ticket.id).where(Ticket.teacher_id == teacher_id)))
    about_teacher = or_(OutboundMessage.teacher_id == teacher_id, OutboundMessage.ticket_id.in_(ticket_ids))
    left = session.execute(
        update(OutboundMessage)
        .where(about_teacher, OutboundMessage.status.notin_(IN_FLIGHT),
               or_(OutboundMessage.body != "", OutboundMessage.content_variables.is_not(None),
                   OutboundMessage.error_message.is_not(None)))
        .values(body="", content_variables=None, error_message=None)
    ).rowcount
    session.execute(
        update(OutboundMessage).where(OutboundMessage.teacher_id == teacher_id,
                                      OutboundMessage.status.notin_(IN_FLIGHT),
                                      OutboundMessage.to_address != teacher.phone)
        .values(to_address=teacher.phone)
    )
    still_sending = session.scalar(
        select(OutboundMessage.id).where(about_teacher, OutboundMessage.status.in_(IN_FLIGHT)).limit(1)
    )
    log.info("erasure of teacher %s finished (%d messages scrubbed)", teacher_id, left or 0)
    return still_sending is not None
