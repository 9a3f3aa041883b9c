"""FAQ proposals from the console, on both databases: the area starts from the ticket's coding (never a silent
"classroom management"), a double submit stays one proposal, the review page shows an "improves FAQ"
proposal as an escaped diff against the FAQ's current text, and a rejection's reason is kept and shown."""
from __future__ import annotations

import re

from sqlalchemy import select

from conftest import login
from helpdesk.experts import faq_review
from helpdesk.models.tickets import FaqProposal, Ticket
from support.experts import add_expert, open_ticket_for

TEACHER = "+923001234567"
MATHS, LEAD = "+923110000001", "+923110000009"


def csrf(client, path="/console/") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def selected_area(html: str) -> str:
    select_html = re.search(r'<select name="area" required>(.*?)</select>', html, re.S).group(1)
    return re.search(r'<option value="([^"]*)"\s+selected', select_html).group(1)


def test_default_area_follows_the_coding():
    assert faq_review.default_area(Ticket(area="assessment", subject="maths")) == "assessment"
    assert faq_review.default_area(Ticket(area=None, subject="maths"), "numeracy") == "numeracy"
    assert faq_review.default_area(Ticket(area=None, subject="maths")) == "subject-content"
    assert faq_review.default_area(Ticket(area=None, subject="general")) is None


def test_the_propose_form_starts_from_the_tickets_area(client, rt, twilio_api):
    maths = add_expert(rt, MATHS, ["maths"], name="Ayesha")
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    login(client, maths["email"], maths["password"])
    with rt.db.session_scope() as session:
        area = session.get(Ticket, ticket_id).area
    assert area and selected_area(client.get(f"/console/tickets/{ticket_id}").get_data(as_text=True)) == area

    with rt.db.session_scope() as session:  # an untagged general question: the expert must choose
        ticket = session.get(Ticket, ticket_id)
        ticket.area, ticket.nearest_faq_id, ticket.subject = None, None, "general"
    assert selected_area(client.get(f"/console/tickets/{ticket_id}").get_data(as_text=True)) == ""
    refused = client.post(f"/console/tickets/{ticket_id}/propose", follow_redirects=True, data={
        "csrf_token": csrf(client), "question": "Q?", "answer_en": "A.", "area": ""})
    assert refused.status_code == 200 and "Choose the area" in refused.get_data(as_text=True)


def test_a_double_submit_makes_one_proposal(client, rt, twilio_api):
    maths = add_expert(rt, MATHS, ["maths"], name="Ayesha")
    ticket_id = open_ticket_for(rt, TEACHER, "How do I teach telling the time?", subjects="maths")
    login(client, maths["email"], maths["password"])
    form = {"question": "How do I teach telling the time?", "answer_en": "Make a paper clock.",
            "area": "numeracy", "subject": "maths"}
    first = client.post(f"/console/tickets/{ticket_id}/propose", data={**form, "csrf_token": csrf(client)},
                        follow_redirects=True).get_data(as_text=True)
    again = client.post(f"/console/tickets/{ticket_id}/propose",
                        data={**form, "answer_en": " Make a  paper clock. ", "csrf_token": csrf(client)},
                        follow_redirects=True).get_data(as_text=True)
    assert "sent to a lead" in first and "already sent with this text" in again
    other = client.post(f"/console/tickets/{ticket_id}/propose",
                        data={**form, "answer_en": "Use a real clock.", "csrf_token": csrf(client)},
                        follow_redirects=True).get_data(as_text=True)
    assert "sent to a lead" in other
    with rt.db.session_scope() as session:
        rows = session.scalars(select(FaqProposal).order_by(FaqProposal.id))
        answers = [p.data["answer"]["en"] for p in rows]
    assert answers == ["Make a paper clock.", "Use a real clock."]


