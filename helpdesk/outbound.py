"""The one send path. Answers, expert relays, lessons and notices are all stored here first, then sent
by `workers.jobs.send_outbound` once the transaction commits.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.channels.twilio import channel_limit, sms_segments, split_message
from helpdesk.db import enqueue_after_commit
from helpdesk.models import OutboundMessage, Teacher, utcnow

WHATSAPP_WINDOW = timedelta(hours=24)
SEND_JOB = "workers.jobs.send_outbound"

# Sent even to a teacher who has opted out: the confirmation of the STOP itself.
ALLOWED_AFTER_OPT_OUT = {"optout-confirm"}


def queue_message(session: Session, *, body: str, kind: str, teacher: Teacher | None = None,
                  to_address: str | None = None, channel: str | None = None, in_reply_to_id: int | None = None,
                  content_sid: str | None = None, content_variables: dict | None = None,
                  ) -> list[OutboundMessage]:
    """Store a message (split into parts that fit the channel) and send it after commit.

    Give either a teacher (answered on the channel they last used) or an explicit address (an expert).
    """
    channel = channel or (teacher.channel if teacher else _channel_of(to_address))
    to_address = to_address or teacher.address(channel)
    suppressed = teacher is not None and teacher.opted_out_at is not None and kind not in ALLOWED_AFTER_OPT_OUT
    parts = [body] if content_sid else split_message(body, channel_limit(channel))
    rows: list[OutboundMessage] = []
    previous: OutboundMessage | None = None
    for part in parts:
        row = OutboundMessage(
            teacher_id=teacher.id if teacher else None, to_address=to_address, channel=channel, body=part,
            kind=kind, content_sid=content_sid, content_variables=content_variables,
            status="suppressed" if suppressed else "pending",
            segments=sms_segments(part) if channel == "sms" else 1,
            follows_id=previous.id if previous else None, in_reply_to_id=in_reply_to_id,
        )
        session.add(row)
        session.flush()
        rows.append(row)
        previous = row
    if rows and not suppressed:
        # Only the first part is enqueued; each part enqueues the next once it is sent, to keep order.
        enqueue_after_commit(session, SEND_JOB, rows[0].id, job_id=f"out-{rows[0].id}")
    return rows


def _channel_of(address: str | None) -> str:
    return "whatsapp" if address and address.startswith("whatsapp:") else "sms"


def whatsapp_window_open(teacher: Teacher | None, now: datetime | None = None) -> bool:
    if teacher is None or teacher.last_whatsapp_inbound_at is None:
        return False
    return (now or utcnow()) - teacher.last_whatsapp_inbound_at < WHATSAPP_WINDOW


def release_held(session: Session, teacher: Teacher) -> int:
    """The teacher wrote again, so the window is open: send what was held for it, oldest first."""
    held = session.scalars(
        select(OutboundMessage).where(OutboundMessage.teacher_id == teacher.id, OutboundMessage.status == "held")
        .order_by(OutboundMessage.id)
    ).all()
    for row in held:
        row.status = "pending"
        row.to_address = teacher.address(row.channel)
        row.updated_at = utcnow()
        enqueue_after_commit(session, SEND_JOB, row.id, job_id=f"out-{row.id}-release-{row.attempts}")
    return len(held)


def next_parts(session: Session, outbound_id: int) -> list[int]:
    return list(session.scalars(
        select(OutboundMessage.id).where(OutboundMessage.follows_id == outbound_id,
                                         OutboundMessage.status == "pending")
    ))


def claim_for_sending(session: Session, outbound_id: int) -> bool:
    result = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == outbound_id, OutboundMessage.status.in_(("pending", "retrying")))
        .values(status="sending", attempts=OutboundMessage.attempts + 1, updated_at=utcnow())
    )
    return result.rowcount == 1
