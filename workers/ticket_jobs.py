"""Scheduled ticket work: the scheduler enqueues `check_ticket_targets` every minute (workers.scheduler)."""
from __future__ import annotations

import logging

from helpdesk.runtime import current

log = logging.getLogger(__name__)


def check_ticket_targets() -> dict[str, int]:
    """Reassign tickets whose expert missed the target time and assign waiting ones. Two overlapping runs are
    harmless on PostgreSQL: overdue rows are locked (SKIP LOCKED), so only one run moves a given ticket."""
    from helpdesk.experts.tickets import check_targets

    rt = current()
    with rt.db.session_scope() as session:
        counts = check_targets(session, rt)
    if any(counts.values()):
        log.info("ticket targets: %s", counts)
    return counts
