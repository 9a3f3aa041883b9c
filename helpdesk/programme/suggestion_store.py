"""Suggestions in the database: recorded in the teacher's turn, read by the console and the planner views,
replied to by a lead through the send path. Functions take `session` first and never commit."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from helpdesk import content, outbound
from helpdesk.models import Suggestion, Teacher, User, utcnow
from helpdesk.programme import suggestions

REPLY_MAX_CHARS = 1000


class ReplyError(ValueError):
    """A reply the console cannot send: shown to the lead, in words."""


def record(session, rt, *, teacher: Teacher, inbound, text: str, language: str, match=None) -> Suggestion:
    """One row per SUGGEST message (a replayed inbound message returns the row already written)."""
    from analytics import store

    if inbound is not None and inbound.id is not None:
        existing = session.scalars(select(Suggestion).where(Suggestion.inbound_id == inbound.id)).first()
        if existing is not None:
            return existing
    # Coded like an escalated question: the nearest FAQ's area when it is close, else the profile only.
    code = store._code(rt, teacher, "escalated", None, match) if match is not None else None
    row = Suggestion(
        day=store.local_day(utcnow(), rt.settings.timezone), teacher_id=teacher.id,
        teacher_key=store.teacher_key(rt, teacher.phone), inbound_id=inbound.id if inbound is not None else None,
        language=language or "en", district=teacher.district or "",
        area=code.area if code else "", subject=code.subject if code else "",
        grade_band=code.grade_band if code else "", coding_source=code.source if code else "none",
        text=suggestions.scrub(text, teacher.name),
    )
    session.add(row)
    session.flush()
    return row


def facts(session, *, start: date, end: date, split: date | None = None) -> list[suggestions.SuggestionFact]:
    """Suggestions from start to end (local days); those before `split` are the previous period's."""
    rows = session.execute(
        select(Suggestion.id, Suggestion.created_at, Suggestion.teacher_key, Suggestion.area, Suggestion.text,
               Suggestion.day)
        .where(Suggestion.day >= start, Suggestion.day <= end, Suggestion.text != "")
        .order_by(Suggestion.created_at, Suggestion.id)
    ).all()
    return [suggestions.SuggestionFact(id=r.id, created_at=r.created_at, teacher_key=r.teacher_key, area=r.area,
                                       text=r.text, day=r.day, current=split is None or r.day >= split)
            for r in rows]


def planner_view(session, *, period, k: int) -> dict:
    """What planners see: clusters and counts by area, k-suppressed; the previous period gives the trend."""
    previous_start = period.start - timedelta(days=period.days)
    found = facts(session, start=previous_start, end=period.end, split=period.start)
    clusters, suppressed = suggestions.clusters(found, k=k)
    total, by_area = suggestions.count_by_area(found, k=k)
    return {"clusters": clusters, "suppressed": suppressed, "total": total, "by_area": by_area, "k": k}


def recent(session, limit: int = 200) -> list[Suggestion]:
    """For the lead's list: newest first (the text is already scrubbed; the number is never loaded)."""
    return list(session.scalars(select(Suggestion).where(Suggestion.text != "")
                                .order_by(Suggestion.created_at.desc(), Suggestion.id.desc()).limit(limit)))


def reply(session, *, suggestion_id: int, user: User, text: str) -> Suggestion:
    """A lead's reply, sent to the teacher through the send path in their language, and recorded."""
    text = " ".join((text or "").split())
    if not text:
        raise ReplyError("Write a reply first.")
    if len(text) > REPLY_MAX_CHARS:
        raise ReplyError(f"A reply holds at most {REPLY_MAX_CHARS} characters.")
    row = session.get(Suggestion, suggestion_id)
    if row is None:
        raise LookupError(suggestion_id)
    teacher = session.get(Teacher, row.teacher_id) if row.teacher_id else None
    if teacher is None or teacher.deleted_at is not None:
        raise ReplyError("This teacher has erased their data: a reply cannot reach them.")
    language = teacher.language if teacher.language in content.LANGUAGES else "en"
    body = content.text("suggestion_reply", language, teacher.channel or "sms", reply=text)
    outbound.queue_message(session, teacher=teacher, body=body, kind="notice")
    row.reply_text, row.replied_at, row.replied_by = text, utcnow(), user.id
    return row
