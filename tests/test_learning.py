"""Learning from expert answers: what is stored as the FAQ's new phrasing."""
import pytest

from knowledge_base.learning import is_context, learn, question_part, with_phrasing
from knowledge_base.loader import entries_from_dicts
from knowledge_base.semantic import MatcherBuilder

FAQS = [
    {"id": "exit-tickets", "topic": "assessment", "questions": ["What is an exit ticket?"],
     "answer": "A short question every pupil answers on a slip before leaving."},
    {"id": "noisy-class", "topic": "classroom-management",
     "questions": ["How do I manage a noisy classroom?", "Students keep talking during the lesson"],
     "answer": "Agree a silent signal and give short timed tasks."},
    {"id": "times-tables", "topic": "numeracy", "questions": ["How can students learn multiplication tables?"],
     "answer": "Use patterns, skip counting and short daily games."},
]


@pytest.mark.parametrize("wording, question", [
    ("Assalam o alaikum sir. I teach class 5 in a government school. My students keep talking "
     "while I write on the board, what should I do?",
     "My students keep talking while I write on the board, what should I do?"),
    ("AoA madam, I am a grade 4 science teacher in a village school, how do I teach fractions?",
     "how do I teach fractions?"),
    ("Salam. Mera naam Ayesha hai. Main teacher hun. bachay shor karte hain kya karun?",
     "bachay shor karte hain kya karun?"),
    ("السلام علیکم۔ میں پڑھاتی ہوں۔ بچے شور کرتے ہیں، کیا کروں؟", "بچے شور کرتے ہیں، کیا کروں؟"),
])
def test_question_part_leaves_out_greetings_and_self_introduction(wording, question):
    assert question_part(wording) == question


def test_question_part_keeps_what_is_not_context():
    plain = "How can students learn multiplication tables?"
    assert question_part(plain) == plain
    # the class size after the introduction is part of the problem, the introduction is not
    kept = question_part("I teach class 4 in a government school, 60 children in one room. How do I start group work?")
    assert kept.startswith("60 children in one room") and "government" not in kept
    assert question_part("the bell rang at 2.30, children left early. why?") == \
        "the bell rang at 2.30, children left early. why?"   # a decimal point does not end a sentence


def test_a_wording_that_is_all_context_is_kept_whole():
    assert question_part("Assalam o alaikum, I teach grade 3.") == "Assalam o alaikum, I teach grade 3."
    assert question_part("   ") == ""


def test_an_asking_part_is_never_context():
    assert is_context("I am a primary teacher") and is_context("Assalam o alaikum sir")
    assert not is_context("I am a teacher, how do I mark faster?")
    assert not is_context("students keep talking")
    assert not is_context("I am a new teacher and my class is very noisy")   # goes on to the problem


def test_the_learned_phrasing_is_the_question_part():
    entry = entries_from_dicts(FAQS)[1]
    learned = with_phrasing(entry, "AoA sir, I am a grade 6 teacher, my class is too loud during lessons")
    assert learned.questions[-1] == "my class is too loud during lessons"
    assert with_phrasing(learned, "Salam, my class is too loud   during lessons") is None   # already there


def test_learn_adds_the_question_part_to_the_matcher():
    build = MatcherBuilder(None)
    matcher = build(entries_from_dicts(FAQS))
    wording = "Assalam o alaikum. I teach grade 3 in a village school. My pupils forget the 7 and 8 tables"
    learned = learn(matcher, "times-tables", wording, build)
    assert learned.entries_by_id["times-tables"].questions[-1] == "My pupils forget the 7 and 8 tables"
    assert learned.reference == matcher.reference and learned.thresholds == matcher.thresholds
