"""The planner dashboard's charts: the numbers handed to Chart.js, the partial week, the CSV's BOM, a friendly
message for a period that ends before it starts, and the chart drawn in real Chromium."""
from __future__ import annotations

import html as html_lib
import json
import re
from datetime import date, timedelta

import pytest

from analytics.demo import seed_if_empty
from conftest import login
from support.browser import log_in

TODAY = date.today()


@pytest.fixture
def seeded(rt):
    seed_if_empty(rt.db, today=TODAY)
    return rt


def chart_json(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="weekly-data">(.*?)</script>', html, re.S)
    assert block, "the dashboard hands the weekly numbers to the chart as a JSON block"
    return json.loads(html_lib.unescape(block.group(1)))


def test_the_chart_data_matches_the_published_weekly_numbers(client, seeded, make_user):
    login(client, *make_user("planner"))
    start, end = (TODAY - timedelta(days=27)).isoformat(), TODAY.isoformat()
    data = chart_json(client.get(f"/planner/?from={start}&to={end}").get_data(as_text=True))
    published = client.get(f"/planner/report.json?from={start}&to={end}").get_json()["weekly_volume"]
    assert data["labels"] == [w["period"] for w in published]
    assert data["questions"] == [None if w["suppressed"] else w["questions"] for w in published]
    assert data["teachers"] == [None if w["suppressed"] else w["teachers"] for w in published]
    assert data["suppressed"] == [w["suppressed"] for w in published]
    assert any(q for q in data["questions"]), "the demo data publishes some weeks"
    # The week holding today is still running; every earlier week is over.
    expected = [date.fromisoformat(m) + timedelta(days=6) >= TODAY for m in data["labels"]]
    assert data["partial"] == expected and data["partial"][-1] and not any(data["partial"][:-1])


def test_a_past_period_has_no_partial_week(client, seeded, make_user):
    login(client, *make_user("planner"))
    start, end = (TODAY - timedelta(days=70)), (TODAY - timedelta(days=42))
    data = chart_json(client.get(f"/planner/?from={start}&to={end}").get_data(as_text=True))
    assert data["labels"] and not any(data["partial"])


def test_the_page_has_a_score_header_a_heatmap_legend_and_a_weekly_table(client, seeded, make_user):
    login(client, *make_user("planner"))
    html = client.get("/planner/").get_data(as_text=True)
    assert "<th>Score</th>" in html
    assert 'id="heatmap-legend"' in html and "hidden (fewer than" in html
    table = re.search(r'<table class="pl-weeks-table[^>]*>(.*?)</table>', html, re.S).group(1)
    data = chart_json(html)
    for label, questions in zip(data["labels"], data["questions"]):
        assert label in table and (questions is None or f">{questions}<" in table)
    assert "partial: the week is not over yet" in table


def test_the_csv_download_starts_with_a_utf8_bom(client, seeded, make_user):
    login(client, *make_user("planner"))
    raw = client.get("/planner/needs.csv").get_data()
    assert raw.startswith(b"\xef\xbb\xbfscope,rank,area")
    assert raw.decode("utf-8-sig").count("\ufeff") == 0, "one BOM only, at the very start"


def test_from_after_to_is_explained_on_the_page(client, seeded, make_user):
    login(client, *make_user("planner"))
    response = client.get("/planner/?from=2026-03-01&to=2026-02-01")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "&#39;From&#39; is after &#39;to&#39;" in html and "Showing the last four weeks instead" in html
    assert 'id="filters"' in html and 'id="weekly-volume"' in html  # the whole dashboard, not a bare error


def test_browser_draws_the_weekly_chart_from_our_static_chart_js(seeded, live_server, page, make_user):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    email, password = make_user("planner")
    log_in(page, live_server.url, email, password)
    page.wait_for_load_state()
    page.goto(live_server.url + "/planner/")
    page.wait_for_function("() => window.Chart && Chart.getChart('weekly-chart')")
    assert not errors
    drawn = page.evaluate("""() => { const c = Chart.getChart('weekly-chart');
        return {labels: c.data.labels, data: c.data.datasets[0].data,
                legend: c.legend.legendItems.map(i => i.text)}; }""")
    data = chart_json(page.content())
    assert drawn["data"] == data["questions"]
    assert drawn["labels"][-1] == [data["labels"][-1], "(partial)"]
    assert "Week not over yet (partial)" in drawn["legend"]
    assert page.locator("#weekly-volume .pl-svg-fallback").is_hidden()
    assert page.locator("#weekly-chart").is_visible()
    assert all(url.startswith(live_server.url) for url in requests), "nothing from a CDN"
