"""Learning from expert answers: a teacher's wording becomes a phrasing of the FAQ an expert linked.

One code path for the console's link action (helpdesk/faq_review.propose_phrasing, applied when a lead
approves) and for `helpdesk match --learn` (applied at once, in memory), so the bench measures what the
service does.  Pure.
"""
from __future__ import annotations

from dataclasses import replace

from .loader import FaqEntry


def with_phrasing(entry: FaqEntry, wording: str) -> FaqEntry | None:
    """The FAQ with the teacher's wording (whitespace folded) added as a question; None if already there."""
    wording = " ".join((wording or "").split())
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
