"""The lesson journey (issue 15): levels and prerequisites in the loader, the check after DONE (pure rules and
the whole path from the teacher's phone), belts that need passed checks, the certificate's areas and levels,
and the console page where mentors answer classroom try-outs. Database tests run on SQLite and PostgreSQL."""
import re
from collections import Counter
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import func, select

from helpdesk.cpd import subscriptions as cpd
from helpdesk.cpd import lesson_check
from helpdesk.models import (
    Certificate, CpdCredit, LessonDelivery, OutboundMessage, ReflectionReply, Subscription, Teacher, utcnow,
)
from knowledge_base.lessons import CHECK_LANGS, LEVELS, LessonError, load_lessons
from support.lessons import pushed_lesson
from support.teachers import Phone

# --- the loader ---------------------------------------------------------------------------------------------

TEXT = {"en": "Some text.", "ur": "کچھ متن۔", "roman-ur": "Kuch text."}


def options(*names):
    return [{"en": name, "ur": f"{name} ور", "roman-ur": f"{name} ru"} for name in names]


def question(answer=0):
    return {"q": {"en": "Which?", "ur": "کون سا؟", "roman-ur": "Kaun sa?"}, "options": options("a1", "b2", "c3"),
            "answer": answer}


def lesson(lesson_id, level="foundation", requires=None, area="literacy", **overrides):
    entry = {"id": lesson_id, "title": dict(TEXT), "area": area, "subjects": ["general"], "grades": ["primary"],
             "minutes": 30, "level": level, "parts": [dict(TEXT)] * 3, "activity": dict(TEXT),
             "materials": dict(TEXT), "reflection": dict(TEXT), "sms": dict(TEXT), "check": [question(), question(1)]}
    if requires is not None:
        entry["requires"] = requires
    entry.update(overrides)
    return entry


def write(tmp_path, *entries):
    path = tmp_path / "journey.yaml"
    path.write_text(yaml.safe_dump({"lessons": list(entries)}, allow_unicode=True), encoding="utf-8")
    return path


def load_error(path) -> LessonError:
    with pytest.raises(LessonError) as caught:
        load_lessons(path)
    return caught.value


def test_a_three_step_journey_loads_with_levels_prerequisites_and_checks(tmp_path):
    path = write(tmp_path, lesson("sounds"), lesson("pairs", "practice", ["sounds"]),
                 lesson("coach", "mentor", ["pairs"]))
    sounds, pairs, coach = load_lessons(path)
    assert (pairs.level, pairs.requires, coach.requires) == ("practice", ("sounds",), ("pairs",))
    assert [q.answer for q in sounds.check] == [0, 1]
    assert sounds.check[0].option_texts("roman-ur") == ("a1 ru", "b2 ru", "c3 ru")


@pytest.mark.parametrize(("entries", "entry", "field", "message"), [
    ([lesson("pairs", "practice", ["nowhere"])], "pairs", "requires", "unknown lesson id 'nowhere'"),
    ([lesson("sounds", "expert")], "sounds", "level", "must be one of foundation, practice, mentor, got 'expert'"),
    ([lesson("sounds", requires=["sounds"])], "sounds", "requires", "a lesson cannot require itself"),
    ([lesson("sounds"), lesson("coach", "mentor", ["sounds"])], "coach", "level",
     "a mentor lesson needs a practice lesson in 'literacy', and there is none"),
    ([lesson("sounds"), lesson("pairs", "practice", ["sounds"]), lesson("coach", "mentor", ["sounds"])], "coach",
     "requires", "a mentor lesson must require a practice lesson of 'literacy'"),
    ([lesson("sounds"), lesson("pairs", "practice", ["sounds"]), lesson("other", "practice", ["sounds"], "numeracy")],
     "other", "level", "a practice lesson needs a foundation lesson in 'numeracy', and there is none"),
    ([lesson("sounds", requires=["pairs"]), lesson("pairs", "practice", ["sounds"])], "sounds", "requires",
     "'pairs' is a practice lesson, above this foundation lesson"),
])
def test_rejects_a_broken_journey_naming_file_lesson_and_field(tmp_path, entries, entry, field, message):
    path = write(tmp_path, *entries)
    error = load_error(path)
    assert (error.file, error.entry, error.field, error.message) == (str(path), entry, field, message)
    assert str(error).startswith(f"{path}: lesson {entry!r} (#")


