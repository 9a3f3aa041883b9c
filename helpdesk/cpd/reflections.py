"""Classroom try-outs: the teachers' answers to a lesson's reflection prompt, for mentors and experts to read
and answer from the console (/console/reflections). Data functions: they take `session` first and never
commit; a reply goes to the teacher through the one send path (helpdesk.outbound).

The console shows the teacher's public label (name initials or a pseudonym, as on certificates) and district,
never the number: a mentor answers the practice, not the person's contact.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk import content, outbound
from helpdesk.cpd import subscriptions as cpd
from helpdesk.models import LessonDelivery, ReflectionReply, Teacher, User, utcnow

MAX_REPLY_CHARS = 1000  # one WhatsApp message with the frame around it, or at most 7 SMS segments in English
PAGE_SIZE = 100


class ReflectionError(ValueError):
    """A reply that cannot be sent; the message says why, for the console to show."""


@dataclass(frozen=True)
class ReflectionRow:
    delivery_id: int
    lesson_id: str
    title: str
    area: str
    level: str
    activity: str
    reflection: str
    completed_at: datetime
    teacher_label: str
    district: str | None
    check_passed: bool | None
    replies: tuple[tuple[str, str, datetime], ...]  # (author, body, sent at)


def list_reflections(session: Session, rt, *, unanswered_only: bool = True,
                     limit: int = PAGE_SIZE) -> list[ReflectionRow]:
    """Reflections newest first (only those nobody has answered yet, unless asked for all)."""
    query = (select(LessonDelivery, Teacher).join(Teacher, Teacher.id == LessonDelivery.teacher_id)
             .where(LessonDelivery.reflection.is_not(None), LessonDelivery.reflection != "",
                    Teacher.deleted_at.is_(None))
             .order_by(LessonDelivery.completed_at.desc(), LessonDelivery.id.desc()))
    if unanswered_only:
        query = query.where(~select(ReflectionReply.id)
                            .where(ReflectionReply.delivery_id == LessonDelivery.id).exists())
    pairs = session.execute(query.limit(limit)).all()
    replies = _replies(session, [delivery.id for delivery, _ in pairs])
    rows = []
    for delivery, teacher in pairs:
        lesson = cpd.lesson_by_id(rt, delivery.lesson_id)
        rows.append(ReflectionRow(
            delivery_id=delivery.id, lesson_id=delivery.lesson_id,
            title=lesson.text("title") if lesson else delivery.lesson_id, area=delivery.area,
            level=lesson.level if lesson else "", activity=lesson.text("activity") if lesson else "",
            reflection=delivery.reflection, completed_at=delivery.completed_at,
            teacher_label=cpd.public_label(rt, teacher), district=teacher.district,
            check_passed=delivery.check_passed, replies=tuple(replies.get(delivery.id, ())),
        ))
    return rows


def _replies(session: Session, delivery_ids: list[int]) -> dict[int, list[tuple[str, str, datetime]]]:
    if not delivery_ids:
        return {}
    found: dict[int, list] = {}
    for reply, author in session.execute(
        select(ReflectionReply, User.name).outerjoin(User, User.id == ReflectionReply.author_id)
        .where(ReflectionReply.delivery_id.in_(delivery_ids)).order_by(ReflectionReply.id)
    ):
        found.setdefault(reply.delivery_id, []).append((author or "(removed user)", reply.body, reply.sent_at))
    return found


def reply_to_reflection(session: Session, rt, delivery_id: int, author: User, body: str) -> ReflectionReply:
    """Store the reply and queue it to the teacher in their language (the send path holds it for a closed
    WhatsApp window, like an expert's answer)."""
    body = (body or "").strip()
    if not body:
        raise ReflectionError("Write a reply first.")
    if len(body) > MAX_REPLY_CHARS:
        raise ReflectionError(f"Keep the reply under {MAX_REPLY_CHARS} characters (it has {len(body)}).")
    delivery = session.get(LessonDelivery, delivery_id)
    if delivery is None or not delivery.reflection:
        raise LookupError(delivery_id)
    teacher = session.get(Teacher, delivery.teacher_id)
    if teacher is None or teacher.deleted_at is not None:
        raise ReflectionError("This teacher's data was erased at their request; the reply was not sent.")
    if teacher.opted_out_at is not None:
        raise ReflectionError("This teacher sent STOP; the reply was not sent.")
    lesson = cpd.lesson_by_id(rt, delivery.lesson_id)
    lang = teacher.language if teacher.language in content.LANGUAGES else "en"
    title = lesson.text("title", lang) if lesson else delivery.lesson_id
    message = content.text("cpd_reflection_reply", lang, title=title, reply=body)
    reply = ReflectionReply(delivery_id=delivery.id, author_id=author.id, body=body, sent_at=utcnow())
    session.add(reply)
    outbound.queue_message(session, teacher=teacher, body=message, kind="mentor-reply")
    session.flush()
    return reply
