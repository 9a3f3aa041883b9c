"""Report maths and small-cell suppression. Pure: plain dataclasses in, plain dataclasses out.

Suppression rule (what a planner can never see):
  1. Primary: any cell counted from fewer than k distinct teachers (k = settings.report_min_teachers, 5 by
     default) is suppressed: its numbers are not shown, exported or used in a displayed ratio.
  2. Secondary (against recovery by subtraction): whenever a group of cells is shown next to a published
     total of the same questions (the districts of one teaching area next to that area's overall row, the
     areas next to the weekly volume, the weeks of the volume chart), the group must hide either nothing or
     at least two cells whose teachers add up to k or more; otherwise the next smallest visible cells
     are suppressed too. Subtracting the visible cells from the total then yields only the sum of two or
     more hidden cells, itself from at least k teachers.
  3. No grand total and no per-district total is shown, so rows of the district x area table have no margin
     to subtract from.
  4. A trend needs both periods publishable: when the previous period's cell was suppressed the trend reads
     "new" (a percentage would reveal the hidden count).
  5. Across reports (against subtraction of one report from another): a period is made of whole blocks, ISO
     weeks (Monday to Sunday) or calendar months, chosen by the report's granularity; a requested period is
     widened to whole blocks (`snap`), so moving it by a day inside a block changes nothing. Two periods then
     differ only by whole blocks at their ends, so a cell is also hidden when its first or its last block with
     any question holds fewer than k teachers (`suppress_unstable_edges`): a report one or more blocks shorter
     at that end would otherwise reveal that block's small group by subtraction. (The teachers of a prefix of
     blocks only grow with its length, so checking the first and last active blocks covers every prefix and
     suffix.)
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Iterable, Sequence

DEFAULT_K = 5


@dataclass(frozen=True)
class Cell:
    """Aggregated questions for one combination of dimensions in one period (SQL GROUP BY output)."""
    key: tuple[str, ...]
    period: str = ""  # "cur" / "prev" for report periods, an ISO date for week/month buckets
    questions: int = 0
    teachers: int = 0
    repeat_askers: int = 0  # teachers with 2+ questions in this cell and period
    escalated: int = 0  # went to an expert (escalated or urgent)
    unhelpful: int = 0  # rated 2, "did not help"
    unresolved: int = 0
    resolution_seconds: int = 0  # summed over resolved questions
    resolved: int = 0
    suppressed: bool = False

    def share(self, part: int) -> float:
        return part / self.questions if self.questions else 0.0

    @property
    def mean_resolution_hours(self) -> float | None:
        return self.resolution_seconds / self.resolved / 3600 if self.resolved else None


@dataclass(frozen=True)
class Filters:
    district: str | None = None
    school_level: str | None = None
    subject: str | None = None

    def describe(self) -> str:
        parts = [f"{name}={value}" for name, value in (("district", self.district), ("level", self.school_level),
                                                       ("subject", self.subject)) if value]
        return ", ".join(parts) or "all"


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        """The period of the same length just before this one (the trend's baseline)."""
        from datetime import timedelta

        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


GRANULARITIES = ("week", "month")


def block_start(day: date, granularity: str) -> date:
    """The Monday of the day's ISO week, or the first of its month."""
    from datetime import timedelta

    if granularity == "month":
        return day.replace(day=1)
    return day - timedelta(days=day.weekday())


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def snap(period: Period, granularity: str) -> Period:
    """Rule 5: the period widened to whole weeks or months (every planner view and export uses this)."""
    from datetime import timedelta

    start = block_start(period.start, granularity)
    if granularity == "month":
        end = _add_months(period.end.replace(day=1), 1) - timedelta(days=1)
    else:
        end = block_start(period.end, "week") + timedelta(days=6)
    return Period(start, end)


def previous_period(period: Period, granularity: str) -> Period:
    """The same number of whole blocks just before a snapped period (the trend's baseline)."""
    from datetime import timedelta

    if granularity != "month":
        return period.previous()  # a whole number of weeks: already aligned to weeks
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1
    return Period(_add_months(period.start, -months), period.start - timedelta(days=1))


def suppress_unstable_edges(cells: Sequence[Cell], blocks: Iterable[Cell], k: int = DEFAULT_K) -> list[Cell]:
    """Rule 5: hide a cell whose first or last block with questions holds fewer than k distinct teachers.

    `blocks` are the same cells counted per week or month of the period (Cell.period = the block's ISO date).
    """
    per_key: dict[tuple, list[Cell]] = {}
    for block in blocks:
        if block.questions:
            per_key.setdefault(block.key, []).append(block)
    out = []
    for c in cells:
        active = sorted(per_key.get(c.key, []), key=lambda b: b.period)
        unstable = bool(active) and (active[0].teachers < k or active[-1].teachers < k)
        out.append(replace(c, suppressed=c.suppressed or unstable))
    return out


def merge(cells: Iterable[Cell], key: tuple[str, ...], period: str = "") -> Cell:
    """Add question counts (not teachers: distinct counts do not add; callers query them separately)."""
    total = Cell(key=key, period=period)
    for c in cells:
        total = replace(total, questions=total.questions + c.questions, escalated=total.escalated + c.escalated,
                        unhelpful=total.unhelpful + c.unhelpful, unresolved=total.unresolved + c.unresolved,
                        resolved=total.resolved + c.resolved,
                        resolution_seconds=total.resolution_seconds + c.resolution_seconds)
    return total


def suppress_small(cells: Sequence[Cell], k: int = DEFAULT_K) -> list[Cell]:
    """Rule 1: hide cells with fewer than k distinct teachers."""
    return [replace(c, suppressed=c.suppressed or c.teachers < k) for c in cells]


def suppress_complementary(cells: Sequence[Cell], groups: Iterable[Sequence[int]], k: int = DEFAULT_K) -> list[Cell]:
    """Rule 2: in every group (indexes into `cells` that add up to a published total), hide nothing or hide at
    least two cells with k or more teachers between them. Cells are added smallest first (teachers, questions,
    key), so the result is deterministic; groups may overlap and are re-checked until nothing changes."""
    out = list(cells)
    groups = [list(g) for g in groups]
    changed = True
    while changed:
        changed = False
        for group in groups:
            hidden = [i for i in group if out[i].suppressed]
            if not hidden:
                continue
            while len(hidden) < len(group) and (len(hidden) < 2 or sum(out[i].teachers for i in hidden) < k):
                visible = sorted((i for i in group if not out[i].suppressed),
                                 key=lambda i: (out[i].teachers, out[i].questions, out[i].key))
                out[visible[0]] = replace(out[visible[0]], suppressed=True)
                hidden.append(visible[0])
                changed = True
    return out


def growth(current: int, previous: int) -> float:
    """Relative change, capped to [-1, +1] so one noisy cell cannot dominate a ranking (0 -> n is +1)."""
    if previous <= 0:
        return 1.0 if current > 0 else 0.0
    return max(-1.0, min(1.0, (current - previous) / previous))


@dataclass(frozen=True)
class Trend:
    previous: int | None  # None: the previous period's cell was suppressed or empty
    change: float | None  # relative, uncapped; None when previous is None
    label: str  # "+25%", "-10%", "new", "="


def trend(current: Cell, previous: Cell | None, k: int = DEFAULT_K) -> Trend:
    """Rule 4: compare only with a publishable previous cell; otherwise the need is 'new' to the report."""
    if previous is None or previous.questions == 0 or previous.teachers < k or previous.suppressed:
        return Trend(None, None, "new")
    change = (current.questions - previous.questions) / previous.questions
    label = "=" if change == 0 else f"{change:+.0%}"
    return Trend(previous.questions, change, label)


@dataclass
class Page:
    """Everything shown on one planner page (dashboard, printable report, export), already suppressed."""
    period: Period
    previous: Period
    filters: Filters
    k: int
    needs: list = field(default_factory=list)  # overall ranked needs (analytics.needs.Need)
    district_needs: dict = field(default_factory=dict)  # district -> ranked needs
    heatmap: list = field(default_factory=list)  # cells keyed (district, area)
    weekly: list = field(default_factory=list)  # cells keyed (week iso,), in order
    challenges: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    suppressed_note: str = ""