def test_rejects_a_cycle_of_prerequisites(tmp_path):
    path = write(tmp_path, lesson("sounds"), lesson("a", "practice", ["sounds", "b"]),
                 lesson("b", "practice", ["sounds", "a"]))
    error = load_error(path)
    assert error.field == "requires" and error.message.startswith("prerequisites form a cycle: ")
    assert set(error.message.split(": ")[1].split(" -> ")) == {"a", "b"}


@pytest.mark.parametrize(("check", "field", "message"), [
    ([question()], "check", "must be a list of 2 or 3 questions"),
    ([question(), question(3)], "check[2].answer", "must be the 0-based index of the right choice (0 to 2), got 3"),
    ([question(), dict(question(), q={"en": "Which?", "ur": "کون سا؟"})], "check[2].q", "missing the 'roman-ur' text"),
    ([question(), dict(question(), options=options("same", "same"))], "check[2].options",
     "two choices read the same in 'en'"),
    ([question(), dict(question(), options=options("only"))], "check[2].options", "must be a list of 2 to 4 choices"),
    ([question(), {"q": question()["q"], "options": options("a", "b")}], "check[2]",
     "must have exactly q, options and answer"),
])
def test_rejects_a_broken_check_naming_the_question(tmp_path, check, field, message):
    error = load_error(write(tmp_path, lesson("sounds", check=check)))
    assert (error.entry, error.field) == ("sounds", field)
    assert error.message.startswith(message)


# --- the shipped catalogue ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped():
    return load_lessons()


def test_the_catalogue_has_48_lessons_and_every_area_climbs_foundation_practice_mentor(shipped):
    assert len(shipped) >= 48
    levels = Counter((lesson.area, lesson.level) for lesson in shipped)
    missing = [(area, level) for area in {lesson.area for lesson in shipped} for level in LEVELS
               if not levels[(area, level)]]
    assert missing == []


def test_every_lesson_ends_with_a_check_in_three_languages(shipped):
    for lesson in shipped:
        assert 2 <= len(lesson.check) <= 3, lesson.id
        for number, item in enumerate(lesson.check, start=1):
            texts = [item.question] + list(item.options)
            assert all(text.get(lang, "").strip() for text in texts for lang in CHECK_LANGS), (lesson.id, number)
            # Urdu is in Urdu script, Roman Urdu in Latin letters.
            assert re.search("[\u0600-\u06ff]", item.question["ur"]), (lesson.id, number)
            assert not re.search("[\u0600-\u06ff]", item.question["roman-ur"]), (lesson.id, number)
            # A choice that reads "2" among three choices could mean the value or the second choice.
            assert not [option for option in item.options for text in option.values()
                        if text.strip().isdigit() and 1 <= int(text) <= len(item.options)], (lesson.id, number)


def test_a_number_or_the_words_of_a_choice_pick_it_in_every_shipped_check(shipped):
    for lesson in shipped:
        for item in lesson.check:
            choices = [[option[lang] for lang in CHECK_LANGS] for option in item.options]
            assert lesson_check.pick_option(str(item.answer + 1), choices) == item.answer
            for index, option in enumerate(item.options):
                for lang in CHECK_LANGS:
                    # A number-only choice ("43") is read as a number, so only word choices are tried as words.
                    if not re.fullmatch(r"[\d/ ]+", option[lang]):
                        assert lesson_check.pick_option(option[lang], choices) == index, (lesson.id, option[lang])


def test_new_journey_lessons_are_written_in_roman_urdu_too_and_say_how_long_each_step_takes(shipped):
    new = [lesson for lesson in shipped if lesson.source.startswith("lessons/journey-")]
    assert len(new) >= 16
    for lesson in new:
        for field in ("title", "activity", "materials", "reflection", "sms"):
            assert getattr(lesson, field).get("roman-ur"), (lesson.id, field)
        assert all(part.get("roman-ur") for part in lesson.parts), lesson.id
        timed = re.findall(r"(\d+) minutes", " ".join(part["en"] for part in lesson.parts) + lesson.activity["en"])
        assert timed, lesson.id


def test_the_ten_minute_plan_lists_as_many_lines_as_it_says(shipped):
    plan = next(lesson for lesson in shipped if lesson.id == "ten-minute-lesson-plan")
    part = plan.parts[1]["en"]
    said = int(re.match(r"The (\d) lines", part).group(1))
    listed = re.findall(r"\b(GOAL|I DO|WE DO|YOU DO|CHECK)\b", part)
    assert said == len(listed) == 5
    assert "پانچ سطریں" in plan.parts[1]["ur"] and "چار" not in plan.sms["ur"]


