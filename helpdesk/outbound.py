"""The one send path. Answers, expert relays, lessons and notices are all stored here first, then sent
by `workers.jobs.send_outbound` once the transaction commits.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from helpdesk.channels.base import Choices, channel_of, limits_for
from helpdesk.db import enqueue_after_commit, enqueue_many_after_commit
from helpdesk.models import OutboundMessage, Teacher, utcnow

WHATSAPP_WINDOW = timedelta(hours=24)
SEND_JOB = "workers.jobs.send_outbound"

# Two lanes per sender. A reply (an answer, a clarifying question, an urgent acknowledgement, an expert's
# answer, any notice to a teacher who just wrote) takes the sender's next rate slot; bulk traffic (lessons,
# reminders, announcements) takes only slots that are free at the moment it asks. At 20 messages/s a
# 100,000-teacher CPD push is 83 minutes of sending, and a question asked during it must not wait behind it.
REPLY, BULK = "reply", "bulk"
BULK_KINDS = frozenset({"lesson", "reminder", "announcement"})
# The job queue of each lane; workers take "replies" before anything else and "bulk" after everything else.
LANE_QUEUES = {REPLY: "replies", BULK: "bulk"}

# Sent even to a teacher who has opted out: the confirmation of the STOP itself.
ALLOWED_AFTER_OPT_OUT = {"optout-confirm"}


def lane_for(kind: str) -> str:
    return BULK if kind in BULK_KINDS else REPLY


def enqueue_send(session: Session, outbound_id: int, lane: str, *args, job_id: str | None = None,
                 delay: float = 0.0) -> None:
    """Send `outbound_id` once the transaction commits, on its lane's job queue."""
    enqueue_after_commit(session, SEND_JOB, outbound_id, *args, job_id=job_id, delay=delay,
                         queue=LANE_QUEUES.get(lane, LANE_QUEUES[REPLY]))


def queue_message(session: Session, *, body: str, kind: str, teacher: Teacher | None = None,
                  to_address: str | None = None, channel: str | None = None, in_reply_to_id: int | None = None,
                  content_sid: str | None = None, content_variables: dict | None = None,
                  lane: str | None = None, choices: Choices | None = None) -> list[OutboundMessage]:
    """Store a message (split into parts that fit the channel) and send it after commit.

    Give either a teacher (answered on the channel they last used) or an explicit address (an expert).
    The lane defaults from the kind (lane_for); a template that stands in for a lesson passes BULK.
    `choices` (the menu that `body` writes out as numbered text) goes with the last part: the channel may show
    it as buttons or a list.
    """
    lane = lane or lane_for(kind)
    channel = channel or (teacher.channel if teacher else channel_of(to_address))
    to_address = to_address or teacher.address(channel)
    suppressed = teacher is not None and teacher.opted_out_at is not None and kind not in ALLOWED_AFTER_OPT_OUT
    limits = limits_for(channel)
    parts = [body] if content_sid else limits.split(body)
    last_choices = _last_part_choices(choices, body, parts, channel)
    rows: list[OutboundMessage] = []
    previous: OutboundMessage | None = None
    for number, part in enumerate(parts, 1):
        row = OutboundMessage(
            teacher_id=teacher.id if teacher else None, to_address=to_address, channel=channel, body=part,
            kind=kind, lane=lane, content_sid=content_sid, content_variables=content_variables,
            status="suppressed" if suppressed else "pending",
            segments=limits.segments(part),
            follows_id=previous.id if previous else None, in_reply_to_id=in_reply_to_id,
        )
        if last_choices and number == len(parts):
            row.choices = last_choices
        session.add(row)
        session.flush()
        rows.append(row)
        previous = row
    if rows and not suppressed:
        # Only the first part is enqueued; each part enqueues the next once it is sent, to keep order.
        enqueue_send(session, rows[0].id, lane, job_id=f"out-{rows[0].id}")
    return rows


def _last_part_choices(choices: Choices | None, body: str, parts: list[str], channel: str) -> dict | None:
    """The stored choices of a message's last part: its prompt cut the way the text was, so the buttons'
    message says what the last text part says. A prompt that is the part's own text is stored empty (read as
    the body when sending: a lesson push would otherwise store every lesson twice). When the prompt does not
    split into as many parts, the menu stays numbered text (rare: a lead-in longer than a whole message)."""
    if choices is None:
        return None
    if choices.prompt == body:
        prompt = ""
    elif len(parts) == 1:
        prompt = choices.prompt
    else:
        prompts = limits_for(channel).split(choices.prompt)
        if len(prompts) != len(parts):
            return None
        prompt = prompts[-1]
    return replace(choices, prompt=prompt).to_json()


