"""The interaction store and the report numbers, on SQLite and PostgreSQL, against hand-computed fixtures."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from analytics import service, store
from analytics.models import Interaction
from analytics.reports import Filters, Period
from helpdesk.models import InboundMessage, Teacher
from helpdesk.privacy import pseudonym, pseudonym_key
from knowledge_base.matcher import Candidate, MatchResult

PHONE = "+923001234567"


def _teacher_and_message(session, body, phone=PHONE, **profile):
    teacher = Teacher(phone=phone, name=profile.pop("name", "Ayesha Khan"), district=profile.pop("district", "Lahore"),
                      school_level=profile.pop("school_level", "primary"), subjects=profile.pop("subjects", "maths"),
                      school_type="public", **profile)
    session.add(teacher)
    session.flush()
    message = InboundMessage(message_sid=f"SM{abs(hash(body)) % 10**12:012d}", phone=phone, channel="whatsapp",
                             body=body, teacher_id=teacher.id)
    session.add(message)
    session.flush()
    return teacher, message


def _match(decision, faq_id, *candidates, score=0.9):
    return MatchResult(query="q", decision=decision, faq_id=faq_id, score=score, reason="test",
                       candidates=tuple(Candidate(c, 0.5) for c in candidates))


def test_record_interaction_codes_the_answered_faq_and_snapshots_the_profile(rt):
    with rt.db.session_scope() as session:
        teacher, message = _teacher_and_message(session, "My name is Ayesha, 0300-7654321: fractions help")
        row = store.record_interaction(session, rt, teacher=teacher, inbound=message, route="answered",
                                       match=_match("answer", "fractions-intro"), language="en")
        row_id = row.id
        teacher.district = "Karachi"  # a later PROFILE edit must not rewrite history
    with rt.db.session_scope() as session:
        row = session.get(Interaction, row_id)
        assert (row.area, row.subject, row.grade_band, row.coding_source) == ("numeracy", "maths", "primary", "faq")
        assert (row.district, row.school_level, row.channel, row.route) == ("Lahore", "primary", "whatsapp",
                                                                            "answered")
        assert row.teacher_key == pseudonym(PHONE, pseudonym_key(rt.settings)) and PHONE not in row.teacher_key
        assert row.resolved == 1 and row.gap == 0 and row.match_score == 0.9
        assert "Ayesha" not in row.question_text and "7654321" not in row.question_text
        assert "fractions help" in row.question_text


def test_escalated_question_is_coded_from_the_nearest_faq_and_is_a_gap(rt):
    with rt.db.session_scope() as session:
        teacher, message = _teacher_and_message(session, "plants keep dying in my experiment")
        row = store.record_interaction(session, rt, teacher=teacher, inbound=message, route="escalated",
                                       match=_match("escalate", None, "plant-experiment", "noisy-class"),
                                       language="en")
        assert (row.area, row.subject, row.coding_source) == ("steam-activities", "science", "nearest")
        assert (row.resolved, row.gap, row.faq_id) == (0, 1, None)
        # A replayed job for the same inbound message returns the same row.
        again = store.record_interaction(session, rt, teacher=teacher, inbound=message, route="escalated",
                                         language="en")
        assert again.id == row.id
        created = row.created_at
        store.set_taxonomy(session, row.id, "inclusive-education", grade_band="middle")
        store.set_resolved(session, row.id, created + timedelta(hours=3))
        session.flush()
        assert (row.area, row.grade_band, row.coding_source) == ("inclusive-education", "middle", "expert")
        assert (row.resolved, row.resolution_seconds) == (1, 3 * 3600)
        with pytest.raises(ValueError):
            store.set_taxonomy(session, row.id, "not-an-area")
    with rt.db.session_scope() as session:
        assert session.scalar(select(Interaction.id).where(Interaction.inbound_id.isnot(None))) is not None


def test_rating_unhelpful_unresolves_and_marks_a_gap(rt):
    with rt.db.session_scope() as session:
        teacher, message = _teacher_and_message(session, "noisy class")
        row = store.record_interaction(session, rt, teacher=teacher, inbound=message, route="answered",
                                       faq_id="noisy-class", language="ur")
        store.set_rating(session, row.id, 2)
        assert (row.rating, row.resolved, row.gap, row.resolved_at) == (2, 0, 1, None)
        store.set_rating(session, row.id, 1)
        assert (row.rating, row.resolved, row.gap) == (1, 1, 1)  # still a content-gap candidate
        with pytest.raises(ValueError):
            store.set_rating(session, row.id, 5)


def test_clarified_question_answered_by_the_choice(rt):
    with rt.db.session_scope() as session:
        teacher, message = _teacher_and_message(session, "class help")
        row = store.record_interaction(session, rt, teacher=teacher, inbound=message, route="clarified",
                                       match=_match("clarify", None, "noisy-class", "fractions-intro"),
                                       language="en")
        assert (row.area, row.resolved) == ("classroom-management", 0)
        store.set_route(session, row.id, "answered", faq_id="fractions-intro", rt=rt)
        assert (row.route, row.area, row.coding_source, row.resolved) == ("answered", "numeracy", "faq", 1)


def test_forget_teacher_keeps_counts_but_cuts_the_link(rt):
    with rt.db.session_scope() as session:
        teacher, message = _teacher_and_message(session, "noisy class again")
        row = store.record_interaction(session, rt, teacher=teacher, inbound=message, route="answered",
                                       faq_id="noisy-class", language="en")
        old_key = row.teacher_key
        assert store.forget_teacher(session, rt, PHONE) == 1
        session.refresh(row)
        assert row.teacher_key != old_key and row.question_text == "" and row.area == "classroom-management"


def test_pseudonym_key_is_generated_once_and_kept(rt):
    key = pseudonym_key(rt.settings)
    assert len(key) == 64 and (rt.settings.data_dir / "pseudonym_key").read_text() == key


# --- report numbers against a hand-computed fixture -------------------------------------------------------
#
# k = 3. Current week 2025-03-10..16, previous week 2025-03-03..09. Teachers t1..t10.
#   numeracy  Lahore : t1 x2 (one answered, one escalated), t2 (rated 2), t3, t4   -> 5 q, 4 teachers
#   numeracy  Karachi: t5                                                         -> 1 q, 1 teacher
#   literacy  Lahore : t1, t2, t6 ; Karachi: t7, t8, t9                          -> 3 + 3
#   assessment Lahore: t1, t2 ; uncoded Multan: t10 (escalated)
#   previous week: numeracy Lahore t1 x2, t2, t3 (4 q, 3 teachers); literacy Lahore t1, t2.

CUR, PREV = date(2025, 3, 10), date(2025, 3, 3)


def _row(teacher, area, district, day, *, route="answered", rating=None, text="", offset=0):
    resolved = route == "answered" and rating != 2
    gap = route in ("escalated", "urgent") or rating == 2
    created = datetime(day.year, day.month, day.day, 6) + timedelta(minutes=offset)
    return Interaction(created_at=created, day=day, week=store.week_start(day), month=store.month_start(day),
                       teacher_key=f"key-{teacher}", channel="sms", language="en", district=district,
                       school_level="primary", school_type="public", profile_subjects="maths", area=area,
                       subject="maths", grade_band="primary", coding_source="faq", route=route, rating=rating,
                       resolved=int(resolved), gap=int(gap), question_text=text)


def _fixture_rows():
    d = CUR + timedelta(days=2)
    p = PREV + timedelta(days=1)
    return [
        _row("t1", "numeracy", "Lahore", d), _row("t1", "numeracy", "Lahore", d, route="escalated", offset=1,
                                                   text="how to teach fractions to slow learners"),
        _row("t2", "numeracy", "Lahore", d, rating=2, text="How to teach fractions to slow learners?"),
        _row("t3", "numeracy", "Lahore", d), _row("t4", "numeracy", "Lahore", d),
        _row("t5", "numeracy", "Karachi", d),
        _row("t1", "literacy", "Lahore", d), _row("t2", "literacy", "Lahore", d), _row("t6", "literacy", "Lahore", d),
        _row("t7", "literacy", "Karachi", d), _row("t8", "literacy", "Karachi", d),
        _row("t9", "literacy", "Karachi", d),
        _row("t1", "assessment", "Lahore", d), _row("t2", "assessment", "Lahore", d),
        _row("t10", "", "Multan", d, route="escalated", text="teach fractions slow learners how"),
        _row("t1", "numeracy", "Lahore", p), _row("t1", "numeracy", "Lahore", p), _row("t2", "numeracy", "Lahore", p),
        _row("t3", "numeracy", "Lahore", p), _row("t1", "literacy", "Lahore", p), _row("t2", "literacy", "Lahore", p),
        _row("t99", "numeracy", "Lahore", PREV - timedelta(days=1)),  # outside both periods
    ]


@pytest.fixture
def fixture_page(rt):
    with rt.db.session_scope() as session:
        session.add_all(_fixture_rows())
    with rt.db.session_scope() as session:
        return service.build_page(session, period=Period(CUR, CUR + timedelta(days=6)), k=3)


def test_aggregate_counts_questions_teachers_and_repeat_askers_in_sql(rt):
    with rt.db.session_scope() as session:
        session.add_all(_fixture_rows())
    with rt.db.session_scope() as session:
        cells = store.aggregate(session, dims=("area",), start=PREV, end=CUR + timedelta(days=6), split=CUR)
    got = {(c.key[0], c.period): (c.questions, c.teachers, c.repeat_askers, c.escalated, c.unhelpful, c.unresolved)
           for c in cells}
    assert got == {
        ("numeracy", "cur"): (6, 5, 1, 1, 1, 2), ("literacy", "cur"): (6, 6, 0, 0, 0, 0),
        ("assessment", "cur"): (2, 2, 0, 0, 0, 0), ("", "cur"): (1, 1, 0, 1, 0, 1),
        ("numeracy", "prev"): (4, 3, 1, 0, 0, 0), ("literacy", "prev"): (2, 2, 0, 0, 0, 0),
    }


def test_needs_report_matches_the_hand_computed_ranking(fixture_page):
    page = fixture_page
    assert [(n.area, round(n.score, 6), n.teachers, n.questions, n.trend) for n in page.needs] == [
        ("literacy", 0.8, 6, 6, "new"),  # previous week had 2 < k teachers: no percentage
        ("numeracy", 0.758333, 5, 6, "+50%"),
    ]
    assert page.needs[1].lesson_track == "numeracy" and page.needs[1].lesson_ids  # shipped lessons exist


def test_suppression_hides_small_cells_and_their_complement(fixture_page):
    heat = {c.key: c.suppressed for c in fixture_page.heatmap}
    # numeracy/Karachi has 1 teacher; numeracy/Lahore is hidden too, or "numeracy overall - Lahore" = Karachi.
    assert heat[("Karachi", "numeracy")] and heat[("Lahore", "numeracy")]
    assert not heat[("Lahore", "literacy")] and not heat[("Karachi", "literacy")]
    assert heat[("Lahore", "assessment")] and heat[("Multan", "")]
    assert {d: [n.area for n in ranked] for d, ranked in fixture_page.district_needs.items()} == {
        "Karachi": ["literacy"], "Lahore": ["literacy"]}
    (week,) = fixture_page.weekly
    assert (week.period, week.questions, week.teachers, week.suppressed) == ("2025-03-10", 15, 10, False)


def test_challenges_and_gaps_on_the_fixture(fixture_page):
    numeracy = [c for c in fixture_page.challenges if c.area == "numeracy" and c.district == "Lahore"]
    assert [(c.period, c.questions, c.teachers, c.trend, c.repeat_askers) for c in numeracy] == [
        ("2025-03-10", 5, 4, "+25%", 1)]
    (gap,) = fixture_page.gaps
    assert (gap.size, gap.teachers, gap.area) == (3, 3, "numeracy")


def test_filters_narrow_the_report_and_suppression_follows(rt):
    with rt.db.session_scope() as session:
        session.add_all(_fixture_rows())
    week = Period(CUR, CUR + timedelta(days=6))
    with rt.db.session_scope() as session:
        lahore = service.build_page(session, period=week, k=3, filters=Filters(district="Lahore"))
        karachi = service.build_page(session, period=week, k=3, filters=Filters(district="Karachi"))
    # Lahore: assessment (2 teachers) is hidden, so literacy (3, the next smallest) goes with it.
    assert [(n.area, n.teachers, n.questions) for n in lahore.needs] == [("numeracy", 4, 5)]
    # Karachi: numeracy has 1 teacher; literacy (3) would give it away by subtraction from the weekly total.
    assert karachi.needs == [] and karachi.weekly[0].teachers == 4


def test_exports_carry_no_identifiers(rt, fixture_page):
    with rt.db.session_scope() as session:
        _teacher_and_message(session, "call me on 03001234567, I am Ayesha Khan")
    outputs = [service.to_csv(fixture_page), service.to_json(fixture_page), service.render_html(fixture_page)]
    for text in outputs:
        for forbidden in ("key-t", PHONE, "3001234567", "Ayesha"):
            assert forbidden not in text
    data = json.loads(outputs[1])
    assert data["needs"][0]["area"] == "literacy" and data["min_teachers_per_cell"] == 3
    assert all(set(c) == {"key", "period", "suppressed"} for c in data["district_area"] if c["suppressed"])


def test_cli_report_needs_works_on_the_demo_data(rt, monkeypatch, tmp_path):
    from analytics.demo import seed_if_empty
    from helpdesk.cli import main

    today = date.today()
    assert seed_if_empty(rt.db, today=today) > 0
    assert seed_if_empty(rt.db, today=today) == 0  # never twice
    monkeypatch.setenv("DATABASE_URL", rt.settings.database_url)
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    start = (today - timedelta(days=27)).isoformat()
    result = runner.invoke(main, ["report", "needs", "--from", start, "--to", today.isoformat(), "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("scope,rank,area") and len(lines) > 5
    assert lines[1].startswith("overall,1,")
    result = runner.invoke(main, ["report", "needs", "--from", start, "--to", today.isoformat(), "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.output)["content_gaps"]
    result = runner.invoke(main, ["report", "needs", "--format", "html"])
    assert result.exit_code == 0 and "<svg" in result.output and "Districts" in result.output
    bad = runner.invoke(main, ["report", "needs", "--from", "2025-13-01"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_district_top_needs_for_the_lesson_chooser(rt):
    with rt.db.session_scope() as session:
        session.add_all(_fixture_rows())
    with rt.db.session_scope() as session:
        top = service.district_top_needs(session, "Lahore", now=datetime(2025, 3, 16, 12), weeks=1)
    # Lahore this week: numeracy 4 teachers (+25%), literacy 3 ("new"), assessment 2; no suppression here.
    assert top[0] == "numeracy" and set(top) == {"numeracy", "literacy", "assessment"}


def test_escalated_question_waits_for_the_experts_tag_when_its_nearest_faq_is_not_close(rt):
    with rt.db.session_scope() as session:
        teacher, message = _teacher_and_message(session, "Mera transfer kab hoga")
        hr = MatchResult(query="Mera transfer kab hoga", decision="escalate", faq_id=None, score=0.6,
                         reason="admin-hr", candidates=(Candidate("plant-experiment", 0.6),))
        row = store.record_interaction(session, rt, teacher=teacher, inbound=message, route="escalated",
                                       match=hr, language="roman-ur")
        assert (row.area, row.coding_source) == ("", "awaiting")
        teacher2, message2 = _teacher_and_message(session, "something far from every FAQ", phone="+923007654321")
        far = MatchResult(query="q", decision="escalate", faq_id=None, score=0.01, reason="low-score",
                          candidates=(Candidate("plant-experiment", 0.01),))
        row2 = store.record_interaction(session, rt, teacher=teacher2, inbound=message2, route="escalated",
                                        match=far, language="en")
        assert (row2.area, row2.coding_source) == ("", "awaiting")
        store.set_taxonomy(session, row2.id, "inclusive-education")
        assert (row2.area, row2.coding_source) == ("inclusive-education", "expert")
