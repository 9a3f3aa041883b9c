"""The console's ticket lists and ticket page with the Flask test client, on both databases: search,
filters and sort from GET parameters (bad ones named, never a 500), a lead's bulk assign and close, the
counts the polling script reads, local and relative times, notes, reopening, and the friendly page for a
ticket that has moved on."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from conftest import login
from helpdesk.models import utcnow
from helpdesk.models.tickets import Ticket, TicketEvent
from support.experts import add_expert, open_ticket_for, sent_to

TEACHER, TEACHER_UR, TEACHER_3 = "+923001234567", "+923001234568", "+923001234569"
MATHS, SCIENCE, LEAD = "+923110000001", "+923110000003", "+923110000009"
URDU_QUESTION = "ہمارے اسکول میں (AEO) کا دورہ ہے، کسر کیسے پڑھاؤں؟"


def csrf(client) -> str:
    html = client.get("/console/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def listed(html: str) -> list[int]:
    """The ticket numbers a list page shows, in order."""
    return [int(n) for n in re.findall(r'data-ticket="(\d+)"', html)]


def setup_tickets(rt):
    maths = add_expert(rt, MATHS, ["maths"], name="Ayesha")
    science = add_expert(rt, SCIENCE, ["science"], name="Bilal")
    lead = add_expert(rt, LEAD, ["general"], role="lead", is_lead=True, name="Lead",
                      start="00:00", end="00:01", days=[])
    fractions = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    plants = open_ticket_for(rt, TEACHER_3, "Which seeds grow fastest for a plant experiment?",
                             subjects="science")
    urdu = open_ticket_for(rt, TEACHER_UR, URDU_QUESTION, subjects="maths", language="ur")
    return {"maths": maths, "science": science, "lead": lead, "fractions": fractions, "plants": plants,
            "urdu": urdu}


def test_a_lead_searches_filters_and_sorts_every_ticket(client, rt, twilio_api):
    t = setup_tickets(rt)
    urgent = open_ticket_for(rt, "+923001230000", "A pupil told me someone at home hurts him", urgent=True,
                             reason="urgent:abuse", subjects="general")
    with rt.db.session_scope() as session:  # routing gave it to someone on duty; make it wait in the queue
        row = session.get(Ticket, urgent)
        row.assignee_id, row.status, row.due_at = None, "open", None
    login(client, t["lead"]["email"], t["lead"]["password"])

    page = client.get("/console/tickets")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "All open tickets" in html
    assert set(listed(html)) == {t["fractions"], t["plants"], t["urdu"], urgent}
    assert listed(html)[0] == urgent  # urgent first by default

    def shown(query: str) -> list[int]:
        response = client.get("/console/tickets?" + query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return listed(response.get_data(as_text=True))

    assert shown("q=FRACTIONS") == [t["fractions"]]           # case does not matter
    assert shown("q=کسر") == [t["urdu"]]                      # nor the script
    assert shown(f"q=%23{t['plants']}") == [t["plants"]]       # "#12" finds ticket 12
    assert shown("q=%25") == [] and shown("q=_") == []         # % and _ are characters here, not wildcards
    assert shown("subject=science") == [t["plants"]]
    assert shown("language=ur") == [t["urdu"]]
    assert shown("urgent=1") == [urgent]
    assert shown(f"assignee={t['science']['id']}") == [t["plants"]]
    assert shown("assignee=none") == [urgent]
    newest = shown("sort=newest")
    assert newest == sorted(newest, reverse=True)
    assert shown("sort=oldest") == sorted(newest)
    deadline = shown("sort=deadline")
    assert deadline[-1] == urgent  # no deadline runs on an unassigned ticket: last

    with rt.db.session_scope() as session:
        session.get(Ticket, t["plants"]).status = "closed"
    assert t["plants"] not in shown("")
    assert shown("status=closed") == [t["plants"]]
    assert t["plants"] in shown("status=all")
    assert "Find tickets" in client.get("/console/tickets?subject=maths").get_data(as_text=True)


def test_bad_filter_values_are_named_and_left_out(client, rt, twilio_api):
    t = setup_tickets(rt)
    login(client, t["lead"]["email"], t["lead"]["password"])
    response = client.get("/console/tickets?status=lost&sort=sideways&assignee=9999&subject=%3Cscript%3E"
                          "&urgent=maybe&grade_band=x&language=fr&q=" + "a" * 300)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    for text in ("no status called “lost”", "no sort order called “sideways”", "no expert “9999”",
                 "no subject called “&lt;script&gt;”", "“urgent” is either on or off",
                 "no grade band",
                 "no language called “fr”", "first 200 characters"):
        assert text in html
    assert "<script>" not in html
    # The rest of the page still works: the bad filters are dropped, the list shown.
    assert set(listed(html)) == set()  # 200 "a"s match nothing
    response = client.get("/console/tickets?status=lost")
    assert response.status_code == 400 and set(listed(response.get_data(as_text=True))) == {
        t["fractions"], t["plants"], t["urdu"]}
    for since in ("abc", "9" * 30, "²"):
        assert client.get(f"/console/counts.json?since={since}").status_code == 200
    assert client.get("/console/tickets?assignee=" + "9" * 30).status_code == 400
    assert client.get("/console/tickets?assignee=²").status_code == 400


def test_an_expert_finds_only_what_they_may_see_and_cannot_bulk_act(client, rt, twilio_api):
    t = setup_tickets(rt)
    login(client, t["science"]["email"], t["science"]["password"])
    html = client.get("/console/tickets").get_data(as_text=True)
    assert listed(html) == [t["plants"]] and "bulk-form" not in html
    assert client.get("/console/tickets?q=fractions").get_data(as_text=True).count("data-ticket=") == 0
    response = client.post("/console/tickets/bulk", data={"csrf_token": csrf(client), "action": "close",
                                                          "confirm": "yes", "ticket_id": [t["fractions"]]})
    assert response.status_code == 403
    with rt.db.session_scope() as session:
        assert session.get(Ticket, t["fractions"]).status == "assigned"


def test_a_lead_bulk_assigns_and_closes_with_a_confirmation(client, rt, twilio_api):
    t = setup_tickets(rt)
    login(client, t["lead"]["email"], t["lead"]["password"])
    token = csrf(client)
    chosen = [t["fractions"], t["urdu"]]
    assert client.post("/console/tickets/bulk", data={"action": "assign", "ticket_id": chosen,
                                                      "expert_id": t["science"]["id"]}).status_code == 400
    response = client.post("/console/tickets/bulk", data={
        "csrf_token": token, "action": "assign", "ticket_id": chosen, "expert_id": t["science"]["id"],
        "back": "/console/tickets?subject=maths"})
    assert response.status_code == 302 and response.location.endswith("/console/tickets?subject=maths")
    rt.jobs.drain()
    with rt.db.session_scope() as session:
        rows = [session.get(Ticket, n) for n in chosen]
        assert [r.assignee_id for r in rows] == [t["science"]["id"]] * 2
        assert all(r.reassignments == 1 for r in rows)
    notices = sent_to(twilio_api, SCIENCE)
    for ticket_id in chosen:
        assert any(f"#{ticket_id}" in body for body in notices)
    assert "Assigned to Bilal: #" in client.get("/console/tickets").get_data(as_text=True)

    # Close: the first post only asks; nothing changes until the confirmation.
    ask = client.post("/console/tickets/bulk", data={"csrf_token": token, "action": "close",
                                                     "ticket_id": chosen, "back": "https://evil.example/"})
    html = ask.get_data(as_text=True)
    assert ask.status_code == 200 and "Close 2 tickets?" in html and "evil.example" not in html
    with rt.db.session_scope() as session:
        assert {session.get(Ticket, n).status for n in chosen} == {"assigned"}
    done = client.post("/console/tickets/bulk", data={"csrf_token": token, "action": "close",
                                                      "confirm": "yes",
                                                      "ticket_id": chosen + [t["plants"], 999999]})
    assert done.status_code == 302 and done.location.endswith("/console/tickets")
    with rt.db.session_scope() as session:
        assert {session.get(Ticket, n).status for n in chosen + [t["plants"]]} == {"closed"}
    # Nonsense is answered with a sentence.
    response = client.post("/console/tickets/bulk", data={"csrf_token": token, "action": "explode",
                                                          "ticket_id": ["x"]}, follow_redirects=True)
    assert response.status_code == 200 and "Tick one or more tickets" in response.get_data(as_text=True)
    for expert_id in ("nobody", "9" * 30, "²"):  # beyond an integer column; a digit int() refuses
        response = client.post("/console/tickets/bulk", data={"csrf_token": token, "action": "assign",
                                                              "ticket_id": chosen, "expert_id": expert_id},
                               follow_redirects=True)
        assert "Choose an active expert" in response.get_data(as_text=True)
    response = client.post("/console/tickets/bulk", data={"csrf_token": token, "action": "close",
                                                          "ticket_id": ["9" * 30, "³"]}, follow_redirects=True)
    assert "Tick one or more tickets" in response.get_data(as_text=True)


def test_counts_for_the_polling_script(client, rt, twilio_api):
    t = setup_tickets(rt)
    login(client, t["maths"]["email"], t["maths"]["password"])
    html = client.get("/console/").get_data(as_text=True)
    since = int(re.search(r'data-since="(\d+)"', html).group(1))
    assert since == max(t["fractions"], t["plants"], t["urdu"])
    data = client.get(f"/console/counts.json?since={since}").get_json()
    assert data == {"mine": 2, "unassigned": 0, "urgent": 0, "new": 0}  # fractions and the Urdu one
    open_ticket_for(rt, "+923001230001", "How do I teach long division?", subjects="maths")
    open_ticket_for(rt, "+923001230002", "Why do leaves change colour?", subjects="science")  # Bilal's
    data = client.get(f"/console/counts.json?since={since}").get_json()
    assert data["new"] == 1 and data["mine"] == 3  # another expert's new ticket is not news to Ayesha


def test_times_are_local_and_relative(client, rt, twilio_api):
    t = setup_tickets(rt)
    now = utcnow()
    with rt.db.session_scope() as session:
        session.get(Ticket, t["fractions"]).due_at = now + timedelta(minutes=42, seconds=30)
        session.get(Ticket, t["urdu"]).due_at = now - timedelta(minutes=5, seconds=30)
        session.get(Ticket, t["urdu"]).created_at = now - timedelta(hours=3, minutes=7, seconds=10)
    login(client, t["maths"]["email"], t["maths"]["password"])
    html = client.get("/console/").get_data(as_text=True)
    assert "42 min left" in html and "overdue 5 min" in html and "waiting 3 h 7 min" in html
    karachi = now + timedelta(hours=5, minutes=42, seconds=30)  # Asia/Karachi is UTC+5, no summer time
    assert f"{karachi.day} {karachi:%b %H:%M}" in html
    page = client.get(f"/console/tickets/{t['fractions']}").get_data(as_text=True)
    assert f"answer by {karachi.day} {karachi:%b %H:%M} (42 min left)" in page and " UTC" not in page


def test_the_ticket_page_in_words_with_notes_reopen_and_an_editable_faq(client, rt, twilio_api):
    t = setup_tickets(rt)
    login(client, t["maths"]["email"], t["maths"]["password"])
    page = client.get(f"/console/tickets/{t['fractions']}").get_data(as_text=True)
    # The matcher's proposal in words, not its raw decision and scores.
    assert "Closest FAQ: How do I introduce fractions to young children? (" in page
    assert re.search(r"\((low|medium|high) confidence\)", page) and "escalate (" not in page
    assert '<li class="bubble in">' in page and "Students cannot understand fractions" in page

    # "Use this FAQ" fills the reply box with the full answer (not the SMS short form) and sends nothing.
    page = client.get(f"/console/tickets/{t['fractions']}?use=noisy-class").get_data(as_text=True)
    box = re.search(r'<textarea id="answer"[^>]*>([^<]*)</textarea>', page).group(1)
    assert box.startswith("Agree a silent signal with the class, practise it")
    assert 'name="faq_id" value="noisy-class"' in page and sent_to(twilio_api, TEACHER) == []
    assert "There is no FAQ “nope”" in client.get(f"/console/tickets/{t['fractions']}?use=nope").get_data(
        as_text=True)

    token = csrf(client)
    client.post(f"/console/tickets/{t['fractions']}/note", data={"csrf_token": token,
                                                                 "note": "Ask the lead about the syllabus"})
    assert client.post(f"/console/tickets/{t['fractions']}/note",
                       data={"csrf_token": token, "note": "  "}, follow_redirects=True).status_code == 200
    response = client.post(f"/console/tickets/{t['fractions']}/reply", data={
        "csrf_token": token, "faq_id": "fractions-intro", "answer": "Start with real objects, edited by me."})
    assert response.status_code == 302
    rt.jobs.drain()
    to_teacher = sent_to(twilio_api, TEACHER)
    assert len(to_teacher) == 1 and "edited by me" in to_teacher[0]
    assert not any("syllabus" in body for body in to_teacher)  # notes never reach the teacher
    page = client.get(f"/console/tickets/{t['fractions']}").get_data(as_text=True)
    assert "Ask the lead about the syllabus" in page and '<li class="bubble out">' in page
    with rt.db.session_scope() as session:
        ticket = session.get(Ticket, t["fractions"])
        assert ticket.answer_faq_id == "fractions-intro" and ticket.status == "answered"
        notes = session.scalars(select(TicketEvent).where(TicketEvent.kind == "note")).all()
        assert [n.detail for n in notes] == ["Ask the lead about the syllabus"]

    client.post(f"/console/tickets/{t['fractions']}/close", data={"csrf_token": token})
    response = client.post(f"/console/tickets/{t['fractions']}/reopen", data={"csrf_token": token},
                           follow_redirects=True)
    assert "is reopened and assigned to Ayesha" in response.get_data(as_text=True)
    with rt.db.session_scope() as session:
        ticket = session.get(Ticket, t["fractions"])
        assert (ticket.status, ticket.assignee_id, ticket.closed_at) == ("assigned", t["maths"]["id"], None)
    response = client.post(f"/console/tickets/{t['fractions']}/reopen", data={"csrf_token": token},
                           follow_redirects=True)
    assert "is still open" in response.get_data(as_text=True)


def test_a_lead_assigns_by_name_and_the_old_link_is_friendly(client, rt, twilio_api):
    t = setup_tickets(rt)
    login(client, t["lead"]["email"], t["lead"]["password"])
    token = csrf(client)
    page = client.get(f"/console/tickets/{t['fractions']}").get_data(as_text=True)
    assert 'id="assign-form"' in page
    response = client.post(f"/console/tickets/{t['fractions']}/assign",
                           data={"csrf_token": token, "expert_id": t["science"]["id"]}, follow_redirects=True)
    assert "is assigned to Bilal, who has been told" in response.get_data(as_text=True)
    for expert_id in ("abc", "9" * 30):
        response = client.post(f"/console/tickets/{t['fractions']}/assign",
                               data={"csrf_token": token, "expert_id": expert_id}, follow_redirects=True)
        assert "Choose an expert from the list" in response.get_data(as_text=True)

    login(client, t["maths"]["email"], t["maths"]["password"])
    assert 'id="assign-form"' not in client.get(f"/console/tickets/{t['urdu']}").get_data(as_text=True)
    old_link = client.get(f"/console/tickets/{t['fractions']}")
    html = old_link.get_data(as_text=True)
    assert old_link.status_code == 403 and "is not in your list any more" in html and "Your tickets" in html
    response = client.post(f"/console/tickets/{t['urdu']}/assign",
                           data={"csrf_token": csrf(client), "expert_id": t["science"]["id"]},
                           follow_redirects=True)
    assert "Only a lead can assign" in response.get_data(as_text=True)


def test_urdu_text_takes_its_own_direction_everywhere(client, rt, twilio_api):
    t = setup_tickets(rt)
    login(client, t["maths"]["email"], t["maths"]["password"])
    html = client.get("/console/").get_data(as_text=True)
    assert re.search(r'<td class="tt" dir="auto" lang="ur">\s*' + re.escape(URDU_QUESTION), html)
    page = client.get(f"/console/tickets/{t['urdu']}").get_data(as_text=True)
    assert re.search(r'<p class="question tt" dir="auto" lang="ur">' + re.escape(URDU_QUESTION), page)
    for field in ('id="answer"', 'id="note"', 'name="question"', 'name="answer_en"'):
        tag = re.search(r"<(?:textarea|input)[^>]*" + re.escape(field) + r"[^>]*>", page)
        assert tag and ('dir="auto"' in tag.group(0)), field
    assert page.count('class="body tt" dir="auto"') >= 1
