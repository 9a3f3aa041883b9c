"""DELETE MY DATA leaves no copy of the teacher's words or number in any table, on SQLite and PostgreSQL.

The scan reads every text and JSON column of every table in the models' metadata, so a column added later
is covered without touching this test.
"""
from __future__ import annotations

import json

from sqlalchemy import JSON, String, Text, select

from helpdesk.db import Base
from support.experts import add_expert, expert_says
from support.teachers import Phone

TEACHER = "+923004445566"
EXPERT = "+923110000777"
NAME = "Zubaida Quraishi"
QUESTION = "When will the transfer and posting orders for xylophone teachers be issued this year?"
FOLLOWUP = "My CNIC is 35202-7654321-9, please tell the district office"
ANSWER = "Ask the marimba section of the district office after March."
# The words that must be gone, and every way the number is written (E.164, without '+', local, WhatsApp id).
NEEDLES = ("Zubaida", "Quraishi", "xylophone", "35202", "7654321", "marimba", "3004445566", "03004445566")


def text_columns():
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, (String, Text, JSON)):
                yield table, column


def copies_left(rt) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every stored value that still holds one of the needles."""
    found = []
    with rt.db.engine.connect() as connection:
        for table, column in text_columns():
            for (value,) in connection.execute(select(column).where(column.is_not(None))):
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                found += [(table.name, column.name, needle) for needle in NEEDLES if needle.lower() in text.lower()]
    return sorted(set(found))


def say(client, rt, body: str) -> None:
    Phone(client, TEACHER).send(body)
    assert rt.jobs.drain(include_delayed=False)


def test_after_delete_my_data_no_table_holds_the_teachers_words_or_number(client, rt):
    from helpdesk.cpd import subscriptions as cpd
    from helpdesk.erasure import ERASED_LABEL
    from workers.teacher_jobs import finish_erasure
    from helpdesk.models import Certificate, Teacher, Ticket, TicketEvent, utcnow
    from analytics.models import Interaction

    add_expert(rt, EXPERT, ["general"])
    say(client, rt, "hello")
    say(client, rt, NAME)
    say(client, rt, "skip")
    say(client, rt, QUESTION)        # unmatched: escalates to the expert, whose notice quotes it
    say(client, rt, FOLLOWUP)        # joins the ticket and is passed on to the expert
    with rt.db.session_scope() as session:
        ticket_id = session.scalars(select(Ticket.id)).one()
        teacher = session.scalars(select(Teacher).where(Teacher.phone == TEACHER)).one()
        cpd.issue_certificate(session, rt, teacher, "white", 4, 40, utcnow())
        teacher_id = teacher.id
    expert_says(rt, EXPERT, f"#{ticket_id} {ANSWER}")
    say(client, rt, "SUGGEST more xylophone lessons in the CPD hour")
    _lead_replies_to_the_suggestion(rt, "Thank you, the marimba section will add them.")

    before = copies_left(rt)
    # The scan sees every place the issue found (so it can fail): the follow-up in the ticket history, the
    # answer on the ticket, the notices to the expert, the number on outbound rows.
    for place in (("ticket_events", "detail", "7654321"), ("tickets", "answer", "marimba"),
                  ("outbound_messages", "body", "xylophone"), ("outbound_messages", "to_address", "3004445566"),
                  ("teachers", "name", "Zubaida"), ("suggestions", "text", "xylophone"),
                  ("suggestions", "reply_text", "marimba")):
        assert place in before, place

    say(client, rt, "DELETE MY DATA")
    say(client, rt, "YES")
    finish_erasure(teacher_id)  # the job queued for after the confirmation has gone

    assert copies_left(rt) == []
    with rt.db.session_scope() as session:
        # Anonymous counts stay: the question is still counted and coded, the ticket still timed.
        [row] = session.scalars(select(Interaction)).all()
        assert row.route == "escalated" and row.question_text == "" and row.teacher_key.startswith("x")
        ticket = session.get(Ticket, ticket_id)
        assert ticket.status == "closed" and ticket.answered_at is not None
        assert session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id)).all()
        assert session.scalars(select(Certificate.label)).one() == ERASED_LABEL
        # The suggestion is still counted, but no longer linked to the teacher.
        from helpdesk.models import Suggestion

        suggestion = session.scalars(select(Suggestion)).one()
        assert (suggestion.text, suggestion.teacher_id, suggestion.reply_text) == ("", None, None)


def _lead_replies_to_the_suggestion(rt, text: str) -> None:
    from helpdesk.models import Suggestion
    from helpdesk.programme import suggestion_store
    from helpdesk.web.admin import create_user

    with rt.db.session_scope() as session:
        lead, _ = create_user(session, email="lead-erasure@example.org", name="Lead", role="lead",
                              password="correct horse battery")
        suggestion_id = session.scalars(select(Suggestion.id)).one()
        suggestion_store.reply(session, suggestion_id=suggestion_id, user=lead, text=text)
    rt.jobs.drain(include_delayed=False)


def test_an_expert_notice_not_yet_sent_is_cancelled_not_sent_later(make_app, database_url, twilio_api):
    """A notice still waiting to go (here: the send job never ran) must not deliver the question afterwards."""
    from helpdesk.experts import tickets
    from helpdesk.models import OutboundMessage, Teacher
    from support.experts import teacher_question

    app = make_app(database_url)
    rt = app.extensions["helpdesk"]
    add_expert(rt, EXPERT, ["general"])
    teacher_id, inbound_id = teacher_question(rt, TEACHER, QUESTION)
    with rt.db.session_scope() as session:
        from helpdesk.models import InboundMessage

        teacher = session.get(Teacher, teacher_id)
        tickets.open_ticket(session, rt, teacher=teacher, inbound=session.get(InboundMessage, inbound_id),
                            question=QUESTION, reason="no-match")
        from helpdesk.erasure import erase_teacher

        erase_teacher(session, rt, teacher)  # same transaction: the notice is still pending
    rt.jobs.drain(include_delayed=False)
    with rt.db.session_scope() as session:
        notice = session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "expert")).one()
        assert (notice.status, notice.body) == ("suppressed", "")
    assert not [m for m in twilio_api.messages if "xylophone" in m.get("Body", "")]
