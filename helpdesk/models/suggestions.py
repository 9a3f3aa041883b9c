"""Suggestions: what a teacher says the helpdesk or the CPD offer should improve (SUGGEST).

The text is stored scrubbed (analytics.redact) and coded to the taxonomy like a question. Planners see it
only in k-suppressed clusters under the analytics pseudonym; the teacher_id is kept only so that a lead can
reply through the send path (leads see the reply form, never the number). DELETE MY DATA blanks the text
and the link (helpdesk.erasure).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base
from helpdesk.models.core import utcnow

__all__ = ["Suggestion"]


class Suggestion(Base):
    __tablename__ = "suggestions"
    __table_args__ = (Index("ix_suggestions_day", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    day: Mapped[date] = mapped_column(Date)  # local calendar day (settings.timezone), for periods
    # The reply link: only the send path reads it (the console never shows the number).
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id", ondelete="SET NULL"), index=True)
    teacher_key: Mapped[str] = mapped_column(String(32))  # analytics pseudonym: planners count teachers by it
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id", ondelete="SET NULL"),
                                                    unique=True)  # a replayed message is one suggestion
    language: Mapped[str] = mapped_column(String(10), default="en")
    district: Mapped[str] = mapped_column(String(80), default="")
    area: Mapped[str] = mapped_column(String(40), default="")
    subject: Mapped[str] = mapped_column(String(40), default="")
    grade_band: Mapped[str] = mapped_column(String(40), default="")
    coding_source: Mapped[str] = mapped_column(String(10), default="none")
    text: Mapped[str] = mapped_column(Text, default="")  # scrubbed of numbers and names
    reply_text: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None]
    replied_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
