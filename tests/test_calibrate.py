"""Threshold fitting and the self-calibration probes (pure; no model needed)."""
import itertools

from knowledge_base.calibrate import _Decisions, evaluate, perturb, self_calibration_set
from knowledge_base.loader import entries_from_dicts
from knowledge_base.matcher import Matcher, Thresholds

FAQS = [
    {"id": "noisy-class", "topic": "classroom-management",
     "questions": ["How do I manage a noisy classroom?", "Students keep talking during the lesson",
                   "Bachay class mein shor karte hain kya karun"],
     "answer": {"en": "Agree a silent signal and give short timed tasks."}},
    {"id": "times-tables", "topic": "numeracy",
     "questions": ["How can students learn multiplication tables?", "Pahare yaad karane ka tareeqa"],
     "answer": {"en": "Use patterns, skip counting and short daily games."}},
    {"id": "circuits-a", "topic": "steam", "questions": ["How do I teach electric circuits with a battery and bulb?"],
     "answer": {"en": "Build a simple circuit with a cell, wire and bulb."}},
    {"id": "circuits-b", "topic": "steam",
     "questions": ["How do I teach electric circuits with a battery and bulb in class?", "Circuit banana sikhana"],
     "answer": {"en": "Let groups build a circuit with a cell, wire and bulb."}},
]
ROWS = [("noisy class students talking", "noisy-class"), ("multiplication tables games", "times-tables"),
        ("electric circuits battery bulb", "circuits-a"), ("electric circuits battery bulb", "circuits-b"),
        ("where do I buy a battery", None), ("weather tomorrow", None), ("my salary is late", None),
        ("bachay shor", "noisy-class")]


def test_vectorised_threshold_sweep_agrees_with_decide():
    matcher = Matcher(entries_from_dicts(FAQS))
    rows = [{"query": q, "expected": e} for q, e in ROWS]
    rankings = [matcher.rank(r["query"]) for r in rows]
    table = _Decisions(rankings, rows)
    seen_clarify = False
    for a, m, c, g in itertools.product((0.2, 0.4, 0.6, 0.9), (0.0, 0.1), (0.1, 0.3), (0.0, 0.2, 1.0)):
        th = Thresholds(answer=a, margin=m, clarify=min(a, c), clarify_gap=g)
        slow = evaluate(rankings, rows, th)
        assert table.metrics(th) == slow, th
        seen_clarify |= slow["clarify"] > 0
    assert seen_clarify   # the sweep exercised the clarify branch


def test_perturbed_probes_are_deterministic_and_differ_from_the_phrasing():
    text = "How do I manage a noisy classroom during the lesson?"
    assert perturb(text) == perturb(text)
    assert any(perturb(q) != q for q in FAQS[0]["questions"])


def test_self_calibration_probes_come_from_the_knowledge_base_alone():
    entries = entries_from_dicts(FAQS)
    listed = {q for e in entries for q in e.questions}
    for kept, probes in self_calibration_set(entries, folds=2):
        kept_ids = {e.id for e in kept}
        for p in probes:
            assert (p["expected"] is None) == (p["expected"] not in kept_ids)
            if not p["kind"].endswith("perturbed"):
                assert p["query"] in listed
        # A left-out phrasing is removed from its FAQ in that fold.
        kept_questions = {q for e in kept for q in e.questions}
        assert not {p["query"] for p in probes if p["kind"] == "left-out-phrasing"} & kept_questions
