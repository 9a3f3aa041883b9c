"""SQLAlchemy models. Columns are NOT NULL unless they say otherwise."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.channels.base import address_for
from helpdesk.db import Base


def utcnow() -> datetime:
    # Stored naive in UTC: SQLite has no time zones and mixing aware/naive values breaks comparisons.
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Teacher(Base):
    __tablename__ = "teachers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # E.164, one identity across SMS and WhatsApp
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The channel the teacher last wrote on is the one we answer on.
    channel: Mapped[str] = mapped_column(String(10), default="sms")
    # Reply language: en | ur (Urdu script) | roman-ur (bot texts in Roman Urdu; see helpdesk.conversation).
    language: Mapped[str] = mapped_column(String(10), default="en")
    language_chosen: Mapped[bool] = mapped_column(default=False)  # set by LANG: stop auto-detecting
    # The WhatsApp customer-service window is 24 h from the teacher's last inbound WhatsApp message.
    last_whatsapp_inbound_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]
    opted_out_at: Mapped[datetime | None]
    blocked: Mapped[bool] = mapped_column(default=False)
    welcomed_at: Mapped[datetime | None]  # first contact: the welcome and privacy notice went out
    # DELETE MY DATA: the row stays (anonymous counts) with a tombstone instead of the number.
    deleted_at: Mapped[datetime | None]

    # Profile (optional onboarding; all editable with PROFILE).
    name: Mapped[str | None] = mapped_column(String(120))
    role: Mapped[str | None] = mapped_column(String(40))
    school_level: Mapped[str | None] = mapped_column(String(40))
    subjects: Mapped[str | None] = mapped_column(String(200))  # comma-separated subject slugs
    district: Mapped[str | None] = mapped_column(String(80))
    school_type: Mapped[str | None] = mapped_column(String(40))
    onboarded: Mapped[bool] = mapped_column(default=False)

    # Conversation state (awaiting a rating, a clarify choice, an onboarding step...).
    state: Mapped[str | None] = mapped_column(String(40))
    state_data: Mapped[dict | None] = mapped_column(JSON)
    state_expires_at: Mapped[datetime | None]

    def address(self, channel: str | None = None) -> str:
        return address_for(channel or self.channel, self.phone)


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (
        # The sweeper's query: unprocessed messages older than a threshold.
        Index("ix_inbound_status_received", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The unique constraint is the atomic claim that makes a retried or replayed webhook harmless.
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text, default="")
    num_media: Mapped[int] = mapped_column(default=0)
    media: Mapped[list | None] = mapped_column(JSON)  # [{"url":..., "content_type":...}]
    extra: Mapped[dict | None] = mapped_column(JSON)  # location, button payload, profile name, opt-out type
    status: Mapped[str] = mapped_column(String(16), default="received")  # received | done | ignored
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id", ondelete="SET NULL"))


class OutboundMessage(Base):
    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_status_updated", "status", "updated_at"),
        Index("ix_outbound_teacher_created", "teacher_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(String(40))  # "+92..." or "whatsapp:+92..."
    channel: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20))  # answer | notice | relay | lesson | template | ...
    # "reply" (to a teacher's message, an expert's answer) goes ahead of "bulk" (lessons, reminders) on the
    # same sender; see helpdesk.outbound.lane_for. Stored, because a swept or retried send keeps its lane.
    lane: Mapped[str] = mapped_column(String(8), default="reply", server_default="reply")
    content_sid: Mapped[str | None] = mapped_column(String(64))
    content_variables: Mapped[dict | None] = mapped_column(JSON)
    # A "choose one of these" message (helpdesk.channels.base.Choices.to_json): the channel renders it as
    # WhatsApp buttons or a list inside the window, and `body` (the numbered text menu) everywhere else.
    choices: Mapped[dict | None] = mapped_column(JSON)
    # pending -> sending -> accepted -> sent -> delivered -> read; or retrying, held, suppressed,
    # failed, undelivered, unknown (a timeout after the request may have reached Twilio).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(default=0)
    segments: Mapped[int] = mapped_column(default=1)
    # Long replies are split into parts; a part is sent only after the one it follows, so they arrive in order.
    follows_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id", ondelete="SET NULL"))
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id", ondelete="SET NULL"))
    # The ticket an expert notice is about: DELETE MY DATA finds (and blanks) the notices that quoted the
    # teacher's question this way, since they are addressed to the expert, not the teacher.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    not_before: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    teacher: Mapped[Teacher | None] = relationship()


class StatusEvent(Base):
    """One row per (MessageSid, MessageStatus): Twilio sends several callbacks per message, and may repeat them."""

    __tablename__ = "status_events"
    __table_args__ = (UniqueConstraint("message_sid", "status", name="uq_status_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[int | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class FaqRecord(Base):
    """An FAQ kept in the database: approved expert answers and new phrasings join the live knowledge base.

    `data` holds the entry in the knowledge-base file format (id, topic, questions, answer, ...), so it
    exports to YAML unchanged and is validated by the same loader.
    """

    __tablename__ = "faq_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    faq_id: Mapped[str] = mapped_column(String(120), unique=True)
    data: Mapped[dict] = mapped_column(JSON)
    approved_by: Mapped[str | None] = mapped_column(String(120))
    approved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Lease(Base):
    """A named lease held by one process at a time (the scheduler): whoever holds an unexpired lease leads."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime]


class ContentTemplate(Base):
    """A provider template the service needs (a WhatsApp Content template on Twilio), as last synced by
    `helpdesk templates sync`: its SID and approval status, per template name and language."""
    __tablename__ = "content_templates"
    __table_args__ = (UniqueConstraint("name", "language", name="uq_content_template_name_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))        # e.g. "choices-quick-3", "answer-ready"
    language: Mapped[str] = mapped_column(String(10))    # en | ur | roman-ur
    sid: Mapped[str] = mapped_column(String(64))         # HX...
    content_type: Mapped[str] = mapped_column(String(40))  # twilio/quick-reply, twilio/list-picker, twilio/text
    definition_hash: Mapped[str] = mapped_column(String(64))  # what we last sent: changed -> update
    approval_status: Mapped[str | None] = mapped_column(String(30))  # WhatsApp: approved, pending, rejected...
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
