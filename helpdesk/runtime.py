"""The per-process services (database, job queue, transports, knowledge base) built from Settings.

The web app, an RQ worker and the scheduler each build one Runtime at start-up; jobs reach it with
`current()`. A plain `rq worker` that never called `install` builds one from the environment on first use.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from helpdesk.channels.base import Transport, by_channel, install_transports
from helpdesk.db import Database, set_job_dispatcher
from helpdesk.knowledge import KnowledgeHolder
from helpdesk.ratelimit import RateLimiter
from helpdesk.settings import Settings
from workers.queue import InProcessJobQueue, JobQueue, RedisJobQueue

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    jobs: JobQueue
    transports: dict[str, Transport]  # channel -> the transport that carries it (make_transports)
    knowledge: KnowledgeHolder
    limiter: RateLimiter
    redis: object | None = None

    def transport_for(self, channel: str) -> Transport:
        try:
            return self.transports[channel]
        except KeyError:
            raise LookupError(f"no transport carries the {channel!r} channel") from None

    @property
    def transport(self) -> Transport:
        """The transport, while one provider carries every channel (Twilio, or the outbox); code that sends
        on a known channel should use transport_for."""
        distinct = {id(transport): transport for transport in self.transports.values()}
        if len(distinct) != 1:
            raise LookupError("channels use different transports: ask transport_for(channel)")
        return next(iter(distinct.values()))

    def enqueue(self, func_path: str, *args, job_id: str | None = None, delay: float = 0.0,
                queue: str = "default") -> bool:
        return self.jobs.enqueue(func_path, *args, job_id=job_id, delay=delay, queue=queue)

    def enqueue_many(self, func_path: str, calls: list[tuple[tuple, str | None]], queue: str = "default") -> None:
        """[(args, job_id)] of one job: in one round trip where the queue can, else one by one."""
        if hasattr(self.jobs, "enqueue_many"):
            self.jobs.enqueue_many(func_path, calls, queue=queue)
            return
        for args, job_id in calls:
            self.jobs.enqueue(func_path, *args, job_id=job_id, queue=queue)


def make_redis(url: str):
    import redis

    # Short timeouts: a webhook must answer Twilio within 15 s even while Redis is down.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=3, health_check_interval=30)


def make_transports(settings: Settings, db: Database | None = None) -> dict[str, Transport]:
    """Channel -> the transport that carries it. A new provider builds its transport here from its settings
    and passes it to by_channel with the others (each transport declares its channels)."""
    from helpdesk.channels import twilio

    if not settings.uses_twilio:
        from helpdesk.channels.outbox import OutboxTransport

        # No credentials: keep the messages here, split and rendered as Twilio would carry them.
        return by_channel(OutboxTransport(twilio.CHANNELS))
    from helpdesk.channels.templates import TemplateSids

    return by_channel(twilio.TwilioTransport(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        sms_from=settings.twilio_sms_from,
        whatsapp_from=settings.twilio_whatsapp_from,
        messaging_service_sid=settings.twilio_messaging_service_sid,
        timeout=settings.twilio_http_timeout,
        validity_period=settings.validity_period_seconds,
        api_base_url=settings.twilio_api_base_url,
        public_base_url=settings.public_base_url,
        template_sids=TemplateSids(db, settings),
    ))


def build(settings: Settings) -> Runtime:
    db = Database(settings.database_url)
    redis_conn = make_redis(settings.redis_url) if settings.uses_redis else None
    jobs: JobQueue = RedisJobQueue(redis_conn) if redis_conn is not None else InProcessJobQueue()
    return Runtime(
        settings=settings,
        db=db,
        jobs=jobs,
        transports=make_transports(settings, db),
        knowledge=KnowledgeHolder(settings.knowledge_base_dir, db, semantic=settings.semantic_matching,
                                  cache_dir=settings.matcher_cache_dir),
        limiter=RateLimiter(redis_conn),
        redis=redis_conn,
    )


_current: Runtime | None = None
_lock = threading.Lock()


def install(runtime: Runtime) -> Runtime:
    global _current
    with _lock:
        _current = runtime
        install_transports(runtime.transports)
        set_job_dispatcher(
            lambda func, args, job_id, delay, queue: runtime.enqueue(
                func, *args, job_id=job_id, delay=delay, queue=queue),
            lambda func, calls, queue: runtime.enqueue_many(func, calls, queue=queue))
    return runtime


def current() -> Runtime:
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                log.info("no runtime installed; building one from the environment")
        install(build(Settings.from_env()))
    return _current