# --- the check, pure --------------------------------------------------------------------------------------------

CHOICES = [["Mark each one out of 10", "ہر ایک کو دس میں سے نمبر دیتے ہیں", "Har aik ko 10 mein se number dete hain"],
           ["Sort them into three piles", "تین ڈھیر بناتے ہیں", "Teen dheer banate hain"],
           ["Return them unread", "بغیر پڑھے واپس کر دیتے ہیں", "Baghair parhe wapas kar dete hain"]]


@pytest.mark.parametrize(("reply", "picked"), [
    ("2", 1), (" 3. ", 2), ("۲", 1), ("jawab 2", 1), ("answer is 1", 0),
    ("teen dheer banate hain", 1), ("sort into three piles", 1), ("تین ڈھیر", 1), ("bagair parhay wapas", 2),
    ("4", None), ("0", None), ("1 or 2", None), ("ok", None), ("how do I teach fractions to grade 4?", None),
])
def test_pick_option_reads_a_number_or_the_words_of_one_choice(reply, picked):
    assert lesson_check.pick_option(reply, CHOICES) == picked


def test_a_choice_that_is_a_number_is_picked_by_its_value_unless_that_is_a_choice_number():
    values = [["7"], ["43"], ["403"]]
    assert lesson_check.pick_option("43", values) == 1 and lesson_check.pick_option("7", values) == 0
    assert lesson_check.pick_option("3", values) == 2  # within 1-3: the choice's number
    fractions = [["1/8"], ["1/4"], ["They are equal", "دونوں برابر ہیں"]]
    assert lesson_check.pick_option("1/4", fractions) == 1


def test_pick_option_without_choices_picks_nothing():
    assert lesson_check.pick_option("2", []) is None and lesson_check.pick_option("some words here", []) is None


def test_passing_is_all_of_two_or_two_of_three():
    assert [lesson_check.passed(right, 2) for right in (0, 1, 2)] == [False, False, True]
    assert [lesson_check.passed(right, 3) for right in (0, 1, 2, 3)] == [False, False, True, True]
    assert lesson_check.passed(0, 0) is False


def test_numbered_lists_choices_from_one():
    assert lesson_check.numbered("Which?", ["a", "b"]) == "Which?\n1) a\n2) b"


# --- the check from the teacher's phone ---------------------------------------------------------------------

def conversation(client, rt, twilio_api, phone):
    sent = []

    def say(text):
        before = len(twilio_api.messages)
        Phone(client, phone).send(text)
        rt.jobs.drain()
        reply = "\n".join(m["Body"] for m in twilio_api.messages[before:] if m["To"] == phone)
        sent.append(reply)
        return reply

    return say


def delivery_of(rt, teacher_id):
    with rt.db.session_scope() as session:
        row = session.scalars(select(LessonDelivery).where(LessonDelivery.teacher_id == teacher_id)).one()
        session.expunge(row)
        return row


def wrong(question):
    return next(index for index in range(len(question.options)) if index != question.answer)


def test_done_asks_the_check_and_right_answers_pass_it(client, rt, twilio_api):
    phone = "+923001119001"
    teacher_id, lesson = pushed_lesson(rt, phone)
    say = conversation(client, rt, twilio_api, phone)
    first = lesson.check[0]
    reply = say("DONE")
    assert f"{lesson.minutes} minutes of CPD credited" in reply
    assert f"Question 1 of {len(lesson.check)}: {first.text('en')}" in reply
    assert "\n1) " + first.option_texts("en")[0] in reply
    # An out-of-range number is asked again, and stays on the same question.
    assert "Please reply with one number from 1 to" in say("7")
    reply = say(str(first.answer + 1))
    assert reply.startswith("Right!") and "Question 2 of" in reply
    for number, item in enumerate(lesson.check[1:], start=2):
        # Answered with the words of the right choice this time.
        reply = say(item.option_texts("en")[item.answer])
    assert "Check passed" in reply and f"{len(lesson.check)} of {len(lesson.check)} right" in reply
    row = delivery_of(rt, teacher_id)
    assert row.check_passed is True and row.check_attempts == 1 and row.check_answers == [q.answer for q in lesson.check]
    with rt.db.session_scope() as session:
        assert session.get(Teacher, teacher_id).state is None
        assert cpd.passed_checks(session, teacher_id) == 1
        assert session.scalar(select(func.count(CpdCredit.id))) == 1  # the credit came with DONE, once


