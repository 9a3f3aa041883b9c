"""Expert queue: tickets, their history, the experts who answer them, and FAQ proposals from answers."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.db import Base
from helpdesk.models.core import Teacher, utcnow
from helpdesk.models.users import User

__all__ = ["Expert", "Ticket", "TicketEvent", "FaqProposal", "TICKET_STATUSES", "ACTIVE_STATUSES"]

TICKET_STATUSES = ("open", "assigned", "answered", "closed", "reopened")
# Waiting for an expert: what a teacher's follow-up attaches to and what counts against capacity.
ACTIVE_STATUSES = ("open", "assigned", "reopened")


class Expert(Base):
    """A subject expert (or lead) who answers tickets from the console or from their phone."""

    __tablename__ = "experts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164; their `#123` replies come from it
    # Preferred channel for notices; WhatsApp is used only inside the expert's own 24-hour window.
    channel: Mapped[str] = mapped_column(String(10), default="whatsapp")
    subjects: Mapped[list] = mapped_column(JSON, default=list)  # subject slugs; "general" answers any subject
    grade_bands: Mapped[list] = mapped_column(JSON, default=list)  # empty: every band
    languages: Mapped[list] = mapped_column(JSON, default=lambda: ["en", "ur"])
    capacity: Mapped[int] = mapped_column(default=5)  # open tickets at once
    # Working hours in the expert's own time zone; minutes after midnight, days 0=Monday.
    work_start_minute: Mapped[int] = mapped_column(default=9 * 60)
    work_end_minute: Mapped[int] = mapped_column(default=17 * 60)
    work_days: Mapped[list] = mapped_column(JSON, default=lambda: [0, 1, 2, 3, 4, 5])
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Karachi")
    is_lead: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    # Round-robin among equally loaded experts: the one assigned longest ago goes first.
    last_assigned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    @property
    def name(self) -> str:
        return self.user.name if self.user is not None else f"expert {self.id}"


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # The queue views and the target check: active tickets by status, oldest first.
        Index("ix_tickets_status_created", "status", "created_at"),
        Index("ix_tickets_teacher_status", "teacher_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id", ondelete="CASCADE"))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id", ondelete="SET NULL"))
    interaction_id: Mapped[int | None]  # analytics row the question came from
    question: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(40))  # why it escalated: no-match, asked-expert, urgent...
    language: Mapped[str] = mapped_column(String(10), default="en")
    # Snapshots taken when the ticket opened, so the expert sees what the teacher saw.
    conversation: Mapped[list] = mapped_column(JSON, default=list)  # [{"dir": "in"|"out", "body", "at"}]
    match_info: Mapped[dict | None] = mapped_column(JSON)  # what the matcher proposed
    profile: Mapped[dict | None] = mapped_column(JSON)
    # Taxonomy guess (nearest FAQ) and routing keys; an expert may re-tag.
    area: Mapped[str | None] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(40), default="general")
    grade_band: Mapped[str | None] = mapped_column(String(40))
    nearest_faq_id: Mapped[str | None] = mapped_column(String(120))

    priority: Mapped[str] = mapped_column(String(10), default="normal")  # urgent | normal
    status: Mapped[str] = mapped_column(String(12), default="open")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]  # the assignee's target time; missed -> reassigned, lead told
    first_response_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id", ondelete="SET NULL"))
    answered_by_name: Mapped[str | None] = mapped_column(String(120))
    answer_faq_id: Mapped[str | None] = mapped_column(String(120))
    reassignments: Mapped[int] = mapped_column(default=0)
    sla_breaches: Mapped[int] = mapped_column(default=0)
    # Experts who let this ticket pass its target: it is not handed back to them by the target check.
    missed_by: Mapped[list] = mapped_column(JSON, default=list)
    rating: Mapped[int | None]  # 1 helped, 2 did not
    rated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    teacher: Mapped[Teacher] = relationship()
    assignee: Mapped[Expert | None] = relationship(foreign_keys=[assignee_id])
    answered_by: Mapped[Expert | None] = relationship(foreign_keys=[answered_by_id])
    events: Mapped[list["TicketEvent"]] = relationship(order_by="TicketEvent.id", back_populates="ticket",
                                                       cascade="all, delete-orphan")


class TicketEvent(Base):
    """The ticket's history: who did what, when. Never edited."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))  # "system", "teacher", or the console user's name
    kind: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(Text, default="")

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class FaqProposal(Base):
    """An expert's answer offered to the knowledge base; a lead edits and approves (or rejects) it.

    kind: new (a new FAQ), improve (a better version of an existing FAQ), phrasing (the teacher's wording
    added as a new question of an existing FAQ). `data` is the full entry in the knowledge-base format.
    """

    __tablename__ = "faq_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(12))
    faq_id: Mapped[str] = mapped_column(String(120))
    data: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | approved | rejected
    proposed_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(120))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)


class CannedAnswer(Base):
    """A reply an expert keeps to reuse: their own (owner_id set) or shared with everyone (owner_id None, made
    by a lead). Inserted into the reply box for editing, never sent as it stands."""

    __tablename__ = "canned_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
