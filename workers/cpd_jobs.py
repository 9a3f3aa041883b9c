"""CPD push jobs. The scheduler enqueues `push_due_lessons` (with the time it fired for); that job enqueues
one `push_batch` job per batch of due subscriptions (a job per batch, not per message: 100,000 teachers make
200 jobs at the default batch of 500). Each batch claims its subscriptions itself (helpdesk.cpd.subscriptions.push_batch).
"""
from __future__ import annotations

import logging
from datetime import datetime

from helpdesk.cpd import subscriptions as cpd
from helpdesk.models import utcnow
from helpdesk.runtime import current

log = logging.getLogger(__name__)

BATCH_JOB = "workers.cpd_jobs.push_batch"


def _parse(now_iso: str | None) -> datetime:
    return datetime.fromisoformat(now_iso) if now_iso else utcnow()


def push_due_lessons(now_iso: str | None = None) -> int:
    """Enqueue a batch job for every due subscription that has none in flight. Returns the number of batches."""
    rt = current()
    now = _parse(now_iso)
    size = max(1, rt.settings.cpd_batch_size)
    with rt.db.session_scope() as session:
        ids = cpd.select_due_for_push(session, now)
    stamp = now.strftime("%Y%m%dT%H%M%S")
    batches = [ids[start:start + size] for start in range(0, len(ids), size)]
    for batch in batches:
        rt.enqueue(BATCH_JOB, batch, now.isoformat(), job_id=f"cpd-{stamp}-{batch[0]}-{len(batch)}",
                   queue="low")
    if ids:
        log.info("CPD push for %s: %d subscriptions due, %d batch jobs", now.isoformat(), len(ids), len(batches))
    return len(batches)


def push_batch(subscription_ids: list[int], now_iso: str | None = None) -> dict:
    rt = current()
    with rt.db.session_scope() as session:
        result = cpd.push_batch(session, rt, subscription_ids, _parse(now_iso))
    log.info("CPD batch of %d: %d lessons queued (%d via template), %d skipped, %d already taken",
             len(subscription_ids), result.sent, result.templates, result.skipped, result.lost_claims)
    return {"claimed": result.claimed, "sent": result.sent, "templates": result.templates,
            "skipped": result.skipped, "lost_claims": result.lost_claims}
