"""Learning from expert answers: a teacher's wording becomes a phrasing of the FAQ an expert linked.

One code path for the console's link action (helpdesk/faq_review.propose_phrasing, applied when a lead
approves) and for `helpdesk match --learn` (applied at once, in memory), so the bench measures what the
service does.  Pure.

What is learned is the question part of the wording (``question_part``): teachers open with greetings
and introduce themselves ("Assalam o alaikum sir. I teach class 5 in a village school ..."), and those
sentences are alike across every FAQ: stored as a phrasing they make neighbouring FAQs look alike.
"""
from __future__ import annotations

import re
from dataclasses import replace

from .loader import FaqEntry
from .normalize import analyze, clause_role

# Sentence ends in both scripts (not decimal points), and the commas / dashes teachers use between a
# greeting, a self-introduction and the question ("AoA sir, I teach grade 4, how do I ...").
_SENTENCE_END = re.compile(r"(?<=[.!?\n\u061f\u06d4])\s*")
_PIECE = re.compile(r"[,\u060c;\u061b]\s*|\s+-+\s+")


def _pieces(sentence: str) -> list[str]:
    return [p for p in _PIECE.split(sentence) if p.strip()]


def question_part(wording: str) -> str:
    """The wording without its greetings and self-introduction: sentences, and comma-separated parts of a
    sentence, that only greet or say who / where the teacher is (``is_context``) are left out.  A part that
    asks is always kept; a wording that is all context is returned whole."""
    text = " ".join((wording or "").split())
    sentences = [s for s in _SENTENCE_END.split(re.sub(r"(\d)\.(\d)", "\\1\x00\\2", text)) if s.strip()]
    kept: list[str] = []
    for sentence in sentences:
        sentence = sentence.replace("\x00", ".").strip()
        pieces = _pieces(sentence)
        parts = [p.strip() for p in pieces if not is_context(p)]
        if not parts:
            continue
        if len(parts) < len(pieces):
            end = sentence[-1] if sentence[-1] in ".!?\u061f\u06d4" else ""
            sentence = ", ".join(p.rstrip(",.!?\u061f\u06d4 ") for p in parts) + end
        kept.append(sentence)
    out = " ".join(kept).strip()
    return out if out and analyze(out) else text


# A self-introduction the lexicon's phrases do not list: "I am a grade 5 science teacher", "main aik
# sarkari school mein ustani hun", "میں ایک پرائمری ٹیچر ہوں".
_FIRST_PERSON = re.compile(r"^(i|i am|im|i'm|main|mein|me|میں)\b", re.I)
_TEACHER = re.compile(r"\b(teacher|teachers|teaching|ustad|ustaad|ustani|ustaani|parhata|parhati|"
                      r"head ?teacher|headmistress|headmaster)\b|ٹیچر|استاد|استانی|معلم|پڑھاتا|پڑھاتی", re.I)

_GOES_ON = re.compile(r"\b(and|but|so|because|lekin|magar|aur|par|kyunke|kyun ke)\b|اور|لیکن|مگر|کیونکہ", re.I)


def is_context(part: str) -> bool:
    """A sentence or part of one that only greets, or introduces the teacher or the school, without asking
    (normalize.clause_role 'context', or a first-person sentence naming the teacher's job)."""
    role = clause_role(part)
    if role == "question":
        return False
    if role == "context":
        return True
    # "I am a new teacher and my class is noisy" goes on to the problem: not an introduction only.
    return bool(_FIRST_PERSON.match(part.strip()) and _TEACHER.search(part) and not _GOES_ON.search(part))


def with_phrasing(entry: FaqEntry, wording: str) -> FaqEntry | None:
    """The FAQ with the question part of the teacher's wording (whitespace folded) added as a question;
    None if already there."""
    wording = question_part(wording)
    if not wording or wording in entry.questions:
        return None
    return replace(entry, questions=(*entry.questions, wording))


def learn(matcher, faq_id: str, wording: str, build):
    """A matcher that knows ``wording`` as a phrasing of ``faq_id`` (rebuilt by ``build``, the service's
    MatcherBuilder, keeping the matcher's thresholds); the same matcher when there is nothing to learn."""
    entry = matcher.entries_by_id.get(faq_id)
    updated = with_phrasing(entry, wording) if entry is not None else None
    if updated is None:
        return matcher
    entries = [updated if e.id == faq_id else e for e in matcher.entries]
    # The reference scale (how the KB's own phrasings score against it) stays the one the thresholds
    # were calibrated on: a learned wording is a hard, often long phrasing, and re-measuring the scale
    # with it would shift the confidence of every other question.
    return build(entries, thresholds=matcher.thresholds, reference=matcher.reference)