def row_choices(row: OutboundMessage) -> Choices | None:
    """A stored message's choices, as the channel renders them (an empty prompt is the row's own text)."""
    choices = Choices.from_json(row.choices)
    return replace(choices, prompt=row.body) if choices and not choices.prompt else choices


@dataclass
class MessageDraft:
    """One message for queue_messages: the same fields queue_message takes."""
    body: str
    kind: str
    teacher: Teacher | None = None
    to_address: str | None = None
    channel: str | None = None
    in_reply_to_id: int | None = None
    content_sid: str | None = None
    content_variables: dict | None = None
    lane: str | None = None  # None: lane_for(kind)
    choices: Choices | None = None


def queue_messages(session: Session, drafts: list[MessageDraft]) -> list[list[int]]:
    """queue_message for many messages at once (the CPD push): the same rows, parts and suppression, but one
    multi-row INSERT per part level instead of a flush per row, and the send jobs enqueued together after
    commit (in draft order; `enqueue_many` on the job queue when it has one). Returns each draft's row ids.
    """
    planned = []
    split: dict[tuple, list[tuple[str, int]]] = {}  # a push sends the same few lesson texts to many teachers
    now = utcnow()
    for draft in drafts:
        channel = draft.channel or (draft.teacher.channel if draft.teacher else channel_of(draft.to_address))
        to_address = draft.to_address or draft.teacher.address(channel)
        suppressed = (draft.teacher is not None and draft.teacher.opted_out_at is not None
                      and draft.kind not in ALLOWED_AFTER_OPT_OUT)
        key = (draft.body, channel, bool(draft.content_sid))
        if key not in split:
            limits = limits_for(channel)
            parts = [draft.body] if draft.content_sid else limits.split(draft.body)
            split[key] = [(part, limits.segments(part)) for part in parts]
        parts = [part for part, _ in split[key]]
        last_choices = _last_part_choices(draft.choices, draft.body, parts, channel)
        planned.append([dict(
            teacher_id=draft.teacher.id if draft.teacher else None, to_address=to_address, channel=channel,
            body=part, kind=draft.kind, lane=draft.lane or lane_for(draft.kind), content_sid=draft.content_sid,
            content_variables=draft.content_variables,
            status="suppressed" if suppressed else "pending", segments=segments,
            in_reply_to_id=draft.in_reply_to_id, attempts=0, created_at=now, updated_at=now,
            choices=last_choices if number == len(split[key]) else None,
        ) for number, (part, segments) in enumerate(split[key], 1)])
    ids: list[list[int]] = [[] for _ in planned]
    # A part names the part it follows, so the parts go in by level: every first part, then every second...
    level = 0
    while True:
        owners = [index for index, parts in enumerate(planned) if len(parts) > level]
        if not owners:
            break
        values = [dict(planned[index][level], follows_id=ids[index][-1] if level else None) for index in owners]
        for index, row_id in zip(owners, _insert_returning_ids(session, values)):
            ids[index].append(row_id)
        level += 1
    session.flush()  # anything the caller added before (ORM objects) stays ahead of later reads, as before
    first_parts = [(row_ids[0], parts[0]["lane"]) for row_ids, parts in zip(ids, planned)
                   if parts and parts[0]["status"] == "pending"]
    # Only the first part is enqueued; each part enqueues the next once it is sent, to keep order.
    for lane, queue in LANE_QUEUES.items():
        calls = [((outbound_id,), f"out-{outbound_id}") for outbound_id, its_lane in first_parts if its_lane == lane]
        if calls:
            enqueue_many_after_commit(session, SEND_JOB, calls, queue=queue)
    return ids


def _insert_returning_ids(session: Session, values: list[dict]) -> list[int]:
    """Multi-row INSERT ... RETURNING id, the ids in the order of `values`."""
    table = OutboundMessage.__table__
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # SQLAlchemy cannot batch an order-guaranteed RETURNING on SQLite (it would insert row by row). One
        # INSERT of many VALUES rows assigns rowids max+1, max+2, ... in VALUES order under SQLite's single
        # writer lock, so the returned ids sorted ascending are in the order of `values`.
        return sorted(connection.execute(insert(table).returning(table.c.id), values).scalars())
    return list(connection.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                   values).scalars())




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
        row.lane = REPLY  # a held lesson too: the teacher just wrote, and is waiting for it now
        row.to_address = teacher.address(row.channel)
        row.updated_at = utcnow()
        enqueue_send(session, row.id, row.lane, job_id=f"out-{row.id}-release-{row.attempts}")
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
