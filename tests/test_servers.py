"""The real redis-server and PostgreSQL helpers start, answer, stop and leave nothing behind."""
from __future__ import annotations

import psycopg
import pytest
import redis

from support.fixtures import require_binaries
from support.servers import PostgresServer, RedisServer


def test_redis_starts_stops_and_restarts_on_the_same_port(tmp_path):
    require_binaries("redis-server")
    server = RedisServer(tmp_path).start()
    try:
        client = redis.Redis.from_url(server.url, socket_timeout=2)
        assert client.ping()
        client.set("k", "v")
        server.flushall()
        assert client.get("k") is None

        server.stop()
        assert not server.is_running()
        with pytest.raises(redis.ConnectionError):
            redis.Redis.from_url(server.url, socket_timeout=2).ping()

        url = server.url
        server.restart()
        assert server.url == url and server.is_running()
        assert redis.Redis.from_url(url, socket_timeout=2).ping()
    finally:
        server.stop()


def test_postgres_starts_with_a_helpdesk_database_and_creates_more(tmp_path):
    require_binaries("initdb", "pg_ctl", "postgres")
    server = PostgresServer(tmp_path).start()
    try:
        with psycopg.connect(server.url.replace("+psycopg", "")) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
            assert conn.execute("show fsync").fetchone() == ("off",)
        other = server.create_database("test_isolated")
        with psycopg.connect(other.replace("+psycopg", "")) as conn:
            assert conn.execute("select current_database()").fetchone() == ("test_isolated",)
    finally:
        server.stop()
    assert not server.is_running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.url.replace("+psycopg", ""), connect_timeout=2)


def test_missing_binaries_skip_locally_but_fail_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y postgresql"):
        require_binaries("no-such-pg-tool")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(RuntimeError, match="no-such-pg-tool"):
        require_binaries("no-such-pg-tool")
