"""The console's wording of times and of the matcher's note (pure functions, no app)."""
from __future__ import annotations

from datetime import datetime, timedelta

from helpdesk.experts import console_format as fmt

NOW = datetime(2026, 12, 1, 21, 14, 26)  # naive UTC, as stored


def test_deadlines_and_waiting_are_relative():
    assert fmt.deadline(NOW + timedelta(minutes=42, seconds=50), NOW) == "42 min left"
    assert fmt.deadline(NOW - timedelta(minutes=5, seconds=10), NOW) == "overdue 5 min"
    assert fmt.deadline(NOW + timedelta(hours=3, minutes=5), NOW) == "3 h 5 min left"
    assert fmt.deadline(NOW + timedelta(hours=2), NOW) == "2 h left"
    assert fmt.deadline(None, NOW) == ""
    assert fmt.waiting(NOW - timedelta(days=3, hours=1), NOW) == "waiting 3 days"
    assert fmt.waiting(NOW - timedelta(hours=25), NOW) == "waiting 1 day"
    assert fmt.is_overdue(NOW - timedelta(seconds=1), NOW) and not fmt.is_overdue(None, NOW)


def test_stamps_are_in_the_helpdesk_time_zone():
    assert fmt.stamp(NOW, "Asia/Karachi") == "2 Dec 02:14"        # UTC+5: already the next day
    assert fmt.stamp("2026-12-01T21:14:26", "Asia/Karachi") == "2 Dec 02:14"  # conversation snapshots
    assert fmt.stamp(NOW, "UTC") == "1 Dec 21:14"
    assert fmt.stamp("not a time", "Asia/Karachi") == "" and fmt.stamp(None, "UTC") == ""


def test_the_matcher_note_in_words():
    question = {"fractions-intro": "How do I introduce fractions?"}.get
    low = {"decision": "escalate", "faq_id": None, "score": 0.044, "reason": "low-score",
           "candidates": [{"faq_id": "fractions-intro", "score": 0.044}]}
    expected = "Closest FAQ: How do I introduce fractions? (low confidence)"
    assert fmt.matcher_note(low, question).text == expected
    close = {"decision": "clarify", "faq_id": None, "reason": "ambiguous",
             "candidates": [{"faq_id": "fractions-intro", "score": 0.5}]}
    assert fmt.matcher_note(close, question).confidence == "medium"
    answered = {"decision": "answer", "faq_id": "gone-faq", "score": 0.9, "reason": "", "candidates": []}
    note = fmt.matcher_note(answered, question)
    assert note.text == "Closest FAQ: gone-faq (high confidence)"  # an FAQ removed since: its id
    assert fmt.matcher_note({"decision": None, "candidates": [{"faq_id": "fractions-intro", "score": 0.4}]},
                            question).confidence == "medium"
    assert fmt.matcher_note({"decision": "escalate", "candidates": []}, question).text == \
        "No FAQ came close to this question."
    assert fmt.matcher_note(None, question) is None


def test_search_relevance_in_a_word_on_the_matcher_notes_scale():
    assert fmt.relevance(0.1, chosen=True) == "good match"  # the matcher answered with it: trust that
    assert fmt.relevance(fmt.HIGH_CONFIDENCE) == "good match"
    assert fmt.relevance(fmt.HIGH_CONFIDENCE - 0.01) == "fair match"
    assert fmt.relevance(fmt.MEDIUM_CONFIDENCE) == "fair match"
    assert fmt.relevance(fmt.MEDIUM_CONFIDENCE - 0.01) == "weak match"
    assert fmt.is_good("good match") and not fmt.is_good("fair match")


def test_the_conversation_is_merged_oldest_first():
    lines = [{"dir": "in", "body": "first", "at": "2026-12-01T10:00:00"},
             {"dir": "out", "body": "auto reply", "at": "2026-12-01T10:00:01"},
             {"dir": "in", "body": "follow-up", "at": "2026-12-01T12:00:00"}]
    answers = [(datetime(2026, 12, 1, 11, 0, 0), "Ayesha", "expert answer")]
    bubbles = fmt.conversation(lines, answers, "Asia/Karachi")
    assert [(b.direction, b.body) for b in bubbles] == [("in", "first"), ("out", "auto reply"),
                                                        ("out", "expert answer"), ("in", "follow-up")]
    assert bubbles[2].who == "Ayesha" and bubbles[2].at == "1 Dec 16:00"