def test_a_failed_check_can_be_taken_again_with_done(client, rt, twilio_api):
    phone = "+923001119002"
    teacher_id, lesson = pushed_lesson(rt, phone, language="roman-ur")
    say = conversation(client, rt, twilio_api, phone)
    reply = say("DONE")
    assert "Ab aik mukhtasar jaanch" in reply and lesson.check[0].text("roman-ur") in reply
    for item in lesson.check:
        reply = say(str(wrong(item) + 1))
    assert reply.startswith("Durust nahi. Sahi jawab:") and "is baar kamyabi nahi hui" in reply
    assert delivery_of(rt, teacher_id).check_passed is False
    reply = say("DONE")  # nothing to credit: the check starts again
    assert "mukhtasar jaanch" in reply and "CPD mein shamil" not in reply
    for item in lesson.check:
        reply = say(str(item.answer + 1))
    assert "Jaanch mein kamyab" in reply
    row = delivery_of(rt, teacher_id)
    assert (row.check_passed, row.check_attempts) == (True, 2)
    with rt.db.session_scope() as session:
        assert session.scalar(select(func.count(CpdCredit.id))) == 1
        assert cpd.record_done(session, rt, session.get(Teacher, teacher_id), "DONE") is None  # passed: nothing


def test_a_question_during_the_check_is_answered_and_done_brings_the_check_back(client, rt, twilio_api):
    phone = "+923001119003"
    _, lesson = pushed_lesson(rt, phone)
    say = conversation(client, rt, twilio_api, phone)
    say("DONE")
    with rt.db.session_scope() as session:
        state_before = session.scalars(select(Teacher.state).where(Teacher.phone == phone)).one()
    reply = say("How can I get a noisy class's attention without shouting?")
    assert state_before == "cpd_check" and "Right!" not in reply and "Please reply with one number" not in reply
    # The answer's own "reply 1 or 2" is now the newest question, so a number rates the answer; DONE brings the
    # check back from its first question.
    with rt.db.session_scope() as session:
        assert session.scalars(select(Teacher.state).where(Teacher.phone == phone)).one() != "cpd_check"
    assert "Question 1 of" in say("DONE")
    assert say(str(lesson.check[0].answer + 1)).startswith("Right!")


def test_a_reflection_answer_credits_then_asks_the_check(client, rt, twilio_api):
    phone = "+923001119004"
    teacher_id, lesson = pushed_lesson(rt, phone)
    say = conversation(client, rt, twilio_api, phone)
    reply = say("I tried it with grade 4 and most children sorted their answers well")
    assert reply.startswith("Thank you for sharing") and "Question 1 of" in reply
    assert "sorted their answers" in delivery_of(rt, teacher_id).reflection


# --- belts need passed checks, and the certificate names areas and levels -----------------------------------

def test_hours_alone_earn_no_belt_until_a_check_is_passed(client, rt, twilio_api):
    phone = "+923001119005"
    teacher_id, lesson = pushed_lesson(rt, phone, name="Sana Bibi")
    with rt.db.session_scope() as session:
        # Earlier practice worth two hours, credited before (without checks).
        earlier = LessonDelivery(teacher_id=teacher_id, lesson_id="old-lesson", area="literacy", reason="catalogue",
                                 channel="sms", sent_at=utcnow() - timedelta(days=30),
                                 completed_at=utcnow() - timedelta(days=29), minutes_credited=120)
        session.add(earlier)
        session.flush()
        session.add(CpdCredit(teacher_id=teacher_id, delivery_id=earlier.id, lesson_id="old-lesson", minutes=120))
    say = conversation(client, rt, twilio_api, phone)
    reply = say("DONE")
    assert "belt" not in reply.lower()
    with rt.db.session_scope() as session:
        assert session.scalar(select(func.count(Certificate.id))) == 0
    for item in lesson.check:
        reply = say(str(item.answer + 1))
    assert "Check passed" in reply and "White belt" in reply
    with rt.db.session_scope() as session:
        certificate = session.scalars(select(Certificate)).one()
        assert (certificate.level, certificate.passed_checks) == ("white", 1)
        assert certificate.journey == {lesson.area: _expected_levels(rt, lesson)}
    assert certificate.code in reply
    html = client.get(f"/certificates/{certificate.code}").get_data(as_text=True)
    from helpdesk.experts.tickets import label

    assert "Lesson checks passed" in html and label("areas", lesson.area) in html
    assert f"{lesson.level} (1 of" in html or f"<td>{lesson.level}</td>" in html
    assert "923001119005" not in html


