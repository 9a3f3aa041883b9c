"""The RQ worker process: build the runtime once, preload the knowledge base, then work, through Redis outages.

RQ's own loop survives a Redis outage only while it waits for a job; one that starts anywhere else (a
heartbeat, a job's bookkeeping, maintenance) ends `work()` with "found an unhandled exception, quitting".
So `work()` runs inside a loop of ours that waits for Redis with backoff and starts it again, in the same
process: the preloaded matcher (20 s to build at 10,000 FAQs) survives, and no process manager is needed.
RQ's own retries while idle log a line every 2 s from two threads; ours log once a minute.
"""
from __future__ import annotations

import logging
import signal
import threading
import time

from helpdesk import runtime
from helpdesk.logs import configure_logging
from helpdesk.settings import Settings
from workers.queue import QUEUE_NAMES

log = logging.getLogger(__name__)

RECONNECT_FIRST_WAIT = 0.5
RECONNECT_MAX_WAIT = 10.0  # an outage of hours costs a ping every 10 s
LOG_EVERY = 60.0  # one line a minute while Redis is away, not one per attempt


class RedisOutage:
    """Waits for Redis to answer again, with exponential backoff, logging once in a while."""

    def __init__(self, redis_connection, stop: threading.Event, clock=time.monotonic):
        self.redis = redis_connection
        self.stop = stop
        self.clock = clock
        self.happened = False  # whether the last wait_until_back had to wait

    def wait_until_back(self) -> bool:
        """Block until Redis answers a PING (True) or a stop is requested (False)."""
        from redis.exceptions import RedisError

        started = last_logged = self.clock()
        wait = RECONNECT_FIRST_WAIT
        attempts = 0
        while not self.stop.is_set():
            try:
                self.redis.ping()
            except (RedisError, OSError) as exc:
                attempts += 1
                if attempts == 1 or self.clock() - last_logged >= LOG_EVERY:
                    log.warning("Redis unreachable for %.0f s (%s); retrying every %.0f s at most",
                                self.clock() - started, exc, RECONNECT_MAX_WAIT)
                    last_logged = self.clock()
                self.stop.wait(wait)
                wait = min(RECONNECT_MAX_WAIT, wait * 2)
                continue
            if attempts:
                log.warning("Redis is back after %.0f s; resuming work", self.clock() - started)
            self.happened = attempts > 0
            return True
        return False


def _worker_class():
    """SimpleWorker that leaves its loop as soon as Redis stops answering, instead of retrying inside it."""
    from redis.exceptions import ConnectionError, RedisError, TimeoutError
    from rq import Queue, SimpleWorker
    from rq.exceptions import StopRequested

    class RedisGone(StopRequested):
        """A StopRequested, so RQ's loop ends quietly (no traceback) and runs its teardown."""

    class LeavingQueue(Queue):
        @classmethod
        def dequeue_any(cls, *args, **kwargs):
            try:
                return super().dequeue_any(*args, **kwargs)
            except (ConnectionError, TimeoutError) as exc:
                raise RedisGone(str(exc)) from exc

    class HelpdeskWorker(SimpleWorker):
        queue_class = LeavingQueue

        def heartbeat(self, *args, **kwargs):
            try:
                return super().heartbeat(*args, **kwargs)
            except (ConnectionError, TimeoutError) as exc:
                raise RedisGone(str(exc)) from exc

        def _pubsub_exception_handler(self, exc, pubsub, pubsub_thread):
            if isinstance(exc, ConnectionError):
                time.sleep(2.0)  # the loop's RedisOutage does the logging; this thread only waits
                return
            super()._pubsub_exception_handler(exc, pubsub, pubsub_thread)

        def teardown(self):
            # RQ's teardown talks to Redis; with Redis gone each step is skipped, but the scheduler child and
            # the pubsub thread must still stop, or every outage would leave one more of each behind.
            if self.scheduler:
                self.stop_scheduler()
            try:
                self.register_death()
            except RedisError:
                pass
            if self.pubsub_thread:
                self.pubsub_thread.stop()
                self.pubsub_thread.join(timeout=1)
                try:
                    self.pubsub.close()
                except (RedisError, OSError):
                    pass

    return HelpdeskWorker


def run_worker(settings: Settings, *, with_scheduler: bool = True, burst: bool = False) -> None:
    from redis.exceptions import RedisError

    if not settings.uses_redis:
        raise SystemExit("REDIS_URL is not set: without Redis, jobs run inside the web process (helpdesk demo)")
    configure_logging(settings.log_level)
    rt = runtime.install(runtime.build(settings))
    # Load the matcher and the safeguarding rules now so the first teacher does not wait for them
    # (compiling the triage grammar takes 0.4-1.9 s on a loaded 2-core machine).
    from helpdesk.safeguarding.triage import shipped_rules

    shipped_rules()
    log.info("worker ready with %d FAQs", len(rt.knowledge.entries()))
    stop = threading.Event()
    outage = RedisOutage(rt.redis, stop)
    _on_stop_signals(stop.set)
    interrupted = False  # the last work() ended because Redis went away
    while not stop.is_set():
        if not outage.wait_until_back():
            break
        if interrupted or outage.happened:
            _sweep_after_outage()
        # SimpleWorker runs jobs in this process: no fork per job (a fork would also share the database
        # connection pool between processes), and the preloaded matcher is reused by every job. The queue
        # order is the priority: replies first, bulk sends last (workers.queue.QUEUE_NAMES).
        worker = _worker_class()(list(QUEUE_NAMES), connection=rt.redis)
        # RQ forks its scheduler process from here: close pooled database connections first, or the child
        # inherits their sockets and a SIGKILLed worker's transaction stays open (and locked) in PostgreSQL.
        rt.db.engine.dispose()
        try:
            worker.work(with_scheduler=with_scheduler, burst=burst, logging_level=settings.log_level)
        except RedisError as exc:  # raised from RQ's teardown when Redis went away mid-loop
            log.warning("worker loop ended by a Redis error: %s", exc)
        finally:
            # RQ's handlers talk to Redis; between runs a signal only has to set our flag.
            _on_stop_signals(stop.set)
        if getattr(worker, "_shutdown_requested_date", None) is not None or getattr(worker, "_stop_requested",
                                                                                     False):
            break  # SIGTERM/SIGINT: RQ finished the job in hand and stopped, as asked
        if _redis_answers(rt.redis):
            if burst:
                break  # burst mode: the queues are empty
            # RQ quit on an error of its own with Redis fine; start again after a pause rather than spin.
            log.warning("worker loop ended with Redis up; starting it again")
            stop.wait(RECONNECT_FIRST_WAIT)
        interrupted = not _redis_answers(rt.redis)


def _sweep_after_outage() -> None:
    """Enqueue everything left unprocessed at once: a webhook that could not enqueue during the outage, or a
    Redis restarted without persistence, lost those jobs, and the scheduler's sweeper would wait a minute or
    more. A duplicate job is harmless: every job claims its row first."""
    from sqlalchemy.exc import SQLAlchemyError

    from workers.jobs import sweep_unprocessed

    try:
        log.info("after the Redis outage: re-enqueued %d jobs", sweep_unprocessed(older_than_seconds=0))
    except SQLAlchemyError as exc:  # the database is away too: the scheduler's sweeper will do it later
        log.warning("sweep after the Redis outage failed: %s", exc)


def _redis_answers(redis_connection) -> bool:
    from redis.exceptions import RedisError

    try:
        return bool(redis_connection.ping())
    except (RedisError, OSError):
        return False


def _on_stop_signals(handler) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: handler())
