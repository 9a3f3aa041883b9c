"""Suggestions (SUGGEST): the pure parts. Scrubbing, counting and clustering; no Flask, database or I/O.

A suggestion is scrubbed exactly as a question is (analytics.redact: long numbers, emails, links, names),
and clustered with the same greedy leader clustering as the content gaps (analytics.gaps), so "more science
videos" from five teachers is one line beside the gaps, and one teacher's words are never shown to a
planner: a cluster or a count with fewer than k distinct teachers is suppressed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Sequence

from analytics import gaps, redact

MAX_CHARS = 500  # as analytics.store.MAX_QUESTION_CHARS: longer text is a pasted document


def scrub(text: str, teacher_name: str | None) -> str:
    """The suggestion as stored: no numbers, emails, links or names (the teacher's own and cue-introduced)."""
    return redact.scrub(text, names=[teacher_name])[:MAX_CHARS].strip()


@dataclass(frozen=True)
class SuggestionFact:
    """One stored suggestion as the planner views see it: the pseudonym only counts distinct teachers."""
    id: int
    created_at: datetime
    teacher_key: str
    area: str
    text: str
    day: date | None = None
    current: bool = True


@dataclass(frozen=True)
class AreaCount:
    area: str
    suggestions: int | None  # None: suppressed (fewer than k teachers)
    teachers: int | None


def clusters(facts: Sequence[SuggestionFact], *, k: int, threshold: float = gaps.DEFAULT_THRESHOLD,
             block_of=None) -> tuple[list[gaps.Gap], int]:
    """Suggestions grouped by wording, ranked and suppressed exactly like content gaps (analytics.gaps)."""
    as_questions = [gaps.GapQuestion(id=f.id, created_at=f.created_at, teacher_key=f.teacher_key, area=f.area,
                                     text=f.text, current=f.current, day=f.day) for f in facts]
    return gaps.find_gaps(as_questions, k=k, threshold=threshold, block_of=block_of)


def count_by_area(facts: Iterable[SuggestionFact], *, k: int) -> tuple[int | None, list[AreaCount]]:
    """(total, per area): a count shows only when at least k distinct teachers are behind it. The total is
    suppressed too when one suppressed area could be recovered from it by subtraction."""
    per_area: dict[str, list[SuggestionFact]] = {}
    current = [f for f in facts if f.current]
    for fact in current:
        per_area.setdefault(fact.area, []).append(fact)
    rows = []
    for area, group in sorted(per_area.items(), key=lambda item: (-len(item[1]), item[0])):
        teachers = len({f.teacher_key for f in group})
        shown = teachers >= k
        rows.append(AreaCount(area, len(group) if shown else None, teachers if shown else None))
    hidden = [r for r in rows if r.suggestions is None]
    total_teachers = len({f.teacher_key for f in current})
    total = len(current) if total_teachers >= k and len(hidden) != 1 else None
    return total, rows
