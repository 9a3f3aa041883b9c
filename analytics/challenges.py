"""Recurring challenges: the same teaching area, in the same district, school level and subject, asked
about period after period. Pure: works on the aggregated cells the store's GROUP BY returns.

A challenge row is one cell (area, district, level, subject) in one period (week or month). It carries its
trend against the same cell in the previous period, how many of the range's periods it appeared in (2 or
more = recurring), the share escalated or rated unhelpful, and the repeat askers (teachers who asked 2+
questions in the cell that period: a sign the answers did not settle it). Cells with fewer than k distinct
teachers are left out (analytics.reports rule 1); there is no total beside this table to subtract from.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Sequence

from analytics.reports import DEFAULT_K, Cell, trend

DIMENSIONS = ("area", "district", "school_level", "subject")


@dataclass(frozen=True)
class Challenge:
    period: str  # ISO date of the week's Monday or the month's first day
    area: str
    district: str
    school_level: str
    subject: str
    questions: int
    teachers: int
    previous_questions: int | None
    trend: str
    periods_present: int
    recurring: bool
    escalated_share: float
    unhelpful_share: float
    repeat_askers: int


def previous_bucket(bucket: date, granularity: str) -> date:
    if granularity == "week":
        return bucket - timedelta(days=7)
    return (bucket.replace(day=1) - timedelta(days=1)).replace(day=1)


def detect(cells: Sequence[Cell], *, granularity: str, first_bucket: date, k: int = DEFAULT_K) -> tuple[list[Challenge], int]:
    """Challenges in buckets >= first_bucket (earlier cells only serve as the first trend's baseline).

    Returns (published challenges newest period first, then most teachers; number of suppressed cells).
    """
    by_key = {(c.key, c.period): c for c in cells}
    presence: dict[tuple, int] = {}
    for c in cells:
        if date.fromisoformat(c.period) >= first_bucket and c.questions:
            presence[c.key] = presence.get(c.key, 0) + 1
    out: list[Challenge] = []
    suppressed = 0
    for c in cells:
        bucket = date.fromisoformat(c.period)
        if bucket < first_bucket:
            continue
        if c.teachers < k:
            suppressed += 1
            continue
        prev = by_key.get((c.key, previous_bucket(bucket, granularity).isoformat()))
        t = trend(c, prev, k)
        out.append(Challenge(
            period=c.period, area=c.key[0], district=c.key[1], school_level=c.key[2], subject=c.key[3],
            questions=c.questions, teachers=c.teachers, previous_questions=t.previous, trend=t.label,
            periods_present=presence.get(c.key, 0), recurring=presence.get(c.key, 0) >= 2,
            escalated_share=c.share(c.escalated), unhelpful_share=c.share(c.unhelpful),
            repeat_askers=c.repeat_askers,
        ))
    out.sort(key=lambda ch: (ch.area, ch.district, ch.school_level, ch.subject))  # ties: stable, by key
    out.sort(key=lambda ch: (ch.period, ch.teachers, ch.questions), reverse=True)
    return out, suppressed
