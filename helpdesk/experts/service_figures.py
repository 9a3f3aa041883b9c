"""Service figures for the expert queue: the pure maths (no database, no Flask).

First response: opened -> first expert answer. Resolution: opened -> the answer that stood (the last one).
An SLA breach is a ticket whose assignee missed the target at least once, or whose first answer came later
than the target for its priority, or which is still unanswered past it.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TicketFacts:
    subject: str
    expert: str | None  # who answered (or holds) it; None: nobody yet
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    reassignments: int
    recorded_breaches: int
    rating: int | None  # 1 helped, 2 did not
    target_minutes: int


@dataclass(frozen=True)
class FigureRow:
    group: str
    tickets: int
    answered: int
    median_first_response_min: float | None
    mean_first_response_min: float | None
    median_resolution_min: float | None
    reassignments: int
    sla_breaches: int
    rated: int
    helped: int

    @property
    def helped_pct(self) -> float | None:
        return round(100.0 * self.helped / self.rated, 1) if self.rated else None


COLUMNS = ("group", "tickets", "answered", "median_first_response_min", "mean_first_response_min",
           "median_resolution_min", "reassignments", "sla_breaches", "rated", "helped", "helped_pct")


def minutes_between(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max(0.0, (end - start).total_seconds() / 60.0)


def breached(fact: TicketFacts, now: datetime) -> bool:
    if fact.recorded_breaches > 0:
        return True
    waited = minutes_between(fact.created_at, fact.first_response_at or now)
    return waited is not None and waited > fact.target_minutes


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def summarise(group: str, facts: list[TicketFacts], now: datetime) -> FigureRow:
    first = [m for m in (minutes_between(f.created_at, f.first_response_at) for f in facts) if m is not None]
    resolved = [m for m in (minutes_between(f.created_at, f.resolved_at) for f in facts) if m is not None]
    rated = [f for f in facts if f.rating in (1, 2)]
    return FigureRow(
        group=group, tickets=len(facts), answered=len(first),
        median_first_response_min=_round(statistics.median(first)) if first else None,
        mean_first_response_min=_round(statistics.fmean(first)) if first else None,
        median_resolution_min=_round(statistics.median(resolved)) if resolved else None,
        reassignments=sum(f.reassignments for f in facts),
        sla_breaches=sum(1 for f in facts if breached(f, now)),
        rated=len(rated), helped=sum(1 for f in rated if f.rating == 1),
    )


def figures_by(facts: list[TicketFacts], key: str, now: datetime) -> list[FigureRow]:
    """One row per subject or per expert ("(unassigned)" for tickets nobody has answered), then "all"."""
    groups: dict[str, list[TicketFacts]] = {}
    for fact in facts:
        name = getattr(fact, key) or "(unassigned)"
        groups.setdefault(name, []).append(fact)
    rows = [summarise(name, items, now) for name, items in sorted(groups.items())]
    return rows + [summarise("all", facts, now)]


def row_values(row: FigureRow) -> list:
    return [row.helped_pct if name == "helped_pct" else getattr(row, name) for name in COLUMNS]


# --- safeguarding flags ------------------------------------------------------------------------------

@dataclass(frozen=True)
class FlagFacts:
    category: str          # the triage category the flag gave
    false_alarm: bool      # a lead marked it as one


@dataclass(frozen=True)
class FlagRow:
    category: str
    flags: int
    false_alarms: int

    @property
    def false_alarm_pct(self) -> float | None:
        return round(100.0 * self.false_alarms / self.flags, 1) if self.flags else None


FLAG_COLUMNS = ("category", "flags", "false_alarms", "false_alarm_pct")


def flag_figures(facts: list[FlagFacts]) -> list[FlagRow]:
    """Urgent flags and the leads' false-alarm marks, per category, then "all". A rising share tells the
    programme the triage is teaching the on-call lead to ignore the urgent queue."""
    groups: dict[str, list[FlagFacts]] = {}
    for fact in facts:
        groups.setdefault(fact.category, []).append(fact)
    rows = [FlagRow(name, len(items), sum(f.false_alarm for f in items)) for name, items in sorted(groups.items())]
    return rows + [FlagRow("all", len(facts), sum(f.false_alarm for f in facts))]


def flag_values(row: FlagRow) -> list:
    return [row.false_alarm_pct if name == "false_alarm_pct" else getattr(row, name) for name in FLAG_COLUMNS]
