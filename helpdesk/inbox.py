"""Storing what the provider tells us: inbound messages (deduplicated) and delivery statuses (forward only)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from helpdesk.channels.base import Failure, Inbound, StatusUpdate
from helpdesk.models import InboundMessage, OutboundMessage, StatusEvent, Teacher, utcnow

# Callbacks arrive out of order: a status only ever moves to a higher rank.
STATUS_RANK = {
    "pending": 0, "retrying": 0, "held": 0, "sending": 1, "unknown": 1,
    "accepted": 2, "queued": 2, "scheduled": 2, "sent": 3, "failed": 4, "undelivered": 4,
    "delivered": 5, "read": 6,
}


def _insert(session: Session, model):
    dialect = session.bind.dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model)


_STORE_INBOUND: dict[str, object] = {}


def _store_inbound_statement(dialect: str):
    # Built once per dialect and run with parameters: the webhook is the hot path, and building the
    # statement anew each time costs more than SQLite's insert itself.
    if dialect not in _STORE_INBOUND:
        module = postgresql if dialect == "postgresql" else sqlite
        _STORE_INBOUND[dialect] = (
            module.insert(InboundMessage).on_conflict_do_nothing(index_elements=["message_sid"])
            .returning(InboundMessage.id)
        )
    return _STORE_INBOUND[dialect]


def store_inbound(session: Session, message: Inbound) -> int | None:
    """Insert the message; None when its MessageSid was seen before (a retry or a replay)."""
    row = dict(message_sid=message.sid, phone=message.phone, channel=message.channel, body=message.body,
               num_media=message.num_media, media=list(message.media) or None,
               extra=dict(message.extra) or None, status="received", received_at=utcnow())
    statement = _store_inbound_statement(session.bind.dialect.name)
    return session.connection().execute(statement, row).scalar_one_or_none()


def apply_status(session: Session, update: StatusUpdate, outbound_id: int | None) -> bool:
    """Record a delivery status once per (MessageSid, status) and move the message forward only."""
    inserted = session.execute(
        _insert(session, StatusEvent)
        .values(message_sid=update.sid, status=update.status, error_code=update.error_code, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["message_sid", "status"])
        .returning(StatusEvent.id)
    ).scalar_one_or_none()
    if inserted is None:
        return False
    row = session.scalars(select(OutboundMessage).where(OutboundMessage.twilio_sid == update.sid)).first()
    if row is None and outbound_id is not None:
        row = session.get(OutboundMessage, outbound_id)
        if row is not None and row.twilio_sid is None:
            row.twilio_sid = update.sid  # the worker died before storing Twilio's answer
    if row is None:
        return True
    if STATUS_RANK.get(update.status, -1) > STATUS_RANK.get(row.status, -1):
        row.status = update.status
        row.updated_at = utcnow()
    if update.error_code:
        row.error_code = update.error_code
        if update.failure is Failure.OPTED_OUT and row.teacher_id:
            teacher = session.get(Teacher, row.teacher_id)
            if teacher is not None and teacher.opted_out_at is None:
                teacher.opted_out_at = utcnow()
    return True
