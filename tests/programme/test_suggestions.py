"""SUGGEST end to end on SQLite and PostgreSQL, in English, Urdu and Roman Urdu: the teacher's words reach the
planner view scrubbed of numbers and names and k-suppressed, the lead's list without the number, and the
lead's reply reaches the teacher through the send path."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from analytics import store
from conftest import login
from helpdesk import content
from helpdesk.conversation import RecordSuggestion, Turn, decide
from helpdesk.knowledge import KnowledgeView
from helpdesk.programme import suggestions
from knowledge_base.loader import load_directory
from knowledge_base.matcher import Matcher
from support.experts import sent_to
from support.teachers import Phone

KB = KnowledgeView(Matcher(load_directory(Path(__file__).parent.parent / "fixtures" / "kb")))
K = 3  # report_min_teachers for these tests: three teachers per language make a publishable cluster

# (language, inline form, keyword alone, the text sent next, words that must reach the planner)
LANGUAGES = [
    ("en", "SUGGEST more science experiment videos for primary classes, my name is Ayesha, call 0300 1234567",
     "SUGGEST", "More science experiment videos for primary classes please", "science experiment videos"),
    ("ur", "تجویز پرائمری جماعتوں کے لیے سائنس کے تجربات کی مزید ویڈیوز، میرا نام عائشہ ہے، فون 0300 1234567",
     "تجویز", "پرائمری جماعتوں کے لیے سائنس کے تجربات کی مزید ویڈیوز بھیجیں", "سائنس کے تجربات"),
    ("roman-ur", "TAJVEEZ primary classon ke liye science tajurbat ki mazeed videos, mera naam Ayesha hai, 0300 1234567",
     "TAJVEEZ", "primary classon ke liye science tajurbat ki mazeed videos bhejein", "science tajurbat"),
]
LANG = {"en": "LANG english", "ur": "LANG urdu", "roman-ur": "LANG roman"}


def turn(text, **kw) -> Turn:
    return Turn(text=text, language=kw.pop("language", "en"), **kw)


# --- the pure parts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("language,inline,alone,later,_words", LANGUAGES)
def test_suggest_takes_the_text_inline_or_asks_for_it(language, inline, alone, later, _words):
    decision = decide(turn(inline, language=language, language_chosen=True), KB)
    recorded = decision.effect(RecordSuggestion)
    assert recorded is not None and recorded.text == inline.split(None, 1)[1]
    assert decision.keys() == ["suggestion_thanks"]

    asked = decide(turn(alone, language=language, language_chosen=True), KB)
    assert asked.keys() == ["ask_suggestion"] and asked.effect(RecordSuggestion) is None
    assert asked.state.name == "awaiting_suggestion" and asked.state.ttl_minutes > 0
    assert asked.replies[0].text == content.text("ask_suggestion", language, "sms")

    answered = decide(turn(later, language=language, language_chosen=True, state="awaiting_suggestion"), KB)
    assert answered.effect(RecordSuggestion).text == later
    assert answered.state.name is None


def test_a_question_after_suggest_is_answered_as_a_question_not_stored():
    decision = decide(turn("suggest an activity for teaching fractions?"), KB)
    assert decision.effect(RecordSuggestion) is None
    assert decision.handled_as in ("answer", "clarify", "escalate")


def test_a_disclosure_after_suggest_is_triaged_not_filed_as_a_suggestion():
    from helpdesk.conversation import OpenTicket

    decision = decide(turn("SUGGEST something, the head teacher beats a child with a stick every day"), KB)
    assert decision.effect(RecordSuggestion) is None
    ticket = decision.effect(OpenTicket)
    assert ticket is not None and ticket.urgent


def test_an_emoji_is_not_a_suggestion():
    decision = decide(turn("👍", state="awaiting_suggestion"), KB)
    assert decision.effect(RecordSuggestion) is None


def test_scrub_removes_numbers_and_names_in_three_languages():
    for _language, inline, *_ in LANGUAGES:
        scrubbed = suggestions.scrub(inline, teacher_name=None)
        assert "1234567" not in scrubbed and "Ayesha" not in scrubbed and "عائشہ" not in scrubbed
        assert "[number]" in scrubbed and "[name]" in scrubbed


def test_counts_are_suppressed_below_k_and_when_one_area_could_be_subtracted():
    from datetime import datetime

    def fact(i, key, area):
        return suggestions.SuggestionFact(i, datetime(2026, 1, 1, 9, i), key, area, f"text {i}")

    facts = [fact(i, f"t{i}", "assessment") for i in range(3)] + [fact(9, "lone", "ict")]
    total, rows = suggestions.count_by_area(facts, k=3)
    assert total is None  # the lone ICT suggestion would be total minus assessment
    assert {r.area: r.suggestions for r in rows} == {"assessment": 3, "ict": None}
    total, rows = suggestions.count_by_area(facts + [fact(10, "t10", "ict"), fact(11, "t11", "ict")], k=3)
    assert total == 6 and {r.area: r.teachers for r in rows} == {"assessment": 3, "ict": 3}


# --- end to end -------------------------------------------------------------------------------------

@pytest.fixture
def app(make_app, database_url):
    return make_app(database_url, report_min_teachers=K)


def _say(client, rt, phone: str, body: str) -> None:
    Phone(client, phone).send(body)
    assert rt.jobs.drain(include_delayed=False) is not None


def _phones(language: str) -> list[str]:
    base = {"en": 300, "ur": 301, "roman-ur": 302}[language]
    return [f"+92{base}55500{i:02d}" for i in range(K)]


@pytest.mark.parametrize("language,inline,alone,later,words", LANGUAGES)
def test_a_suggestion_reaches_the_planner_view_scrubbed(client, rt, twilio_api, make_user, language, inline,
                                                        alone, later, words):
    phones = _phones(language)
    for i, phone in enumerate(phones):
        _say(client, rt, phone, LANG[language])  # a one-word keyword says nothing about the language
        if i == 0:  # asked for it: the keyword alone, then the text
            _say(client, rt, phone, alone)
            assert content.text("ask_suggestion", language, "sms") in sent_to(twilio_api, phone)[-1]
            _say(client, rt, phone, later)
        else:
            _say(client, rt, phone, inline)
        assert content.text("suggestion_thanks", language, "sms") in sent_to(twilio_api, phone)[-1]

    login(client, *make_user("planner"))
    assert 'href="/planner/suggestions' in client.get("/planner/").get_data(as_text=True)
    page = client.get("/planner/suggestions")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert words in html, "the cluster's wording is shown to planners"
    total = re.search(r'class="total">([^<]+)<', html).group(1)
    assert total == str(K)
    for secret in ("1234567", "0300", "Ayesha", "عائشہ", "+92"):
        assert secret not in html
    assert "[number]" in html and "[name]" in html

    from helpdesk.models import Suggestion, Teacher

    with rt.db.session_scope() as session:
        rows = session.scalars(select(Suggestion)).all()
        assert len(rows) == K and {r.language for r in rows} == {language}
        assert all(r.teacher_id is not None for r in rows)
        # Pseudonymous: the analytics key of each teacher, never the number.
        assert {r.teacher_key for r in rows} == {store.teacher_key(rt, phone) for phone in phones}
        assert all("1234567" not in r.text for r in rows)
        teachers = session.scalars(select(Teacher.phone)).all()
    assert all(key not in html for key in teachers)


def test_one_teachers_suggestion_is_not_shown_to_planners_but_the_lead_sees_it(client, rt, make_user):
    _say(client, rt, "+923005550999", "SUGGEST a helpline for head teachers on Fridays")
    login(client, *make_user("planner"))
    html = client.get("/planner/suggestions").get_data(as_text=True)
    assert "head teachers on Fridays" not in html and "fewer than" in html
    bad = client.get("/planner/suggestions?from=last-week")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_data(as_text=True)  # said in words, no 500

    lead_client = client.application.test_client()
    login(lead_client, *make_user("lead"))
    lead_html = lead_client.get("/console/suggestions").get_data(as_text=True)
    assert "head teachers on Fridays" in lead_html and "5550999" not in lead_html
    assert client.get("/console/suggestions").status_code == 403  # a planner does not get the reply list


@pytest.mark.parametrize("language,inline,_alone,_later,_words", LANGUAGES)
def test_a_leads_reply_reaches_the_teacher_in_their_language(client, rt, twilio_api, make_user, language,
                                                             inline, _alone, _later, _words):
    from helpdesk.models import Suggestion

    phone = _phones(language)[0]
    _say(client, rt, phone, LANG[language])
    _say(client, rt, phone, inline)
    with rt.db.session_scope() as session:
        suggestion_id = session.scalars(select(Suggestion.id)).one()

    login(client, *make_user("lead"))
    page = client.get("/console/suggestions").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/console/suggestions/{suggestion_id}/reply",
                       data={"reply": "", "csrf_token": token}).status_code == 302  # refused, in words
    assert "Not sent" in client.get("/console/suggestions").get_data(as_text=True)
    assert client.post("/console/suggestions/999999/reply",
                       data={"reply": "x", "csrf_token": token}).status_code == 404
    assert client.post(f"/console/suggestions/{suggestion_id}/reply",
                       data={"reply": "We will add videos next term."}).status_code == 400  # no CSRF token

    response = client.post(f"/console/suggestions/{suggestion_id}/reply",
                           data={"reply": "We will add videos next term.", "csrf_token": token})
    assert response.status_code == 302
    rt.jobs.drain(include_delayed=False)
    expected = content.text("suggestion_reply", language, "sms", reply="We will add videos next term.")
    assert sent_to(twilio_api, phone)[-1] == expected
    with rt.db.session_scope() as session:
        row = session.get(Suggestion, suggestion_id)
        assert row.reply_text == "We will add videos next term." and row.replied_at is not None
    assert "We will add videos next term." in client.get("/console/suggestions").get_data(as_text=True)


@pytest.mark.parametrize("language", ["en", "ur", "roman-ur"])
def test_help_names_the_suggest_keyword_in_each_language(language):
    lines = content.text("help", language).splitlines()
    named = [line.split(" - ")[0] for line in lines if " - " in line]
    assert any(content.keyword_book().keyword(word) == ("suggest", "") for word in named)