def _expected_levels(rt, passed_lesson):
    levels = {}
    for lesson in cpd.lessons(rt):
        if lesson.area == passed_lesson.area:
            counts = levels.setdefault(lesson.level, [0, 0])
            counts[0] += lesson.id == passed_lesson.id
            counts[1] += 1
    return levels


def test_the_certificate_lists_completed_and_started_levels(client, rt):
    with rt.db.session_scope() as session:
        teacher = Teacher(phone="+923001119006")
        session.add(teacher)
        session.flush()
        session.add(Certificate(teacher_id=teacher.id, level="green", code="CPD-TEST-JRNY", label="S.B.", lessons=9,
                                minutes=400, passed_checks=7,
                                journey={"literacy": {"foundation": [2, 2], "practice": [1, 2]},
                                         "numeracy": {"foundation": [1, 2]}}))
    html = client.get("/certificates/CPD-TEST-JRNY").get_data(as_text=True).replace("\n", "")
    assert re.search(r"<td>Literacy[^<]*</td>\s*<td>foundation</td>\s*<td>practice \(1 of 2 lessons\)</td>", html)
    assert re.search(r"<td>Numeracy[^<]*</td>\s*<td>-</td>\s*<td>foundation \(1 of 2 lessons\)</td>", html)
    assert "<dd>7</dd>" in html


# --- the reflections console ----------------------------------------------------------------------------------

def reflected(rt, phone, text, **fields):
    teacher_id, lesson = pushed_lesson(rt, phone, **fields)
    with rt.db.session_scope() as session:
        cpd.record_done(session, rt, session.get(Teacher, teacher_id), text)
    return teacher_id, lesson, delivery_of(rt, teacher_id).id


def csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_a_mentor_reads_a_reflection_and_the_reply_reaches_the_teacher(client, rt, make_user, twilio_api):
    from conftest import login

    teacher_id, lesson, delivery_id = reflected(rt, "+923001119007", "Two rows used slates; the back row copied.",
                                                name="Nadia Parveen", district="Multan", language="ur")
    login(client, *make_user("expert", name="Mentor Amina"))
    page = client.get("/console/reflections")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "the back row copied" in html and lesson.text("title") in html and "N.P." in html and "Multan" in html
    assert "923001119007" not in html and "1119007" not in html  # a mentor answers the practice, not the number
    token = csrf(client, "/console/reflections")
    before = len(twilio_api.messages)
    response = client.post(f"/console/reflections/{delivery_id}/reply",
                           data={"reply": "Seat the back row in pairs with a slate each.", "csrf_token": token})
    assert response.status_code == 302
    rt.jobs.drain()
    (message,) = [m for m in twilio_api.messages[before:] if m["To"] == "+923001119007"]
    assert "Seat the back row in pairs" in message["Body"] and "ایک مینٹور نے" in message["Body"]
    with rt.db.session_scope() as session:
        reply = session.scalars(select(ReflectionReply)).one()
        assert (reply.delivery_id, reply.body) == (delivery_id, "Seat the back row in pairs with a slate each.")
        assert session.scalars(select(OutboundMessage.kind).where(OutboundMessage.teacher_id == teacher_id)
                               .order_by(OutboundMessage.id.desc())).first() == "mentor-reply"
    # Answered: it leaves the unanswered list, and shows with its reply under "all".
    assert "the back row copied" not in client.get("/console/reflections").get_data(as_text=True)
    everything = client.get("/console/reflections?show=all").get_data(as_text=True)
    assert "the back row copied" in everything and "Mentor Amina" in everything


