"""The scheduler process: APScheduler ticks that only enqueue jobs, run by whichever process holds the lease.

Run one; a second copy is a hot standby. Each tick first renews (or takes over) a lease row in the
database with a conditional UPDATE, so two schedulers never both enqueue a tick's work; the jobs
themselves claim their rows too, which is the real guarantee against sending twice.

Jobs live in a persistent APScheduler job store in the application database (table `apscheduler_jobs`),
in the Asia/Karachi time zone (settings.timezone): the weekly CPD hour is a cron trigger there, so a
restart keeps its next run time and a run missed by less than its misfire grace still fires once.
Stored jobs hold only picklable references (`workers.scheduler:scheduled_tick` and a dotted job name);
the runtime and the lease of *this* process reach the job through its executor's threads, because a
job store shared by two schedulers must not carry one process's lease in its arguments.
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
LEASE_SECONDS = 90  # a crashed leader is replaced within this long (settings.scheduler_lease_seconds)
JOBSTORE_TABLE = "apscheduler_jobs"


class SchedulerLease:
    def __init__(self, db, holder: str | None = None, clock: Callable[[], datetime] = utcnow,
                 seconds: int = LEASE_SECONDS):
        self.db = db
        self.seconds = seconds
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clock = clock

    def acquire(self) -> bool:
        """Take or renew the lease; True if this process leads for the next `seconds`."""
        now = self.clock()
        expires = now + timedelta(seconds=self.seconds)
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


# Recurring work: (job id, seconds between runs, job to enqueue). The jobs are plain functions taking no
# arguments. Other areas add their entries here:
#   - inbound/outbound sweeper (backbone), ticket target-time checks (issue 5);
#   - analytics (issue 6): add an interval entry here, or a NIGHTLY entry below for the nightly roll-up.
RECURRING = [
    ("sweep-unprocessed", 30, "workers.jobs.sweep_unprocessed"),
    ("ticket-targets", 60, "workers.ticket_jobs.check_ticket_targets"),
    ("reconcile-unknown", 120, "workers.jobs.reconcile_unknown"),
]

# Once a day at a local time: (job id, "HH:MM" in settings.timezone, job to enqueue).
# Analytics' nightly roll-up goes here, e.g. ("analytics-nightly", "02:30", "analytics.jobs.nightly_rollup").
NIGHTLY: list[tuple[str, str, str]] = []

# CPD (issue 7): jobs that are told the time they fired for (the lease's clock), so a push is reproducible.
CPD_PUSH = "workers.cpd_jobs.push_due_lessons"
CPD_MISFIRE_GRACE = 3600  # a scheduler that was down at the CPD hour still fires it once within the hour
# Live sessions and hubs (issue 16): reminders every minute, the hub digest checked each morning (sent once a
# month per hub); both clocked like the CPD push.
SESSION_REMINDERS = "workers.programme_jobs.send_session_reminders"
HUB_DIGESTS = "workers.programme_jobs.send_hub_digests"
RECURRING.append(("session-reminders", 60, SESSION_REMINDERS))
NIGHTLY.append(("hub-digests", "08:00", HUB_DIGESTS))
# The planner digest (helpdesk.programme): weekly at settings.digest_schedule, idempotent per week.
PLANNER_DIGEST = "workers.programme_jobs.send_planner_digest"
CLOCKED_JOBS = {CPD_PUSH, SESSION_REMINDERS, HUB_DIGESTS, PLANNER_DIGEST}


def tick(rt, lease: SchedulerLease, func_path: str) -> bool:
    """One scheduler tick: enqueue `func_path` if this process holds the lease. Returns whether it did."""
    if not lease.acquire():
        return False
    if func_path in CLOCKED_JOBS:
        now = lease.clock()
        # RQ job ids allow letters, digits, "-" and "_" only: a dotted function name is refused (ValueError).
        name = func_path.rpartition(".")[2].replace("_", "-")
        rt.enqueue(func_path, now.isoformat(), job_id=f"{name}-{now:%Y%m%dT%H%M%S}", queue="low")
    else:
        rt.enqueue(func_path, queue="low")
    return True


# --- stored jobs reach this process's runtime and lease through the executor's threads ------------------

_bound = threading.local()


def _bind_thread(rt, lease) -> None:
    _bound.rt, _bound.lease = rt, lease


def scheduled_tick(func_path: str) -> bool:
    """The callable stored in the job store: a tick for the scheduler whose executor runs it."""
    rt, lease = getattr(_bound, "rt", None), getattr(_bound, "lease", None)
    if rt is None:
        log.warning("scheduled tick for %s outside a scheduler executor; skipped", func_path)
        return False
    return tick(rt, lease, func_path)


def scheduler_jobs(settings) -> list[dict]:
    """Every job this scheduler keeps, as add_job keyword arguments (fixed ids: replaced, never duplicated)."""
    from helpdesk.cpd.rules import parse_schedule

    ref = f"{__name__}:scheduled_tick"
    common = dict(replace_existing=True, max_instances=1, coalesce=True)
    jobs = [dict(id=job_id, func=ref, args=(func_path,), trigger="interval", seconds=seconds,
                 misfire_grace_time=seconds, **common) for job_id, seconds, func_path in RECURRING]
    for job_id, at, func_path in NIGHTLY:
        hour, minute = (int(part) for part in at.split(":"))
        jobs.append(dict(id=job_id, func=ref, args=(func_path,), trigger="cron", hour=hour, minute=minute,
                         misfire_grace_time=CPD_MISFIRE_GRACE, **common))
    # The CPD hour itself (default Monday 16:00 Karachi), plus a frequent check for lessons that fall due at
    # other times: welcome-series lessons, and catching up after downtime. Both enqueue the same push, which
    # sends only what is due and claims each subscription.
    cron = parse_schedule(settings.cpd_schedule).cron
    jobs.append(dict(id="cpd-hour", func=ref, args=(CPD_PUSH,), trigger="cron", misfire_grace_time=CPD_MISFIRE_GRACE,
                     **cron, **common))
    jobs.append(dict(id="cpd-due", func=ref, args=(CPD_PUSH,), trigger="interval", seconds=settings.cpd_check_seconds,
                     misfire_grace_time=max(1, int(settings.cpd_check_seconds)), **common))
    digest_cron = parse_schedule(settings.digest_schedule).cron
    jobs.append(dict(id="planner-digest", func=ref, args=(PLANNER_DIGEST,), trigger="cron",
                     misfire_grace_time=CPD_MISFIRE_GRACE, **digest_cron, **common))
    return jobs


def build_scheduler(rt, scheduler_class, lease: SchedulerLease | None = None, *, persistent: bool = True,
                    clock: Callable[[], datetime] | None = None):
    """An APScheduler of `scheduler_class` with every job added, and the lease it ticks under."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    lease = lease or SchedulerLease(rt.db, clock=clock or utcnow, seconds=rt.settings.scheduler_lease_seconds)
    jobstore = (SQLAlchemyJobStore(engine=rt.db.engine, tablename=JOBSTORE_TABLE) if persistent
                else MemoryJobStore())
    executor = ThreadPoolExecutor(4, pool_kwargs={"initializer": _bind_thread, "initargs": (rt, lease)})
    scheduler = scheduler_class(timezone=rt.settings.timezone, jobstores={"default": jobstore},
                                executors={"default": executor})
    for job in scheduler_jobs(rt.settings):
        scheduler.add_job(**job)
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


def start_background_scheduler(rt):
    """For `helpdesk demo`: the same jobs on a background thread of the one process. Returns the scheduler."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler, _ = build_scheduler(rt, BackgroundScheduler)
    scheduler.start()
    return scheduler
