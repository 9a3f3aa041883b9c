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
        return entries_from_dicts([record_data(row) for row in rows], source="<database>")


def record_data(row: FaqRecord) -> dict:
    """The lead's approval is the entry's review record, unless the entry carries its own."""
    data = dict(row.data)
    if not data.get("reviewed_by") and row.approved_by:
        data["reviewed_by"] = f"Helpdesk lead {row.approved_by} (approved in the console)"
        data["reviewed_on"] = row.approved_at.date().isoformat()
    return data