def test_reflection_replies_refuse_bad_input_without_an_error_page(client, rt, make_user):
    from conftest import login

    _, _, delivery_id = reflected(rt, "+923001119008", "Most children sorted the piles quickly.")
    login(client, *make_user("lead"))
    token = csrf(client, "/console/reflections")
    blank = client.post(f"/console/reflections/{delivery_id}/reply", data={"reply": "  ", "csrf_token": token},
                        follow_redirects=True)
    assert blank.status_code == 200 and "Write a reply first." in blank.get_data(as_text=True)
    long = client.post(f"/console/reflections/{delivery_id}/reply", data={"reply": "x" * 1001, "csrf_token": token},
                       follow_redirects=True)
    assert "under 1000 characters" in long.get_data(as_text=True)
    assert client.post("/console/reflections/999999/reply", data={"reply": "hi", "csrf_token": token}).status_code == 404
    assert client.post(f"/console/reflections/{delivery_id}/reply", data={"reply": "hi"}).status_code == 400  # no CSRF
    with rt.db.session_scope() as session:
        assert session.scalar(select(func.count(ReflectionReply.id))) == 0


def test_only_experts_and_leads_see_reflections_and_erasure_removes_them(client, rt, make_user):
    from conftest import login

    teacher_id, _, delivery_id = reflected(rt, "+923001119009", "The children loved the slates.")
    login(client, *make_user("planner"))
    assert client.get("/console/reflections").status_code == 403
    login(client, *make_user("expert"))
    token = csrf(client, "/console/reflections")
    client.post(f"/console/reflections/{delivery_id}/reply", data={"reply": "Well done!", "csrf_token": token})
    from helpdesk.dialogue import erase_teacher

    with rt.db.session_scope() as session:
        erase_teacher(session, rt, session.get(Teacher, teacher_id))
    with rt.db.session_scope() as session:
        assert session.scalar(select(func.count(ReflectionReply.id))) == 0
        assert session.get(LessonDelivery, delivery_id).reflection is None
    assert "loved the slates" not in client.get("/console/reflections?show=all").get_data(as_text=True)


def test_subscription_and_delivery_rows_stay_consistent(rt):
    # The push writes deliveries with Core inserts: the new check columns take their defaults there too.
    teacher_id, _ = pushed_lesson(rt, "+923001119010")
    row = delivery_of(rt, teacher_id)
    assert (row.check_attempts, row.check_passed, row.check_answers) == (0, None, None)
    with rt.db.session_scope() as session:
        assert session.scalars(select(Subscription.series_position)).one() == 1


# --- the check in the pure conversation ---------------------------------------------------------------------

def test_the_conversation_reads_check_answers_from_the_state_and_leaves_questions_alone():
    from helpdesk.conversation import Cpd, Turn, decide

    class NoKnowledge:
        def match(self, text):
            from knowledge_base.matcher import MatchResult

            return MatchResult(text, "escalate", None, (), 0.0, "no-match")

        def answer(self, faq_id, language, channel):
            raise AssertionError("no FAQ here")

        def entry(self, faq_id):
            return None

    state = {"delivery_id": 7, "question": 0, "options": CHOICES}
    answered = decide(Turn("3", state="cpd_check", state_data=state), NoKnowledge())
    assert answered.effect(Cpd) == Cpd("answer", "3", choice=2) and answered.state is None  # CPD sets the next
    by_words = decide(Turn("teen dheer banate hain", state="cpd_check", state_data=state), NoKnowledge())
    assert by_words.effect(Cpd).choice == 1
    invalid = decide(Turn("9", state="cpd_check", state_data=state), NoKnowledge())
    assert invalid.effect(Cpd) is None and invalid.keys() == ["cpd_check_invalid"]
    question = decide(Turn("my students never do homework what can I do", state="cpd_check", state_data=state),
                      NoKnowledge())
    assert question.effect(Cpd) is None and question.handled_as == "escalate"
    # DONE is a keyword first: during a check it asks the check again (helpdesk.cpd.subscriptions.record_done).
    assert decide(Turn("DONE", state="cpd_check", state_data=state), NoKnowledge()).effect(Cpd).action == "done"


def test_progress_shows_passed_checks_and_what_the_next_belt_needs(client, rt, twilio_api):
    phone = "+923001119011"
    teacher_id, lesson = pushed_lesson(rt, phone)
    say = conversation(client, rt, twilio_api, phone)
    say("DONE")
    progress = say("CPD")
    assert "Lesson checks passed: 0." in progress and "send DONE to take it" in progress
    assert f"To the White belt: {max(0.0, 1 - lesson.minutes / 60):.1f} more hours and 1 more passed checks." in progress
    say("DONE")
    for item in lesson.check:
        say(str(item.answer + 1))
    progress = say("CPD")
    assert "Lesson checks passed: 1." in progress and "send DONE to take it" not in progress
