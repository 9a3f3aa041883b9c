"""FAQs kept in the database (approved by a lead) as knowledge-base entries."""
from __future__ import annotations

from sqlalchemy import func, select

from helpdesk.models import FaqRecord
from knowledge_base.loader import FaqEntry, entries_from_dicts


def database_version(db) -> tuple:
    """Changes whenever an approved FAQ is added or edited: the knowledge base reloads on it."""
    with db.session_scope() as session:
        count, latest = session.execute(
            select(func.count(FaqRecord.id), func.max(FaqRecord.updated_at)).where(FaqRecord.approved_at.is_not(None))
        ).one()
    return (count, str(latest))


def database_entries(db) -> list[FaqEntry]:
    with db.session_scope() as session:
        rows = session.scalars(select(FaqRecord).where(FaqRecord.approved_at.is_not(None)).order_by(FaqRecord.id))
        return entries_from_dicts([row.data for row in rows], source="<database>")
