"""Which CPD lesson a teacher gets next: the documented rule, as a pure function.

The rule (also in the README):

0. Never repeat: a lesson already sent to the teacher is never a candidate. **The journey**: a lesson is a
   candidate only when every lesson it requires has been completed (credited with DONE or a reflection), so
   a teacher climbs each area from foundation to practice to mentor. A lesson is *suitable* when the
   teacher's grade band is unknown or the lesson lists it.
1. **Own questions.** The teacher's own question topics of the last RECENT_WEEKS weeks (taxonomy areas from the
   analytics interactions), most asked first (ties: most recent first). The first topic with a suitable unsent
   lesson wins.
2. **District needs.** Otherwise the top needs of the teacher's district from the needs assessment, in rank
   order; the first need with a suitable unsent lesson wins.
3. **Subject and grade.** Otherwise a suitable unsent lesson for one of the teacher's subjects.
4. **Catalogue.** Otherwise any open unsent lesson (suitable ones first), so a subscriber keeps learning until
   the catalogue is exhausted; then nothing is sent (also while every open lesson was sent and the next ones
   wait for a DONE).

Within a step, lessons are ranked by fit (grade band listed: +2; one of the teacher's subjects: +2; a
`general` lesson: +1), then by level (foundation before practice before mentor: finish the ground floor of
an area before climbing), then by catalogue order (file name, then position), so the choice is deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

RECENT_WEEKS = 8

OWN_QUESTIONS = "own-questions"
DISTRICT_NEEDS = "district-needs"
SUBJECT_GRADE = "subject-grade"
CATALOGUE = "catalogue"


LEVELS = ("foundation", "practice", "mentor")


@dataclass(frozen=True)
class LessonFacts:
    id: str
    area: str
    subjects: tuple[str, ...]
    grades: tuple[str, ...]
    level: str = LEVELS[0]
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class TeacherFacts:
    sent: frozenset[str] = frozenset()
    completed: frozenset[str] = frozenset()  # credited lessons: what opens the next step of the journey
    # (area, number of questions) most asked first; the caller orders ties by recency.
    recent_topics: tuple[tuple[str, int], ...] = ()
    district: str | None = None
    district_needs: tuple[str, ...] = ()  # areas, top need first
    subjects: tuple[str, ...] = ()
    grade_bands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Choice:
    lesson_id: str
    tier: str
    topic: str | None
    why: str = field(compare=False)


def choose_lesson(lessons: Sequence[LessonFacts], teacher: TeacherFacts) -> Choice | None:
    # Rank every open unsent lesson once; each step then takes the first of its pool in that order. The push
    # calls this once per teacher (100,000 a CPD hour), so nothing is sorted or turned into a set twice.
    bands, subjects = set(teacher.grade_bands), set(teacher.subjects)
    ranked = [lesson for _, lesson in sorted(
        ((index, lesson) for index, lesson in enumerate(lessons)
         if lesson.id not in teacher.sent and is_open(lesson, teacher)),
        key=lambda item: (-_fit(item[1], bands, subjects), _level_rank(item[1]), item[0]))]
    if not ranked:
        return None
    suitable = [lesson for lesson in ranked if not bands or bands.intersection(lesson.grades)]
    best_in_area: dict[str, LessonFacts] = {}
    for lesson in suitable:
        best_in_area.setdefault(lesson.area, lesson)

    for area, count in teacher.recent_topics:
        pick = best_in_area.get(area)
        if pick:
            plural = "question" if count == 1 else "questions"
            return Choice(pick.id, OWN_QUESTIONS, area,
                          f"you asked {count} {plural} about {area} in the last {RECENT_WEEKS} weeks")
    for rank, area in enumerate(teacher.district_needs, start=1):
        pick = best_in_area.get(area)
        if pick:
            return Choice(pick.id, DISTRICT_NEEDS, area,
                          f"{area} is need #{rank} in {teacher.district or 'your district'}'s needs assessment")
    pick = next((lesson for lesson in suitable if subjects.intersection(lesson.subjects)), None)
    if pick:
        matched = ", ".join(sorted(subjects.intersection(pick.subjects)))
        grade = f" and {'/'.join(teacher.grade_bands)}" if teacher.grade_bands else ""
        return Choice(pick.id, SUBJECT_GRADE, pick.area, f"it fits your subject ({matched}){grade}")
    pick = suitable[0] if suitable else ranked[0]
    return Choice(pick.id, CATALOGUE, pick.area, "next unsent lesson in the catalogue")


def fit(lesson: LessonFacts, teacher: TeacherFacts) -> int:
    return _fit(lesson, set(teacher.grade_bands), set(teacher.subjects))


def _fit(lesson: LessonFacts, bands: set[str], subjects: set[str]) -> int:
    score = 2 if bands.intersection(lesson.grades) else 0
    if subjects.intersection(lesson.subjects):
        score += 2
    elif "general" in lesson.subjects:
        score += 1
    return score


def is_open(lesson: LessonFacts, teacher: TeacherFacts) -> bool:
    """Every prerequisite completed."""
    return not lesson.requires or teacher.completed.issuperset(lesson.requires)


def _level_rank(lesson: LessonFacts) -> int:
    return LEVELS.index(lesson.level) if lesson.level in LEVELS else len(LEVELS)


def rank_topics(topics: Sequence[tuple[str, object]]) -> tuple[tuple[str, int], ...]:
    """(area, asked_at) pairs -> (area, count), most asked first, ties by the most recent question."""
    counts: dict[str, int] = {}
    latest: dict[str, object] = {}
    for area, asked_at in topics:
        if not area:
            continue
        counts[area] = counts.get(area, 0) + 1
        if area not in latest or asked_at > latest[area]:
            latest[area] = asked_at
    ordered = sorted(counts, key=lambda area: (-counts[area], _neg(latest[area]), area))
    return tuple((area, counts[area]) for area in ordered)


def _neg(value):
    # Sort key for "most recent first" on datetimes (or numbers) without assuming a type.
    return -value.timestamp() if hasattr(value, "timestamp") else -value
