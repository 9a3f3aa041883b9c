"""axe-core in headless Chromium on the main pages, one role at a time: no "serious" or "critical" violations.

axe (tests/support/axe/axe.min.js, MPL-2.0, vendored: nothing downloads at run time) is injected by the test
only; the app never serves it."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from analytics.demo import seed_if_empty
from support.browser import log_in
from support.experts import add_expert, open_ticket_for

AXE = Path(__file__).parent / "support" / "axe" / "axe.min.js"
TEACHER, EXPERT = "+923001234567", "+923110000001"
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}


def serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations""")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result if v["impact"] in ("serious", "critical")]


def checked(page, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return [f"{url}: {v}" for v in serious_violations(page)]


@pytest.fixture
def sized_page(browser, request):
    width, height = WIDTHS[request.param]
    # add_script_tag inlines axe, which our CSP (script-src 'self') rightly refuses: the test context alone
    # bypasses it (tests/analytics/test_planner_charts.py checks the pages' own scripts run under the CSP).
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.mark.parametrize("sized_page", list(WIDTHS), indirect=True)
def test_main_pages_have_no_serious_accessibility_violations(live_server, sized_page, rt, make_user,
                                                             twilio_api):
    page, base = sized_page, live_server.url
    problems = checked(page, base + "/login")
    expert = add_expert(rt, EXPERT, ["maths"], name="Ayesha")
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    log_in(page, base, expert["email"], expert["password"])
    problems += checked(page, base + "/console/")
    problems += checked(page, f"{base}/console/tickets/{ticket_id}")
    problems += checked(page, base + "/console/shortcuts")
    # The ticket page with its script-made parts open: the FAQ picker's list, then the shortcuts dialog.
    page.goto(f"{base}/console/tickets/{ticket_id}")
    page.wait_for_load_state("networkidle")
    page.locator("#improve-faq-id").type("fractions")
    page.locator("#faq-picker-list [role=option]").first.wait_for()
    page.keyboard.press("ArrowDown")
    problems += [f"FAQ picker open: {v}" for v in serious_violations(page)]
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    page.locator("#shortcuts-help").wait_for()
    problems += [f"shortcuts help open: {v}" for v in serious_violations(page)]
    page.context.clear_cookies()
    seed_if_empty(rt.db, today=date.today())
    log_in(page, base, *make_user("planner"))
    problems += checked(page, base + "/planner/")
    problems += checked(page, base + "/planner/?from=2026-03-01&to=2026-02-01")  # the error states
    problems += checked(page, base + "/planner/report?district=Atlantis")
    page.context.clear_cookies()
    log_in(page, base, *make_user("admin"))
    problems += checked(page, base + "/admin/users")
    assert not problems, "\n".join(problems)
