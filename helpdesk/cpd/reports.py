"""Planner figures for the CPD hour: completion rates per lesson and per district, and the effect report.

Queries only; the maths lives in analytics.cpd_effect (pure). No phone number leaves this module: teachers
are joined to analytics by their keyed pseudonym, and cells with fewer than settings.report_min_teachers
(the planners' k, as in analytics) are suppressed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.cpd import subscriptions as cpd
from analytics.cpd_effect import MIN_CELL, Exposure, Question, TopicEffect, topic_effects
from helpdesk.models import LessonDelivery, Subscription, Teacher, utcnow
from helpdesk.privacy import pseudonym, pseudonym_key


@dataclass(frozen=True)
class CompletionRow:
    label: str
    sent: int | None  # None when suppressed
    completed: int | None
    rate: float | None

    @property
    def suppressed(self) -> bool:
        return self.sent is None


def _row(label: str, sent: int, completed: int, min_cell: int) -> CompletionRow:
    if sent < min_cell:
        return CompletionRow(label, None, None, None)
    return CompletionRow(label, sent, completed, completed / sent)


def completion_by_lesson(session: Session, rt) -> list[CompletionRow]:
    rows = session.execute(
        select(LessonDelivery.lesson_id, func.count(LessonDelivery.id), func.count(LessonDelivery.completed_at))
        .group_by(LessonDelivery.lesson_id).order_by(LessonDelivery.lesson_id)
    ).all()
    titles = {lesson.id: lesson.text("title") for lesson in cpd.lessons(rt)}
    k = rt.settings.report_min_teachers
    return [_row(titles.get(lesson_id, lesson_id), sent, done, k) for lesson_id, sent, done in rows]


def completion_by_district(session: Session, min_cell: int = MIN_CELL) -> list[CompletionRow]:
    district = func.coalesce(Teacher.district, "")
    rows = session.execute(
        select(district, func.count(LessonDelivery.id), func.count(LessonDelivery.completed_at))
        .join(Teacher, Teacher.id == LessonDelivery.teacher_id).group_by(district).order_by(district)
    ).all()
    return [_row(name or "(not given)", sent, done, min_cell) for name, sent, done in rows]


def _local_day(value: datetime, tz: str) -> date:
    return value.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).date()


def effect_report(session: Session, rt, *, weeks: int = 4, today: date | None = None) -> list[TopicEffect]:
    """The difference-in-differences per lesson topic, over subscribers (the population that could be sent one)."""
    from analytics.models import Interaction

    key = pseudonym_key(rt.settings)
    tz = rt.settings.timezone
    subscribers = session.execute(
        select(Teacher.id, Teacher.phone).join(Subscription, Subscription.teacher_id == Teacher.id)
    ).all()
    keys = {teacher_id: pseudonym(phone, key) for teacher_id, phone in subscribers}
    exposures = [Exposure(keys[teacher_id], area, _local_day(sent_at, tz))
                 for teacher_id, area, sent_at in session.execute(
                     select(LessonDelivery.teacher_id, LessonDelivery.area, LessonDelivery.sent_at))
                 if teacher_id in keys]
    topics = {exposure.topic for exposure in exposures}
    if not topics:
        return []
    earliest = min(exposure.sent_on for exposure in exposures) - timedelta(weeks=weeks)
    population = set(keys.values())
    questions = [Question(teacher_key, area, day) for teacher_key, area, day in session.execute(
        select(Interaction.teacher_key, Interaction.area, Interaction.day)
        .where(Interaction.area.in_(topics), Interaction.day >= earliest))
        if teacher_key in population]
    return topic_effects(exposures, questions, population, today=today or _local_day(utcnow(), tz), weeks=weeks,
                         min_cell=rt.settings.report_min_teachers)
