"""Experts answer from their phone: `#123 <answer>`, `#123 pass`, `#123 close`, through the real webhook."""
from __future__ import annotations

from helpdesk.models.tickets import Ticket
from helpdesk.experts.tickets import Command, parse_command
from support.experts import add_expert, open_ticket_for, sent_to
from support.teachers import Phone

TEACHER = "+923001234567"
MATHS_A, MATHS_B, SCIENCE = "+923110000001", "+923110000002", "+923110000003"
LEAD, STRANGER = "+923110000009", "+923449999999"


def ticket_row(rt, ticket_id):
    with rt.db.session_scope() as session:
        ticket = session.get(Ticket, ticket_id)
        ticket.events
        return ticket


def say(client, rt, phone: str, body: str, whatsapp: bool = False) -> None:
    Phone(client, phone, whatsapp=whatsapp).send(body)
    rt.jobs.drain()


def test_parse_command():
    assert parse_command("#12 Use paper strips") == Command(12, "answer", "Use paper strips")
    assert parse_command("  # 12: Use paper\nstrips") == Command(12, "answer", "Use paper\nstrips")
    assert parse_command("#12 PASS") == Command(12, "pass")
    assert parse_command("#12 close.") == Command(12, "close")
    assert parse_command("#12") == Command(12, "show")
    assert parse_command("#12 pass the paper around") == Command(12, "answer", "pass the paper around")
    assert parse_command("thanks") is None and parse_command("# hello") is None


def test_the_assigned_expert_answers_and_the_teacher_gets_it(client, rt, twilio_api):
    add_expert(rt, MATHS_A, ["maths"])
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    say(client, rt, MATHS_A, f"#{ticket_id} Fold paper strips into halves and quarters.")
    to_teacher = sent_to(twilio_api, TEACHER)
    assert len(to_teacher) == 1
    assert to_teacher[0].startswith(
        "Answer from a subject expert:\nFold paper strips into halves and quarters.")
    assert to_teacher[0].endswith("Reply 1 if this helped, 2 if it did not.")
    confirmation = f"#{ticket_id}: your answer was sent to the teacher. Thank you."
    assert sent_to(twilio_api, MATHS_A)[-1] == confirmation
    ticket = ticket_row(rt, ticket_id)
    assert ticket.status == "answered" and ticket.answer == "Fold paper strips into halves and quarters."
    assert ticket.first_response_at is not None and ticket.answered_by_name == "Expert 001"
    assert [e.kind for e in ticket.events][-1] == "answered" and ticket.events[-1].actor == "Expert 001"


def test_pass_returns_it_to_the_queue_and_another_expert_gets_it(client, rt, twilio_api):
    a = add_expert(rt, MATHS_A, ["maths"])
    b = add_expert(rt, MATHS_B, ["maths"])
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    holder = MATHS_A if ticket_row(rt, ticket_id).assignee_id == a["id"] else MATHS_B
    other = b if holder == MATHS_A else a
    say(client, rt, holder, f"#{ticket_id} pass")
    ticket = ticket_row(rt, ticket_id)
    assert ticket.assignee_id == other["id"] and ticket.status == "assigned"
    assert "passed" in [e.kind for e in ticket.events]
    assert sent_to(twilio_api, holder)[-1] == f"#{ticket_id} is back in the queue. Thank you."
    assert sent_to(twilio_api, other["phone"])[-1].startswith(f"#{ticket_id} Mathematics")
    assert sent_to(twilio_api, TEACHER) == []


def test_pass_with_nobody_else_leaves_it_unassigned(client, rt, twilio_api):
    add_expert(rt, MATHS_A, ["maths"])
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    say(client, rt, MATHS_A, f"#{ticket_id} pass")
    ticket = ticket_row(rt, ticket_id)
    assert (ticket.status, ticket.assignee_id) == ("open", None)


