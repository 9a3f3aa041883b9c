"""Issue 12: webhook token at start, safe redirects, login throttling, revocable sessions, headers, small gaps.

Flask's test client is enough here (headers, redirects, status codes); the database engine does not change
any of it, so these run on SQLite (the erasure and planner tests run on both databases).
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from support.teachers import AUTH_TOKEN, Phone, signed_post

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def database_url(sqlite_url):
    return sqlite_url


def csrf_of(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def post_login(client, email: str, password: str, next_query: str = ""):
    token = csrf_of(client)
    return client.post("/login" + next_query, data={"email": email, "password": password, "csrf_token": token})


# --- 3. the webhook token ------------------------------------------------------------------------------

@pytest.mark.parametrize("token", ["", "dev-auth-token-not-for-production"])
def test_the_web_app_refuses_to_start_without_a_real_auth_token(make_app, database_url, token):
    from helpdesk.settings import SettingsError

    with pytest.raises(SettingsError, match="TWILIO_AUTH_TOKEN"):
        make_app(database_url, twilio_auth_token=token)


def test_gunicorn_style_start_without_the_token_stops_with_a_message_naming_it(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HELPDESK_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", "from helpdesk import create_app; create_app()"], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "TWILIO_AUTH_TOKEN is not set" in result.stderr


def test_a_webhook_signed_with_the_development_token_is_refused_outside_the_demo(client, rt):
    from helpdesk.models import InboundMessage
    from helpdesk.settings import DEV_AUTH_TOKEN

    form = Phone(client, "+923001234567").form("hello")
    assert signed_post(client, "/twilio/inbound", form, token=DEV_AUTH_TOKEN).status_code == 403
    with rt.db.session_scope() as session:
        assert session.scalars(select(InboundMessage)).first() is None
    assert signed_post(client, "/twilio/inbound", form, token=AUTH_TOKEN).status_code == 200


def test_only_the_demo_runs_on_the_development_token(make_app, database_url, client):
    from helpdesk.settings import DEV_AUTH_TOKEN

    demo = make_app(database_url, twilio_auth_token="", demo=True)
    assert demo.extensions["helpdesk"].settings.twilio_auth_token == DEV_AUTH_TOKEN
    form = Phone(client, "+923001234567").form("hello")
    assert signed_post(demo.test_client(), "/twilio/inbound", form, token=DEV_AUTH_TOKEN).status_code == 200


# --- 2. redirect after login ---------------------------------------------------------------------------

HOSTILE_NEXT = [
    "/%09/evil.example",              # tab: browsers drop it and go to //evil.example
    "//evil.example",
    "///evil.example",
    "/%5Cevil.example",               # backslash: read as a slash
    "%5C%5Cevil.example",
    "/%0D%0A/evil.example",
    "/%00/evil.example",
    "/%E2%80%A8/evil.example",        # a Unicode line separator
    "%09//evil.example",
    "https://evil.example/",
    "http:%2F%2Fevil.example",
    "javascript:alert(1)",
    "%2F%2Fevil.example",
    "/%252F%252Fevil.example",        # double encoded
    "/%25252F%25252Fevil.example",
    "evil.example",
    "",
]


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
def test_login_never_redirects_off_site(client, make_user, hostile):
    email, password = make_user("admin")
    response = post_login(client, email, password, f"?next={hostile}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("local", ["/planner/?from=2026-01-05&to=2026-02-01", "/console/", "/admin/users"])
def test_login_returns_to_a_local_page(client, make_user, local):
    from urllib.parse import quote

    email, password = make_user("admin")
    response = post_login(client, email, password, f"?next={quote(local)}")
    assert response.headers["Location"] == local


# --- 5. brute force ------------------------------------------------------------------------------------

def test_wrong_passwords_for_one_account_are_throttled_with_retry_after(make_app, database_url):
    app = make_app(database_url, login_limit_per_account="3 per minute", login_limit_per_address="50 per minute")
    from helpdesk.web.admin import create_user

    with app.extensions["helpdesk"].db.session_scope() as session:
        create_user(session, email="a@example.org", name="A", role="admin", password="correct horse battery")
        create_user(session, email="b@example.org", name="B", role="admin", password="correct horse battery")
    client = app.test_client()
    assert [post_login(client, "a@example.org", "guess").status_code for _ in range(3)] == [401] * 3
    blocked = post_login(client, "A@example.org ", "correct horse battery")  # even the right one, any spelling
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in blocked.get_data(as_text=True)
    assert post_login(client, "b@example.org", "correct horse battery").status_code == 302  # others unaffected


def test_one_client_address_guessing_many_accounts_is_throttled(make_app, database_url):
    app = make_app(database_url, login_limit_per_account="50 per minute", login_limit_per_address="4 per minute")
    client = app.test_client()
    codes = [post_login(client, f"user{n}@example.org", "guess").status_code for n in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert post_login(other, "user9@example.org", "guess").status_code == 401


def test_throttle_counts_live_in_redis_when_it_is_configured(make_app, database_url, redis_url, redis_server):
    import redis

    app = make_app(database_url, redis_url=redis_url, login_limit_per_account="2 per minute")
    client = app.test_client()
    assert [post_login(client, "x@example.org", "guess").status_code for _ in range(3)] == [401, 401, 429]
    keys = redis.Redis.from_url(redis_url).keys("*helpdesk-login*")
    assert keys, "the counts should be in Redis"
    # A second web process (another app on the same Redis) sees the same counts.
    second = make_app(database_url, redis_url=redis_url, login_limit_per_account="2 per minute")
    assert post_login(second.test_client(), "x@example.org", "guess").status_code == 429


def test_an_unknown_email_costs_the_same_password_hash_as_a_known_one(client, make_user, monkeypatch):
    email, _ = make_user("expert")
    calls = []
    real_scrypt = hashlib.scrypt

    def counting_scrypt(*args, **kwargs):
        calls.append(1)
        return real_scrypt(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)  # a spy on the standard library, not our code
    post_login(client, "nobody@example.org", "guess")  # the first unknown email also makes the dummy hash
    calls.clear()
    post_login(client, "nobody-else@example.org", "guess")
    unknown = len(calls)
    calls.clear()
    post_login(client, email, "guess")
    assert unknown == len(calls) == 1


# --- 6. sessions -----------------------------------------------------------------------------------------

def cookie(client) -> str:
    return client.get_cookie("session").value


def with_cookie(app, value: str):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def test_a_cookie_copied_before_logout_no_longer_opens_the_console(app, client, make_user):
    email, password = make_user("admin")
    assert post_login(client, email, password).status_code == 302
    copied = cookie(client)
    assert with_cookie(app, copied).get("/admin/users").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_of(client, "/admin/users")})
    assert with_cookie(app, copied).get("/admin/users").status_code == 302


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app, make_user):
    email, password = make_user("admin")
    here, elsewhere = app.test_client(), app.test_client()
    post_login(here, email, password)
    post_login(elsewhere, email, password)
    token = csrf_of(here, "/account/password")
    short = here.post("/account/password", data={"csrf_token": token, "current_password": password,
                                                 "new_password": "short-pw", "confirm_password": "short-pw"})
    assert short.status_code == 400 and "at least 10" in short.get_data(as_text=True)
    changed = here.post("/account/password", data={"csrf_token": token, "current_password": password,
                                                   "new_password": "a longer passphrase",
                                                   "confirm_password": "a longer passphrase"})
    assert changed.status_code == 302
    assert here.get("/admin/users").status_code == 200
    assert elsewhere.get("/admin/users").status_code == 302
    assert post_login(app.test_client(), email, "a longer passphrase").status_code == 302


def test_deactivating_a_user_ends_their_sessions_for_good(app, make_user):
    admin_email, admin_password = make_user("admin")
    email, password = make_user("planner")
    admin, planner = app.test_client(), app.test_client()
    post_login(admin, admin_email, admin_password)
    post_login(planner, email, password)
    copied = cookie(planner)
    assert planner.get("/planner/").status_code == 200
    from helpdesk.models import User

    with app.extensions["helpdesk"].db.session_scope() as session:
        user_id = session.scalars(select(User.id).where(User.email == email)).one()
    toggle = {"csrf_token": csrf_of(admin, "/admin/users")}
    admin.post(f"/admin/users/{user_id}/active", data=toggle)
    assert planner.get("/planner/").status_code == 302
    admin.post(f"/admin/users/{user_id}/active", data=toggle)  # enabled again: the old cookie stays dead
    assert with_cookie(app, copied).get("/planner/").status_code == 302


def test_an_idle_session_expires(make_app, database_url, make_user):
    app = make_app(database_url, session_idle_minutes=30)
    from helpdesk.web.admin import create_user

    with app.extensions["helpdesk"].db.session_scope() as session:
        create_user(session, email="idle@example.org", name="I", role="admin", password="correct horse battery")
    client = app.test_client()
    post_login(client, "idle@example.org", "correct horse battery")
    with client.session_transaction() as cookie_session:  # Flask's testing hook: as if 29 minutes passed
        cookie_session["seen"] = int(time.time()) - 29 * 60
    assert client.get("/admin/users").status_code == 200
    with client.session_transaction() as cookie_session:
        cookie_session["seen"] = int(time.time()) - 31 * 60
    assert client.get("/admin/users").status_code == 302


@pytest.mark.parametrize("base, secure", [("https://helpdesk.example.org", True), ("http://localhost", False)])
def test_cookies_are_secure_when_served_on_https(make_app, database_url, base, secure):
    app = make_app(database_url, public_base_url=base)
    set_cookie = app.test_client().get("/login").headers.get("Set-Cookie", "")
    assert "session=" in set_cookie and ("; Secure" in set_cookie) is secure
    assert ("Strict-Transport-Security" in app.test_client().get("/login").headers) is secure


# --- 7. headers, passwords, numbers, metrics ------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/healthz", "/admin/users", "/static/console.css"])
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_short_passwords_are_refused(rt):
    from helpdesk.web.admin import create_user

    with rt.db.session_scope() as session:
        with pytest.raises(ValueError, match="at least 10"):
            create_user(session, email="short@example.org", name="S", role="expert", password="123456789")


def session_contents(app, client) -> str:
    serializer = app.session_interface.get_signing_serializer(app)
    return json.dumps(serializer.loads(cookie(client)))


def test_passwords_are_never_echoed_or_kept_in_the_cookie(app, client, make_user):
    email, password = make_user("admin")
    post_login(client, email, password)
    token = csrf_of(client, "/admin/users")
    typed = "typed secret passphrase"
    response = client.post("/admin/users", data={"csrf_token": token, "email": "new@example.org", "name": "N",
                                                 "role": "expert", "password": typed})
    assert response.status_code == 201 and "Created new@example.org" in response.get_data(as_text=True)
    assert typed not in response.get_data(as_text=True) and typed not in session_contents(app, client)

    generated_page = client.post("/admin/users", data={"csrf_token": token, "email": "gen@example.org",
                                                       "name": "G", "role": "expert"}).get_data(as_text=True)
    generated = re.search(r"shown only now: <code>([^<]+)</code>", generated_page).group(1)
    assert len(generated) >= 10 and generated not in session_contents(app, client)
    assert generated not in client.get("/admin/users").get_data(as_text=True)  # shown once only
    assert post_login(app.test_client(), "gen@example.org", generated).status_code == 302


@pytest.mark.parametrize("phone", ["+1234", "12345", "+9230012", "+92300123", "+923001234", "03001234567",
                                   "+923001234567", "+4915112345678901"])
def test_numbers_of_any_length_are_masked(phone):
    from helpdesk.privacy import mask_phone

    masked = mask_phone(phone)
    assert len(masked) == len(phone) and masked != phone
    assert masked.count("*") >= min(len(phone) - 9, 4) and masked.count("*") * 2 >= min(len(phone), 8)


def test_log_lines_never_carry_a_whole_number(capsys):
    from helpdesk.logs import JsonFormatter

    record = logging.LogRecord("twilio.http_client", logging.INFO, __file__, 1,
                               "POST /Messages To=whatsapp:+923001234567 short +92300123 local 03001234567 "
                               "ticket 1234 on 2026-12-01", None, None)
    line = json.loads(JsonFormatter().format(record))["msg"]
    for number in ("923001234567", "92300123", "03001234567"):
        assert number not in line
    assert "ticket 1234 on 2026-12-01" in line


@pytest.mark.parametrize("raw", ["+۹۲۳۰۰۱۲۳۴۵۶۷", "+٩٢٣٠٠١٢٣٤٥٦٧", "+92３００1234567", "+९२३००१२३४५६७"])
def test_non_ascii_digits_are_not_phone_numbers(raw, client, rt):
    from helpdesk.channels.twilio import InvalidInbound, normalise_phone
    from helpdesk.models import InboundMessage

    with pytest.raises(InvalidInbound):
        normalise_phone(raw)
    response = signed_post(client, "/twilio/inbound", Phone(client, raw).form("hello"))
    assert response.status_code == 400
    with rt.db.session_scope() as session:
        assert session.scalars(select(InboundMessage)).first() is None


def test_expert_phones_must_be_ascii_digits(rt, make_user):
    from helpdesk.models import User
    from helpdesk.web.experts_admin import save_expert

    email, _ = make_user("expert")
    with rt.db.session_scope() as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        with pytest.raises(ValueError):
            save_expert(session, user=user, phone="+۹۲۳۰۰۱۲۳۴۵۶۷", subjects=["maths"])


def test_metrics_need_the_token_when_one_is_set(make_app, database_url):
    open_app = make_app(database_url)
    assert open_app.test_client().get("/metrics").status_code == 200
    app = make_app(database_url, metrics_token="s3cret-metrics")
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"})
    assert ok.status_code == 200 and "helpdesk_inbound_messages" in ok.get_data(as_text=True)


def test_the_settings_read_the_new_variables():
    from helpdesk.settings import Settings

    settings = Settings.from_env({"METRICS_TOKEN": "t", "SESSION_IDLE_MINUTES": "15",
                                  "LOGIN_LIMIT_PER_ACCOUNT": "3 per minute", "PUBLIC_BASE_URL": "https://h.example"})
    assert (settings.metrics_token, settings.session_idle_minutes, settings.login_limit_per_account) == \
        ("t", 15, "3 per minute")
    assert settings.secure_cookies and settings.twilio_auth_token == ""
