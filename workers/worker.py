"""The RQ worker process: build the runtime once, preload the knowledge base, then work."""
from __future__ import annotations

import logging

from helpdesk import runtime
from helpdesk.logs import configure_logging
from helpdesk.settings import Settings
from workers.queue import QUEUE_NAMES

log = logging.getLogger(__name__)


def run_worker(settings: Settings, *, with_scheduler: bool = True, burst: bool = False) -> None:
    from rq import SimpleWorker

    if not settings.uses_redis:
        raise SystemExit("REDIS_URL is not set: without Redis, jobs run inside the web process (helpdesk demo)")
    configure_logging(settings.log_level)
    rt = runtime.install(runtime.build(settings))
    # Load the matcher now so the first teacher does not wait for it.
    log.info("worker ready with %d FAQs", len(rt.knowledge.entries()))
    # SimpleWorker runs jobs in this process: no fork per job (a fork would also share the database
    # connection pool between processes), and the preloaded matcher is reused by every job.
    worker = SimpleWorker(list(QUEUE_NAMES), connection=rt.redis)
    # RQ forks its scheduler process from here: close pooled database connections first, or the child
    # inherits their sockets and a SIGKILLed worker's transaction stays open (and locked) in PostgreSQL.
    rt.db.engine.dispose()
    worker.work(with_scheduler=with_scheduler, burst=burst, logging_level=settings.log_level)
