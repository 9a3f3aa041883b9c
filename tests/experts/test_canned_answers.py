"""Canned answers on both databases: an expert keeps their own, a lead shares some with everyone, nobody sees
or removes another expert's own, and one fills the reply box on the ticket page for editing (nothing sent)."""
from __future__ import annotations

import html as htmlmod
import re

from sqlalchemy import select

from conftest import login
from helpdesk.models.tickets import CannedAnswer
from support.experts import add_expert, open_ticket_for

TEACHER = "+923001234567"
MATHS, SCIENCE, LEAD = "+923110000001", "+923110000003", "+923110000009"


def csrf(client) -> str:
    page = client.get("/console/canned").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def save(client, title, body, shared=False):
    form = {"csrf_token": csrf(client), "title": title, "body": body}
    if shared:
        form["shared"] = "1"
    return client.post("/console/canned", data=form, follow_redirects=True)


def canned_ids(rt) -> dict[str, int]:
    with rt.db.session_scope() as session:
        return {c.title: c.id for c in session.scalars(select(CannedAnswer))}


def test_own_and_shared_answers_and_who_sees_them(client, rt, twilio_api):
    maths = add_expert(rt, MATHS, ["maths"], name="Ayesha")
    science = add_expert(rt, SCIENCE, ["science"], name="Bilal")
    lead = add_expert(rt, LEAD, ["general"], role="lead", is_lead=True, name="Lead")

    login(client, maths["email"], maths["password"])
    assert "Saved" in save(client, "Group work", "Try pairs of <b>two</b> first.").get_data(as_text=True)
    refused = save(client, "For all", "Shared text", shared=True).get_data(as_text=True)
    assert "Only a lead can share" in refused
    assert "needs a title and a text" in save(client, "  ", "text").get_data(as_text=True)
    assert "under 120" in save(client, "x" * 121, "text").get_data(as_text=True)
    page = client.get("/console/canned").get_data(as_text=True)
    assert "Try pairs of &lt;b&gt;two&lt;/b&gt; first." in page  # escaped

    login(client, lead["email"], lead["password"])
    save(client, "Welcome", "Thank you for asking the helpdesk.", shared=True)
    ids = canned_ids(rt)
    assert set(ids) == {"Group work", "Welcome"}
    lead_page = client.get("/console/canned").get_data(as_text=True)
    assert "Welcome" in lead_page and "Group work" not in lead_page  # another expert's own stays theirs

    login(client, science["email"], science["password"])
    page = client.get("/console/canned").get_data(as_text=True)
    assert "Welcome" in page and "Group work" not in page
    removed = client.post(f"/console/canned/{ids['Group work']}/delete", data={"csrf_token": csrf(client)},
                          follow_redirects=True)
    assert "not yours to remove" in removed.get_data(as_text=True)
    client.post(f"/console/canned/{ids['Welcome']}/delete", data={"csrf_token": csrf(client)})
    assert set(canned_ids(rt)) == {"Group work", "Welcome"}  # an expert cannot remove a shared one

    login(client, maths["email"], maths["password"])
    client.post(f"/console/canned/{ids['Group work']}/delete", data={"csrf_token": csrf(client)})
    assert set(canned_ids(rt)) == {"Welcome"}


def test_a_canned_answer_fills_the_reply_box_for_editing(client, rt, twilio_api):
    maths = add_expert(rt, MATHS, ["maths"], name="Ayesha")
    science = add_expert(rt, SCIENCE, ["science"], name="Bilal")
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    login(client, science["email"], science["password"])
    save(client, "Bilal's own", "Only for Bilal")
    login(client, maths["email"], maths["password"])
    save(client, "Fractions", "Start with a pizza cut into quarters.")
    ids = canned_ids(rt)
    sent_before = len(twilio_api.messages)

    page = client.get(f"/console/tickets/{ticket_id}").get_data(as_text=True)
    assert "Insert a canned answer" in page and f"canned={ids['Fractions']}" in page
    assert "Bilal&#39;s own" not in page and "Bilal's own" not in page
    filled = client.get(f"/console/tickets/{ticket_id}?canned={ids['Fractions']}").get_data(as_text=True)
    box = re.search(r'<textarea id="answer"[^>]*>(.*?)</textarea>', filled, re.S).group(1)
    assert htmlmod.unescape(box) == "Start with a pizza cut into quarters."
    other = client.get(f"/console/tickets/{ticket_id}?canned={ids[chr(66) + 'ilal' + chr(39) + 's own']}")
    assert other.status_code == 200 and "not there any more" in other.get_data(as_text=True)
    assert client.get(f"/console/tickets/{ticket_id}?canned=abc").status_code == 200
    assert len(twilio_api.messages) == sent_before  # inserting sends nothing
