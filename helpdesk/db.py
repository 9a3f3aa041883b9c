"""Database engine, sessions, and the after-commit job hook.

Data functions take `session` first and never commit; the edge (a request, a job, a CLI command)
opens `session_scope()` and commits. Jobs that must run because of a change are registered with
`enqueue_after_commit`, so an enqueue can never see rows that were rolled back.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    pass


class Database:
    def __init__(self, url: str, echo: bool = False):
        self.url = url
        self.engine = _make_engine(url, echo)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        session = self.Session()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def create_all(self) -> None:
        register_tables()
        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: str, echo: bool) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # The web process and in-process jobs share the file from several threads; WAL lets readers
        # proceed during a write and busy_timeout waits for the writer instead of failing at once.
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    # A transaction left open by a dead client would hold its row locks; PostgreSQL ends it after a minute.
    connect_args = {"options": "-c idle_in_transaction_session_timeout=60000"} if url.startswith("postgresql") else {}
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=connect_args)


def register_tables() -> None:
    """Import every module that defines tables, so Base.metadata knows them all (create_all, Alembic)."""
    import analytics.models  # noqa: F401
    import helpdesk.models  # noqa: F401


# --- jobs that run once the transaction that asked for them has committed -------------------------

def enqueue_after_commit(session: Session, func_path: str, *args, job_id: str | None = None,
                         delay: float = 0.0, queue: str = "default") -> None:
    session.info.setdefault("after_commit_jobs", []).append((func_path, args, job_id, delay, queue))


def enqueue_many_after_commit(session: Session, func_path: str, calls: list[tuple[tuple, str | None]],
                              queue: str = "default") -> None:
    """Many calls of one job at once (the CPD push's sends): `calls` is [(args, job_id)], enqueued together
    (one round trip to Redis per batch) after commit, in order."""
    session.info.setdefault("after_commit_many", []).append((func_path, calls, queue))


_dispatcher: Callable[[str, tuple, str | None, float, str], None] | None = None
_many_dispatcher: Callable[[str, list, str], None] | None = None


def set_job_dispatcher(dispatch: Callable[[str, tuple, str | None, float, str], None] | None,
                       dispatch_many: Callable[[str, list, str], None] | None = None) -> None:
    """The runtime installs how after-commit jobs reach its queue; without one (a bare script) they are dropped."""
    global _dispatcher, _many_dispatcher
    _dispatcher = dispatch
    _many_dispatcher = dispatch_many


@event.listens_for(Session, "after_commit")
def _run_after_commit_jobs(session: Session) -> None:
    jobs = session.info.pop("after_commit_jobs", [])
    batches = session.info.pop("after_commit_many", [])
    if _dispatcher is None:
        return
    for func_path, args, job_id, delay, queue in jobs:
        _dispatcher(func_path, args, job_id, delay, queue)
    for func_path, calls, queue in batches:
        if _many_dispatcher is not None:
            _many_dispatcher(func_path, calls, queue)
        else:
            for args, job_id in calls:
                _dispatcher(func_path, args, job_id, 0.0, queue)


@event.listens_for(Session, "after_rollback")
def _drop_jobs_on_rollback(session: Session) -> None:
    session.info.pop("after_commit_jobs", None)
    session.info.pop("after_commit_many", None)
