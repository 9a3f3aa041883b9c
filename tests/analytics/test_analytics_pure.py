"""Pure analytics: taxonomy coding, redaction, suppression, needs ranking, challenges, gap clustering."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from analytics import challenges, gaps, needs, redact, taxonomy
from analytics.reports import Cell, Period, growth, suppress_complementary, suppress_small, trend


# --- taxonomy --------------------------------------------------------------------------------------------

def test_taxonomy_loads_the_fifteen_areas_with_urdu_labels_and_lesson_tracks():
    tax = taxonomy.load_taxonomy()
    assert len(tax.areas) == 15
    assert tax.area("numeracy").lesson_track == "numeracy"
    assert tax.area("safeguarding").lesson_track == "wellbeing"  # a new area borrows the nearest track
    assert all(a.ur and a.en for a in tax.areas)
    assert "maths" in tax.subject_slugs and "primary" in tax.band_slugs
    assert tax.label("area", "") == "Not coded"


def test_taxonomy_rejects_a_file_without_areas():
    with pytest.raises(taxonomy.TaxonomyError, match="areas"):
        taxonomy.parse_taxonomy({"subjects": [{"slug": "x", "en": "X", "ur": "ایکس"}]})


def test_coding_takes_the_faq_topic_and_fills_subject_and_band_from_the_profile():
    code = taxonomy.code(topic="classroom-management", subject="general", grades=("primary", "middle"),
                         source="faq", school_level="middle", profile_subjects="science")
    assert code == taxonomy.CpdCode("classroom-management", "science", "middle", "faq")


def test_coding_trusts_a_single_band_faq_over_a_mismatched_profile():
    code = taxonomy.code(topic="numeracy", subject="maths", grades=("primary",), source="nearest",
                         school_level="high", profile_subjects="maths,science")
    assert code == taxonomy.CpdCode("numeracy", "maths", "primary", "nearest")


def test_coding_without_a_topic_is_uncoded_but_keeps_the_profile():
    assert taxonomy.code(topic=None, subject=None, grades=(), source="nearest", school_level="high",
                         profile_subjects="urdu") == taxonomy.CpdCode("", "urdu", "secondary", "none")


# --- redaction -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, gone, kept", [
    ("My name is Ayesha Khan, call me on 0300-1234567", ["Ayesha", "Khan", "1234567"], ["call me"]),
    ("email a.khan@school.edu.pk or +92 300 123 4567", ["a.khan", "school.edu", "123 4567"], ["email"]),
    ("mera naam Bilal hai, bachay shor karte hain", ["Bilal"], ["bachay shor"]),
    ("میرا نام عائشہ ہے، میرا نمبر ۰۳۰۰۱۲۳۴۵۶۷ ہے", ["عائشہ", "۰۳۰۰۱۲۳۴۵۶۷"], ["میرا نام"]),
    ("Aslam sahib says grade 5 fractions like 1/4 are hard", ["Aslam"], ["grade 5", "1/4"]),
    ("اسلم صاحب نے کہا", ["اسلم"], ["صاحب"]),
    ("Sir Tariq, CNIC 35202-1234567-1, school EMIS 32110234", ["Tariq", "35202", "32110234"], ["CNIC"]),
    ("I am teaching class 3 and I am a new teacher", [], ["I am teaching", "a new teacher"]),
])
def test_scrub_removes_numbers_emails_and_names_but_keeps_the_question(text, gone, kept):
    out = redact.scrub(text)
    for piece in gone:
        assert piece not in out
    for piece in kept:
        assert piece in out


def test_scrub_removes_the_teachers_own_profile_name_anywhere():
    assert redact.scrub("Nasreen here: how do I teach nasreen's class?", names=["Nasreen Bibi"]) == \
        "[name] here: how do I teach [name]'s class?"


# --- suppression and trends ------------------------------------------------------------------------------

def _cell(key, teachers, questions=None, **kw):
    return Cell(key=key if isinstance(key, tuple) else (key,), teachers=teachers,
                questions=questions if questions is not None else teachers, **kw)


def test_small_cells_are_suppressed_below_k():
    cells = suppress_small([_cell("a", 4), _cell("b", 5)], k=5)
    assert [c.suppressed for c in cells] == [True, False]


def test_a_lone_suppressed_cell_takes_the_next_smallest_with_it():
    cells = suppress_small([_cell("a", 9), _cell("b", 2), _cell("c", 6), _cell("d", 7)], k=5)
    out = suppress_complementary(cells, [range(4)], k=5)
    # b alone could be recovered from the published total; c (6) is the smallest visible cell.
    assert [c.suppressed for c in out] == [False, True, True, False]


def test_two_suppressed_cells_that_together_stay_below_k_take_a_third():
    cells = suppress_small([_cell("a", 1), _cell("b", 2), _cell("c", 8), _cell("d", 6)], k=5)
    out = suppress_complementary(cells, [range(4)], k=5)
    assert [c.suppressed for c in out] == [True, True, False, True]


def test_groups_with_nothing_hidden_or_enough_hidden_are_left_alone():
    cells = suppress_small([_cell("a", 3), _cell("b", 4), _cell("c", 8)], k=5)
    assert [c.suppressed for c in suppress_complementary(cells, [range(3)], k=5)] == [True, True, False]
    clean = suppress_small([_cell("a", 5), _cell("b", 6)], k=5)
    assert not any(c.suppressed for c in suppress_complementary(clean, [range(2)], k=5))


def test_growth_is_capped_and_zero_to_some_is_full_growth():
    assert growth(6, 4) == 0.5
    assert growth(30, 4) == 1.0
    assert growth(0, 4) == -1.0
    assert growth(3, 0) == 1.0
    assert growth(0, 0) == 0.0


def test_trend_against_a_small_previous_period_reads_new():
    assert trend(_cell("a", 6, 10), _cell("a", 5, 8), k=5).label == "+25%"
    small = trend(_cell("a", 6, 10), _cell("a", 4, 8), k=5)
    assert (small.label, small.previous, small.change) == ("new", None, None)


def test_period_previous_has_the_same_length():
    p = Period(date(2025, 3, 10), date(2025, 3, 16))
    assert p.previous() == Period(date(2025, 3, 3), date(2025, 3, 9))


# --- needs: hand-computed --------------------------------------------------------------------------------

def test_needs_ranking_matches_the_documented_formula():
    tax = taxonomy.load_taxonomy()
    cur = [_cell("numeracy", 5, 6, unresolved=2, escalated=1, unhelpful=1, repeat_askers=1),
           _cell("literacy", 6, 6), _cell("assessment", 2, 2), _cell("", 1, 1)]
    prev = [_cell("numeracy", 3, 4), _cell("literacy", 2, 2)]
    result = needs.assess(area_cur=cur, area_prev=prev, district_cur=[], district_prev=[], taxonomy=tax,
                          lessons_by_track={"literacy": ["l1", "l2"]}, k=3)
    first, second = result.overall
    # literacy: 0.35*6/6 + 0.25*6/6 + 0.20*(1+1)/2 ("new": previous had 2 < k teachers) + 0.20*0 = 0.8
    assert (first.area, first.score, first.trend, first.lesson_ids) == ("literacy", 0.8, "new", ("l1", "l2"))
    # numeracy: 0.35*5/6 + 0.25*1 + 0.20*(0.5+1)/2 + 0.20*2/6 = 0.758333
    assert second.area == "numeracy" and second.score == pytest.approx(0.758333, abs=1e-6)
    assert (second.trend, second.previous_questions, second.growth) == ("+50%", 4, 0.5)
    assert second.unresolved_share == pytest.approx(1 / 3)
    assert result.suppressed_areas == 2  # assessment and the uncoded row, together 3 teachers = k


# --- recurring challenges --------------------------------------------------------------------------------

def test_challenges_carry_trend_presence_and_repeat_askers():
    key = ("numeracy", "Lahore", "primary", "maths")
    cells = [Cell(key=key, period="2025-03-03", questions=4, teachers=3),
             Cell(key=key, period="2025-03-10", questions=5, teachers=4, repeat_askers=1, escalated=1),
             Cell(key=key, period="2025-03-17", questions=3, teachers=3),
             Cell(key=("literacy", "Lahore", "primary", "maths"), period="2025-03-17", questions=2, teachers=2)]
    rows, hidden = challenges.detect(cells, granularity="week", first_bucket=date(2025, 3, 10), k=3)
    assert hidden == 1
    assert [(r.period, r.trend, r.periods_present, r.recurring) for r in rows] == [
        ("2025-03-17", "-40%", 2, True), ("2025-03-10", "+25%", 2, True)]
    assert rows[1].repeat_askers == 1 and rows[1].escalated_share == 0.2


def test_previous_month_bucket():
    assert challenges.previous_bucket(date(2025, 3, 1), "month") == date(2025, 2, 1)
    assert challenges.previous_bucket(date(2025, 1, 1), "month") == date(2024, 12, 1)


# --- content gaps ----------------------------------------------------------------------------------------

def _gq(i, text, teacher, current=True, area="numeracy"):
    return gaps.GapQuestion(id=i, created_at=datetime(2025, 3, 1) + timedelta(hours=i), teacher_key=teacher,
                            area=area, text=text, current=current)


def test_similar_wordings_cluster_and_small_clusters_are_hidden():
    qs = [_gq(1, "How do I teach fractions to slow learners?", "t1"),
          _gq(2, "how do i teach fractions to slow learners please", "t2"),
          _gq(3, "Teach fractions to slow learners how do I", "t3"),
          _gq(4, "My salary has not come for three months", "t4", area="career-admin"),
          _gq(5, "Salary not received for three months", "t5", area="career-admin")]
    found, hidden = gaps.find_gaps(qs, k=3)
    assert hidden == 1  # the salary pair: 2 teachers
    assert len(found) == 1
    gap = found[0]
    assert (gap.size, gap.teachers, gap.area, gap.trend) == (3, 3, "numeracy", "new")
    assert gap.examples[0] == "How do I teach fractions to slow learners?"


def test_clustering_is_deterministic_and_order_follows_time():
    texts = ["noisy class control", "class control noisy", "plant experiment", "experiment plant", "x"] * 3
    first = gaps.cluster(texts, threshold=70)
    assert first == gaps.cluster(texts, threshold=70)
    assert first[:5] == [0, 0, 2, 2, 4]
    assert first[5:10] == [0, 0, 2, 2, 4]


def test_clustering_across_blocks_joins_earlier_leaders():
    texts = [f"question number {i % 7} about topic {i % 7}" for i in range(1200)]
    assignment = gaps.cluster(texts, threshold=95)
    assert sorted(set(assignment)) == list(range(7))


def test_gap_growth_against_a_publishable_previous_period():
    qs = [_gq(i, "how to teach fractions", f"p{i}", current=False) for i in range(3)]
    qs += [_gq(10 + i, "how to teach fractions", f"c{i}") for i in range(6)]
    (gap,), _ = gaps.find_gaps(qs, k=3)
    assert (gap.size, gap.previous_size, gap.trend, gap.growth) == (6, 3, "+100%", 1.0)


def test_gap_examples_never_show_phone_numbers_or_emails():
    qs = [_gq(i, f"call 0300-12345{i:02d} or t{i}@x.org about fractions please", f"t{i}") for i in range(5)]
    (gap,), _ = gaps.find_gaps(qs, k=3)
    assert all("0300" not in e and "@" not in e for e in gap.examples)