def test_close_closes_without_messaging_the_teacher(client, rt, twilio_api):
    add_expert(rt, MATHS_A, ["maths"])
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    say(client, rt, MATHS_A, f"#{ticket_id} close")
    ticket = ticket_row(rt, ticket_id)
    assert ticket.status == "closed" and ticket.closed_at is not None
    assert sent_to(twilio_api, MATHS_A)[-1] == f"#{ticket_id} is closed."
    say(client, rt, MATHS_A, f"#{ticket_id} Late answer")
    assert sent_to(twilio_api, MATHS_A)[-1] == f"#{ticket_id} is closed; nothing was sent."
    assert sent_to(twilio_api, TEACHER) == []


def test_another_experts_hash_command_is_refused_politely(client, rt, twilio_api):
    add_expert(rt, MATHS_A, ["maths"])
    add_expert(rt, SCIENCE, ["science"])
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    for command in ("Wrong answer from the wrong person", "close", "pass"):
        say(client, rt, SCIENCE, f"#{ticket_id} {command}")
        refusal = sent_to(twilio_api, SCIENCE)[-1]
        assert refusal.startswith(f"Sorry, ticket #{ticket_id} is not assigned to you")
    ticket = ticket_row(rt, ticket_id)
    assert ticket.status == "assigned" and ticket.answer is None
    assert [e.kind for e in ticket.events].count("refused") == 3
    assert sent_to(twilio_api, TEACHER) == []


def test_a_lead_may_answer_any_ticket(client, rt, twilio_api):
    add_expert(rt, MATHS_A, ["maths"])
    add_expert(rt, LEAD, ["general"], role="lead", is_lead=True, start="00:00", end="00:01", days=[])
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    say(client, rt, LEAD, f"#{ticket_id} Share a roti into equal parts first.")
    assert ticket_row(rt, ticket_id).status == "answered"
    assert "Share a roti" in sent_to(twilio_api, TEACHER)[0]


def test_a_non_expert_number_is_just_a_teacher(client, rt, twilio_api):
    add_expert(rt, MATHS_A, ["maths"])
    ticket_id = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    say(client, rt, STRANGER, f"#{ticket_id} I will answer this")
    ticket = ticket_row(rt, ticket_id)
    assert ticket.status == "assigned" and ticket.answer is None
    assert "refused" not in [e.kind for e in ticket.events]
    assert sent_to(twilio_api, TEACHER) == []
    assert not any("not assigned to you" in body for body in sent_to(twilio_api, STRANGER))


def test_unknown_tickets_and_plain_text_get_help(client, rt, twilio_api):
    add_expert(rt, MATHS_A, ["maths"])
    say(client, rt, MATHS_A, "#99999 hello")
    assert sent_to(twilio_api, MATHS_A)[-1] == "There is no ticket #99999."
    say(client, rt, MATHS_A, "good morning")
    assert sent_to(twilio_api, MATHS_A)[-1].startswith("To answer a ticket reply #<number>")


def test_whatsapp_experts_get_sms_until_they_open_their_own_whatsapp_window(client, rt, twilio_api):
    add_expert(rt, MATHS_A, ["maths"], channel="whatsapp")
    first = open_ticket_for(rt, TEACHER, "Students cannot understand fractions", subjects="maths")
    # No WhatsApp message from the expert in 24 h: a free-form WhatsApp notice would be refused.
    assert sent_to(twilio_api, MATHS_A)[-1].startswith(f"#{first} Mathematics")
    assert sent_to(twilio_api, "whatsapp:" + MATHS_A) == []
    say(client, rt, MATHS_A, f"#{first} Use paper strips.", whatsapp=True)
    assert ticket_row(rt, first).status == "answered"
    assert sent_to(twilio_api, "whatsapp:" + MATHS_A)[-1].startswith(f"#{first}: your answer was sent")
    second = open_ticket_for(rt, TEACHER, "Fractions with another class", subjects="maths")
    assert sent_to(twilio_api, "whatsapp:" + MATHS_A)[-1].startswith(f"#{second} Mathematics")
