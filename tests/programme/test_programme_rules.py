"""The pure rules of live sessions and hubs: stages by the clock, booking windows, matching, suppression."""
from datetime import datetime, timedelta

from helpdesk import content
from helpdesk.conversation import Programme, Turn, decide, tapped_text
from helpdesk.programme import hubs, sessions

START = datetime(2026, 12, 10, 11, 0)  # 16:00 in Karachi


def facts(**kw):
    base = dict(id=1, title="Clinic", starts_at=START, duration_minutes=60, capacity=2, booked=0)
    base.update(kw)
    return sessions.SessionFacts(**base)


def test_each_stage_is_due_in_its_window_and_only_until_it_is_done():
    s = facts()
    assert sessions.due_stage(s, START - timedelta(hours=25), {}, False) is None
    assert sessions.due_stage(s, START - timedelta(hours=24), {}, False) == "day"
    assert sessions.due_stage(s, START - timedelta(hours=3), {"day": True}, False) is None
    assert sessions.due_stage(s, START - timedelta(minutes=59), {"day": True}, False) == "hour"
    # Booked late: only the hour reminder, never both at once.
    assert sessions.due_stage(s, START - timedelta(minutes=30), {}, False) == "hour"
    assert sessions.due_stage(s, START + timedelta(minutes=10), {}, True) is None
    assert sessions.due_stage(s, START + timedelta(minutes=60), {}, False) is None   # waits for the recording
    assert sessions.due_stage(s, START + timedelta(minutes=60), {}, True) == "summary"
    assert sessions.due_stage(facts(status="cancelled"), START - timedelta(hours=1), {}, True) is None


def test_the_menu_offers_open_sessions_in_the_teachers_language():
    now = START - timedelta(days=1)
    offered = [facts(id=1, languages=("en",)), facts(id=2, languages=("ur",)),
               facts(id=3, starts_at=now - timedelta(hours=1)), facts(id=4, status="cancelled")]
    assert [s.id for s in sessions.upcoming(offered, "roman-ur", now, set())] == [2]
    assert [s.id for s in sessions.upcoming(offered, "en", now, {2})] == [1, 2]
    text, choices = sessions.menu([facts(booked=2)], set(), "en", "Asia/Karachi")
    assert "1 Clinic: Thu 10 Dec 16:00 (full)" in text and choices.options[0].id == "1"


def test_matching_uses_own_questions_or_the_districts_top_needs():
    assert sessions.matches_area("assessment", (("assessment", 2),), ())
    assert sessions.matches_area("assessment", (), ("literacy", "assessment"))
    assert not sessions.matches_area("assessment", (("literacy", 5),), ("a", "b", "c", "assessment"))


def test_profile_mix_hides_small_counts_and_their_complement():
    profiles = [{"role": "teacher"}] * 6 + [{"role": "head_teacher"}] * 2 + [{"role": "coordinator"}] * 4
    mix = dict(sessions.profile_mix(profiles, ("role",), k=3)["role"])
    assert mix["head_teacher"] is None and mix["coordinator"] is None and mix["teacher"] == 6


def test_top_challenges_never_show_an_area_under_k():
    assert hubs.top_challenges({"literacy": 2, "assessment": 5, "stem": 7}, k=3) == [("stem", 7), ("assessment", 5)]


def test_live_hub_and_joined_are_keywords_in_three_languages_and_a_tap_picks():
    for word in ("LIVE", "لائیو", "live session", "HUB", "ہب", "mera hub", "joined", "شامل ہو گیا", "join ho gaya"):
        decision = decide(Turn(text=word), kb=None)
        assert isinstance(decision.effects[-1], Programme), word
    data = {"options": [7, 9], "titles": ["Clinic", "Other"]}
    assert tapped_text("Clinic", "2", "live_menu", data) == "2"
    assert tapped_text("Clinic", "3", "live_menu", data) == "Clinic"
    picked = decide(Turn(text="Other", state="live_menu", state_data=data), kb=None)
    assert picked.effect(Programme) == Programme("live_menu", choice=2)
    invalid = decide(Turn(text="5", state="live_menu", state_data=data), kb=None)
    assert invalid.keys() == ["choice_invalid"] and invalid.effect(Programme) is None
    meeting = {"options": ["yes", "no"], "titles": ["I will come", "I cannot come"], "meeting_id": 1}
    assert decide(Turn(text="haan", state="hub_meeting", state_data=meeting), kb=None).effect(Programme).choice == 1
    assert content.keyword_book().keyword("stop")[0] == "stop"
