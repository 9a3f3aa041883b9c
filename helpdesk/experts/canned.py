"""Canned answers: replies an expert keeps to reuse, their own or shared (shared ones are made by leads).

Inserting one fills the reply box for editing, like "use this FAQ"; nothing here sends anything.
"""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from helpdesk.models.tickets import CannedAnswer, Expert

TITLE_MAX = 120
BODY_MAX = 1600  # an SMS reply is split into segments past this; a canned answer is a starting point


class CannedError(ValueError):
    """A canned answer that cannot be saved or removed, said for the person."""


def visible(session: Session, expert: Expert | None) -> list[CannedAnswer]:
    """Shared answers and the expert's own, shared first, then by title."""
    mine = CannedAnswer.owner_id == expert.id if expert is not None else False
    rows = session.scalars(select(CannedAnswer).where(or_(CannedAnswer.owner_id.is_(None), mine))).all()
    return sorted(rows, key=lambda c: (c.owner_id is not None, c.title.casefold(), c.id))


def find(session: Session, expert: Expert | None, canned_id: int) -> CannedAnswer | None:
    row = session.get(CannedAnswer, canned_id)
    if row is None or (row.owner_id is not None and (expert is None or row.owner_id != expert.id)):
        return None  # someone else's answer is as good as missing
    return row


def create(session: Session, *, expert: Expert | None, author: str, title: str, body: str, shared: bool,
           is_lead: bool) -> CannedAnswer:
    title, body = (title or "").strip(), (body or "").strip()
    if not title or not body:
        raise CannedError("A canned answer needs a title and a text.")
    if len(title) > TITLE_MAX or len(body) > BODY_MAX:
        raise CannedError(f"Keep the title under {TITLE_MAX} and the text under {BODY_MAX} characters.")
    if shared and not is_lead:
        raise CannedError("Only a lead can share a canned answer with everyone.")
    if not shared and expert is None:
        raise CannedError("Only an expert can keep their own canned answers; share it instead.")
    row = CannedAnswer(owner_id=None if shared else expert.id, title=title, body=body,
                       created_by=author[:120])
    session.add(row)
    session.flush()
    return row


def delete(session: Session, *, expert: Expert | None, canned_id: int, is_lead: bool) -> str:
    row = session.get(CannedAnswer, canned_id)
    mine = row is not None and expert is not None and row.owner_id == expert.id
    if row is None or not (mine or (row.owner_id is None and is_lead)):
        raise CannedError("That canned answer is not yours to remove.")
    title = row.title
    session.delete(row)
    return title
