"""Needs assessment: which teaching areas CPD should cover next, overall and per district. Pure.

Formula (per teaching area, within one scope: overall, or one district):

    score = 0.35 * T / T_max  +  0.25 * Q / Q_max  +  0.20 * (G + 1) / 2  +  0.20 * U

    T  distinct teachers who asked about the area in the period (breadth: many teachers > one loud one)
    Q  questions about the area in the period (volume)
    G  growth of Q against the previous period of the same length, capped to [-1, +1]; +1 ("new") when the
       previous period had no questions or too few teachers to publish (see analytics.reports, rule 4)
    U  unresolved share: questions still without an answer the teacher accepted (escalated and not yet
       answered, rated "did not help", clarifications never picked) / Q
    T_max, Q_max  the largest T and Q among the published areas of the same scope

Each term lies in [0, 1], so the score does too. Ties are broken by T, then Q, then the area slug. Areas whose
cell is suppressed (fewer than k teachers) are not ranked: their numbers are not shown. Questions the
taxonomy could not code are counted in the totals but are not a CPD need and are not ranked.
Each need carries the matching lesson track (taxonomy `lesson_track`) and its lesson ids.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from analytics.reports import DEFAULT_K, Cell, growth, suppress_complementary, suppress_small, trend

WEIGHTS = {"teachers": 0.35, "questions": 0.25, "growth": 0.20, "unresolved": 0.20}


@dataclass(frozen=True)
class Need:
    rank: int
    scope: str  # "overall" or a district
    area: str
    label_en: str
    label_ur: str
    questions: int
    teachers: int
    previous_questions: int | None  # None when the previous period is not publishable
    growth: float  # capped, the G of the formula
    trend: str  # "+25%", "new", ...
    unresolved_share: float
    escalated_share: float
    unhelpful_share: float
    repeat_askers: int
    score: float
    lesson_track: str
    lesson_ids: tuple[str, ...] = ()


@dataclass
class NeedsResult:
    overall: list[Need]
    by_district: dict[str, list[Need]]
    area_cells: list[Cell]  # overall, suppressed, keyed (area,)
    heatmap: list[Cell]  # suppressed, keyed (district, area)
    suppressed_areas: int = 0
    suppressed_district_cells: int = 0
    uncoded: Cell | None = None
    notes: list[str] = field(default_factory=list)


def rank(cells: Sequence[Cell], previous: Mapping[tuple, Cell], *, scope: str, taxonomy, lessons_by_track,
         k: int = DEFAULT_K, area_index: int = -1) -> list[Need]:
    """Rank the published, coded cells of one scope by the documented score."""
    published = [c for c in cells if not c.suppressed and c.key[area_index]]
    if not published:
        return []
    t_max = max(c.teachers for c in published)
    q_max = max(c.questions for c in published)
    scored = []
    for c in published:
        prev = previous.get(c.key)
        t = trend(c, prev, k)
        g = 1.0 if t.previous is None else growth(c.questions, t.previous)
        u = c.share(c.unresolved)
        score = (WEIGHTS["teachers"] * c.teachers / t_max + WEIGHTS["questions"] * c.questions / q_max
                 + WEIGHTS["growth"] * (g + 1) / 2 + WEIGHTS["unresolved"] * u)
        scored.append((round(score, 6), c, t, g, u))
    scored.sort(key=lambda s: (-s[0], -s[1].teachers, -s[1].questions, s[1].key[area_index]))
    needs = []
    for position, (score, c, t, g, u) in enumerate(scored, start=1):
        area = c.key[area_index]
        info = taxonomy.area(area)
        track = info.lesson_track if info else area
        needs.append(Need(
            rank=position, scope=scope, area=area, label_en=info.en if info else area,
            label_ur=info.ur if info else area, questions=c.questions, teachers=c.teachers,
            previous_questions=t.previous, growth=g, trend=t.label, unresolved_share=u,
            escalated_share=c.share(c.escalated), unhelpful_share=c.share(c.unhelpful),
            repeat_askers=c.repeat_askers, score=score, lesson_track=track,
            lesson_ids=tuple(lessons_by_track.get(track, ())),
        ))
    return needs


def assess(*, area_cur: Sequence[Cell], area_prev: Sequence[Cell], district_cur: Sequence[Cell],
           district_prev: Sequence[Cell], taxonomy, lessons_by_track: Mapping[str, Sequence[str]],
           k: int = DEFAULT_K) -> NeedsResult:
    """Suppress, then rank. area_* cells are keyed (area,); district_* cells (district, area)."""
    areas = suppress_small(sorted(area_cur, key=lambda c: c.key), k)
    # The areas (with the uncoded row) add up to the period's total, which the weekly chart also shows.
    areas = suppress_complementary(areas, [range(len(areas))], k)
    districts = suppress_small(sorted(district_cur, key=lambda c: c.key), k)
    columns: dict[str, list[int]] = {}
    for i, c in enumerate(districts):
        columns.setdefault(c.key[1], []).append(i)
    # Each area's districts add up to that area's published overall row.
    published_areas = {c.key[0] for c in areas if not c.suppressed}
    districts = suppress_complementary(districts, [ix for area, ix in columns.items() if area in published_areas], k)

    prev_areas = {c.key: c for c in area_prev}
    prev_districts = {c.key: c for c in district_prev}
    overall = rank(areas, prev_areas, scope="overall", taxonomy=taxonomy, lessons_by_track=lessons_by_track, k=k)
    by_district: dict[str, list[Need]] = {}
    for district in sorted({c.key[0] for c in districts}):
        row = [c for c in districts if c.key[0] == district]
        ranked = rank(row, prev_districts, scope=district or "(not given)", taxonomy=taxonomy,
                      lessons_by_track=lessons_by_track, k=k)
        if ranked:
            by_district[district] = ranked
    uncoded = next((c for c in areas if c.key == ("",)), None)
    return NeedsResult(overall=overall, by_district=by_district, area_cells=areas, heatmap=districts,
                       suppressed_areas=sum(1 for c in areas if c.suppressed),
                       suppressed_district_cells=sum(1 for c in districts if c.suppressed), uncoded=uncoded)


def lessons_by_track(lessons) -> dict[str, list[str]]:
    """Lesson ids per teaching area (a lesson's `area` is the track it belongs to), in file order."""
    tracks: dict[str, list[str]] = {}
    for lesson in lessons:
        tracks.setdefault(lesson.area, []).append(lesson.id)
    return tracks
