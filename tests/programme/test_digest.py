"""The weekly planner digest on SQLite and PostgreSQL: a real SMTP server (aiosmtpd on loopback) receives the
HTML email with its inline charts and the CSV attached, once per week, only for planners who opted in on
their account page; with no SMTP settings nothing is sent."""
from __future__ import annotations

import csv
import io
import logging
import re

import pytest
from datetime import date, datetime, timedelta


from analytics import service
from analytics.demo import seed_if_empty
from conftest import login
from support.smtp import smtp_server  # noqa: F401
from support.teachers import Phone

K = 3
TODAY = date.today()
# Next Monday 03:00 UTC = 08:00 in Karachi, the default DIGEST_SCHEDULE: its digest covers the four weeks up
# to the Sunday before, so today's suggestions and the demo data (which ends today) are in it.
MONDAY = datetime.combine(TODAY + timedelta(days=7 - TODAY.weekday()), datetime.min.time()).replace(hour=3)
SUGGESTIONS = {  # three teachers per language: one publishable cluster each
    "LANG english": "SUGGEST more science experiment videos for primary classes, call me on 0300 1234567",
    "LANG urdu": "تجویز پرائمری جماعتوں کے لیے سائنس کے تجربات کی مزید ویڈیوز، فون 0300 1234567",
    "LANG roman": "TAJVEEZ primary classon ke liye science tajurbat ki mazeed videos, 0300 1234567",
}
CLUSTER_WORDS = ("science experiment videos", "سائنس کے تجربات", "science tajurbat")


def _smtp(server) -> dict:
    host, port, _ = server
    return dict(smtp_host=host, smtp_port=port, smtp_from="helpdesk@example.org", smtp_starttls=False)


def _opt_in(client, email: str, password: str, on: bool = True) -> None:
    login(client, email, password)
    page = client.get("/account/password").get_data(as_text=True)
    assert 'id="digest"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, **({"digest": "on"} if on else {})}
    assert client.post("/account/digest", data=data).status_code == 302


def _planner(rt, client, make_user, opt_in: bool):
    email, password = make_user("planner")
    _opt_in(client.application.test_client(), email, password, on=opt_in)
    return email


def _suggest(client, rt) -> None:
    for n, (lang, text) in enumerate(SUGGESTIONS.items()):
        for i in range(K):
            phone = Phone(client, f"+92345{n}1100{i:02d}")
            phone.send(lang)
            phone.send(text)
    rt.jobs.drain(include_delayed=False)


def _run_digest(rt, when: datetime) -> None:
    """The scheduler's tick at `when` (it holds the lease), then the queued job runs."""
    from workers.scheduler import PLANNER_DIGEST, SchedulerLease, tick

    assert tick(rt, SchedulerLease(rt.db, clock=lambda: when), PLANNER_DIGEST)
    rt.jobs.drain(include_delayed=False)


def test_the_digest_arrives_with_its_charts_and_the_csv(make_app, database_url, smtp_server, make_user_on):
    _, _, inbox = smtp_server
    app = make_app(database_url, report_min_teachers=K, **_smtp(smtp_server))
    rt, client = app.extensions["helpdesk"], app.test_client()
    seed_if_empty(rt.db, today=TODAY)
    _suggest(client, rt)
    wanted = _planner(rt, client, make_user_on(rt), opt_in=True)
    _planner(rt, client, make_user_on(rt), opt_in=False)

    _run_digest(rt, MONDAY)
    assert inbox.arrived.wait(10)
    assert [to for to, _ in inbox.messages] == [[wanted]], "only the planner who opted in"
    message = inbox.messages[0][1]
    assert message["From"] == "helpdesk@example.org" and "CPD needs digest" in message["Subject"]

    html = message.get_body(("html",)).get_content()
    assert html.count("<svg") >= 2 and "<rect" in html  # the dashboard's bars, drawn inline
    assert not re.search(r"\bsrc=|<link|<script|url\(|<img", html)  # nothing to fetch when it is opened
    with rt.db.session_scope() as session:
        page = service.build_page(session, period=service.default_period(MONDAY.date() - timedelta(days=1)), k=K)
    assert page.needs and page.needs[0].label_en in html
    for section in ("Top needs", "Questions per week", "Content gaps", "Suggestions (", "Session demand",
                    "No live sessions yet."):
        assert section in html
    for words in CLUSTER_WORDS:
        assert words in html, words
    assert "1234567" not in html and "+92" not in html and "[number]" in html

    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename().endswith(".csv") and attachment.get_content_type() == "text/csv"
    raw = attachment.get_payload(decode=True)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, so Excel reads Urdu
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows and tuple(rows[0]) == service.NEEDS_COLUMNS
    assert {r["area_label"] for r in rows if r["scope"] == "overall"} >= {page.needs[0].label_en}

    _run_digest(rt, MONDAY + timedelta(hours=1))  # a restart or a second scheduler in the same week
    assert len(inbox.messages) == 1
    _run_digest(rt, MONDAY + timedelta(days=7))  # the next week
    assert len(inbox.messages) == 2 and inbox.messages[1][0] == [wanted]


