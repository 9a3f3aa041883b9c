"""The support programme around the helpdesk (issue 16): live helpdesk sessions and teacher hubs.

Times are naive UTC like every other table (helpdesk.models.core.utcnow); pages and messages show them in
settings.timezone.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base
from helpdesk.models.core import utcnow

__all__ = ["LiveSession", "SessionBooking", "SessionReminder", "Hub", "HubMember", "HubMeeting",
           "HubMeetingReply"]


class LiveSession(Base):
    """A live helpdesk session a lead scheduled. Each sending stage (announcement, day and hour reminders,
    summary) is claimed once for the whole session with a conditional UPDATE of its *_at column."""

    __tablename__ = "live_sessions"
    __table_args__ = (Index("ix_live_sessions_status_start", "status", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    area: Mapped[str] = mapped_column(String(40))  # a teaching area of the taxonomy
    host_expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id", ondelete="SET NULL"))
    starts_at: Mapped[datetime]  # UTC
    duration_minutes: Mapped[int] = mapped_column(default=60)
    meeting_link: Mapped[str] = mapped_column(String(500))
    capacity: Mapped[int] = mapped_column(default=50)
    languages: Mapped[list] = mapped_column(JSON, default=lambda: ["en", "ur", "roman-ur"])
    recording_link: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12), default="scheduled")  # scheduled | cancelled | done
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    announced_at: Mapped[datetime | None]
    day_reminders_at: Mapped[datetime | None]
    hour_reminders_at: Mapped[datetime | None]
    summary_sent_at: Mapped[datetime | None]


class SessionBooking(Base):
    """One teacher's place in one session; cancelling keeps the row (status), so demand stays countable."""

    __tablename__ = "session_bookings"
    __table_args__ = (UniqueConstraint("session_id", "teacher_id", name="uq_session_booking_teacher"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="booked")  # booked | cancelled
    booked_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    question: Mapped[str | None] = mapped_column(Text)  # for the host, sent ahead (erased with the teacher)
    attended: Mapped[bool] = mapped_column(default=False)
    attended_at: Mapped[datetime | None]


class SessionReminder(Base):
    """A reminder or summary sent for a booking: the record that each went once."""

    __tablename__ = "session_reminders"
    __table_args__ = (UniqueConstraint("booking_id", "kind", name="uq_session_reminder_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("session_bookings.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # day | hour | summary
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class Hub(Base):
    """A teacher hub: a cluster of nearby schools (a district, tehsil or markaz) with a coordinator."""

    __tablename__ = "teacher_hubs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    district: Mapped[str] = mapped_column(String(80), index=True)
    tehsil: Mapped[str | None] = mapped_column(String(80))
    markaz: Mapped[str | None] = mapped_column(String(80))
    coordinator_phone: Mapped[str] = mapped_column(String(20))  # E.164, a teacher's or an expert's
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The local month ("2026-12") whose digest went out: the monthly digest claims the next one with it.
    digest_month: Mapped[str | None] = mapped_column(String(7))


class HubMember(Base):
    """A teacher belongs to one hub at a time (HUB again moves them)."""

    __tablename__ = "hub_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("teacher_hubs.id", ondelete="CASCADE"), index=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"), unique=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)


class HubMeeting(Base):
    __tablename__ = "hub_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("teacher_hubs.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]  # UTC
    place: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    announced_at: Mapped[datetime | None]


class HubMeetingReply(Base):
    __tablename__ = "hub_meeting_replies"
    __table_args__ = (UniqueConstraint("meeting_id", "teacher_id", name="uq_hub_meeting_reply_teacher"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("hub_meetings.id", ondelete="CASCADE"), index=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"))
    coming: Mapped[bool]
    replied_at: Mapped[datetime] = mapped_column(default=utcnow)
