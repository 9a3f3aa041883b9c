"""RQ jobs: plain functions that take ids, enqueued by dotted name through workers.queue.

Each job starts by claiming its row with a conditional UPDATE, so a retried, swept or duplicated job
does nothing the second time.
"""
from __future__ import annotations

import logging
import random
import time
from datetime import datetime, timedelta

from sqlalchemy import select, update

from helpdesk import outbound
from helpdesk.channels.base import SMS, WHATSAPP, Failure, OutgoingMessage, SendError, channel_of
from helpdesk.channels.templates import ANSWER_READY, answer_ready_variables, sids_for
from helpdesk.models import InboundMessage, OutboundMessage, Teacher, utcnow
from helpdesk.privacy import mask_address
from helpdesk.runtime import current

log = logging.getLogger(__name__)

# A send that waits longer than this for its rate-limit slot is re-enqueued instead of holding a worker.
# A worker busy waiting delays the next reply by as much, so keep it near a slot or two of a slow sender
# (1 message/s for a long code): re-enqueueing every bulk send instead would churn 100,000 jobs through Redis.
MAX_INLINE_WAIT = 2.0
STUCK_SENDING_AFTER = timedelta(minutes=10)
# A send in doubt is looked up at the provider after this long; if it has no such message by then, the
# request never created one and sending again cannot duplicate it.
RECONCILE_AFTER = timedelta(minutes=2)


def process_inbound(inbound_id: int) -> None:
    from helpdesk.dialogue import handle_inbound, prepare_turn

    rt = current()
    with rt.db.session_scope() as session:
        body = session.scalar(select(InboundMessage.body).where(InboundMessage.id == inbound_id,
                                                                InboundMessage.status == "received"))
    if body is None:
        return
    # The slow part of a turn (embedding the message, 0.1-0.5 s, longer while a knowledge base is being
    # embedded) happens here, before the claim: on SQLite the claim takes the database's one write lock,
    # and webhooks must not wait behind it. The turn below finds the vectors in memory.
    prepare_turn(rt, body)
    with rt.db.session_scope() as session:
        # Claim and work in one transaction: a worker killed mid-job rolls everything back, the row is
        # 'received' again, and the sweeper hands it to another worker. On PostgreSQL a concurrent
        # duplicate blocks on the row lock and then finds the row already done.
        claimed = session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id, InboundMessage.status == "received")
            .values(status="done", processed_at=utcnow())
        ).rowcount
        if claimed != 1:
            return
        message = session.get(InboundMessage, inbound_id)
        handle_inbound(session, rt, message)


def send_outbound(outbound_id: int, slot_reserved: bool = False) -> None:
    rt = current()
    with rt.db.session_scope() as session:
        row = session.get(OutboundMessage, outbound_id)
        if row is None or row.status not in ("pending", "retrying"):
            return
        teacher = session.get(Teacher, row.teacher_id) if row.teacher_id else None
        if teacher is not None and teacher.opted_out_at is not None and row.kind not in outbound.ALLOWED_AFTER_OPT_OUT:
            row.status = "suppressed"
            return
        if _waits_for_previous_part(session, row):
            return  # the previous part enqueues this one once it is sent
        if _must_wait_for_window(row, teacher):
            _hold_for_window(session, rt, row, teacher)
            return
        if not slot_reserved and not _take_rate_slot(session, rt, row):
            return  # re-enqueued for when its slot comes
        if not outbound.claim_for_sending(session, outbound_id):
            return
    # The HTTP call happens outside any transaction: the 'sending' claim is committed first.
    _deliver(rt, outbound_id)


def _take_rate_slot(session, rt, row: OutboundMessage) -> bool:
    """Wait (briefly) for the sender's next rate slot; True to send now, False if re-enqueued for later.

    A reply reserves the next slot, however far ahead. A bulk send takes a slot only when one is free at
    that moment, so it never holds a slot a reply could have had: with a push queued, a reply waits for
    at most the slot in use, not for the push (helpdesk.ratelimit.take_if_free).
    """
    key, rate = _sender_key(rt, row.to_address), rt.settings.sender_messages_per_second
    if row.lane == outbound.BULK:
        deadline = time.monotonic() + MAX_INLINE_WAIT
        while (wait := rt.limiter.take_if_free(key, rate)) > 0:
            if time.monotonic() + wait > deadline:  # replies hold the next slots: look again then
                row.not_before, row.updated_at = utcnow() + timedelta(seconds=wait), utcnow()
                outbound.enqueue_send(session, row.id, row.lane, delay=wait)
                return False
            time.sleep(wait)
        return True
    wait = rt.limiter.reserve(key, rate)
    if wait > MAX_INLINE_WAIT:
        row.status, row.not_before = "retrying", utcnow() + timedelta(seconds=wait)
        outbound.enqueue_send(session, row.id, row.lane, True, delay=wait)
        return False
    time.sleep(wait)
    return True


