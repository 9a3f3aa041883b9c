"""The expert console in real Chromium (phone-sized), one role at a time; plus role checks with the test
client."""
from __future__ import annotations

import io
import re
import struct
import wave
import zlib

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from conftest import login
from helpdesk.models import FaqRecord
from helpdesk.models.tickets import Expert, FaqProposal, Ticket
from support.browser import log_in
from support.experts import add_expert, open_ticket_for, sent_to, ticket_with_media

TEACHER = "+923001234567"
MATHS_A, MATHS_B, LEAD = "+923110000001", "+923110000002", "+923110000009"


def ticket_row(rt, ticket_id):
    with rt.db.session_scope() as session:
        return session.get(Ticket, ticket_id)


# --- in the browser ------------------------------------------------------------------------------

def test_an_expert_answers_from_the_console(live_server, page, rt, twilio_api):
    expert = add_expert(rt, MATHS_A, ["maths"], name="Ayesha")
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    log_in(page, live_server.url, expert["email"], expert["password"])
    expect(page.locator("h1")).to_have_text("My tickets")
    page.click(f"text=#{ticket_id}")
    expect(page.locator(".question")).to_have_text("Students cannot understand fractions")
    expect(page.locator(".phone")).to_contain_text(TEACHER)  # experts answer teachers, so they see the number
    expect(page.locator(".faq-result").first).to_contain_text("fractions-intro")  # knowledge-base search
    page.fill("#reply-form textarea[name=answer]", "Fold paper strips into halves and quarters.")
    page.click("#reply-form button")
    expect(page.locator(".flash")).to_contain_text("your answer was sent to the teacher")
    expect(page.locator(".status")).to_have_text("answered")
    expect(page.locator(".history")).to_contain_text("Ayesha: answered")
    rt.jobs.drain()
    assert sent_to(twilio_api, TEACHER)[0].startswith("Answer from a subject expert:\nFold paper strips")


def test_an_expert_passes_and_another_expert_sees_it(live_server, page, rt, twilio_api):
    a = add_expert(rt, MATHS_A, ["maths"], name="Ayesha")
    b = add_expert(rt, MATHS_B, ["maths"], name="Bilal")
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    holder, other = (a, b) if ticket_row(rt, ticket_id).assignee_id == a["id"] else (b, a)
    log_in(page, live_server.url, holder["email"], holder["password"])
    page.goto(f"{live_server.url}/console/tickets/{ticket_id}")
    page.click("#pass")
    expect(page.locator(".flash")).to_contain_text(f"#{ticket_id} is back in the queue")
    expect(page.locator("h1")).to_have_text("My tickets")
    assert ticket_row(rt, ticket_id).assignee_id == other["id"]
    assert page.goto(f"{live_server.url}/console/tickets/{ticket_id}").status == 403  # no longer theirs


def test_a_lead_closes_from_the_unassigned_queue(live_server, page, rt, twilio_api):
    lead = add_expert(rt, LEAD, ["general"], role="lead", is_lead=True, start="00:00", end="00:01", days=[])
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    log_in(page, live_server.url, lead["email"], lead["password"])
    page.click("header >> text=Queue")
    expect(page.locator("main")).to_contain_text("Mathematics (1)")
    page.click(f"text=#{ticket_id}")
    page.click("#close")  # only asks
    assert ticket_row(rt, ticket_id).status != "closed"
    page.click("#confirm-close")
    expect(page.locator(".status")).to_have_text("closed")
    assert ticket_row(rt, ticket_id).status == "closed"


