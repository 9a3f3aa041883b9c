"""Planner console: role checks, exports, no identifiers, bad periods and filters answered in words, and a real
browser filtering and downloading the CSV at desktop and phone widths."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from analytics.demo import seed_if_empty
from analytics.models import Interaction
from conftest import login
from support.browser import log_in

TODAY = date.today()


@pytest.fixture
def seeded(rt):
    seed_if_empty(rt.db, today=TODAY)
    return rt


def test_planner_sees_the_dashboard_and_experts_do_not(client, seeded, make_user):
    login(client, *make_user("expert"))
    assert client.get("/planner/").status_code == 403
    client = client.application.test_client()
    assert client.get("/planner/").status_code == 302  # not signed in: to the login page
    login(client, *make_user("planner"))
    page = client.get("/planner/?by=month")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for section in ("weekly-volume", "top-needs", "heatmap", "content-gaps", "challenges", "<svg"):
        assert section in html


def test_planner_menu_links_the_dashboard(client, seeded, make_user):
    login(client, *make_user("planner"))
    html = client.get("/planner/").get_data(as_text=True)
    assert 'href="/planner/"' in html and "CPD needs" in html


def test_exports_follow_the_filters_and_hold_no_identifiers(client, seeded, make_user, teacher):
    teacher.send("My name is Ayesha Khan and my number is 0300 1234567")  # a real teacher in the database
    login(client, *make_user("planner"))
    start, end = (TODAY - timedelta(days=27)).isoformat(), TODAY.isoformat()
    response = client.get(f"/planner/needs.csv?from={start}&to={end}&district=Lahore")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff"), "a UTF-8 BOM, so that Excel shows Urdu"
    rows = list(csv.DictReader(io.StringIO(body[1:])))
    assert rows and {r["scope"] for r in rows} <= {"overall", "Lahore"}
    assert all(int(r["teachers"]) >= seeded.settings.report_min_teachers for r in rows)
    with seeded.db.session_scope() as session:
        keys = set(session.scalars(select(Interaction.teacher_key).distinct()))
    for path in (f"/planner/needs.csv?from={start}&to={end}", f"/planner/report.json?from={start}&to={end}",
                 f"/planner/report?from={start}&to={end}", f"/planner/?from={start}&to={end}"):
        body = client.get(path).get_data(as_text=True)
        assert "+923001234567" not in body and "1234567" not in body and "Ayesha" not in body
        assert not [k for k in keys if k in body], "no pseudonymous teacher ids either"


BAD_QUERIES = [  # (query, the field the answer names, words of the message)
    ("from=2025-03-01&to=2025-02-01", "from", "is after"),
    ("from=2025-02-30", "from", "YYYY-MM-DD"),
    ("to=yesterday", "to", "YYYY-MM-DD"),
    ("from=1999-01-01", "from", "Dates must lie between"),
    ("district=Atlantis", "district", "cannot be"),
    ("level=university", "level", "cannot be"),
    ("subject=astrology", "subject", "cannot be"),
    ("by=decade", "by", "cannot be"),
    ("colour=red", "colour", "There is no filter"),
]


@pytest.mark.parametrize("query, field, words", BAD_QUERIES)
def test_bad_periods_and_filters_are_answered_in_words(client, seeded, make_user, query, field, words):
    login(client, *make_user("planner"))
    page = client.get(f"/planner/?{query}")
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and page.mimetype == "text/html"
    assert 'id="query-error"' in html and words in html.replace("&#39;", "'")
    assert 'id="filters"' in html and 'id="weekly-volume"' in html  # the dashboard, with the default shown

    csv_answer = client.get(f"/planner/needs.csv?{query}")
    assert csv_answer.status_code == 400 and csv_answer.mimetype == "text/plain"
    text = csv_answer.get_data(as_text=True)
    assert text.startswith(f"Bad request ({field}): ") and words in text and len(text) < 300

    json_answer = client.get(f"/planner/report.json?{query}")
    assert json_answer.status_code == 400
    assert json_answer.get_json()["field"] == field and words in json_answer.get_json()["error"]

    printable = client.get(f"/planner/report?{query}")
    html = printable.get_data(as_text=True)
    assert printable.status_code == 400 and printable.mimetype == "text/html"
    assert "This report cannot be made" in html and f"<strong>{field}</strong>" in html
    assert 'href="/planner/"' in html


def test_known_filters_are_accepted(client, seeded, make_user):
    login(client, *make_user("planner"))
    for query in ("district=Lahore&level=primary&subject=maths&by=month", "by=week", ""):
        assert client.get(f"/planner/needs.csv?{query}").status_code == 200, query
    html = client.get("/planner/suggestions?from=2026-03-01&to=2026-02-01")
    assert html.status_code == 400 and "is after" in html.get_data(as_text=True).replace("&#39;", "'")


def test_k_is_a_setting(make_app, sqlite_url, make_user):
    app = make_app(sqlite_url, report_min_teachers=10_000)
    seed_if_empty(app.extensions["helpdesk"].db, today=TODAY)
    client = app.test_client()
    email, password = _make_user(app, "planner")
    login(client, email, password)
    rows = client.get("/planner/needs.csv").get_data(as_text=True).strip().splitlines()
    assert rows == [rows[0]]  # every cell is below k: the header alone


WIDTHS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("width", WIDTHS)
def test_browser_planner_filters_and_downloads_the_csv(width, seeded, live_server, browser, client, make_user):
    email, password = make_user("planner")
    context = browser.new_context(viewport=WIDTHS[width], accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, live_server.url, email, password)
    page.wait_for_load_state()
    page.goto(live_server.url + "/planner/")
    assert page.locator("#top-needs table tr").count() > 2
    assert page.locator("#heatmap td").count() > 10
    login(client, email, password)  # the same planner's downloads, fetched directly to compare
    unfiltered = client.get("/planner/needs.csv").get_data()

    # Dates typed the wrong way round: said on the page (status 400) above the default view, not a bare error.
    start, end = TODAY - timedelta(days=60), TODAY - timedelta(days=10)
    page.fill("input[name=from]", end.isoformat())
    page.fill("input[name=to]", start.isoformat())
    with page.expect_response(lambda r: "/planner/?" in r.url) as answer:
        page.click("#filters button[type=submit]")
    assert answer.value.status == 400
    expect(page.locator("#query-error")).to_contain_text("is after")
    expect(page.locator("#filters")).to_be_visible()

    # Put right, with a district and months: the page, its links and the download all follow the filters.
    page.fill("input[name=from]", start.isoformat())
    page.fill("input[name=to]", end.isoformat())
    page.select_option("select[name=district]", "Lahore")
    page.select_option("select[name=by]", "month")
    with page.expect_response(lambda r: "/planner/?" in r.url) as answer:
        page.click("#filters button[type=submit]")
    assert answer.value.status == 200
    page.wait_for_url(re.compile(r".*district=Lahore.*"))
    expect(page.locator("#query-error")).to_have_count(0)
    expect(page.locator("select[name=district]")).to_have_value("Lahore")
    expect(page.locator("select[name=by]")).to_have_value("month")
    period_start = page.locator("input[name=from]").input_value()
    assert period_start.endswith("-01") and period_start <= start.isoformat()  # widened to whole months
    for link in ("#export-csv", "#export-json", "#print-report"):
        assert "district=Lahore" in page.locator(link).get_attribute("href"), link
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    period_end = page.locator("input[name=to]").input_value()
    assert download.suggested_filename == f"cpd-needs-{period_start}-{period_end}.csv"
    raw = open(download.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf")  # the UTF-8 BOM Excel needs to read Urdu
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows and {r["scope"] for r in rows} == {"overall", "Lahore"}
    query = page.url.split("?", 1)[1]
    assert raw == client.get(f"/planner/needs.csv?{query}").get_data()  # the page's own filters
    assert raw != unfiltered
    context.close()


def _make_user(app, role):
    from helpdesk.web.admin import create_user

    with app.extensions["helpdesk"].db.session_scope() as session:
        create_user(session, email=f"{role}-k@example.org", name=role, role=role, password="correct horse battery")
    return f"{role}-k@example.org", "correct horse battery"
