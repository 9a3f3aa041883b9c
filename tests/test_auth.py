"""Console login, CSRF and roles, through the test client and in a real browser."""
from __future__ import annotations

import re

import pytest

from conftest import login
from support.browser import log_in


@pytest.fixture
def database_url(sqlite_url):
    return sqlite_url  # auth does not depend on the database engine; the service tests cover both


def test_a_user_logs_in_with_the_right_password_only(client, make_user):
    email, password = make_user("admin")
    assert login(client, email, "wrong").status_code == 401
    assert client.get("/admin/users").status_code == 302  # still signed out
    assert login(client, email, password).status_code == 302
    assert client.get("/admin/users").status_code == 200


def test_posts_without_the_csrf_token_are_refused(client, make_user):
    email, password = make_user("admin")
    login(client, email, password)
    response = client.post("/admin/users", data={"email": "x@example.org", "name": "X", "role": "expert"})
    assert response.status_code == 400
    assert b"x@example.org" not in client.get("/admin/users").data


def test_roles_limit_what_a_user_can_open(client, make_user):
    email, password = make_user("planner")
    login(client, email, password)
    assert client.get("/admin/users").status_code == 403


def test_passwords_are_stored_hashed(rt, make_user):
    from sqlalchemy import select

    from helpdesk.models import User

    email, password = make_user("expert")
    with rt.db.session_scope() as session:
        stored = session.scalars(select(User).where(User.email == email)).one().password_hash
    assert password not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_an_admin_adds_an_expert_in_the_browser(live_server, page, make_user):
    email, password = make_user("admin")
    log_in(page, live_server.url, email, password)
    page.wait_for_url(re.compile(r"/admin/users$"))
    page.fill("input[name=name]", "Ayesha Khan")
    page.fill("input[name=email]", "ayesha@example.org")
    page.select_option("select[name=role]", "expert")
    page.click("text=Add user")
    assert "Created ayesha@example.org (expert)" in page.inner_text(".flash")
    assert "Ayesha Khan" in page.inner_text("table")
