"""Choices as a message kind: the conversation offers them, the send path stores them, Twilio shows them as
WhatsApp buttons or a list inside the window (a numbered text menu on SMS, outside the window or without a
template), and a tap, a list pick, the typed number or the option's words all reach the same decision.

The inbound cases are recorded Twilio forms (tests/fixtures/twilio/), posted signed to the real webhook and
answered by the real job path, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk import content
from helpdesk.channels.base import Choices, OutgoingMessage, Option
from helpdesk.channels.twilio import TwilioTransport, parse_inbound, render_choices
from helpdesk.conversation import Turn, decide, tapped_text
from helpdesk.conversation import OpenTicket, SaveProfile
from helpdesk.models import OutboundMessage, Teacher, Ticket, utcnow
from support.teachers import ACCOUNT_SID, AUTH_TOKEN, SMS_FROM, WHATSAPP_FROM, new_sid, signed_post
from test_conversation import KB, ClarifyingKB

FORMS = Path(__file__).parent / "fixtures" / "twilio"
WA_PHONE = "+923331234567"


def template_sid(name: str, language: str) -> str:
    """A stand-in for the content_templates lookup: one SID per template name and language."""
    return "HX" + f"{name}|{language}".encode().hex()[:32].ljust(32, "0")


def recorded(name: str, phone: str | None = None, replied_to: str | None = None) -> dict:
    """A recorded Twilio form with fresh message SIDs (and, when given, another sender)."""
    form = {k: v for k, v in json.loads((FORMS / name).read_text(encoding="utf-8")).items()
            if not k.startswith("_")}
    sid = new_sid()
    form.update(MessageSid=sid, SmsMessageSid=sid, SmsSid=sid)
    if phone:
        whatsapp = form["From"].startswith("whatsapp:")
        form["From"] = f"whatsapp:{phone}" if whatsapp else phone
        if "WaId" in form:
            form["WaId"] = phone.lstrip("+")
    if replied_to and "OriginalRepliedMessageSid" in form:
        form["OriginalRepliedMessageSid"] = replied_to
    return form


# --------------------------------------------------------------------------- the conversation (pure)

def test_menus_carry_choices_whose_titles_fit_whatsapp_and_keep_the_numbered_text():
    for language in content.LANGUAGES:
        for step in ("role", "school_level", "subjects", "school_type"):
            labels = content.choice_options(step)
            reply = _asked(step, language)
            assert [o.id for o in reply.choices.options] == [str(i) for i in range(1, len(labels) + 1)]
            limit = 20 if len(labels) <= 3 else 24
            assert all(len(o.title) <= limit for o in reply.choices.options), (step, language)
            # The text menu is still numbered, one line per option, for SMS and template-less WhatsApp.
            for i, value in enumerate(labels, 1):
                assert f"\n{i} {content.choice_label(step, value, language)}" in reply.text
            assert "\n1 " not in reply.choices.prompt


def _asked(step: str, language: str):
    previous = {"role": "name", "school_level": "role", "subjects": "school_level", "school_type": "district"}
    answer = {"name": "Amina", "role": "1", "school_level": "1", "district": "Lahore"}[previous[step]]
    d = decide(Turn(answer, language=language, language_chosen=True, state="onboarding",
                    state_data={"step": previous[step]}), KB)
    return next(r for r in d.replies if r.key == f"ask_{step}")


def test_lang_rating_and_clarify_offer_choices():
    lang = decide(Turn("LANG"), KB).replies[0]
    assert [o.title for o in lang.choices.options] == ["English", "اردو", "Roman Urdu"]
    answer = decide(Turn("How do I quieten a noisy class?"), KB).replies[-1]
    assert answer.key == "answer"
    assert [o.title for o in answer.choices.options] == ["It helped", "Ask an expert"]
    assert answer.text.endswith(content.text("rate_prompt", "en", "sms"))
    clarify = decide(Turn("class help", channel="whatsapp"), ClarifyingKB())
    reply = clarify.replies[-1]
    titles = [o.title for o in reply.choices.options]
    assert len(titles) == 3 and titles[-1] == "None of these" and all(len(t) <= 24 for t in titles)
    assert clarify.state.data["titles"] == titles[:-1]


@pytest.mark.parametrize("state,data,payload,expected", [
    ("onboarding", {"step": "role"}, "2", "2"),
    ("onboarding", {"step": "role"}, "4", "Head teacher"),      # not one of the three options offered
    ("onboarding", {"step": "name"}, "2", "Head teacher"),      # this step offered no options
    ("awaiting_rating", {}, "1", "1"),
    (None, {}, "1", "Head teacher"),                            # a stale button: its words, as typed
    ("awaiting_clarify", {"options": ["a", "b"]}, "3", "3"),
])
def test_a_tap_is_its_number_only_while_the_state_offers_it(state, data, payload, expected):
    assert tapped_text("Head teacher", payload, state, data) == expected


@pytest.mark.parametrize("text", ["1", "It helped", "madad mili", "مدد ملی"])
def test_the_rating_is_chosen_by_number_or_by_the_buttons_words_in_any_language(text):
    d = decide(Turn(text, state="awaiting_rating", state_data={"interaction_id": 7, "question": "q"}), KB)
    assert d.handled_as == "rating:helped"


@pytest.mark.parametrize("text", ["2", "Mahir se poochein", "ماہر سے پوچھیں"])
def test_asking_an_expert_from_the_rating_by_number_or_words(text):
    d = decide(Turn(text, state="awaiting_rating", state_data={"interaction_id": 7, "question": "q"}), KB)
    assert d.handled_as == "rating:not-helped"
    assert d.effect(OpenTicket).question == "q"


@pytest.mark.parametrize("text", ["Higher secondary (11-12)", "Inter (11-12)", "4"])
def test_an_onboarding_option_is_chosen_by_its_button_title_too(text):
    d = decide(Turn(text, state="onboarding", state_data={"step": "school_level"}), KB)
    assert d.handled_as == "onboarding:school_level"
    assert d.effect(SaveProfile).values == {"school_level": "higher-secondary"}


@pytest.mark.parametrize("word", ["SKIP", "skip", "ok", "1", "next", "no"])
def test_a_first_choice_like_word_starts_the_conversation_without_a_ticket(word):
    d = decide(Turn(word, first_contact=True), KB)
    assert d.effect(OpenTicket) is None
    assert d.keys()[:2] == ["welcome", "privacy"] and d.keys()[-1] == "ask_name"
    assert d.state.name == "onboarding"


# --------------------------------------------------------------------------- rendering (Twilio)

def _message(n: int, *, to: str = f"whatsapp:{WA_PHONE}", window_open: bool = True, title: str = "Option",
             language: str = "en") -> OutgoingMessage:
    choices = Choices("Pick one", tuple(Option(str(i), f"{title} {i}") for i in range(1, n + 1)), language)
    return OutgoingMessage(to=to, body="Pick one\n1 ...", choices=choices, window_open=window_open)


@pytest.mark.parametrize("n,name", [(1, "choices-quick-1"), (3, "choices-quick-3"), (4, "choices-list-4"),
                                    (10, "choices-list-10")])
def test_up_to_three_options_are_buttons_and_up_to_ten_a_list(n, name):
    rendered = render_choices(_message(n, language="ur"), template_sid)
    assert rendered["content_sid"] == template_sid(name, "ur")
    variables = json.loads(rendered["content_variables"])
    titles = [f"Option {i}" for i in range(1, n + 1)]
    if n <= 3:
        assert variables == {"1": "Pick one", **{str(i + 1): t for i, t in enumerate(titles, 1)}}
    else:
        assert variables == {"1": "Pick one", "2": content.text("choices_button", "ur"),
                             **{str(i + 2): t for i, t in enumerate(titles, 1)}}


def test_three_options_too_long_for_buttons_become_a_list():
    rendered = render_choices(_message(3, title="A title of 21 chars"), template_sid)  # "... 1" is 21 long
    assert rendered["content_sid"] == template_sid("choices-list-3", "en")


@pytest.mark.parametrize("message,lookup", [
    (_message(3, to="+923001234567"), template_sid),     # SMS
    (_message(3, window_open=False), template_sid),      # outside the 24-hour window
    (_message(3), None),                                 # no templates configured
    (_message(3), lambda name, language: None),          # this one is not made (or approved) yet
    (_message(11), template_sid),                        # more than a list holds
])
def test_otherwise_the_numbered_text_goes(message, lookup):
    assert render_choices(message, lookup) is None


def transport(twilio_api, lookup=template_sid) -> TwilioTransport:
    return TwilioTransport(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, sms_from=SMS_FROM,
                           whatsapp_from=WHATSAPP_FROM, messaging_service_sid=None, timeout=3.0,
                           validity_period=None, api_base_url=twilio_api.base_url, template_sids=lookup)


def test_the_real_sdk_posts_content_sid_and_variables_in_the_window_and_the_body_outside(twilio_api):
    sender = transport(twilio_api)
    sender.send(_message(2))
    sender.send(_message(2, window_open=False))
    sender.send(_message(2, to="+923001234567"))
    inside, outside, sms = twilio_api.messages
    assert inside["ContentSid"] == template_sid("choices-quick-2", "en") and not inside.get("Body")
    assert json.loads(inside["ContentVariables"]) == {"1": "Pick one", "2": "Option 1", "3": "Option 2"}
    for sent in (outside, sms):
        assert sent["Body"] == "Pick one\n1 ..." and not sent.get("ContentSid")


def test_list_picks_and_taps_are_parsed_from_the_recorded_forms():
    assert parse_inbound(recorded("whatsapp_button_tap.json")).extra["ButtonPayload"] == "2"
    assert parse_inbound(recorded("whatsapp_list_pick.json")).extra["ListId"] == "4"
    assert parse_inbound(recorded("whatsapp_list_pick_payload.json")).extra["ButtonPayload"] == "4"


# --------------------------------------------------------------------------- the whole path

@pytest.fixture
def templated(app, rt):
    """The app with a choices template for every size and language (what `templates sync` records)."""
    rt.transport.template_sids = template_sid
    return app


def _post(client, form: dict) -> None:
    response = signed_post(client, "/twilio/inbound", form)
    assert response.status_code == 200, response.data


def _say(client, rt, twilio_api, form: dict) -> list[dict]:
    before = len(twilio_api.messages)
    _post(client, form)
    assert rt.jobs.drain(include_delayed=False)
    return [m for m in twilio_api.messages[before:] if m["To"] == form["From"]]


def _typed(body: str, phone: str, whatsapp: bool = True) -> dict:
    form = recorded("whatsapp_typed_number.json" if whatsapp else "sms_typed_number.json", phone=phone)
    form["Body"] = body
    return form


def _teacher(rt, phone: str) -> dict:
    with rt.db.session_scope() as session:
        t = session.scalars(select(Teacher).where(Teacher.phone == phone)).one()
        return {"role": t.role, "school_level": t.school_level, "state": t.state,
                "step": (t.state_data or {}).get("step")}


def _to_role_question(client, rt, twilio_api, phone: str, whatsapp: bool = True) -> list[dict]:
    _say(client, rt, twilio_api, _typed("Assalam o alaikum", phone, whatsapp))
    return _say(client, rt, twilio_api, _typed("Amina", phone, whatsapp))


@pytest.mark.parametrize("form", ["whatsapp_button_tap.json", "whatsapp_typed_number.json"])
def test_a_recorded_tap_or_typed_number_answers_the_role_question_alike(templated, client, rt, twilio_api,
                                                                       form):
    asked = _to_role_question(client, rt, twilio_api, WA_PHONE)
    # In the window, with templates: the role question is three buttons.
    assert asked[-1]["ContentSid"] == template_sid("choices-quick-3", "en") and not asked[-1].get("Body")
    variables = json.loads(asked[-1]["ContentVariables"])
    assert variables["1"].endswith(content.tap_text("ask_role", "en"))
    assert [variables[k] for k in ("2", "3", "4")] == ["Teacher", "Head teacher", "Teacher trainer"]

    next_question = _say(client, rt, twilio_api, recorded(form, replied_to=asked[-1]["sid"]))
    assert _teacher(rt, WA_PHONE) == {"role": "head_teacher", "school_level": None, "state": "onboarding",
                                      "step": "school_level"}
    # Five school levels: a list, its items the short titles.
    assert next_question[-1]["ContentSid"] == template_sid("choices-list-5", "en")
    items = json.loads(next_question[-1]["ContentVariables"])
    assert items["2"] == "Choose" and items["7"] == "Early years (ECE)"


@pytest.mark.parametrize("form", ["whatsapp_list_pick.json", "whatsapp_list_pick_payload.json"])
def test_a_recorded_list_pick_answers_as_its_number_would(templated, client, rt, twilio_api, form):
    other = "+923339999999"
    for phone, answer in ((WA_PHONE, form), (other, None)):
        _to_role_question(client, rt, twilio_api, phone)
        listed = _say(client, rt, twilio_api, _typed("1", phone))[-1]
        assert listed["ContentSid"] == template_sid("choices-list-5", "en")
        if answer:
            _say(client, rt, twilio_api, recorded(answer, replied_to=listed["sid"]))
        else:
            _say(client, rt, twilio_api, _typed("4", phone))
    tapped, typed = _teacher(rt, WA_PHONE), _teacher(rt, other)
    assert tapped == typed == {"role": "teacher", "school_level": "higher-secondary", "state": "onboarding",
                               "step": "subjects"}


def test_sms_gets_the_numbered_text_and_a_typed_number_answers_it(templated, client, rt, twilio_api):
    phone = "+923001234567"
    asked = _to_role_question(client, rt, twilio_api, phone, whatsapp=False)
    assert not any(m.get("ContentSid") for m in asked)
    assert "\n1 Teacher\n2 Head teacher\n3 Teacher trainer" in asked[-1]["Body"]
    _say(client, rt, twilio_api, recorded("sms_typed_number.json"))
    assert _teacher(rt, phone)["role"] == "head_teacher"


def test_without_templates_whatsapp_gets_the_numbered_text(app, client, rt, twilio_api):
    asked = _to_role_question(client, rt, twilio_api, WA_PHONE)
    assert not asked[-1].get("ContentSid")
    assert "\n1 Teacher\n2 Head teacher\n3 Teacher trainer" in asked[-1]["Body"]
    with rt.db.session_scope() as session:
        row = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id.desc())).first()
        assert Choices.from_json(row.choices).options[1] == Option("2", "Head teacher")


def test_a_menu_held_for_a_closed_window_goes_as_buttons_once_the_teacher_writes(templated, client, rt,
                                                                                 twilio_api):
    _to_role_question(client, rt, twilio_api, WA_PHONE)
    with rt.db.session_scope() as session:
        teacher = session.scalars(select(Teacher).where(Teacher.phone == WA_PHONE)).one()
        teacher.last_whatsapp_inbound_at = utcnow() - timedelta(hours=25)
        from helpdesk import outbound
        outbound.queue_message(session, teacher=teacher, body=content.text("lang_menu", "en"), kind="notice",
                               choices=decide(Turn("LANG"), KB).replies[0].choices)
    assert rt.jobs.drain(include_delayed=False)
    with rt.db.session_scope() as session:
        latest = session.scalars(select(OutboundMessage.status).order_by(OutboundMessage.id.desc())).first()
        assert latest == "held"
    released = _say(client, rt, twilio_api, _typed("hello", WA_PHONE))
    assert any(m.get("ContentSid") == template_sid("choices-quick-3", "en") for m in released)


def test_a_first_skip_opens_no_ticket_and_the_next_message_is_no_followup(templated, client, rt, twilio_api):
    replies = _say(client, rt, twilio_api, _typed("SKIP", WA_PHONE))
    assert replies and _teacher(rt, WA_PHONE)["step"] == "name"
    _say(client, rt, twilio_api, _typed("Amina", WA_PHONE))
    with rt.db.session_scope() as session:
        assert session.scalars(select(Ticket)).all() == []


def test_the_payload_decides_whatever_words_the_body_carries(templated, client, rt, twilio_api):
    # A tap's Body is the button's title; in an old or edited menu it may name no option any more. Its
    # payload (the option's number) still does.
    asked = _to_role_question(client, rt, twilio_api, WA_PHONE)
    form = recorded("whatsapp_button_tap.json", replied_to=asked[-1]["sid"])
    form["Body"] = form["ButtonText"] = "Principal"
    _say(client, rt, twilio_api, form)
    assert _teacher(rt, WA_PHONE)["role"] == "head_teacher"


# --------------------------------------------------------------------------- CPD and experts

def _pushed_whatsapp_lesson(rt, phone: str):
    from support.lessons import pushed_lesson

    hour_ago = utcnow() - timedelta(hours=1)
    return pushed_lesson(rt, phone, channel="whatsapp", last_inbound_at=hour_ago, last_whatsapp_inbound_at=hour_ago)


def _lesson_credited(rt, teacher_id: int) -> bool:
    from helpdesk.models import LessonDelivery

    with rt.db.session_scope() as session:
        return session.scalars(select(LessonDelivery).where(LessonDelivery.teacher_id == teacher_id)).one() \
            .completed_at is not None


def test_a_lesson_ends_with_done_and_not_yet_and_its_check_questions_are_choices(templated, client, rt,
                                                                                twilio_api):
    teacher_id, lesson = _pushed_whatsapp_lesson(rt, WA_PHONE)
    with rt.db.session_scope() as session:
        parts = session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "lesson")
                                .order_by(OutboundMessage.id)).all()
        assert [bool(p.choices) for p in parts] == [False] * (len(parts) - 1) + [True]
        assert [o.title for o in Choices.from_json(parts[-1].choices).options] == ["Done", "Not yet"]
    last = [m for m in twilio_api.messages if m["To"] == f"whatsapp:{WA_PHONE}"][-1]
    # The whole last part fits above two buttons, or (over 1024 characters) the numbered text goes instead.
    assert (last.get("ContentSid") == template_sid("choices-quick-2", "en")) == (len(parts[-1].body) <= 1024)

    not_yet = recorded("whatsapp_button_tap.json", replied_to=last["sid"])
    not_yet.update(Body="Not yet", ButtonText="Not yet", ButtonPayload="2")
    reply = _say(client, rt, twilio_api, not_yet)
    assert reply[-1]["Body"] == content.text("cpd_not_yet", "en") and not _lesson_credited(rt, teacher_id)

    done = recorded("whatsapp_button_tap.json", replied_to=last["sid"])
    done.update(Body="Done", ButtonText="Done", ButtonPayload="1")
    asked = _say(client, rt, twilio_api, done)[-1]
    assert _lesson_credited(rt, teacher_id)
    first = lesson.check[0]
    count = len(first.options)
    name = f"choices-quick-{count}" if count <= 3 and all(len(t) <= 20 for t in first.option_texts("en")) \
        else f"choices-list-{count}"
    assert asked["ContentSid"] == template_sid(name, "en")
    assert first.text("en") in json.loads(asked["ContentVariables"])["1"]

    pick = recorded("whatsapp_list_pick_payload.json", replied_to=asked["sid"])
    title = first.option_texts("en")[first.answer]
    pick.update(Body=title, ButtonText=title, ButtonPayload=str(first.answer + 1))
    assert _say(client, rt, twilio_api, pick)
    with rt.db.session_scope() as session:
        from helpdesk.models import LessonDelivery
        row = session.scalars(select(LessonDelivery).where(LessonDelivery.teacher_id == teacher_id)).one()
        assert row.check_answers == [first.answer]


EXPERT = "+923110000001"


def test_an_expert_taps_pass_or_close_under_a_ticket_notice(templated, client, rt, twilio_api):
    from support.experts import add_expert, open_ticket_for

    add_expert(rt, EXPERT, ["maths"], channel="whatsapp")
    _say(client, rt, twilio_api, _typed("Salam", EXPERT))  # opens the expert's own WhatsApp window
    before = len(twilio_api.messages)
    first = open_ticket_for(rt, "+923001234567", "Students cannot understand fractions", subjects="maths")
    second = open_ticket_for(rt, "+923001234568", "How to teach long division", subjects="maths")
    notices = [m for m in twilio_api.messages[before:] if m["To"] == f"whatsapp:{EXPERT}"]
    assert [m["ContentSid"] for m in notices] == [template_sid("choices-quick-3", "en")] * 2
    assert [json.loads(m["ContentVariables"])[k] for k in ("2", "3", "4") for m in notices[:1]] == \
        ["Answer", "Pass", "Close"]

    # Close on the first notice closes the first ticket, though a later notice came since.
    tap = recorded("whatsapp_button_tap.json", phone=EXPERT, replied_to=notices[0]["sid"])
    tap.update(Body="Close", ButtonText="Close", ButtonPayload="3")
    confirmation = _say(client, rt, twilio_api, tap)
    assert confirmation[-1]["Body"] == f"#{first} is closed."
    tap = recorded("whatsapp_button_tap.json", phone=EXPERT, replied_to=notices[1]["sid"])
    tap.update(Body="Answer", ButtonText="Answer", ButtonPayload="1")
    assert f"Reply #{second} followed by your answer" in _say(client, rt, twilio_api, tap)[-1]["Body"]
    with rt.db.session_scope() as session:
        assert session.get(Ticket, first).status == "closed"
        assert session.get(Ticket, second).status != "closed"


def test_a_recorded_tap_through_the_production_worker(prod_app, worker, twilio_api):
    """PostgreSQL, Redis and a real `helpdesk worker` process: the tap is read where the worker reads it."""
    client = prod_app.test_client()
    worker()

    def exchange(form: dict) -> dict:
        before = len(twilio_api.messages)
        _post(client, form)
        return twilio_api.wait_for_messages(before + 1, timeout=30)[before]

    exchange(_typed("Assalam o alaikum", WA_PHONE))
    asked = exchange(_typed("Amina", WA_PHONE))
    assert "\n2 Head teacher" in asked["Body"]  # this worker has no templates: the numbered text
    exchange(recorded("whatsapp_button_tap.json", replied_to=asked["sid"]))
    assert _teacher(prod_app.extensions["helpdesk"], WA_PHONE)["role"] == "head_teacher"


@pytest.mark.parametrize("title", ["It helped", "Madad mili", "None of these", "Not yet"])
def test_an_old_buttons_title_after_its_question_lapsed_opens_no_ticket(title):
    d = decide(Turn(title), KB)
    assert d.effect(OpenTicket) is None and d.handled_as == "greeting"
