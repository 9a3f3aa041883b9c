"""Shared fixtures: a real app on SQLite or PostgreSQL, the fake Twilio REST server, signed webhooks."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from support.browser import LiveServer, browser, page  # noqa: F401
from support.fixtures import fake_twilio, postgres_server, redis_server, twilio_api  # noqa: F401
from support.teachers import ACCOUNT_SID, AUTH_TOKEN, SMS_FROM, WHATSAPP_FROM, Phone

FIXTURES = Path(__file__).parent / "fixtures"
TEST_KB = FIXTURES / "kb"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    # The app reads the environment once; tests pass settings explicitly, and the twilio SDK must not
    # pick up a developer's real credentials or edge settings.
    for name in ("DATABASE_URL", "REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_EDGE",
                 "TWILIO_REGION", "PUBLIC_BASE_URL", "SECRET_KEY", "KNOWLEDGE_BASE_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'helpdesk.sqlite3'}"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'helpdesk.sqlite3'}"


def twilio_settings(twilio_api) -> dict:
    return dict(
        twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN, twilio_api_base_url=twilio_api.base_url,
        twilio_sms_from=SMS_FROM, twilio_whatsapp_from=WHATSAPP_FROM, twilio_http_timeout=3.0,
        public_base_url="http://localhost", send_backoff_seconds=0.05, sender_messages_per_second=1000.0,
    )


@pytest.fixture
def make_app(tmp_path, twilio_api):
    """make_app(database_url, **overrides) -> a Flask app with tables created, talking to the fake Twilio."""
    from helpdesk import create_app

    def _make(database_url: str, **overrides):
        settings = dict(data_dir=tmp_path, database_url=database_url, knowledge_base_dir=TEST_KB,
                        **twilio_settings(twilio_api))
        settings.update(overrides)
        app = create_app(settings)
        app.extensions["helpdesk"].db.create_all()
        return app

    return _make


@pytest.fixture
def app(make_app, database_url):
    return make_app(database_url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def rt(app):
    return app.extensions["helpdesk"]


@pytest.fixture
def teacher(client):
    """An SMS teacher whose messages are signed webhook posts."""
    return Phone(client, "+923001234567")


@pytest.fixture
def wa_teacher(client):
    return Phone(client, "+923331234567", whatsapp=True)


@pytest.fixture
def live_server(app):
    """The app on a real loopback port, for the browser."""
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture
def make_user(rt):
    """make_user(role, email=None) -> (email, password) of a new console user."""
    from helpdesk.web.admin import create_user

    def _make(role: str, email: str | None = None, name: str | None = None):
        email = email or f"{role}-{uuid.uuid4().hex[:6]}@example.org"
        with rt.db.session_scope() as session:
            _, password = create_user(session, email=email, name=name or role.title(), role=role,
                                      password="correct horse battery")
        return email, password

    return _make


def login(client, email: str, password: str):
    """Log a Flask test client in through the real form (with its CSRF token)."""
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


# --- the production path: PostgreSQL + Redis + the real `helpdesk worker` process ---------------------

@pytest.fixture
def pg_url(postgres_server):
    return postgres_server.create_database(f"p_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def redis_url(redis_server):
    redis_server.flushall()
    return redis_server.url


@pytest.fixture
def prod_app(make_app, pg_url, redis_url):
    """The production configuration: replies are sent by separate worker processes; sweeps act at once."""
    return make_app(pg_url, redis_url=redis_url, sweep_after_seconds=0)


@pytest.fixture
def worker(tmp_path, pg_url, redis_url, twilio_api):
    """worker(*args) starts a real `helpdesk worker` process on the test's PostgreSQL, Redis and fake Twilio."""
    from support.processes import WorkerProcess, service_env

    started = []

    def start(*args: str):
        proc = WorkerProcess(service_env(pg_url, redis_url, twilio_api), tmp_path / f"worker{len(started)}.log")
        started.append(proc.start(*args))
        return proc

    yield start
    for proc in started:
        proc.stop()
