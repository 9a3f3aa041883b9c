"""The I/O edge of a teacher's turn: load the teacher, ask the pure conversation core what to do, do it.

Everything decided here is written in the caller's transaction: replies through the one send path,
state on the teacher row. Nothing is sent before the transaction commits.
"""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk import conversation, outbound
from helpdesk.models import InboundMessage, Teacher, utcnow

log = logging.getLogger(__name__)


def get_or_create_teacher(session: Session, phone: str) -> Teacher:
    """The teacher row, locked for this transaction so one teacher's messages are handled one at a time."""
    stmt = select(Teacher).where(Teacher.phone == phone)
    if session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    teacher = session.scalars(stmt).first()
    if teacher is None:
        teacher = Teacher(phone=phone)
        session.add(teacher)
        session.flush()
    return teacher


def note_inbound(teacher: Teacher, message: InboundMessage) -> None:
    now = utcnow()
    teacher.channel = message.channel
    teacher.last_inbound_at = now
    if message.channel == "whatsapp":
        teacher.last_whatsapp_inbound_at = now  # opens (or extends) the 24-hour window


def handle_inbound(session: Session, rt, message: InboundMessage) -> None:
    teacher = get_or_create_teacher(session, message.phone)
    message.teacher_id = teacher.id
    if teacher.blocked:
        message.status = "ignored"
        return
    note_inbound(teacher, message)
    if message.channel == "whatsapp":
        outbound.release_held(session, teacher)
    turn = conversation.Turn(
        text=message.body or "",
        num_media=message.num_media,
        channel=message.channel,
        language=teacher.language,
        opted_out=teacher.opted_out_at is not None,
    )
    decision = conversation.decide(turn, rt.knowledge.view())
    apply_decision(session, rt, teacher, message, decision)


def apply_decision(session: Session, rt, teacher: Teacher, message: InboundMessage,
                   decision: conversation.Decision) -> None:
    if decision.opt_out:
        teacher.opted_out_at = utcnow()
    if decision.opt_in:
        teacher.opted_out_at = None
    for reply in decision.replies:
        outbound.queue_message(session, teacher=teacher, body=reply, kind=decision.kind,
                               in_reply_to_id=message.id)
