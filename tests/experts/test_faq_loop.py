"""The FAQ loop: expert answers become reviewed FAQ entries that the live matcher uses at once."""
from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select

from helpdesk.experts import faq_review
from helpdesk.models import FaqRecord
from helpdesk.models.tickets import FaqProposal, Ticket
from knowledge_base.loader import entries_from_dicts
from support.experts import add_expert, open_ticket_for, sent_to

TEACHER = "+923001234567"
MATHS = "+923110000001"
WORDING = "My pupils mix up numerator and denominator"


def test_linking_an_faq_answers_and_teaches_the_matcher_the_teachers_wording(rt, twilio_api):
    assert rt.knowledge.view().match(WORDING).decision != "answer"
    expert = add_expert(rt, MATHS, ["maths"])
    ticket_id = open_ticket_for(rt, TEACHER, WORDING, subjects="maths")
    with rt.db.session_scope() as session:
        ticket = session.get(Ticket, ticket_id)
        proposal = faq_review.answer_with_faq(session, rt, ticket, "fractions-intro", actor=expert["name"])
        proposal_id = proposal.id
        assert (proposal.kind, proposal.faq_id) == ("phrasing", "fractions-intro")
        assert proposal.data["questions"][-1] == WORDING
    rt.jobs.drain()
    assert sent_to(twilio_api, TEACHER)[0].startswith(
        "Answer from a subject expert:\nStart with real objects")

    with rt.db.session_scope() as session:
        faq_review.approve(session, rt, session.get(FaqProposal, proposal_id), "Lead Lubna")
    result = rt.knowledge.view().match(WORDING)
    assert (result.decision, result.faq_id) == ("answer", "fractions-intro")
    with rt.db.session_scope() as session:
        record = session.scalars(select(FaqRecord).where(FaqRecord.faq_id == "fractions-intro")).one()
        assert record.approved_by == "Lead Lubna" and record.approved_at is not None
        assert WORDING in record.data["questions"] and "How do I introduce fractions to young children?" in \
            record.data["questions"]
        proposal = session.get(FaqProposal, proposal_id)
        assert (proposal.status, proposal.reviewed_by) == ("approved", "Lead Lubna")
        events = [(e.kind, e.actor) for e in session.get(Ticket, ticket_id).events]
        assert ("faq proposed", expert["name"]) in events and ("faq approved", "Lead Lubna") in events


def test_a_new_faq_is_proposed_edited_approved_matched_and_exported(rt):
    question = "How do I teach telling the time on a clock?"
    assert rt.knowledge.view().match(question).decision == "escalate"
    add_expert(rt, MATHS, ["maths"])
    ticket_id = open_ticket_for(rt, TEACHER, question, subjects="maths")
    with rt.db.session_scope() as session:
        proposal = faq_review.propose_entry(
            session, rt, proposed_by="Expert", question=question,
            answer_en="Make a paper clock and move the hands.",
            answer_ur="کاغذ کی گھڑی بنائیں اور سوئیاں گھمائیں۔", area="numeracy", subject="maths",
            grade_bands=["primary"], ticket=session.get(Ticket, ticket_id))
        proposal_id, faq_id = proposal.id, proposal.faq_id
    assert faq_id == "expert-how-do-i-teach-telling"
    assert rt.knowledge.view().entry(faq_id) is None  # not live before approval

    with rt.db.session_scope() as session:
        proposal = session.get(FaqProposal, proposal_id)
        edited = dict(proposal.data, questions=[question, "Bachon ko ghari dekhna kaise sikhaun"])
        faq_review.approve(session, rt, proposal, "Lead", edited)
    view = rt.knowledge.view()
    assert view.match(question).faq_id == faq_id and view.match(question).decision == "answer"
    assert view.answer(faq_id, "ur", "whatsapp") == "کاغذ کی گھڑی بنائیں اور سوئیاں گھمائیں۔"
    assert "Bachon ko ghari dekhna kaise sikhaun" in view.entry(faq_id).questions
    # No Roman Urdu text yet: a Roman Urdu writer reads the English, not the Urdu script.
    assert view.answer(faq_id, "roman-ur", "whatsapp") == "Make a paper clock and move the hands."
    # The lead's approval is the entry's review record.
    assert view.entry(faq_id).review_status == "reviewed" and "Lead" in view.entry(faq_id).reviewed_by
    assert view.entry(faq_id).reviewed_on is not None

    with rt.db.session_scope() as session:
        exported = faq_review.export_database_yaml(session)
    entries = entries_from_dicts(yaml.safe_load(exported)["faqs"])
    assert [e.id for e in entries] == [faq_id] and entries[0].topic == "numeracy"
    assert entries[0].reviewed_by == view.entry(faq_id).reviewed_by


def test_invalid_or_repeated_decisions_are_refused(rt):
    add_expert(rt, MATHS, ["maths"])
    ticket_id = open_ticket_for(rt, TEACHER, "How do I teach telling the time?", subjects="maths")
    with rt.db.session_scope() as session:
        ticket = session.get(Ticket, ticket_id)
        with pytest.raises(faq_review.ProposalError, match="answer"):
            faq_review.propose_entry(session, rt, proposed_by="E", question="Q?", answer_en=" ",
                                     area="numeracy", ticket=ticket)
        with pytest.raises(faq_review.ProposalError, match="no FAQ"):
            faq_review.propose_entry(session, rt, proposed_by="E", question="Q?", answer_en="A",
                                     area="numeracy", faq_id="does-not-exist")
        proposal = faq_review.propose_entry(session, rt, proposed_by="E", question="Clock?",
                                            answer_en="A paper clock", area="numeracy",
                                            faq_id="fractions-intro")
        assert proposal.kind == "improve" and proposal.data["questions"][-1] == "Clock?"
        with pytest.raises(faq_review.ProposalError, match="answer"):
            faq_review.approve(session, rt, proposal, "Lead", dict(proposal.data, answer={}))
        faq_review.reject(session, proposal, "Lead", "not about fractions")
        with pytest.raises(faq_review.ProposalError, match="already rejected"):
            faq_review.approve(session, rt, proposal, "Lead")
    assert "Clock?" not in rt.knowledge.view().entry("fractions-intro").questions


def test_the_console_learns_the_question_not_the_greeting_and_introduction(rt):
    add_expert(rt, MATHS, ["maths"])
    wording = f"Assalam o alaikum sir. I teach class 3 in a government school. {WORDING}"
    ticket_id = open_ticket_for(rt, TEACHER, wording, subjects="maths")
    with rt.db.session_scope() as session:
        proposal = faq_review.propose_phrasing(session, rt, session.get(Ticket, ticket_id), "fractions-intro",
                                               "Expert")
        assert proposal.data["questions"][-1] == WORDING
