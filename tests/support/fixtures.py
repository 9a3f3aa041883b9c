"""Pytest fixtures for the real services; the main conftest imports them by name.

    from support.fixtures import fake_twilio, postgres_server, redis_server, twilio_api  # noqa: F401
"""
from __future__ import annotations

import os

import pytest

from fakes.twilio_api import FakeTwilio
from support.servers import PostgresServer, RedisServer, find_binary


def require_binaries(*names: str) -> None:
    """Skip when a server binary is missing on a developer machine; in CI (env CI set) fail instead."""
    try:
        for name in names:
            find_binary(name)
    except RuntimeError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server for the whole session: `.url`, `.flushall()`, `.restart()`; flush it per test."""
    require_binaries("redis-server")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A real PostgreSQL (fsync off) for the session: `.url` (database helpdesk), `.create_database(name)`."""
    require_binaries("initdb", "pg_ctl", "postgres")
    server = PostgresServer(tmp_path_factory.mktemp("postgres")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_twilio():
    """The fake Twilio REST server for the whole session; tests should use `twilio_api`, which resets it."""
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def twilio_api(fake_twilio):
    """The session's fake Twilio, reset (messages, failures, opt-outs, callbacks) before each test."""
    fake_twilio.reset()
    yield fake_twilio
    fake_twilio.reset()