def test_review_shows_the_diff_and_keeps_the_rejection_reason(client, rt, twilio_api):
    add_expert(rt, MATHS, ["maths"], name="Ayesha")
    lead = add_expert(rt, LEAD, ["general"], role="lead", is_lead=True, name="Lead")
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    with rt.db.session_scope() as session:
        proposal = faq_review.propose_entry(
            session, rt, proposed_by="Ayesha", question="Fractions with <roti>?",
            answer_en="Share a <b>roti</b> into halves first.", area="numeracy", faq_id="fractions-intro",
            ticket=session.get(Ticket, ticket_id))
        proposal_id = proposal.id
    login(client, lead["email"], lead["password"])
    page = client.get("/console/faq").get_data(as_text=True)
    diff = re.search(r'<pre class="diff[^>]*>(.*?)</pre>', page, re.S).group(1)
    assert "<ins>+ en: Share a &lt;b&gt;roti&lt;/b&gt; into halves first.</ins>" in diff
    assert "<del>- en: Start with real objects" in diff
    assert "<ins>+ Q: Fractions with &lt;roti&gt;?</ins>" in diff
    assert "  Q: How do I introduce fractions to young children?" in diff  # unchanged lines kept as context

    client.post(f"/console/faq/{proposal_id}/reject",
                data={"csrf_token": csrf(client, "/console/faq"), "note": "Too close to <the> current one"})
    page = client.get("/console/faq").get_data(as_text=True)
    assert '<td class="reason" dir="auto">Too close to &lt;the&gt; current one</td>' in page
    with rt.db.session_scope() as session:
        assert session.get(FaqProposal, proposal_id).review_note == "Too close to <the> current one"
        events = [(e.kind, e.detail) for e in session.get(Ticket, ticket_id).events]
    assert ("faq rejected", "improve FAQ fractions-intro: Too close to <the> current one") in events


def test_the_faq_picker_searches_the_knowledge_base_and_says_how_well_each_fits(client, rt, make_user,
                                                                               twilio_api):
    maths = add_expert(rt, MATHS, ["maths"], name="Ayesha")
    assert client.get("/console/faq/search.json?q=fractions").status_code == 302  # signed in only
    login(client, *make_user("planner"))
    assert client.get("/console/faq/search.json?q=fractions").status_code == 403  # experts and leads only
    login(client, maths["email"], maths["password"])

    good = client.get("/console/faq/search.json?q=how do I introduce fractions").get_json()
    assert good["good_match"] and good["results"][0]["id"] == "fractions-intro"
    assert good["results"][0]["relevance"] == "good match"
    assert good["results"][0]["title"] == rt.knowledge.view().entry("fractions-intro").questions[0]
    assert {r["relevance"] for r in good["results"]} <= {"good match", "fair match", "weak match"}

    by_id = client.get("/console/faq/search.json?q=plant-experiment").get_json()
    assert by_id["results"][0] == {"id": "plant-experiment", "relevance": "this FAQ's id",
                                   "title": rt.knowledge.view().entry("plant-experiment").questions[0]}

    nothing = client.get("/console/faq/search.json?q=" + "zzqx " * 200).get_json()
    assert not nothing["good_match"] and len(nothing["query"]) <= 300  # a long text is cut, not refused
    assert client.get("/console/faq/search.json").get_json() == {"query": "", "good_match": False,
                                                                 "results": []}


def test_an_unknown_faq_id_in_the_proposal_is_answered_in_words(client, rt, twilio_api):
    maths = add_expert(rt, MATHS, ["maths"], name="Ayesha")
    ticket_id = open_ticket_for(rt, TEACHER, "How do I teach telling the time?", subjects="maths")
    login(client, maths["email"], maths["password"])
    html = client.get(f"/console/tickets/{ticket_id}").get_data(as_text=True)
    assert 'id="improve-faq-id" name="improve_faq_id"' in html  # a plain field that works without the script
    assert 'data-search-url="/console/faq/search.json"' in html and "faq_picker.js" in html
    card = client.get(f"/console/tickets/{ticket_id}?q=zzqx+qqq").get_data(as_text=True)  # no script needed
    assert "No good match for" in card and "good match</span>" not in card
    card = client.get(f"/console/tickets/{ticket_id}?q=how+do+I+introduce+fractions").get_data(as_text=True)
    assert "No good match" not in card and '<span class="relevance">good match</span>' in card
    form = {"question": "How do I teach telling the time?", "answer_en": "Make a paper clock.",
            "area": "numeracy", "csrf_token": csrf(client)}
    refused = client.post(f"/console/tickets/{ticket_id}/propose", follow_redirects=True,
                          data={**form, "improve_faq_id": "no-such-faq"})
    assert refused.status_code == 200
    assert "There is no FAQ “no-such-faq” to improve" in refused.get_data(as_text=True)
    accepted = client.post(f"/console/tickets/{ticket_id}/propose", follow_redirects=True,
                           data={**form, "improve_faq_id": " fractions-intro ", "csrf_token": csrf(client)})
    assert "sent to a lead for review" in accepted.get_data(as_text=True)
    with rt.db.session_scope() as session:
        proposal = session.scalars(select(FaqProposal)).one()
        assert (proposal.kind, proposal.faq_id) == ("improve", "fractions-intro")
