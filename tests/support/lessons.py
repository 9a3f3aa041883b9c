"""A teacher who has just been pushed a CPD lesson through the real scheduler job and queue."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from helpdesk.cpd import subscriptions as cpd
from helpdesk.models import LessonDelivery, Teacher, utcnow
from workers.cpd_jobs import push_due_lessons


def pushed_lesson(rt, phone: str, **fields):
    """A subscribed teacher (SMS unless `fields` say otherwise) who has just been pushed a lesson; returns
    (teacher id, the lesson)."""
    now = utcnow()
    with rt.db.session_scope() as session:
        teacher = Teacher(phone=phone, welcomed_at=now - timedelta(days=5), **fields)
        session.add(teacher)
        session.flush()
        cpd.subscribe(session, rt, teacher, now=now - timedelta(days=3))
        cpd.subscription_of(session, teacher).next_lesson_at = now - timedelta(minutes=1)
        teacher_id = teacher.id
    push_due_lessons(now.isoformat())
    rt.jobs.drain()
    with rt.db.session_scope() as session:
        delivery = session.scalars(select(LessonDelivery).where(LessonDelivery.teacher_id == teacher_id)).one()
        return teacher_id, cpd.lesson_by_id(rt, delivery.lesson_id)
