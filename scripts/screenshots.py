"""Screenshots of the expert console and the planner pages at a desktop (1366 px) and a phone (390 px) width,
for anyone to look at.

    python scripts/screenshots.py [--out screenshots/console]

Runs the real app on a throwaway SQLite database with the tests' small knowledge base and the fake Twilio
server (nothing leaves the machine), seeds a few tickets (English, Urdu, urgent; one answered, with a note),
adds the planner dashboard's synthetic demo data, and drives Debian's headless Chromium through the pages an
expert, a lead and a planner use (with the FAQ picker and the keyboard-shortcut help open). Writes one PNG per
page and width, full length, into the output folder.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.twilio_api import FakeTwilio  # noqa: E402
from support.browser import CHROMIUM_FLAGS, LiveServer, chromium_path, log_in  # noqa: E402
from support.experts import add_expert, open_ticket_for  # noqa: E402
from support.teachers import SMS_FROM, WHATSAPP_FROM  # noqa: E402

WIDTHS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
URDU_QUESTION = "ہمارے اسکول میں (AEO) کا دورہ ہے، کسر کیسے پڑھاؤں؟"


def make_app(data_dir: Path, twilio: FakeTwilio):
    from helpdesk import create_app

    app = create_app(dict(
        data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'helpdesk.sqlite3'}",
        knowledge_base_dir=ROOT / "tests" / "fixtures" / "kb", twilio_account_sid=twilio.account_sid,
        twilio_auth_token=twilio.auth_token, twilio_api_base_url=twilio.base_url, twilio_sms_from=SMS_FROM,
        twilio_whatsapp_from=WHATSAPP_FROM, public_base_url="http://localhost"))
    app.extensions["helpdesk"].db.create_all()
    return app


def seed(rt) -> dict:
    """Two experts and a lead; an English, an Urdu and an urgent ticket; one answered with a note."""
    from helpdesk.experts import tickets
    from helpdesk.models.tickets import Ticket

    people = {"expert": add_expert(rt, "+923110000001", ["maths"], name="Ayesha Khan"),
              "other": add_expert(rt, "+923110000003", ["science"], name="Bilal Ahmed"),
              "lead": add_expert(rt, "+923110000009", ["general"], role="lead", is_lead=True,
                                 name="Sana Lead", start="00:00", end="00:01", days=[])}
    ids = {"english": open_ticket_for(rt, "+923001234567", "Students cannot understand fractions",
                                      subjects="maths"),
           "urdu": open_ticket_for(rt, "+923001234568", URDU_QUESTION, subjects="maths", language="ur"),
           "urgent": open_ticket_for(rt, "+923001234569", "A pupil says he is beaten at home, what do I do?",
                                     urgent=True, reason="urgent:abuse", subjects="general"),
           "answered": open_ticket_for(rt, "+923001234570", "Which seeds grow fastest for an experiment?",
                                       subjects="science")}
    with rt.db.session_scope() as session:
        expert = session.get(tickets.Expert, people["expert"]["id"])
        for key in ("english", "urdu"):
            row = session.get(Ticket, ids[key])
            if row.assignee_id != expert.id:
                tickets.assign_to_expert(session, rt, row, expert, "Sana Lead")
        answered = session.get(Ticket, ids["answered"])
        tickets.add_note(session, answered, "Bilal Ahmed", "Suggest beans: they sprout in three days.")
        tickets.relay_answer(session, rt, answered, answer="Beans on wet cotton sprout in two or three days.",
                             actor="Bilal Ahmed", expert=session.get(tickets.Expert, people["other"]["id"]))
    rt.jobs.drain()
    people["planner"] = add_planner(rt)
    return {"people": people, "ids": ids}


def add_planner(rt) -> dict:
    """A planner, and the demo's synthetic interactions so that the planner pages have something to show."""
    from analytics.demo import seed_if_empty
    from helpdesk.web.admin import create_user

    seed_if_empty(rt.db, today=date.today())
    password = "correct horse battery"
    with rt.db.session_scope() as session:
        create_user(session, email="planner@example.org", name="Nadia Planner", role="planner",
                    password=password)
    return {"email": "planner@example.org", "password": password}


def open_picker(page) -> None:
    """The FAQ picker with its list open and the first FAQ highlighted."""
    page.wait_for_load_state()
    field = page.locator("#improve-faq-id")
    field.scroll_into_view_if_needed()
    field.type("how do I introduce fractions")
    page.locator("#faq-picker-list [role=option]").first.wait_for()
    page.keyboard.press("ArrowDown")


def open_shortcut_help(page) -> None:
    page.wait_for_load_state()
    page.keyboard.press("?")
    page.locator("#shortcuts-help").wait_for()


STEPS = {"ticket-english": lambda page: page.click("#close"),  # the confirmation step, opened
         "ticket-faq-picker": open_picker, "shortcut-help": open_shortcut_help}


def shoot(browser, base: str, out: Path, width: str, data: dict) -> list[Path]:
    ids, people = data["ids"], data["people"]
    pages = {
        "expert": [("my-tickets", "/console/"), ("queue", "/console/queue"),
                   ("find-fractions", "/console/tickets?q=fractions"),
                   ("ticket-english", f"/console/tickets/{ids['english']}"),
                   ("ticket-use-faq", f"/console/tickets/{ids['english']}?use=fractions-intro#reply-form"),
                   ("ticket-urdu", f"/console/tickets/{ids['urdu']}"),
                   ("not-yours", f"/console/tickets/{ids['answered']}"),
                   ("ticket-faq-picker", f"/console/tickets/{ids['english']}"),
                   ("shortcut-help", "/console/"), ("shortcuts-page", "/console/shortcuts")],
        "lead": [("all-open", "/console/tickets"), ("urgent", "/console/urgent"),
                 ("filter-bad-value", "/console/tickets?status=lost"),
                 ("ticket-urgent", f"/console/tickets/{ids['urgent']}"),
                 ("ticket-answered", f"/console/tickets/{ids['answered']}")],
        "planner": [("dashboard", "/planner/"), ("dashboard-by-month", "/planner/?by=month"),
                    ("dashboard-bad-period", "/planner/?from=2026-03-01&to=2026-02-01"),
                    ("printable-report", "/planner/report"),
                    ("report-bad-filter", "/planner/report?district=Atlantis"),
                    ("suggestions", "/planner/suggestions"), ("cpd", "/cpd"),
                    ("sessions-and-hubs", "/console/programme"), ("service-figures", "/console/figures")],
    }
    written = []
    for role, views in pages.items():
        context = browser.new_context(viewport=WIDTHS[width])
        page = context.new_page()
        log_in(page, base, people[role]["email"], people[role]["password"])
        for name, path in views:
            page.goto(base + path)
            if name in STEPS:
                STEPS[name](page)
            elif role == "planner":
                page.wait_for_load_state("networkidle")  # the charts drawn
            target = out / f"{width}-{role}-{name}.png"
            page.screenshot(path=str(target), full_page=True)
            written.append(target)
        context.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="screenshots/console", type=Path)
    args = parser.parse_args()
    path = chromium_path()
    if path is None:
        sys.exit("chromium is not installed (set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    twilio = FakeTwilio().start()
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), twilio)
        data = seed(app.extensions["helpdesk"])
        server = LiveServer(app).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
                written = [shot for width in WIDTHS
                           for shot in shoot(browser, server.url, args.out, width, data)]
                browser.close()
        finally:
            server.stop()
            twilio.stop()
    print(f"{len(written)} screenshots in {args.out}/")


if __name__ == "__main__":
    main()
