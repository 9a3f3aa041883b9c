"""CPD hour: subscriptions, lesson deliveries, the credit ledger and certificates.

Times are naive UTC like every other table (helpdesk.models.core.utcnow).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base
from helpdesk.models.core import utcnow

__all__ = ["Subscription", "LessonDelivery", "CpdCredit", "Certificate", "ReflectionReply"]


class Subscription(Base):
    """One row per teacher who ever sent CPD ON. `next_lesson_at` is both the schedule and the claim:
    a push takes a subscription with `UPDATE ... WHERE next_lesson_at = <the value it read>` (rowcount 1)."""

    __tablename__ = "cpd_subscriptions"
    __table_args__ = (
        # The push's query: active subscriptions due by now, oldest first.
        Index("ix_cpd_sub_active_next", "active", "next_lesson_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)  # the first CPD ON; the welcome series counts from it
    next_lesson_at: Mapped[datetime | None]  # None while inactive
    # How many lessons this subscription has been sent: below len(welcome offsets) it is still in the welcome series.
    series_position: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    # When a push batch job was last enqueued for it: the minutely check skips subscriptions with a job in
    # flight (queued_at >= next_lesson_at) unless that job looks lost (older than cpd.REQUEUE_AFTER).
    queued_at: Mapped[datetime | None]


class LessonDelivery(Base):
    """A lesson sent to a teacher. Unique per (teacher, lesson): a lesson is never sent to anyone twice."""

    __tablename__ = "cpd_deliveries"
    __table_args__ = (
        UniqueConstraint("teacher_id", "lesson_id", name="uq_cpd_delivery_teacher_lesson"),
        Index("ix_cpd_delivery_teacher_sent", "teacher_id", "sent_at"),
        Index("ix_cpd_delivery_lesson", "lesson_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"))
    lesson_id: Mapped[str] = mapped_column(String(80))
    area: Mapped[str] = mapped_column(String(40))  # the lesson's topic at send time (the effect report groups by it)
    series: Mapped[str] = mapped_column(String(10), default="weekly")  # welcome | weekly
    reason: Mapped[str] = mapped_column(String(40))  # which tier of the choice rule picked it
    channel: Mapped[str] = mapped_column(String(10))
    via_template: Mapped[bool] = mapped_column(default=False)  # WhatsApp window was closed: template first
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    minutes_credited: Mapped[int] = mapped_column(default=0)
    awaiting_reflection: Mapped[bool] = mapped_column(default=True)  # until DONE or a reflection answer
    reflection: Mapped[str | None] = mapped_column(Text)
    # The check after DONE (helpdesk.cpd.lesson_check): the choices of the current attempt, 0-based, in question
    # order; passed is None until the last question of an attempt is answered. A failed check can be taken
    # again (DONE), which starts a new attempt.
    check_answers: Mapped[list | None] = mapped_column(JSON)
    check_attempts: Mapped[int] = mapped_column(default=0)
    check_passed: Mapped[bool | None]
    checked_at: Mapped[datetime | None]


class CpdCredit(Base):
    """The ledger: one row per credited lesson or attended live session (helpdesk.programme). Hours are the sum
    of `minutes` / 60; a lesson's row names its delivery, a session's its booking."""

    __tablename__ = "cpd_credits"

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("cpd_deliveries.id", ondelete="CASCADE"), unique=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("session_bookings.id", ondelete="CASCADE"),
                                                   unique=True)
    lesson_id: Mapped[str] = mapped_column(String(80))  # a session's credit: "live-<session id>"
    minutes: Mapped[int]
    credited_at: Mapped[datetime] = mapped_column(default=utcnow)


class Certificate(Base):
    """A belt reached. The public page is found by `code` alone and shows no phone number."""

    __tablename__ = "cpd_certificates"
    __table_args__ = (UniqueConstraint("teacher_id", "level", name="uq_cpd_certificate_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(20))  # belt slug: white ... black
    code: Mapped[str] = mapped_column(String(20), unique=True)
    label: Mapped[str] = mapped_column(String(40))  # name initials or a pseudonymous label, fixed at issue time
    lessons: Mapped[int]
    minutes: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Areas and the levels completed in each at issue time ({"literacy": ["foundation", "practice"]}); None
    # on certificates issued before lessons had levels.
    journey: Mapped[dict | None] = mapped_column(JSON)
    passed_checks: Mapped[int] = mapped_column(default=0)


class ReflectionReply(Base):
    """A mentor's or expert's answer to a teacher's classroom try-out (LessonDelivery.reflection), sent to
    the teacher through the one send path. Holds text about the teacher: erased with the teacher."""

    __tablename__ = "cpd_reflection_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("cpd_deliveries.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
