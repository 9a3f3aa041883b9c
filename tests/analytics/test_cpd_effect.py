"""The effect figure (difference-in-differences per lesson topic) against a hand-computed fixture. Pure."""
from datetime import date

import pytest

from analytics.cpd_effect import Exposure, Question, topic_effects


def d(month_day: str) -> date:
    month, day = month_day.split("-")
    return date(2025, int(month), int(day))


EXPOSURES = [
    Exposure("t1", "assessment", d("3-10")), Exposure("t2", "assessment", d("3-10")),
    Exposure("c3", "assessment", d("3-17")),
    Exposure("t1", "literacy", d("3-25")),  # after-window still open on 1 April: left out
]
QUESTIONS = [Question(who, "assessment", d(day)) for who, day in [
    ("t1", "3-01"), ("t1", "3-05"), ("t1", "3-08"), ("t1", "3-20"),
    ("t2", "3-03"),
    ("c1", "3-02"), ("c1", "3-12"), ("c1", "3-15"),
    ("c2", "3-11"),
    ("c3", "3-04"), ("c3", "3-12"),
]] + [Question("t1", "literacy", d("3-06"))]
POPULATION = {"t1", "t2", "c1", "c2", "c3"}


def test_effect_matches_the_hand_computation():
    effects = {e.topic: e for e in topic_effects(EXPOSURES, QUESTIONS, POPULATION, today=d("4-01"), weeks=2)}
    assessment = effects["assessment"]
    first, second = assessment.cohorts
    # Cohort 10 March: treated t1, t2; comparison c1, c2 (c3 was sent the topic within the after-window).
    # Treated: 4 questions before / (2 teachers x 2 weeks) = 1.0; 1 after -> 0.25.
    # Comparison: 1 before (c1 2 Mar) -> 0.25; 3 after (c1 12, 15 Mar; c2 11 Mar) -> 0.75.
    # Effect: (0.25 - 1.0) - (0.75 - 0.25) = -1.25.
    assert (first.day, first.treated, first.comparison) == (d("3-10"), 2, 2)
    assert (first.treated_before, first.treated_after) == (1.0, 0.25)
    assert (first.comparison_before, first.comparison_after) == (0.25, 0.75)
    assert first.effect == pytest.approx(-1.25)
    # Cohort 17 March: treated c3 (4 and 12 Mar before -> 1.0; none after -> 0.0); comparison c1, c2
    # (12, 15 and 11 Mar before -> 0.75; none after -> 0.0). Effect: -1.0 - (-0.75) = -0.25.
    assert (second.day, second.treated, second.comparison) == (d("3-17"), 1, 2)
    assert second.effect == pytest.approx(-0.25)
    # Topic: weighted by treated teachers: (2 x -1.25 + 1 x -0.25) / 3 = -0.91666...
    assert assessment.treated == 3
    assert assessment.effect == pytest.approx(-2.75 / 3)
    assert assessment.suppressed  # fewer than 5 teachers: planners would not see it
    assert effects["literacy"].effect is None and effects["literacy"].cohorts == ()


def test_no_effect_when_both_groups_change_alike():
    exposures = [Exposure(f"t{i}", "numeracy", d("3-10")) for i in range(5)]
    questions = [Question(f"{group}{i}", "numeracy", d(day)) for group in ("t", "c") for i in range(5)
                 for day in ("3-05", "3-12", "3-13")]
    population = {f"t{i}" for i in range(5)} | {f"c{i}" for i in range(5)}
    (effect,) = topic_effects(exposures, questions, population, today=d("4-30"), weeks=1)
    assert effect.effect == pytest.approx(0.0)
    assert not effect.suppressed


def test_suppression_follows_the_planners_k():
    exposures = [Exposure(f"t{i}", "numeracy", d("3-10")) for i in range(5)]
    population = {f"t{i}" for i in range(5)} | {f"c{i}" for i in range(5)}
    (effect,) = topic_effects(exposures, [], population, today=d("4-30"), weeks=1, min_cell=6)
    assert effect.treated == 5 and effect.suppressed  # 5 teachers are too few when k is 6