def test_an_expert_proposes_an_faq_and_a_lead_edits_and_approves_it(live_server, page, browser, rt,
                                                                    twilio_api):
    expert = add_expert(rt, MATHS_A, ["maths"])
    lead = add_expert(rt, LEAD, ["general"], role="lead", is_lead=True, start="00:00", end="00:01", days=[])
    question = "How do I teach telling the time on a clock?"
    ticket_id = open_ticket_for(rt, TEACHER, question, subjects="maths")
    log_in(page, live_server.url, expert["email"], expert["password"])
    page.goto(f"{live_server.url}/console/tickets/{ticket_id}")
    form = page.locator("#propose-form")
    form.locator("textarea[name=answer_en]").fill("Make a paper clock and move the hands together.")
    form.locator("select[name=area]").select_option("numeracy")
    form.locator("button").click()
    expect(page.locator(".flash")).to_contain_text("sent to a lead for review")

    lead_page = browser.new_context(viewport={"width": 412, "height": 860}).new_page()
    log_in(lead_page, live_server.url, lead["email"], lead["password"])
    lead_page.click("header >> text=FAQ review")
    card = lead_page.locator(".proposal").first
    card.locator("textarea[name=questions]").fill(f"{question}\nGhari dekhna kaise sikhaun")
    card.locator("button.approve").click()
    expect(lead_page.locator(".flash")).to_contain_text("the matcher uses it now")
    expect(lead_page.locator(".audit")).to_contain_text("approved")
    lead_page.context.close()

    result = rt.knowledge.view().match("Ghari dekhna kaise sikhaun")
    assert result.decision == "answer" and result.faq_id.startswith("expert-how-do-i-teach")
    with rt.db.session_scope() as session:
        record = session.scalars(select(FaqRecord)).one()
        assert record.approved_by == lead["name"] and record.data["topic"] == "numeracy"


def test_a_planner_sees_figures_but_no_tickets_or_numbers(live_server, page, rt, make_user, twilio_api):
    add_expert(rt, MATHS_A, ["maths"], name="Ayesha")
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    email, password = make_user("planner")
    log_in(page, live_server.url, email, password)
    page.click("header >> text=Figures")
    expect(page.locator("h1")).to_have_text("Service figures")
    expect(page.locator("table.figures").first).to_contain_text("Mathematics")
    assert "+92" not in page.content()
    assert page.goto(f"{live_server.url}/console/tickets/{ticket_id}").status == 403
    assert page.goto(f"{live_server.url}/console/").status == 403


def test_an_admin_adds_an_expert_profile(live_server, page, rt, make_user, twilio_api):
    email, password = make_user("admin")
    expert_email, _ = make_user("expert", name="Zara")
    log_in(page, live_server.url, email, password)
    page.goto(f"{live_server.url}/admin/experts/")
    form = page.locator("#expert-form")
    form.locator("select[name=user_id]").select_option(label=f"Zara ({expert_email}, expert)")
    form.locator("input[name=phone]").fill("+923115550000")
    form.locator("input[name=subjects][value=science]").check()
    form.locator("input[name=capacity]").fill("3")
    form.locator("button").click()
    expect(page.locator(".flash")).to_contain_text("Saved expert profile for Zara")
    expect(page.locator("table.experts")).to_contain_text("+923115550000")
    with rt.db.session_scope() as session:
        expert = session.scalars(select(Expert)).one()
        assert (expert.subjects, expert.capacity, expert.user.email) == (["science"], 3, expert_email)


# --- role checks with the test client -------------------------------------------------------------

