"""The scheduler process: APScheduler ticks that only enqueue jobs, run by whichever process holds the lease.

Run one; a second copy is a hot standby. Each tick first renews (or takes over) a lease row in the
database with a conditional UPDATE, so two schedulers never both enqueue a tick's work; the jobs
themselves claim their rows too, which is the real guarantee against sending twice.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from helpdesk.models import Lease, utcnow

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
LEASE_SECONDS = 90  # a crashed leader is replaced within this long


class SchedulerLease:
    def __init__(self, db, holder: str | None = None, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clock = clock

    def acquire(self) -> bool:
        """Take or renew the lease; True if this process leads for the next LEASE_SECONDS."""
        now = self.clock()
        expires = now + timedelta(seconds=LEASE_SECONDS)
        with self.db.session_scope() as session:
            taken = session.execute(
                update(Lease).where(Lease.name == LEASE_NAME,
                                    (Lease.holder == self.holder) | (Lease.expires_at < now))
                .values(holder=self.holder, expires_at=expires)
            ).rowcount
            if taken:
                return True
            if session.get(Lease, LEASE_NAME) is not None:
                return False
        try:
            with self.db.session_scope() as session:
                session.add(Lease(name=LEASE_NAME, holder=self.holder, expires_at=expires))
            return True
        except IntegrityError:
            return False  # another scheduler created it first

    def release(self) -> None:
        with self.db.session_scope() as session:
            session.execute(update(Lease).where(Lease.name == LEASE_NAME, Lease.holder == self.holder)
                            .values(expires_at=datetime(1970, 1, 1)))


# Recurring work: (job id, seconds between runs, job to enqueue). The jobs are plain functions in workers.jobs.
RECURRING = [
    ("sweep-unprocessed", 30, "workers.jobs.sweep_unprocessed"),
    ("ticket-targets", 60, "workers.ticket_jobs.check_ticket_targets"),
]


def tick(rt, lease: SchedulerLease, func_path: str) -> bool:
    """One scheduler tick: enqueue `func_path` if this process holds the lease. Returns whether it did."""
    if not lease.acquire():
        return False
    rt.enqueue(func_path, queue="low")
    return True


def build_scheduler(rt, scheduler_class, lease: SchedulerLease | None = None):
    lease = lease or SchedulerLease(rt.db)
    scheduler = scheduler_class(timezone=rt.settings.timezone)
    for job_id, seconds, func_path in RECURRING:
        scheduler.add_job(tick, "interval", seconds=seconds, args=(rt, lease, func_path), id=job_id,
                          replace_existing=True, max_instances=1, coalesce=True, misfire_grace_time=seconds)
    return scheduler, lease


def run_scheduler(settings) -> None:
    from apscheduler.schedulers.blocking import BlockingScheduler

    from helpdesk import runtime
    from helpdesk.logs import configure_logging

    configure_logging(settings.log_level)
    rt = runtime.install(runtime.build(settings))
    scheduler, lease = build_scheduler(rt, BlockingScheduler)
    log.info("scheduler %s starting", lease.holder)
    try:
        scheduler.start()
    finally:
        lease.release()


def start_background_scheduler(rt) -> threading.Thread | None:
    """For `helpdesk demo`: the same recurring jobs on a background thread of the one process."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler, _ = build_scheduler(rt, BackgroundScheduler)
    scheduler.start()
    return None
