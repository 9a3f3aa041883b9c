"""The expert console in real Chromium (phone-sized), one role at a time; plus role checks with the test
client."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from conftest import login
from helpdesk.models import FaqRecord
from helpdesk.models.tickets import Expert, FaqProposal, Ticket
from support.browser import log_in
from support.experts import add_expert, open_ticket_for, sent_to

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


def test_an_expert_reuses_an_faq_answer_from_the_search(live_server, page, rt, twilio_api):
    expert = add_expert(rt, MATHS_A, ["maths"])
    ticket_id = open_ticket_for(rt, TEACHER, "My pupils mix up numerator and denominator", subjects="maths")
    log_in(page, live_server.url, expert["email"], expert["password"])
    page.goto(f"{live_server.url}/console/tickets/{ticket_id}?q=fractions")
    page.locator(".faq-result", has_text="fractions-intro").locator("button.use-faq").click()
    expect(page.locator(".flash")).to_contain_text("proposed as a new phrasing")
    rt.jobs.drain()
    assert "Start with real objects" in sent_to(twilio_api, TEACHER)[0]


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
    page.click("#close")
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
