"""Which voice notes and pictures belong to a ticket, for the ticket page and its media proxy.

A ticket's media are the attachments its teacher sent around it: the day before it opened (what the escalation
lists, see dialogue.MEDIA_WINDOW) and the day after (follow-ups). The proxy serves only these, so an expert
can fetch media only of a ticket they may see, and never an arbitrary stored URL.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.dialogue import MEDIA_LABELS, MEDIA_WINDOW
from helpdesk.models import InboundMessage
from helpdesk.models.tickets import Ticket

# The lines dialogue._media_note appends to an escalated question; the page shows players instead.
MEDIA_LINE = re.compile(r"^\[(?:%s|file): \S*\]$" % "|".join(map(re.escape, MEDIA_LABELS.values())))


@dataclass(frozen=True)
class MediaItem:
    inbound_id: int
    index: int
    kind: str          # "audio" | "image" | "video" | "file"
    content_type: str
    url: str

    @property
    def label(self) -> str:
        return MEDIA_LABELS.get(self.kind, "file")


def ticket_media(session: Session, ticket: Ticket) -> list[MediaItem]:
    rows = session.scalars(
        select(InboundMessage).where(
            InboundMessage.teacher_id == ticket.teacher_id, InboundMessage.num_media > 0,
            InboundMessage.received_at >= ticket.created_at - MEDIA_WINDOW,
            InboundMessage.received_at <= ticket.created_at + MEDIA_WINDOW,
        ).order_by(InboundMessage.id)
    ).all()
    items = []
    for row in rows:
        for index, item in enumerate(row.media or []):
            content_type = str(item.get("content_type") or "")
            kind = content_type.split("/")[0]
            items.append(MediaItem(row.id, index, kind if kind in MEDIA_LABELS else "file", content_type,
                                   str(item.get("url") or "")))
    return items


def find(items: list[MediaItem], inbound_id: int, index: int) -> MediaItem | None:
    return next((m for m in items if (m.inbound_id, m.index) == (inbound_id, index)), None)


def without_media_lines(question: str) -> str:
    """The question without the "[voice note: https://...]" lines (shown as players on the page)."""
    lines = (question or "").splitlines()
    return "\n".join(line for line in lines if not MEDIA_LINE.match(line.strip())).strip()
