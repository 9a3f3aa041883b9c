"""The documented lesson-choice rule (helpdesk.cpd.lesson_choice), and the schedule and belt rules. Pure."""
from datetime import datetime

import pytest

from helpdesk.cpd import rules as cpd_rules
from helpdesk.cpd.lesson_choice import (
    CATALOGUE, DISTRICT_NEEDS, OWN_QUESTIONS, SUBJECT_GRADE, LessonFacts, TeacherFacts, choose_lesson, rank_topics,
)

LESSONS = [
    LessonFacts("exit-tickets", "assessment", ("general",), ("primary",)),
    LessonFacts("maths-quizzes", "assessment", ("maths",), ("primary", "middle")),
    LessonFacts("phonics", "literacy", ("urdu",), ("primary",)),
    LessonFacts("place-value", "numeracy", ("maths",), ("primary",)),
    LessonFacts("circuits", "steam-activities", ("science",), ("middle",)),
]


def choose(**facts):
    return choose_lesson(LESSONS, TeacherFacts(**facts))


def test_own_recent_topics_come_first_and_the_best_fitting_lesson_wins():
    choice = choose(recent_topics=(("assessment", 3), ("literacy", 1)), district_needs=("numeracy",),
                    subjects=("maths",), grade_bands=("primary",))
    assert (choice.lesson_id, choice.tier, choice.topic) == ("maths-quizzes", OWN_QUESTIONS, "assessment")
    assert "3 questions about assessment" in choice.why


def test_never_repeats_and_moves_to_the_next_own_topic():
    facts = dict(recent_topics=(("assessment", 3), ("literacy", 1)), subjects=("maths",), grade_bands=("primary",))
    assert choose(sent=frozenset({"maths-quizzes"}), **facts).lesson_id == "exit-tickets"
    choice = choose(sent=frozenset({"maths-quizzes", "exit-tickets"}), **facts)
    assert (choice.lesson_id, choice.tier) == ("phonics", OWN_QUESTIONS)


def test_district_needs_when_the_teacher_has_asked_nothing():
    choice = choose(district="Lahore", district_needs=("multigrade", "numeracy", "literacy"), subjects=("urdu",))
    # multigrade has no lesson here; numeracy is the first need that has one.
    assert (choice.lesson_id, choice.tier, choice.topic) == ("place-value", DISTRICT_NEEDS, "numeracy")
    assert "need #2 in Lahore" in choice.why


def test_a_lesson_for_another_grade_band_is_passed_over_until_the_catalogue_step():
    facts = dict(recent_topics=(("literacy", 4),), grade_bands=("middle",), subjects=("science",))
    choice = choose(**facts)
    assert (choice.lesson_id, choice.tier) == ("circuits", SUBJECT_GRADE)
    # Only unsuitable lessons left: the catalogue step still sends one (suitable first, then any).
    choice = choose(sent=frozenset({"circuits", "maths-quizzes"}), **facts)
    assert (choice.lesson_id, choice.tier) == ("exit-tickets", CATALOGUE)


def test_catalogue_order_without_any_profile_and_none_when_all_are_sent():
    assert choose().lesson_id == "exit-tickets"
    assert choose(sent=frozenset(lesson.id for lesson in LESSONS)) is None


def test_rank_topics_counts_questions_and_breaks_ties_by_recency():
    asked = [("literacy", datetime(2025, 3, 1)), ("assessment", datetime(2025, 3, 2)),
             ("literacy", datetime(2025, 3, 3)), ("numeracy", datetime(2025, 3, 9)), ("assessment", datetime(2025, 3, 4)),
             ("", datetime(2025, 3, 10))]
    assert rank_topics(asked) == (("assessment", 2), ("literacy", 2), ("numeracy", 1))


# --- schedule -------------------------------------------------------------------------------------------------

TZ = "Asia/Karachi"  # UTC+5, no daylight saving


def test_parse_schedule():
    assert cpd_rules.parse_schedule("mon 16:00") == cpd_rules.Schedule((0,), datetime(1, 1, 1, 16).time(), 1)
    assert cpd_rules.parse_schedule("Biweekly thu,mon 9:30").every_weeks == 2
    assert cpd_rules.parse_schedule("mon,thu 9:30").days == (0, 3)
    with pytest.raises(cpd_rules.ScheduleError):
        cpd_rules.parse_schedule("every monday")
    with pytest.raises(cpd_rules.ScheduleError):
        cpd_rules.parse_schedule("funday 16:00")


def test_next_slot_is_monday_1600_karachi_strictly_after():
    weekly = cpd_rules.parse_schedule("mon 16:00")
    # Monday 3 March 2025, 15:00 in Karachi = 10:00 UTC.
    assert cpd_rules.next_slot(datetime(2025, 3, 3, 10, 0), weekly, TZ) == datetime(2025, 3, 3, 11, 0)
    assert cpd_rules.next_slot(datetime(2025, 3, 3, 11, 0), weekly, TZ) == datetime(2025, 3, 10, 11, 0)
    # Sunday 23:30 UTC is already Monday 04:30 in Karachi.
    assert cpd_rules.next_slot(datetime(2025, 3, 9, 23, 30), weekly, TZ) == datetime(2025, 3, 10, 11, 0)