def test_experts_only_see_their_own_and_unassigned_tickets(client, rt, twilio_api):
    a = add_expert(rt, MATHS_A, ["maths"])
    b = add_expert(rt, MATHS_B, ["science"])
    mine = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    login(client, b["email"], b["password"])
    assert client.get(f"/console/tickets/{mine}").status_code == 403
    html = client.get("/console/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post(f"/console/tickets/{mine}/reply", data={"answer": "hijack", "csrf_token": token})
    assert response.status_code == 403 and ticket_row(rt, mine).answer is None
    assert client.post(f"/console/tickets/{mine}/reply", data={"answer": "no token"}).status_code == 400
    login(client, a["email"], a["password"])
    assert client.get(f"/console/tickets/{mine}").status_code == 200


def test_figures_csv_for_leads_and_planners_only(client, rt, make_user, twilio_api):
    add_expert(rt, MATHS_A, ["maths"], name="Ayesha")
    open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    expert_email, password = make_user("expert")
    login(client, expert_email, password)
    assert client.get("/console/figures.csv").status_code == 403
    planner_email, password = make_user("planner")
    login(client, planner_email, password)
    response = client.get("/console/figures.csv")
    lines = response.get_data(as_text=True).splitlines()
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert lines[0].startswith("by,group,tickets,answered,median_first_response_min")
    assert "subject,Mathematics,1,0" in lines[1]
    assert any(line.startswith("expert,Ayesha,1,0") for line in lines)
    assert client.get("/console/faq/export.yaml").status_code == 403


def test_a_lead_exports_approved_faqs_as_yaml(client, rt, make_user, twilio_api):
    from helpdesk.experts import faq_review

    with rt.db.session_scope() as session:
        proposal = faq_review.propose_entry(session, rt, proposed_by="E",
                                            question="How do I teach the clock?",
                                            answer_en="A paper clock.", area="numeracy")
        faq_review.approve(session, rt, proposal, "Lead")
    email, password = make_user("lead")
    login(client, email, password)
    text = client.get("/console/faq/export.yaml").get_data(as_text=True)
    assert "How do I teach the clock?" in text and text.startswith("faqs:")
    with rt.db.session_scope() as session:
        assert session.scalars(select(FaqProposal)).one().status == "approved"


# --- a day of work at desktop and phone widths (issue 17) ------------------------------------------

WIDTHS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
URDU_QUESTION = "ہمارے اسکول میں (AEO) کا دورہ ہے، کسر کیسے پڑھاؤں؟"
SCIENCE = "+923110000003"


def new_page(browser, width: str):
    context = browser.new_context(viewport=WIDTHS[width])
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def assign_all(rt, expert: dict, *ticket_ids: int) -> None:
    """Put the tickets with one expert, whatever the load balancing chose."""
    with rt.db.session_scope() as session:
        for ticket_id in ticket_ids:
            row = session.get(Ticket, ticket_id)
            row.assignee_id, row.status = expert["id"], "assigned"


def fits_the_screen(page) -> bool:
    # Nothing wider than the viewport: no sideways scrolling on a phone.
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_expert_and_a_lead_work_through_the_day(width, live_server, browser, app, rt, twilio_api):
    app.config["CONSOLE_POLL_SECONDS"] = 1  # the list asks for news every second here, not every 15
    ayesha = add_expert(rt, MATHS_A, ["maths"], name="Ayesha")
    bilal = add_expert(rt, SCIENCE, ["science", "maths"], name="Bilal", capacity=1)
    lead = add_expert(rt, LEAD, ["general"], role="lead", is_lead=True, name="Lead", start="00:00",
                      end="00:01", days=[])
    fractions = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    urdu = open_ticket_for(rt, "+923001234568", URDU_QUESTION, subjects="maths", language="ur")
    assign_all(rt, ayesha, fractions, urdu)

    # The expert finds the ticket by searching, opens it and answers with an edited FAQ.
    expert = new_page(browser, width)
    log_in(expert, live_server.url, ayesha["email"], ayesha["password"])
    expect(expert.locator("[data-count=mine]")).to_have_text("2")
    expert.click("header >> text=All tickets")
    expert.fill("#filters input[name=q]", "fractions")
    expert.click("#apply-filters")
    expect(expert.locator("tr.ticket-row")).to_have_count(1)
    expect(expert.locator("tr.ticket-row .deadline")).to_contain_text("min left")
    assert fits_the_screen(expert)
    expert.click(f"tr.ticket-row >> text=#{fractions}")
    expect(expert.locator(".bubble.in").first).to_contain_text("Students cannot understand fractions")
    expect(expert.locator(".matcher")).to_contain_text("Closest FAQ: How do I introduce fractions")
    expert.locator(".faq-result", has_text="fractions-intro").locator(".use-faq").click()
    box = expert.locator("#answer")
    expect(box).to_have_value(re.compile(r"^Start with real objects"))
    assert sent_to(twilio_api, TEACHER) == []  # filled in, not sent
    box.fill(box.input_value() + " Then let them fold their own strips.")
    expert.click("#send")
    expect(expert.locator(".flash")).to_contain_text("your answer was sent to the teacher")
    expect(expert.locator(".bubble.out").last).to_contain_text("fold their own strips")
    rt.jobs.drain()
    edited = "share a roti fairly before writing 1/2. Then let them fold their own strips."
    assert edited in sent_to(twilio_api, TEACHER)[-1]

    # A note for colleagues, then close (with its confirmation) and reopen.
    expert.fill("#note", "Teacher has no printed materials; suggest paper only.")
    expert.click("#add-note")
    expect(expert.locator("ul.notes")).to_contain_text("suggest paper only")
    expert.click("#close")
    expect(expert.locator("#confirm-close")).to_be_visible()
    assert ticket_row(rt, fractions).status == "answered"  # the first click only asks
    expert.click("#confirm-close")
    expect(expert.locator(".status")).to_have_text("closed")
    expert.click("#reopen")
    expect(expert.locator(".flash")).to_contain_text("is reopened and assigned to Ayesha")
    assert fits_the_screen(expert)
    rt.jobs.drain()
    assert not any("paper only" in body for body in sent_to(twilio_api, TEACHER))

    # The lead filters to the Urdu ticket: laid out right to left, with room for Nastaliq.
    boss = new_page(browser, width)
    log_in(boss, live_server.url, lead["email"], lead["password"])
    boss.click("header >> text=All tickets")
    expect(boss.locator("h1")).to_have_text("All open tickets")
    boss.select_option("#filters select[name=language]", "ur")
    boss.click("#apply-filters")
    expect(boss.locator("tr.ticket-row")).to_have_count(1)
    assert boss.locator("tr.ticket-row td.tt").evaluate("e => getComputedStyle(e).direction") == "rtl"
    boss.click(f"tr.ticket-row >> text=#{urdu}")
    question = boss.locator(".question")
    expect(question).to_have_text(URDU_QUESTION)
    style = question.evaluate("e => { const s = getComputedStyle(e);"
                              " return [s.direction, parseFloat(s.lineHeight) / parseFloat(s.fontSize)]; }")
    assert style[0] == "rtl" and style[1] >= 2.0
    # The Nastaliq face comes from our own static files (there is no Urdu font on this machine).
    assert boss.evaluate("document.fonts.ready.then(() => [...document.fonts].some("
                         "f => f.family.includes('HelpdeskUrdu') && f.status === 'loaded'))")
    assert boss.locator(".bubble.in .body").first.evaluate("e => getComputedStyle(e).direction") == "rtl"
    boss.fill("#answer", "شکریہ")
    assert boss.locator("#answer").evaluate("e => getComputedStyle(e).direction") == "rtl"
    boss.fill("#answer", "")
    boss.select_option("#assign-form select[name=expert_id]", label="Bilal")
    boss.click("#assign")
    expect(boss.locator(".flash")).to_contain_text("is assigned to Bilal, who has been told")
    assert ticket_row(rt, urdu).assignee_id == bilal["id"]
    assert fits_the_screen(boss)

    # Ayesha's old link to it now explains itself.
    response = expert.goto(f"{live_server.url}/console/tickets/{urdu}")
    assert response.status == 403
    expect(expert.locator("h1")).to_contain_text("is not in your list any more")

    # The lead's open list hears of a new ticket without a reload, then closes it in bulk.
    boss.click("header >> text=All tickets")
    expect(boss.locator("#live")).to_be_hidden()
    newcomer = open_ticket_for(rt, "+923001234569", "How can I teach place value with bundles of sticks?",
                               subjects="maths")
    expect(boss.locator("#live")).to_contain_text("1 new ticket — reload")
    boss.click("#live-reload")
    boss.locator(f"tr.ticket-row[data-ticket='{newcomer}'] input[type=checkbox]").check()
    boss.click("#bulk-close")
    expect(boss.locator("h1")).to_have_text("Close 1 ticket?")
    assert ticket_row(rt, newcomer).status != "closed"
    boss.click("#confirm-bulk-close")
    expect(boss.locator(".flash")).to_contain_text(f"Closed: #{newcomer}.")
    assert ticket_row(rt, newcomer).status == "closed"
    for page in (expert, boss):
        page.context.close()


# --- by keyboard; media, canned answers and the FAQ picker (issue 17) -------------------------------

TIME_QUESTION = "How do I teach telling the time on a clock?"


def focused(page) -> dict:
    """What has the focus, and whether its outline can be seen."""
    return page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
        return {id: e.id, tag: e.tagName, text: e.textContent.trim(),
                outlined: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2}; }""")


def tab_to(page, element_id: str, limit: int = 80) -> None:
    """Press Tab until the element has the focus, as someone without a mouse does."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page)["id"] == element_id:
            return
    raise AssertionError(f"#{element_id} is not reachable with Tab")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_expert_finds_answers_and_closes_a_ticket_by_keyboard_alone(width, live_server, browser, rt,
                                                                      twilio_api):
    ayesha = add_expert(rt, MATHS_A, ["maths"], name="Ayesha")
    fractions = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    clock = open_ticket_for(rt, "+923001234568", TIME_QUESTION, subjects="maths")
    assign_all(rt, ayesha, fractions, clock)
    page = new_page(browser, width)
    log_in(page, live_server.url, ayesha["email"], ayesha["password"])
    expect(page.locator("h1")).to_have_text("My tickets")
    page.wait_for_load_state()  # shortcuts.js (deferred) is listening

    # The help: "?" and the visible link open the same list; Escape closes it.
    page.keyboard.press("?")
    help_dialog = page.locator("#shortcuts-help")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Next / previous ticket")
    assert focused(page)["id"] == "shortcuts-close" and focused(page)["outlined"]
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    page.click("#shortcuts-link")
    expect(help_dialog).to_be_visible()
    page.keyboard.press("Enter")  # on its Close button
    expect(help_dialog).to_be_hidden()

    # j / k move between the tickets; the selection is the focused, outlined link.
    page.keyboard.press("j")
    page.keyboard.press("j")
    rows = page.locator("tr.ticket-row")
    second = rows.nth(1).get_attribute("data-ticket")
    assert page.locator("tr.ticket-row.selected").get_attribute("data-ticket") == second
    assert focused(page)["text"] == f"#{second}" and focused(page)["outlined"]
    page.keyboard.press("k")
    assert focused(page)["text"] == f"#{rows.nth(0).get_attribute('data-ticket')}"
    page.keyboard.press("Control+j")  # with a modifier: not a shortcut
    assert focused(page)["text"] == f"#{rows.nth(0).get_attribute('data-ticket')}"

    # "/" goes to the search (on this list: the Find page's); Esc leaves the field, j and Enter open.
    page.keyboard.press("/")
    expect(page.locator("#filters input[name=q]")).to_be_focused()
    page.keyboard.type("fractions")
    page.keyboard.press("Enter")
    expect(page.locator("tr.ticket-row")).to_have_count(1)
    page.wait_for_load_state()  # the shortcuts are listening
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    expect(page.locator("tr.ticket-row.selected a.ticket-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text(f"#{fractions}")
    page.wait_for_load_state()

    # The ticket: n for a note, r for the reply; letters typed there stay letters.
    page.keyboard.press("n")
    expect(page.locator("#note")).to_be_focused()
    page.keyboard.type("Asked her about paper; no printer.")
    tab_to(page, "add-note")
    assert focused(page)["outlined"]
    page.keyboard.press("Enter")
    expect(page.locator("ul.notes")).to_contain_text("no printer")
    page.wait_for_load_state()
    page.keyboard.press("r")
    expect(page.locator("#answer")).to_be_focused()
    answer = "Fold paper strips: n halves, r quarters? Try 1/2 and 1/4 (j, k)."
    page.keyboard.type(answer)
    expect(page.locator("#answer")).to_have_value(answer)
    expect(page.locator("#answer")).to_be_focused()
    tab_to(page, "send")
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("your answer was sent to the teacher")
    rt.jobs.drain()
    assert answer in sent_to(twilio_api, TEACHER)[-1]

    # Close, with its confirmation, by Tab and Enter.
    tab_to(page, "close")
    page.keyboard.press("Enter")
    tab_to(page, "confirm-close")
    assert ticket_row(rt, fractions).status == "answered"  # opening the question closed nothing
    page.keyboard.press("Enter")
    expect(page.locator(".status")).to_have_text("closed")
    assert ticket_row(rt, fractions).status == "closed"
    assert fits_the_screen(page)
    page.context.close()


def tiny_png() -> bytes:
    """A real 2x2 PNG (the browser decodes it: naturalWidth 2)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xff\x80\x00" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def short_wav() -> bytes:
    """A fifth of a second of silence, as a voice note the browser can load."""
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\x00\x00" * 1600)
    return out.getvalue()


@pytest.mark.parametrize("width", WIDTHS)
def test_an_expert_hears_the_voice_note_answers_from_a_canned_answer_and_picks_an_faq(
        width, live_server, browser, rt, twilio_api):
    ayesha = add_expert(rt, MATHS_A, ["maths"], name="Ayesha")
    message = "MM" + "5" * 32
    urls = [(twilio_api.add_media(message, "ME" + "5" * 32, short_wav(), "audio/wav"), "audio/wav"),
            (twilio_api.add_media(message, "ME" + "6" * 32, tiny_png(), "image/png"), "image/png")]
    ticket_id, _ = ticket_with_media(rt, TEACHER, "My class clock drawing, please look", urls,
                                     subjects="maths")
    page = new_page(browser, width)
    log_in(page, live_server.url, ayesha["email"], ayesha["password"])

    # A canned answer of her own, then the ticket: the picture shown and the voice note loaded, both
    # through our proxy (the page never names Twilio's host).
    page.goto(f"{live_server.url}/console/canned")
    page.fill("#canned-title", "Paper clock")
    page.fill("#canned-body", "Make a paper clock with the class.")
    page.click("#save-canned")
    expect(page.locator(".flash")).to_contain_text("Saved")
    page.goto(f"{live_server.url}/console/tickets/{ticket_id}")
    picture = page.locator("img.media-image")
    picture.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('img.media-image').complete")
    assert picture.evaluate("e => e.naturalWidth") == 2
    assert picture.get_attribute("src").startswith(f"/console/tickets/{ticket_id}/media/")
    voice = page.locator("audio")
    voice.evaluate("e => { e.preload = 'auto'; e.load(); }")  # preload="none" on the page: fetch it now
    page.wait_for_function("() => document.querySelector('audio').readyState >= 1")
    assert voice.evaluate("e => e.duration") == pytest.approx(0.2, abs=0.05)
    assert "api.twilio.com" not in page.content()
    assert len([r for r in twilio_api.requests if "/Media/" in r["path"] and r["auth_ok"]]) >= 2

    # The canned answer fills the reply box; edited, the teacher gets the edited text.
    page.click("#canned-answers summary")
    page.click("#canned-answers >> text=Paper clock")
    box = page.locator("#answer")
    expect(box).to_have_value("Make a paper clock with the class.")
    box.fill(box.input_value() + " Move the hands together, hour by hour.")
    page.click("#send")
    expect(page.locator(".flash")).to_contain_text("your answer was sent to the teacher")
    rt.jobs.drain()
    assert ("\nMake a paper clock with the class. Move the hands together, hour by hour.\n"
            in sent_to(twilio_api, TEACHER)[-1])

    # The FAQ picker: type, see how well each fits, pick by keyboard; a poor search says so.
    field = page.locator("#improve-faq-id")
    field.focus()
    assert field.get_attribute("role") == "combobox" and field.get_attribute("aria-expanded") == "false"
    field.type("no such words zzqx")
    note = page.locator("#faq-picker-note")
    expect(note).to_contain_text("No good match")
    field.fill("")
    field.type("how do I introduce fractions")
    options = page.locator("#faq-picker-list [role=option]")
    expect(options.first).to_contain_text("fractions-intro")
    expect(options.first.locator(".relevance")).to_have_text("good match")
    expect(note).to_be_hidden()
    assert field.get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    assert field.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    assert options.first.get_attribute("aria-selected") == "true"
    page.keyboard.press("Enter")  # picks; does not send the form
    expect(field).to_have_value("fractions-intro")
    expect(page.locator("#faq-picker-list")).to_be_hidden()
    with rt.db.session_scope() as session:
        assert session.scalars(select(FaqProposal)).all() == []
    field.type(" ")  # the list again, then Escape closes it and a second Escape leaves the field
    expect(page.locator("#faq-picker-list")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#faq-picker-list")).to_be_hidden()
    expect(field).to_be_focused()
    page.keyboard.press("Escape")
    expect(field).not_to_be_focused()
    page.locator("#propose-form select[name=area]").select_option("numeracy")
    page.locator("#propose-form button[type=submit]").click()
    expect(page.locator(".flash")).to_contain_text("sent to a lead for review")
    with rt.db.session_scope() as session:
        proposal = session.scalars(select(FaqProposal)).one()
        assert (proposal.kind, proposal.faq_id) == ("improve", "fractions-intro")
    assert fits_the_screen(page)
    page.context.close()
