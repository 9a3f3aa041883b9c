"""Tickets end to end: opened on escalation, routed by specialism and load, reassigned after the target
time."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.experts import tickets
from helpdesk.models import InboundMessage, Teacher
from helpdesk.models.tickets import Ticket
from support.experts import add_expert, expert_says, open_ticket_for, sent_to, teacher_question

TEACHER = "+923001234567"
MATHS_A, MATHS_B, SCIENCE, LEAD = "+923110000001", "+923110000002", "+923110000003", "+923110000009"


def ticket_row(rt, ticket_id):
    with rt.db.session_scope() as session:
        ticket = session.get(Ticket, ticket_id)
        ticket.events, ticket.teacher  # load while the session is open
        return ticket


def kinds(ticket):
    return [event.kind for event in ticket.events]


def test_a_ticket_keeps_the_question_context_profile_and_taxonomy_guess(rt, twilio_api):
    expert = add_expert(rt, MATHS_A, ["maths"])
    teacher_question(rt, TEACHER, "Hello")
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions at all",
                                school_level="primary", name="Sana", subjects="maths")
    ticket = ticket_row(rt, ticket_id)
    assert ticket.question == "Students cannot understand fractions at all"
    assert [line["body"] for line in ticket.conversation if line["dir"] == "in"][:2] == [
        "Hello", "Students cannot understand fractions at all"]
    assert ticket.match_info["candidates"][0]["faq_id"] == "fractions-intro"
    assert ticket.profile["name"] == "Sana" and "phone" not in ticket.profile
    assert (ticket.area, ticket.subject, ticket.grade_band, ticket.nearest_faq_id) == (
        "numeracy", "maths", "primary", "fractions-intro")
    assert ticket.status == "assigned" and ticket.assignee_id == expert["id"] and ticket.priority == "normal"
    assert kinds(ticket)[:2] == ["opened", "assigned"]
    notice = sent_to(twilio_api, MATHS_A)[-1]
    assert notice.startswith(f"#{ticket_id} Mathematics, Primary: Students cannot understand fractions")
    assert f"Reply #{ticket_id} followed by your answer" in notice


@pytest.mark.parametrize("level, band", [("high", "secondary"), ("higher-secondary", "higher-secondary"),
                                         ("ece", "ece")])
def test_the_ticket_band_comes_from_the_profile_level(rt, twilio_api, level, band):
    add_expert(rt, MATHS_A, ["maths"])
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions at all",
                                school_level=level, subjects="maths")
    assert ticket_row(rt, ticket_id).grade_band == band


def test_routing_balances_load_round_robin_and_respects_specialism(rt, twilio_api):
    a = add_expert(rt, MATHS_A, ["maths"])
    b = add_expert(rt, MATHS_B, ["maths"])
    science = add_expert(rt, SCIENCE, ["science"])
    ids = [open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
           for _ in range(4)]
    assignees = [ticket_row(rt, i).assignee_id for i in ids]
    assert sorted(assignees) == sorted([a["id"], a["id"], b["id"], b["id"]])
    assert assignees[0] != assignees[1]  # equal load: the other one next
    assert science["id"] not in assignees
    plant = open_ticket_for(rt, TEACHER, "How to show seed germination in class", subjects="")
    assert ticket_row(rt, plant).assignee_id == science["id"]


def test_no_matching_expert_on_duty_leaves_it_in_the_subject_queue(rt, twilio_api):
    add_expert(rt, MATHS_A, ["maths"], start="00:00", end="00:01", days=[])  # never on duty
    add_expert(rt, SCIENCE, ["science"])
    # (An urgent ticket would go to the science expert: it jumps every queue, see test_safeguarding.py.)
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    ticket = ticket_row(rt, ticket_id)
    assert (ticket.status, ticket.assignee_id, ticket.priority) == ("open", None, "normal")
    assert kinds(ticket)[-1] == "queued"
    with rt.db.session_scope() as session:
        assert [t.id for t in tickets.tickets_for_queue(session, subject="maths")] == [ticket_id]
    assert sent_to(twilio_api, MATHS_A) == [] and sent_to(twilio_api, SCIENCE) == []


def test_a_full_expert_gets_nothing_until_a_ticket_is_answered(rt, twilio_api):
    add_expert(rt, MATHS_A, ["maths"], capacity=1)
    first = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    second = open_ticket_for(rt, TEACHER, "Fractions again, with a different class", subjects="maths")
    assert ticket_row(rt, second).assignee_id is None
    expert_says(rt, MATHS_A, f"#{first} Use paper folding.")
    with rt.db.session_scope() as session:
        assert tickets.check_targets(session, rt) == {"reassigned": 0, "assigned": 1}
    rt.jobs.drain()
    assert ticket_row(rt, second).status == "assigned"
    assert sent_to(twilio_api, MATHS_A)[-1].startswith(f"#{second} Mathematics")


@pytest.fixture
def quick_app(make_app, database_url):
    # A zero-minute target: every assignment is overdue at once, as if the expert had gone quiet for hours.
    return make_app(database_url, ticket_target_minutes_normal=0)


def test_missed_target_reassigns_and_tells_the_lead(quick_app, twilio_api):
    from workers.ticket_jobs import check_ticket_targets

    rt = quick_app.extensions["helpdesk"]
    a = add_expert(rt, MATHS_A, ["maths"], name="Ayesha")
    b = add_expert(rt, MATHS_B, ["maths"], name="Bilal")
    add_expert(rt, LEAD, ["general"], role="lead", is_lead=True, capacity=1, start="00:00", end="00:01",
               days=[])
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    first = ticket_row(rt, ticket_id).assignee_id
    assert check_ticket_targets() == {"reassigned": 1, "assigned": 0}
    rt.jobs.drain()
    ticket = ticket_row(rt, ticket_id)
    assert ticket.assignee_id not in (None, first) and ticket.assignee_id in (a["id"], b["id"])
    assert (ticket.reassignments, ticket.sla_breaches) == (1, 1)
    assert {"target missed", "lead told"} <= set(kinds(ticket))
    lead_message = sent_to(twilio_api, LEAD)[-1]
    assert lead_message.startswith(f"#{ticket_id} (Mathematics, normal) was not answered by ")
    assert "within 0 min; now assigned to" in lead_message
    new_phone = MATHS_B if ticket.assignee_id == b["id"] else MATHS_A
    assert sent_to(twilio_api, new_phone)[-1].startswith(f"#{ticket_id} Mathematics")
    # The second expert misses it too; nobody else matches, so it waits in the queue and the lead hears again.
    assert check_ticket_targets()["reassigned"] == 1
    rt.jobs.drain()
    ticket = ticket_row(rt, ticket_id)
    assert (ticket.status, ticket.assignee_id, ticket.reassignments) == ("open", None, 2)
    assert sent_to(twilio_api, LEAD)[-1].endswith("back in the unassigned queue.")


def test_followups_attach_to_the_active_ticket_and_reach_the_expert(rt, twilio_api):
    add_expert(rt, MATHS_A, ["maths"])
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    teacher_id, inbound_id = teacher_question(rt, TEACHER, "They are in grade 3")
    with rt.db.session_scope() as session:
        active = tickets.active_ticket(session, session.get(Teacher, teacher_id))
        assert active.id == ticket_id
        tickets.add_followup(session, rt, active, session.get(InboundMessage, inbound_id))
    rt.jobs.drain()
    ticket = ticket_row(rt, ticket_id)
    assert ticket.conversation[-1]["body"] == "They are in grade 3" and kinds(ticket)[-1] == "followup"
    assert sent_to(twilio_api, MATHS_A)[-1] == f"#{ticket_id} follow-up from the teacher: They are in grade 3"


def test_rating_1_closes_and_rating_2_reopens_to_the_same_expert(rt, twilio_api):
    expert = add_expert(rt, MATHS_A, ["maths"])
    add_expert(rt, MATHS_B, ["maths"])
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    answerer = ticket_row(rt, ticket_id).assignee_id
    phone = MATHS_A if answerer == expert["id"] else MATHS_B
    expert_says(rt, phone, f"#{ticket_id} Fold paper strips into halves.")
    with rt.db.session_scope() as session:
        t = session.scalars(select(Teacher).where(Teacher.phone == TEACHER)).one()
        assert tickets.active_ticket(session, t) is None
        waiting = tickets.awaiting_expert_rating(session, t)
        assert waiting.id == ticket_id
        tickets.rate_answer(session, rt, waiting, 2)
    rt.jobs.drain()
    ticket = ticket_row(rt, ticket_id)
    assert (ticket.status, ticket.rating, ticket.assignee_id) == ("assigned", 2, answerer)
    assert {"rated", "reopened"} <= set(kinds(ticket))
    expert_says(rt, phone, f"#{ticket_id} Try sharing a roti.")
    with rt.db.session_scope() as session:
        t = session.scalars(select(Teacher).where(Teacher.phone == TEACHER)).one()
        waiting = tickets.awaiting_expert_rating(session, t)
        assert waiting.id == ticket_id and waiting.rating is None  # the new answer is rated afresh
        tickets.rate_answer(session, rt, waiting, 1)
    ticket = ticket_row(rt, ticket_id)
    assert ticket.status == "closed" and ticket.closed_at is not None and ticket.rating == 1
    with pytest.raises(ValueError):
        with rt.db.session_scope() as session:
            tickets.rate_answer(session, rt, session.get(Ticket, ticket_id), 5)


def test_retag_answer_and_rating_reach_the_analytics_interaction(rt, twilio_api):
    from analytics import store
    from analytics.models import Interaction

    add_expert(rt, MATHS_A, ["maths"])
    teacher_id, inbound_id = teacher_question(rt, TEACHER, "My pupils mix up numerator and denominator")
    with rt.db.session_scope() as session:
        teacher, inbound = session.get(Teacher, teacher_id), session.get(InboundMessage, inbound_id)
        match = rt.knowledge.view().match(inbound.body)
        interaction = store.record_interaction(session, rt, teacher=teacher, inbound=inbound, route="escalated",
                                               match=match, language="en")
        ticket = tickets.open_ticket(session, rt, teacher=teacher, inbound=inbound, question=inbound.body,
                                     match=match, reason="no-match", interaction_id=interaction.id)
        ticket_id, interaction_id = ticket.id, interaction.id
        tickets.retag_ticket(session, ticket, "Lead", area="numeracy", subject="maths", grade_band="middle")
        with pytest.raises(tickets.TicketError, match="Unknown area"):
            tickets.retag_ticket(session, ticket, "Lead", area="astrology", subject=None, grade_band=None)
    expert_says(rt, MATHS_A, f"#{ticket_id} The top number counts the parts you take.")
    with rt.db.session_scope() as session:
        tickets.rate_answer(session, rt, session.get(Ticket, ticket_id), 1)
    with rt.db.session_scope() as session:
        row = session.get(Interaction, interaction_id)
        assert (row.area, row.subject, row.grade_band, row.coding_source) == ("numeracy", "maths", "middle",
                                                                              "expert")
        assert row.resolved == 1 and row.resolved_at is not None and row.rating == 1
        assert ("retagged", "numeracy / maths / middle") in [(e.kind, e.detail)
                                                             for e in session.get(Ticket, ticket_id).events]


def test_experts_cli_adds_lists_and_checks(make_app, sqlite_url, monkeypatch, twilio_api):
    from click.testing import CliRunner

    from helpdesk.cli import main
    from helpdesk.web.admin import create_user

    rt = make_app(sqlite_url).extensions["helpdesk"]
    with rt.db.session_scope() as session:
        create_user(session, email="ayesha@example.org", name="Ayesha", role="expert", password="pw-pw-pw-pw")
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    runner = CliRunner()
    result = runner.invoke(main, ["experts", "add", "--email", "ayesha@example.org", "--phone", "+923110000001",
                                  "--subjects", "maths,science", "--grade-bands", "primary", "--hours", "08:00-14:00",
                                  "--channel", "sms"])
    assert result.exit_code == 0, result.output
    assert "+92311****001" in result.output and "+923110000001" not in result.output
    listing = runner.invoke(main, ["experts", "list"]).output
    assert "Ayesha" in listing and "maths,science" in listing and "08:00-14:00 load 0/5" in listing
    bad = runner.invoke(main, ["experts", "add", "--email", "ayesha@example.org", "--phone", "0300",
                               "--subjects", "maths"])
    assert bad.exit_code != 0 and "international format" in bad.output
    assert runner.invoke(main, ["experts", "check-targets"]).output.strip() == "reassigned 0, assigned 0"


def test_did_not_help_goes_back_to_a_capacity_one_expert(rt, twilio_api):
    expert = add_expert(rt, MATHS_A, ["maths"], capacity=1)
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    expert_says(rt, MATHS_A, f"#{ticket_id} Fold paper strips.")
    with rt.db.session_scope() as session:
        tickets.rate_answer(session, rt, session.get(Ticket, ticket_id), 2)
    rt.jobs.drain()
    ticket = ticket_row(rt, ticket_id)
    assert (ticket.status, ticket.assignee_id) == ("assigned", expert["id"])
    assert sent_to(twilio_api, MATHS_A)[-1].startswith(f"#{ticket_id} Mathematics")