def _deliver(rt, outbound_id: int) -> None:
    with rt.db.session_scope() as session:
        row = session.get(OutboundMessage, outbound_id)
        transport = rt.transport_for(row.channel)
        teacher = session.get(Teacher, row.teacher_id) if row.teacher_id else None
        message = OutgoingMessage(to=row.to_address, body=row.body, content_sid=row.content_sid,
                                  content_variables=row.content_variables,
                                  status_callback=transport.status_callback(row.id),
                                  choices=outbound.row_choices(row),
                                  # An expert's WhatsApp notice is sent only inside their window
                                  # (tickets.expert_channel); a teacher's window is on their row.
                                  window_open=(outbound.whatsapp_window_open(teacher) if teacher
                                               else row.channel == WHATSAPP))
        attempts, lane = row.attempts, row.lane
    try:
        result = transport.send(message)
    except SendError as error:
        _record_failure(rt, outbound_id, attempts, error)
        return
    with rt.db.session_scope() as session:
        row = session.get(OutboundMessage, outbound_id)
        # A status callback may already have moved the row forward; only set what is still unset.
        row.twilio_sid = row.twilio_sid or result.sid
        if row.status == "sending":
            row.status = "sent" if result.status == "sent" else "accepted"
        row.sent_at, row.updated_at = utcnow(), utcnow()
        for next_id in outbound.next_parts(session, outbound_id):
            outbound.enqueue_send(session, next_id, lane, job_id=f"out-{next_id}")


def _record_failure(rt, outbound_id: int, attempts: int, error: SendError) -> None:
    with rt.db.session_scope() as session:
        row = session.get(OutboundMessage, outbound_id)
        row.error_code, row.error_message, row.updated_at = error.code, str(error)[:300], utcnow()
        teacher = session.get(Teacher, row.teacher_id) if row.teacher_id else None
        if error.meaning is Failure.OPTED_OUT:
            row.status = "failed"
            if teacher is not None and teacher.opted_out_at is None:
                teacher.opted_out_at = utcnow()
        elif error.meaning is Failure.OUTSIDE_WINDOW:
            row.status = "retrying"  # undone by _hold_for_window below
            if teacher is not None:
                teacher.last_whatsapp_inbound_at = None  # our clock disagreed with WhatsApp's: trust theirs
            _hold_for_window(session, rt, row, teacher)
        elif error.meaning is Failure.AMBIGUOUS:
            # It may have been sent: never blind-retry. The status callback (keyed by our id) settles it.
            row.status = "unknown"
        elif error.meaning is Failure.PERMANENT or attempts >= rt.settings.send_max_attempts:
            row.status = "failed"
        else:
            delay = _backoff(rt.settings.send_backoff_seconds, attempts)
            row.status, row.not_before = "retrying", utcnow() + timedelta(seconds=delay)
            outbound.enqueue_send(session, outbound_id, row.lane, delay=delay)
        log.warning("send of outbound %s to %s failed (code %s, attempt %s): %s", outbound_id,
                    mask_address(row.to_address), error.code, attempts, error)


def _backoff(base: float, attempts: int) -> float:
    # Exponential with +-10 % jitter so workers that hit a 429 together do not retry together.
    return min(300.0, base * 2 ** (attempts - 1)) * random.uniform(0.9, 1.1)


def _waits_for_previous_part(session, row: OutboundMessage) -> bool:
    if row.follows_id is None:
        return False
    previous = session.get(OutboundMessage, row.follows_id)
    return previous is not None and previous.status in ("pending", "retrying", "sending", "held")


def _must_wait_for_window(row: OutboundMessage, teacher: Teacher | None) -> bool:
    return (row.channel == WHATSAPP and not row.content_sid and teacher is not None
            and not outbound.whatsapp_window_open(teacher))