def test_welcome_series_then_weekly_with_a_gap():
    weekly = cpd_rules.parse_schedule("mon 16:00")
    joined = datetime(2025, 3, 3, 20, 0)  # Tuesday 01:00 in Karachi
    offsets = (1, 3)
    first = cpd_rules.following_lesson_at(0, joined, joined, offsets, weekly, TZ)
    assert first == datetime(2025, 3, 5, 11, 0)  # Wednesday 16:00 Karachi (join date 4 March + 1)
    second = cpd_rules.following_lesson_at(1, joined, first, offsets, weekly, TZ)
    assert second == datetime(2025, 3, 7, 11, 0)  # Friday (join date + 3)
    third = cpd_rules.following_lesson_at(2, joined, second, offsets, weekly, TZ)
    assert third == datetime(2025, 3, 10, 11, 0)  # the next Monday slot at least 2 days later
    fourth = cpd_rules.following_lesson_at(3, joined, third, offsets, weekly, TZ)
    assert fourth == datetime(2025, 3, 17, 11, 0)
    biweekly = cpd_rules.parse_schedule("biweekly mon 16:00")
    assert cpd_rules.following_lesson_at(3, joined, third, offsets, biweekly, TZ) == datetime(2025, 3, 24, 11, 0)


def test_belts_from_white_to_black_need_hours_and_passed_checks():
    assert [belt[0] for belt in cpd_rules.BELTS][0] == "white"
    assert [belt[0] for belt in cpd_rules.BELTS][-1] == "black"
    assert cpd_rules.belt_for(59, 5) is None and cpd_rules.belt_for(60, 1) == "white"
    assert cpd_rules.belt_for(60, 0) is None  # hours alone are not enough
    assert cpd_rules.belt_for(16 * 60, 1) == "white"  # nor are hours without passed checks
    assert cpd_rules.belts_crossed((50, 3), (160, 3)) == ["white", "yellow"]
    assert cpd_rules.belts_crossed((160, 0), (160, 1)) == ["white"]  # a passed check completes a belt
    assert cpd_rules.belts_crossed((160, 2), (160, 3)) == ["yellow"]
    assert cpd_rules.belts_crossed((60, 1), (100, 1)) == []
    assert cpd_rules.next_belt(60, 1) == ("yellow", 2.5, 3)
    assert cpd_rules.next_belt(200, 0) == ("white", 1, 1)
    assert cpd_rules.belt_for(16 * 60, 19) == "black" and cpd_rules.next_belt(16 * 60, 19) is None


def test_every_belt_asks_more_hours_and_more_checks_than_the_one_before():
    hours = [belt[1] for belt in cpd_rules.BELTS]
    checks = [belt[2] for belt in cpd_rules.BELTS]
    assert hours == sorted(set(hours)) and checks == sorted(set(checks))


def test_black_belt_is_reachable_with_the_shipped_lessons():
    from knowledge_base.lessons import load_lessons

    shipped = load_lessons()
    assert cpd_rules.belt_for(sum(lesson.minutes for lesson in shipped), len(shipped)) == "black"


# --- the journey: levels and prerequisites --------------------------------------------------------------

JOURNEY = [
    LessonFacts("signals", "classroom-management", ("general",), ("primary",), "foundation"),
    LessonFacts("routines", "classroom-management", ("general",), ("primary",), "foundation"),
    LessonFacts("discipline", "classroom-management", ("general",), ("primary",), "practice", ("signals",)),
    LessonFacts("coach", "classroom-management", ("general",), ("primary",), "mentor", ("discipline",)),
    LessonFacts("phonics", "literacy", ("urdu",), ("primary",), "foundation"),
]


def journey(**facts):
    return choose_lesson(JOURNEY, TeacherFacts(**facts))


def test_a_lesson_waits_until_its_prerequisites_are_completed():
    own = dict(recent_topics=(("classroom-management", 4),))
    # Sent but not completed (no DONE): the practice lesson stays closed, so the other foundation lesson comes.
    assert journey(sent=frozenset({"signals"}), **own).lesson_id == "routines"
    # Every open lesson of the area sent, none completed: the choice moves on to another area.
    choice = journey(sent=frozenset({"signals", "routines"}), **own)
    assert (choice.lesson_id, choice.tier) == ("phonics", CATALOGUE)
    # Completed: the practice lesson opens, and after it the mentor lesson.
    assert journey(sent=frozenset({"signals", "routines"}), completed=frozenset({"signals"}), **own).lesson_id \
        == "discipline"
    assert journey(sent=frozenset({"signals", "routines", "discipline"}),
                   completed=frozenset({"signals", "discipline"}), **own).lesson_id == "coach"


def test_nothing_is_offered_while_every_open_lesson_waits_for_a_done():
    assert journey(sent=frozenset({"signals", "routines", "phonics"})) is None


def test_foundation_comes_before_practice_when_both_are_open_and_fit_alike():
    ordered = [JOURNEY[2], JOURNEY[1], JOURNEY[0]]  # practice first in the catalogue
    choice = choose_lesson(ordered, TeacherFacts(sent=frozenset({"signals"}), completed=frozenset({"signals"}),
                                                 recent_topics=(("classroom-management", 1),)))
    assert choice.lesson_id == "routines"
