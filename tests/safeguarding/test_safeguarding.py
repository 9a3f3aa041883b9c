"""What happens after a safeguarding flag, end to end on SQLite and PostgreSQL: the urgent ticket, the on-call
lead's phone, the province's helplines in the teacher's language, the flood limit and opt-out, routing that
jumps every queue, the target check, and a lead's false-alarm mark counted in the service figures. The real
worker process runs the same path in the last test."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from conftest import login
from helpdesk.experts import tickets
from helpdesk.models import InboundMessage, Teacher, utcnow
from helpdesk.models.tickets import Ticket
from support.browser import log_in
from support.experts import add_expert, open_ticket_for, sent_to
from support.teachers import Phone

ONCALL = "+923219998877"
LEAD, MATHS, SCIENCE = "+923110000009", "+923110000001", "+923110000003"
DISCLOSURE = "AoA sir, fractions ka worksheet chahiye tha. Aik bachi ne bataya ke uska chacha usay roz maarta hai"


class Chat:
    def __init__(self, client, rt, twilio_api, phone: str, whatsapp: bool = True):
        self.phone = Phone(client, phone, whatsapp=whatsapp)
        self.rt, self.twilio_api = rt, twilio_api

    def text(self, body: str) -> str:
        before = len(self.twilio_api.messages)
        self.phone.send(body)
        assert self.rt.jobs.drain(include_delayed=False)
        return "\n".join(m["Body"] for m in self.twilio_api.messages[before:] if m["To"] == self.phone.address)


def teacher_with(rt, phone: str, **fields) -> None:
    with rt.db.session_scope() as session:
        teacher = Teacher(phone=phone, welcomed_at=utcnow(), channel="whatsapp", **fields)
        session.add(teacher)


def the_ticket(rt) -> Ticket:
    with rt.db.session_scope() as session:
        ticket = session.scalars(select(Ticket)).one()
        ticket.events, ticket.teacher  # load while the session is open
        session.expunge_all()
        return ticket


def test_a_flag_pages_the_on_call_phone_and_gives_the_provinces_helplines_in_urdu(make_app, database_url,
                                                                                     twilio_api):
    app = make_app(database_url, oncall_phone=ONCALL)
    rt = app.extensions["helpdesk"]
    teacher_with(rt, "+923005550001", district="Lahore", language="ur", name="Sadia")
    reply = Chat(app.test_client(), rt, twilio_api, "+923005550001").text(
        "ایک بچی نے بتایا کہ اس کا سوتیلا باپ اسے روز مارتا ہے")
    assert "کال کریں گے" in reply                       # a call back is promised: an on-call phone is set
    assert "بچوں کے تحفظ کی ہیلپ لائن 1121" in reply and "پولیس 15" in reply   # Punjab's, labels in Urdu
    assert "لکھیں" not in reply                          # no FAQ answer and no rating prompt
    ticket = the_ticket(rt)
    assert (ticket.priority, ticket.reason) == ("urgent", "urgent:child_abuse")
    assert "flagged" in [e.kind for e in ticket.events] and "on-call told" in [e.kind for e in ticket.events]
    [page] = sent_to(twilio_api, ONCALL)
    assert page.startswith(f"URGENT child abuse #{ticket.id} from Sadia (+923005550001, Lahore)")


def test_without_an_on_call_phone_the_leads_are_told_and_no_call_is_promised(app, rt, twilio_api):
    lead = add_expert(rt, LEAD, ["general"], role="lead", is_lead=True)
    teacher_with(rt, "+923005550002", district="Karachi", language="en")
    reply = Chat(app.test_client(), rt, twilio_api, "+923005550002").text(
        "there is a fire in the school store room and smoke in the classrooms")
    assert "top of our senior team's queue" in reply and "call you back" not in reply
    assert "Rescue (ambulance, fire) 1122" in reply
    assert "Child protection" not in reply      # Sindh's child-protection line is not verified yet: not shown
    notices = sent_to(twilio_api, lead["phone"])
    assert any(n.startswith("URGENT emergency #") and "+923005550002" in n for n in notices)


def test_a_self_harm_flag_gives_the_mental_health_line_in_roman_urdu(app, rt, twilio_api):
    teacher_with(rt, "+923005550003", district="Peshawar", language="roman-ur")
    reply = Chat(app.test_client(), rt, twilio_api, "+923005550003").text(
        "zindagi se tang aa gayi hun, khatam karna chahti hun")
    assert "Zehni sehat helpline (Umang, muft, 24 ghante) 0311-7786264" in reply and "Humein batane" in reply
    assert the_ticket(rt).reason == "urgent:self_harm"


def test_a_flag_is_never_deferred_by_the_flood_limit(make_app, database_url, twilio_api):
    app = make_app(database_url, flood_messages_per_minute=2)
    rt = app.extensions["helpdesk"]
    chat = Chat(app.test_client(), rt, twilio_api, "+923005550004")
    for n in range(3):
        chat.text(f"question {n} about my noisy class")
    reply = chat.text("principal ne mujhe thappad maara sab ke samne")
    assert "Police 15" in reply
    with rt.db.session_scope() as session:
        last = session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert last.status != "deferred"
        urgent = session.scalars(select(Ticket).where(Ticket.priority == "urgent")).all()
        assert [t.reason for t in urgent] == ["urgent:violence_threat"]


def test_an_opted_out_teachers_disclosure_still_reaches_a_human_but_gets_no_reply(app, rt, twilio_api):
    teacher_with(rt, "+923005550005", opted_out_at=utcnow())
    reply = Chat(app.test_client(), rt, twilio_api, "+923005550005").text(
        "a student told me her uncle beats her every day")
    assert reply == ""
    assert the_ticket(rt).priority == "urgent"


def test_a_loose_use_of_an_alarming_word_is_an_ordinary_question(app, rt, twilio_api):
    Chat(app.test_client(), rt, twilio_api, "+923005550006").text("I need emergency leave, how do I apply")
    with rt.db.session_scope() as session:
        assert session.scalars(select(Ticket).where(Ticket.priority == "urgent")).all() == []


def test_an_urgent_ticket_jumps_every_queue_to_a_lead_whatever_the_subject(rt, twilio_api):
    maths = add_expert(rt, MATHS, ["maths"])
    add_expert(rt, SCIENCE, ["science"], capacity=1)
    lead = add_expert(rt, LEAD, ["english"], role="lead", is_lead=True, capacity=1)
    open_ticket_for(rt, "+923005550007", "Students cannot understand fractions", subjects="maths")  # fills nobody
    busy = open_ticket_for(rt, "+923005550008", "grammar question about tenses", subjects="english")
    assert tickets_row(rt, busy).assignee_id == lead["id"]          # the lead is now at capacity
    urgent = open_ticket_for(rt, "+923005550009", "fractions and my student is bleeding badly",
                             urgent=True, reason="urgent:emergency", subjects="maths")
    row = tickets_row(rt, urgent)
    assert row.assignee_id == lead["id"] and row.assignee_id != maths["id"]   # full and off-subject: still the lead
    assert sent_to(twilio_api, LEAD)[-1].startswith("URGENT")


def tickets_row(rt, ticket_id) -> Ticket:
    with rt.db.session_scope() as session:
        ticket = session.get(Ticket, ticket_id)
        ticket.events
        session.expunge_all()
        return ticket


def test_the_target_check_reassigns_an_urgent_ticket_but_never_closes_it(rt, twilio_api):
    first = add_expert(rt, MATHS, ["maths"])
    ticket_id = open_ticket_for(rt, "+923005550010", "a parent threatened to kill me", urgent=True,
                                reason="urgent:violence_threat")
    assert tickets_row(rt, ticket_id).assignee_id == first["id"]
    with rt.db.session_scope() as session:
        session.get(Ticket, ticket_id).due_at = utcnow() - timedelta(minutes=1)
    for _ in range(3):
        with rt.db.session_scope() as session:
            tickets.check_targets(session, rt, now=utcnow() + timedelta(hours=6))
    row = tickets_row(rt, ticket_id)
    assert row.status in ("open", "assigned") and row.closed_at is None and row.priority == "urgent"
    assert "target missed" in [e.kind for e in row.events]


def test_a_lead_marks_a_false_alarm_and_the_figures_count_it(client, rt, twilio_api):
    lead = add_expert(rt, LEAD, ["general"], role="lead", is_lead=True)
    expert = add_expert(rt, MATHS, ["maths"])
    flagged = open_ticket_for(rt, "+923005550011", "snakes and ladders for counting", urgent=True,
                              reason="urgent:emergency")
    other = open_ticket_for(rt, "+923005550012", "roof collapsed on the children", urgent=True,
                            reason="urgent:emergency")
    plain = open_ticket_for(rt, "+923005550013", "Students cannot understand fractions", subjects="maths")

    login(client, expert["email"], expert["password"])
    token = _token(client, "/console/")
    assert client.post(f"/console/tickets/{flagged}/false-alarm", data={"csrf_token": token}).status_code == 403
    assert tickets_row(rt, flagged).priority == "urgent"                 # the lead's ticket: not the expert's
    assert client.post(f"/console/tickets/{flagged}/false-alarm", data={}).status_code == 400  # no CSRF token

    login(client, lead["email"], lead["password"])
    token = _token(client, f"/console/tickets/{flagged}")
    response = client.post(f"/console/tickets/{flagged}/false-alarm",
                           data={"csrf_token": token, "note": "a counting game"}, follow_redirects=True)
    assert "marked as a false alarm" in response.get_data(as_text=True)
    row = tickets_row(rt, flagged)
    assert row.priority == "normal" and row.status != "closed"
    assert [(e.actor, e.detail) for e in row.events if e.kind == "false alarm"] == [("Lead 009", "a counting game")]
    again = client.post(f"/console/tickets/{flagged}/false-alarm", data={"csrf_token": token},
                        follow_redirects=True)
    assert "already marked" in again.get_data(as_text=True)
    refused = client.post(f"/console/tickets/{plain}/false-alarm", data={"csrf_token": token},
                          follow_redirects=True)
    assert "was not flagged" in refused.get_data(as_text=True)

    csv = client.get("/console/figures.csv").get_data(as_text=True)
    assert "Safeguarding flags,emergency,2,1,50.0" in csv and "Safeguarding flags,all,2,1,50.0" in csv
    assert tickets_row(rt, other).priority == "urgent"


def _token(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_the_false_alarm_button_in_the_browser(live_server, page, rt, twilio_api):
    lead = add_expert(rt, LEAD, ["general"], role="lead", is_lead=True, name="Lubna")
    ticket_id = open_ticket_for(rt, "+923005550014", "saanp ne kaata, just kidding, saanp seedhi", urgent=True,
                                reason="urgent:emergency")
    log_in(page, live_server.url, lead["email"], lead["password"])
    page.goto(f"{live_server.url}/console/tickets/{ticket_id}")
    expect(page.locator(".flag")).to_have_text("emergency")
    page.fill("input[name=note]", "a game")
    page.click("#false-alarm")
    expect(page.locator(".flash")).to_contain_text("marked as a false alarm")
    expect(page.locator(".false-alarm")).to_contain_text("Lubna")
    expect(page.locator("#false-alarm")).to_have_count(0)
    page.goto(f"{live_server.url}/console/figures")
    expect(page.locator("body")).to_contain_text("Safeguarding flags")


def test_a_flag_through_the_real_worker_reaches_the_on_call_phone(make_app, pg_url, redis_url, twilio_api,
                                                                 tmp_path):
    from support.processes import WorkerProcess, service_env

    app = make_app(pg_url, redis_url=redis_url, sweep_after_seconds=0)
    rt = app.extensions["helpdesk"]
    teacher_with(rt, "+923005550015", district="Rawalpindi", language="roman-ur")
    # Settings are read in the worker process: ONCALL_PHONE goes in its environment.
    env = service_env(pg_url, redis_url, twilio_api, ONCALL_PHONE=ONCALL)
    proc = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        before = len(twilio_api.messages)
        Phone(app.test_client(), "+923005550015", whatsapp=True).send(DISCLOSURE)
        sent = twilio_api.wait_for_messages(before + 2, timeout=30)[before:]
    finally:
        proc.stop()
    to = {m["To"]: m["Body"] for m in sent}
    assert to[ONCALL].startswith("URGENT child abuse #")
    assert "Bachon ke tahaffuz ki helpline 1121" in to["whatsapp:+923005550015"]
    assert "call karenge" in to["whatsapp:+923005550015"]
    with rt.db.session_scope() as session:
        assert session.scalars(select(Ticket)).one().priority == "urgent"