def _hold_for_window(session, rt, row: OutboundMessage, teacher: Teacher | None) -> None:
    """Outside WhatsApp's 24-hour window only a template may go out: hold the message for the teacher's
    next reply and send the "your answer is ready" template once (or fall back to SMS when
    ANSWER_SMS_FALLBACK is on). Without either, the message simply waits for the teacher's next message."""
    row.status, row.updated_at = "held", utcnow()
    if teacher is None:
        return
    template_sid = sids_for(rt)(ANSWER_READY, teacher.language)
    since = teacher.last_inbound_at or datetime.min
    already_notified = session.scalar(
        select(OutboundMessage.id).where(OutboundMessage.teacher_id == teacher.id,
                                         OutboundMessage.kind == "template", OutboundMessage.created_at >= since)
        .limit(1)
    )
    if already_notified:
        return
    if template_sid:
        outbound.queue_message(session, teacher=teacher, body="", kind="template", channel=WHATSAPP,
                               content_sid=template_sid,
                               content_variables=answer_ready_variables(teacher.name, teacher.language))
    elif rt.settings.answer_sms_fallback:
        # No approved template configured, but SMS fallback is on: the teacher still hears from us now.
        row.status = "pending"
        row.channel, row.to_address = SMS, teacher.address(SMS)
        session.flush()
        outbound.enqueue_send(session, row.id, row.lane, job_id=f"out-{row.id}-sms")


def _sender_key(rt, to_address: str) -> str:
    return f"sender:{rt.transport_for(channel_of(to_address)).sender_for(to_address)}"


def sweep_unprocessed(older_than_seconds: float | None = None) -> int:
    """Re-enqueue what a lost enqueue (Redis down) or a killed worker left behind. Returns how many.

    Rows younger than SWEEP_AFTER_SECONDS are normally left alone (their job is probably still queued); a
    worker that just saw Redis come back passes 0, because a restarted Redis may have lost every job.
    """
    rt = current()
    age = rt.settings.sweep_after_seconds if older_than_seconds is None else older_than_seconds
    older = utcnow() - timedelta(seconds=age)
    count = 0
    with rt.db.session_scope() as session:
        inbound_ids = session.scalars(
            select(InboundMessage.id).where(InboundMessage.status == "received", InboundMessage.received_at < older)
            .order_by(InboundMessage.id).limit(1000)
        ).all()
        # A retrying row is only overdue once its backoff (not_before) has passed too.
        pending = session.execute(
            select(OutboundMessage.id, OutboundMessage.lane).where(
                OutboundMessage.status.in_(("pending", "retrying")), OutboundMessage.updated_at < older,
                (OutboundMessage.not_before.is_(None)) | (OutboundMessage.not_before < older))
            .order_by(OutboundMessage.id).limit(1000)
        ).all()
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.status == "sending", OutboundMessage.updated_at < utcnow() - STUCK_SENDING_AFTER)
            .values(status="unknown", updated_at=utcnow())
        )
    for inbound_id in inbound_ids:
        count += rt.enqueue("workers.jobs.process_inbound", inbound_id, queue="high")
    for outbound_id, lane in pending:
        count += rt.enqueue(outbound.SEND_JOB, outbound_id, queue=outbound.LANE_QUEUES.get(lane, "replies"))
    if count:
        log.info("sweeper re-enqueued %d jobs", count)
    return count


def reconcile_unknown() -> int:
    """Settle sends whose outcome is unknown (a timeout after the request): find the message at the provider
    and record its SID, or send again when it never created one. Returns how many were settled."""
    rt = current()
    with rt.db.session_scope() as session:
        rows = session.scalars(
            select(OutboundMessage).where(OutboundMessage.status == "unknown", OutboundMessage.twilio_sid.is_(None),
                                          OutboundMessage.updated_at < utcnow() - RECONCILE_AFTER)
            .order_by(OutboundMessage.id).limit(200)
        ).all()
        settled = 0
        for row in rows:
            message = OutgoingMessage(to=row.to_address, body=row.body, content_sid=row.content_sid)
            try:
                found = rt.transport_for(row.channel).find_sent(message,
                                                                since=row.created_at - timedelta(minutes=1))
            except SendError as error:
                log.warning("reconcile of outbound %s postponed: %s", row.id, error)
                continue
            if found is not None:
                row.twilio_sid, row.status = found.sid, "accepted"
            else:
                row.status = "retrying"
                outbound.enqueue_send(session, row.id, row.lane)
            row.updated_at = utcnow()
            settled += 1
    return settled
