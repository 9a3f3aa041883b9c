"""Analytics store models: one Interaction row per teacher question.

A row snapshots the teacher's profile as it was when the question was asked (district, school level and type,
subjects), so a later PROFILE edit or a DELETE MY DATA does not rewrite history; the teacher is referred to only
by a keyed pseudonym, never by the number or a foreign key to the teacher row.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base
from helpdesk.models.core import utcnow

__all__ = ["Interaction", "ROUTES", "CODING_SOURCES"]

ROUTES = ("answered", "clarified", "escalated", "urgent")
CODING_SOURCES = ("faq", "expert", "nearest", "awaiting", "profile", "none")


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        # Every planner query (needs, challenges, weekly volume) is "WHERE day BETWEEN :from AND :to" grouped by
        # the taxonomy and profile columns; leading with day keeps a 3-month report on a 1M-row table to a range
        # scan, and carrying the grouping columns lets SQLite answer from the index alone.
        Index("ix_interactions_period_report", "day", "area", "district", "teacher_key", "route", "rating",
              "resolved"),
        # Content gaps: "WHERE gap AND day BETWEEN ..." ordered by time (questions that went to experts or were
        # rated unhelpful; a small fraction of all rows).
        Index("ix_interactions_gap_day", "gap", "day"),
        # Repeat askers and DELETE MY DATA (re-keying one teacher's rows).
        Index("ix_interactions_teacher_created", "teacher_key", "created_at"),
        # The spec'd period index on the raw timestamp (resolution-time and "latest" queries).
        Index("ix_interactions_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # naive UTC
    # Local calendar day (settings.timezone) and its week/month buckets: period filters and GROUP BY on plain
    # DATE columns work the same on SQLite and PostgreSQL and use the index (no per-row date functions).
    day: Mapped[date] = mapped_column(Date)
    week: Mapped[date] = mapped_column(Date)  # Monday of the ISO week
    month: Mapped[date] = mapped_column(Date)  # first of the month

    teacher_key: Mapped[str] = mapped_column(String(32))  # helpdesk.privacy.pseudonym(phone, key)
    # One row per question: a re-run job for the same inbound message must not count it twice.
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id", ondelete="SET NULL"),
                                                    unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(10))

    # Profile snapshot at question time ("" when the teacher skipped that onboarding step).
    district: Mapped[str] = mapped_column(String(80), default="")
    school_level: Mapped[str] = mapped_column(String(40), default="")
    school_type: Mapped[str] = mapped_column(String(40), default="")
    profile_subjects: Mapped[str] = mapped_column(String(200), default="")

    # Taxonomy coding ("" = not coded). source: faq | expert | nearest | profile | none.
    area: Mapped[str] = mapped_column(String(40), default="")
    subject: Mapped[str] = mapped_column(String(40), default="")
    grade_band: Mapped[str] = mapped_column(String(40), default="")
    coding_source: Mapped[str] = mapped_column(String(10), default="none")

    route: Mapped[str] = mapped_column(String(10))  # answered | clarified | escalated | urgent
    faq_id: Mapped[str | None] = mapped_column(String(120))
    match_score: Mapped[float | None] = mapped_column(Float)
    rating: Mapped[int | None] = mapped_column(SmallInteger)  # 1 helped, 2 did not help
    # 1 while the teacher has an answer that was not rated unhelpful; see analytics.store for the rules.
    resolved: Mapped[int] = mapped_column(SmallInteger, default=0)
    resolved_at: Mapped[datetime | None]
    resolution_seconds: Mapped[int | None]
    # 1 when the question went to an expert or its answer was rated unhelpful: a content-gap candidate.
    gap: Mapped[int] = mapped_column(SmallInteger, default=0)
    # The question as asked, with numbers, emails and names scrubbed (analytics.redact) before it is stored.
    question_text: Mapped[str] = mapped_column(Text, default="")
