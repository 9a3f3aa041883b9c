"""Enqueue jobs by dotted name: on RQ when REDIS_URL is set, otherwise in this process.

The only module that imports rq. Both queues run the same job functions, so the embedded default
exercises the production code path. An enqueue that fails (Redis down) is logged, never raised: the
row it was for is already committed and the sweeper enqueues it again.
"""
from __future__ import annotations

import heapq
import importlib
import itertools
import logging
import threading
import time
from collections import deque
from datetime import timedelta
from typing import Protocol

log = logging.getLogger(__name__)

# The order every worker takes jobs in. Replies to teachers first; then inbound processing ("high"); then
# the rest; bulk sends (the CPD push's lessons) last, so a push never holds back a reply, the sweeper or
# the push's own batch jobs. Bulk sends are paced by the sender's rate, not by this order.
QUEUE_NAMES = ("replies", "high", "default", "low", "bulk")


def resolve(func_path: str):
    module_name, _, attr = func_path.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


class JobQueue(Protocol):
    def enqueue(self, func_path: str, *args, job_id: str | None = None, delay: float = 0.0,
                queue: str = "default") -> bool: ...

    # Optional: enqueue_many(func_path, [(args, job_id), ...], queue="default") -> int, for bulk senders
    # (helpdesk.outbound.queue_messages falls back to enqueue when a queue lacks it).


class RedisJobQueue:
    def __init__(self, redis_connection):
        from rq import Queue

        self.connection = redis_connection
        self.queues = {name: Queue(name, connection=redis_connection) for name in QUEUE_NAMES}

    def enqueue(self, func_path: str, *args, job_id: str | None = None, delay: float = 0.0,
                queue: str = "default") -> bool:
        from redis.exceptions import RedisError
        from rq import Retry

        q = self.queues[queue]
        # A job that raises (database restarting, say) is retried by RQ; the claim in every job makes
        # a retry after partial work harmless.
        # No `unique=True`: the database claim already makes a duplicate job harmless, and RQ's uniqueness
        # check is an extra Lua round trip on the webhook's hot path (about a third of enqueue's cost).
        options = dict(job_id=job_id, retry=Retry(max=3, interval=[5, 30, 120]),
                       result_ttl=300, failure_ttl=7 * 86400)
        try:
            if delay > 0:
                q.enqueue_in(timedelta(seconds=delay), func_path, *args, **options)
            else:
                # One MULTI for saving the job and pushing it: half the round trips of a plain enqueue.
                with self.connection.pipeline() as pipe:
                    q.enqueue(func_path, *args, pipeline=pipe, **options)
                    pipe.execute()
            return True
        except RedisError as exc:
            log.warning("enqueue of %s failed, the sweeper will retry: %s", func_path, exc)
            return False

    def enqueue_many(self, func_path: str, calls: list[tuple[tuple, str | None]], queue: str = "default") -> int:
        """Many immediate jobs of one function in one Redis pipeline: [(args, job_id), ...] -> how many were queued.

        About 0.3 ms a job instead of 1 ms (the CPD push queues a send job per lesson). The job ids are fresh
        row ids, so rq's `unique` check is not needed here; the same retry and TTL options as `enqueue`.
        """
        from redis.exceptions import RedisError
        from rq import Retry

        if not calls:
            return 0
        q = self.queues[queue]
        datas = [q.prepare_data(func_path, args=args, job_id=job_id, retry=Retry(max=3, interval=[5, 30, 120]),
                                result_ttl=300, failure_ttl=7 * 86400) for args, job_id in calls]
        try:
            with self.connection.pipeline() as pipe:
                jobs = q.enqueue_many(datas, pipeline=pipe)
                pipe.execute()
            return len(jobs)
        except RedisError as exc:
            log.warning("enqueue of %d %s jobs failed, the sweeper will retry: %s", len(calls), func_path, exc)
            return 0

    def depth(self) -> dict[str, int]:
        return {name: q.count for name, q in self.queues.items()}


class InProcessJobQueue:
    """Runs jobs on background threads, each queue in priority order, for the embedded default and the demo.

    The same order as an RQ worker (QUEUE_NAMES). Sends get a thread of their own: a send may sleep for
    its sender's rate slot (workers.jobs.MAX_INLINE_WAIT, 1 s a message on a long code), and a burst of
    sends sleeping on the thread that processes inbound messages left new teachers unanswered for minutes.
    """

    THREADS = {"jobs": ("high", "default", "low"), "sends": ("replies", "bulk")}

    def __init__(self):
        self._cond = threading.Condition()
        self._counter = itertools.count()
        self._delayed: list[tuple[float, int, str, str, str | None, tuple]] = []  # a heap by due time
        self._ready: dict[str, deque] = {name: deque() for name in QUEUE_NAMES}
        self._busy: set[str] = set()
        self._pending_ids: set[str] = set()
        self._threads = [threading.Thread(target=self._run, args=(name, queues), name=f"inprocess-{name}",
                                          daemon=True) for name, queues in self.THREADS.items()]
        for thread in self._threads:
            thread.start()

    def enqueue(self, func_path: str, *args, job_id: str | None = None, delay: float = 0.0,
                queue: str = "default") -> bool:
        queue = queue if queue in self._ready else "default"
        with self._cond:
            if job_id and job_id in self._pending_ids:
                return False
            if job_id:
                self._pending_ids.add(job_id)
            if delay > 0:
                heapq.heappush(self._delayed, (time.monotonic() + delay, next(self._counter), queue, func_path,
                                               job_id, args))
            else:
                self._ready[queue].append((func_path, job_id, args))
            self._cond.notify_all()
        return True

    def enqueue_many(self, func_path: str, calls: list[tuple[tuple, str | None]], queue: str = "default") -> int:
        return sum(self.enqueue(func_path, *args, job_id=job_id, queue=queue) for args, job_id in calls)

    def depth(self) -> dict[str, int]:
        with self._cond:
            depth = {name: len(jobs) for name, jobs in self._ready.items()}
            for _, _, queue, *_ in self._delayed:
                depth[queue] += 1
            return depth

    def drain(self, timeout: float = 30.0, include_delayed: bool = True) -> bool:
        """Wait until no job is queued or running (tests and `helpdesk chat` use it)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._busy or any(self._ready.values())
                   or (self._delayed and (include_delayed or self._delayed[0][0] <= time.monotonic()))):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
        return True

    def _promote_due(self) -> None:
        now = time.monotonic()
        moved = False
        while self._delayed and self._delayed[0][0] <= now:
            _, _, queue, func_path, job_id, args = heapq.heappop(self._delayed)
            self._ready[queue].append((func_path, job_id, args))
            moved = True
        if moved:
            self._cond.notify_all()  # the job may be for the other thread

    def _take(self, queues: tuple[str, ...]):
        for name in queues:
            if self._ready[name]:
                return self._ready[name].popleft()
        return None

    def _run(self, thread: str, queues: tuple[str, ...]) -> None:
        while True:
            with self._cond:
                while True:
                    self._promote_due()
                    job = self._take(queues)
                    if job is not None:
                        break
                    self._cond.wait(self._delayed[0][0] - time.monotonic() if self._delayed else None)
                func_path, job_id, args = job
                self._pending_ids.discard(job_id)
                self._busy.add(thread)
            try:
                resolve(func_path)(*args)
            except Exception:
                log.exception("in-process job %s failed", func_path)
            finally:
                with self._cond:
                    self._busy.discard(thread)
                    self._cond.notify_all()
