"""Live session and teacher hub jobs (helpdesk.programme.service). The scheduler enqueues the clocked ticks
with the time they fired for, so a run is reproducible; each sending stage claims its rows itself."""
from __future__ import annotations

import logging
from datetime import datetime

from helpdesk.models import utcnow
from helpdesk.programme import service
from helpdesk.runtime import current

log = logging.getLogger(__name__)


def _parse(now_iso: str | None) -> datetime:
    return datetime.fromisoformat(now_iso) if now_iso else utcnow()


def send_session_reminders(now_iso: str | None = None) -> int:
    """Every minute: reminders a day and an hour before each session, the summary after it."""
    rt = current()
    with rt.db.session_scope() as session:
        return service.send_due(session, rt, _parse(now_iso))


def announce_session(session_id: int, now_iso: str | None = None) -> int:
    """After a lead schedules a session: tell the teachers whose needs match its area (once)."""
    rt = current()
    with rt.db.session_scope() as session:
        return service.announce_session(session, rt, session_id, _parse(now_iso))


def send_hub_digests(now_iso: str | None = None) -> int:
    """Daily; each coordinator's digest goes once a month (the first run in a new local month)."""
    rt = current()
    with rt.db.session_scope() as session:
        sent = service.send_hub_digests(session, rt, _parse(now_iso))
    if sent:
        log.info("hub digests sent: %d", sent)
    return sent