def test_no_email_without_smtp_settings_and_it_is_said_once(make_app, database_url, smtp_server, make_user_on,
                                                            caplog):
    from helpdesk import mail

    _, _, inbox = smtp_server
    app = make_app(database_url, report_min_teachers=K)  # no SMTP_HOST / SMTP_FROM
    rt, client = app.extensions["helpdesk"], app.test_client()
    _planner(rt, client, make_user_on(rt), opt_in=True)
    mail._told_unconfigured = False
    with caplog.at_level(logging.INFO, logger="helpdesk.mail"):
        _run_digest(rt, MONDAY)
        _run_digest(rt, MONDAY + timedelta(days=7))
    assert inbox.messages == []
    assert [r.getMessage() for r in caplog.records if r.name == "helpdesk.mail"] == [
        "email is not configured (SMTP_HOST and SMTP_FROM): the planner digest is not sent"]

    from helpdesk.models import User
    from sqlalchemy import select

    with rt.db.session_scope() as session:  # nothing claimed: once SMTP is set the week still goes
        assert session.scalars(select(User.digest_week).where(User.digest_opt_in.is_(True))).all() == [None]


def test_the_scheduler_sends_the_digest_weekly_at_the_configured_local_time():
    from helpdesk.settings import Settings
    from workers.scheduler import PLANNER_DIGEST, scheduler_jobs

    jobs = {job["id"]: job for job in scheduler_jobs(Settings(digest_schedule="thu 17:30"))}
    job = jobs["planner-digest"]
    assert job["args"] == (PLANNER_DIGEST,) and job["trigger"] == "cron"
    assert (job["day_of_week"], job["hour"], job["minute"]) == ("thu", 17, 30)


def test_only_planners_may_opt_in(client, make_user):
    login(client, *make_user("expert"))
    page = client.get("/account/password").get_data(as_text=True)
    assert 'id="digest"' not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/account/digest", data={"csrf_token": token, "digest": "on"}).status_code == 403


def test_the_real_worker_sends_the_digest_on_postgres_and_redis(make_app, pg_url, redis_url, twilio_api,
                                                               smtp_server, make_user_on, tmp_path):
    """The production path: the scheduler's tick puts the job on Redis, a `helpdesk worker` process sends it."""
    from support.processes import WorkerProcess, service_env

    host, port, inbox = smtp_server
    smtp = dict(SMTP_HOST=host, SMTP_PORT=port, SMTP_FROM="helpdesk@example.org", SMTP_STARTTLS="false",
                REPORT_MIN_TEACHERS=K)
    app = make_app(pg_url, redis_url=redis_url, report_min_teachers=K, **_smtp(smtp_server))
    rt, client = app.extensions["helpdesk"], app.test_client()
    seed_if_empty(rt.db, today=TODAY)
    wanted = _planner(rt, client, make_user_on(rt), opt_in=True)
    proc = WorkerProcess(service_env(pg_url, redis_url, twilio_api, **smtp), tmp_path / "worker.log").start()
    try:
        from workers.scheduler import PLANNER_DIGEST, SchedulerLease, tick

        assert tick(rt, SchedulerLease(rt.db, clock=lambda: MONDAY), PLANNER_DIGEST)
        assert inbox.arrived.wait(60), (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        proc.stop()
    [(to, message)] = inbox.messages
    assert to == [wanted] and "<svg" in message.get_body(("html",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_payload(decode=True).startswith(b"\xef\xbb\xbf")


@pytest.fixture
def make_user_on():
    """make_user for an app made inside the test (the shared make_user is bound to the `app` fixture)."""
    import uuid

    from helpdesk.web.admin import create_user

    def bind(rt):
        def make(role: str):
            email = f"{role}-{uuid.uuid4().hex[:6]}@example.org"
            with rt.db.session_scope() as session:
                _, password = create_user(session, email=email, name=role.title(), role=role,
                                          password="correct horse battery")
            return email, password
        return make
    return bind


def test_smtp_settings_come_from_the_environment_and_the_password_stays_out_of_reprs():
    from helpdesk import mail
    from helpdesk.settings import Settings, SettingsError

    settings = Settings.from_env({"SMTP_HOST": "mail.example.org", "SMTP_PORT": "2525", "SMTP_USER": "digest",
                                  "SMTP_PASSWORD": "s3cret-pass", "SMTP_FROM": "helpdesk@example.org",
                                  "SMTP_STARTTLS": "false", "DIGEST_SCHEDULE": "fri 09:15"})
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_user, settings.smtp_starttls) == (
        "mail.example.org", 2525, "digest", False)
    assert mail.configured(settings) and "s3cret-pass" not in repr(settings)
    assert not mail.configured(Settings.from_env({"SMTP_HOST": "mail.example.org"}))  # no sender: not set up
    assert Settings.from_env({}).smtp_starttls is True
    with pytest.raises(SettingsError):
        Settings.from_env({"SMTP_PORT": "twenty-five"})
