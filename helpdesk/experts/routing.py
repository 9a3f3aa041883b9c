"""Who answers a ticket: the pure routing decision (no database, no Flask).

A ticket goes to the least-loaded expert who matches it (subject, grade band, language), has room
(load below capacity) and is on duty now in their own time zone. Among equally loaded experts the one
assigned longest ago goes first, which is round-robin. No match: the ticket waits in its subject's queue.

An urgent (safeguarding) ticket jumps every queue: any expert on duty may take it whatever their subjects,
grade bands or load, a lead first; their language where possible, any language rather than nobody.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

ANY_SUBJECT = "general"


@dataclass(frozen=True)
class ExpertSlot:
    id: int
    subjects: tuple[str, ...]
    grade_bands: tuple[str, ...] = ()  # empty: every band
    languages: tuple[str, ...] = ("en", "ur")
    capacity: int = 5
    load: int = 0  # active tickets assigned now
    work_start_minute: int = 9 * 60
    work_end_minute: int = 17 * 60
    work_days: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    timezone: str = "Asia/Karachi"
    last_assigned_at: datetime | None = None  # naive UTC
    active: bool = True
    is_lead: bool = False


@dataclass(frozen=True)
class TicketNeeds:
    subject: str = ANY_SUBJECT
    grade_band: str | None = None
    language: str = "en"
    exclude: frozenset[int] = field(default_factory=frozenset)  # e.g. the assignee who missed the target
    urgent: bool = False


def language_family(language: str) -> str:
    # Roman Urdu readers are served by Urdu-speaking experts.
    return "ur" if language in ("ur", "roman-ur") else language or "en"


def on_duty(expert: ExpertSlot, now_utc: datetime) -> bool:
    local = now_utc.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(expert.timezone))
    minute = local.hour * 60 + local.minute
    if expert.work_start_minute <= expert.work_end_minute:
        in_hours = expert.work_start_minute <= minute < expert.work_end_minute
        return local.weekday() in expert.work_days and in_hours
    # A shift past midnight (e.g. 20:00-02:00) belongs to the day it started on.
    if minute >= expert.work_start_minute:
        return local.weekday() in expert.work_days
    return (local.weekday() - 1) % 7 in expert.work_days and minute < expert.work_end_minute


def matches(expert: ExpertSlot, needs: TicketNeeds) -> bool:
    subject_ok = (needs.subject in (None, "", ANY_SUBJECT) or needs.subject in expert.subjects
                  or ANY_SUBJECT in expert.subjects)
    band_ok = not needs.grade_band or not expert.grade_bands or needs.grade_band in expert.grade_bands
    language_ok = language_family(needs.language) in {language_family(lang) for lang in expert.languages}
    return subject_ok and band_ok and language_ok


def eligible(experts: list[ExpertSlot], needs: TicketNeeds, now_utc: datetime) -> list[ExpertSlot]:
    return [e for e in experts
            if e.active and e.id not in needs.exclude and e.load < e.capacity
            and matches(e, needs) and on_duty(e, now_utc)]


def choose_urgent(experts: list[ExpertSlot], needs: TicketNeeds, now_utc: datetime) -> int | None:
    on_duty_now = [e for e in experts if e.active and e.id not in needs.exclude and on_duty(e, now_utc)]
    family = language_family(needs.language)
    speaking = [e for e in on_duty_now if family in {language_family(lang) for lang in e.languages}]
    candidates = speaking or on_duty_now
    if not candidates:
        return None
    best = min(candidates, key=lambda e: (0 if e.is_lead else 1, e.load, e.last_assigned_at or datetime.min, e.id))
    return best.id


def choose_expert(experts: list[ExpertSlot], needs: TicketNeeds, now_utc: datetime) -> int | None:
    """The expert to assign, or None (the ticket waits in the unassigned queue)."""
    if needs.urgent:
        return choose_urgent(experts, needs, now_utc)
    candidates = eligible(experts, needs, now_utc)
    if not candidates:
        return None
    # A subject specialist beats a generalist at equal load; then least loaded, then longest since assigned.
    best = min(candidates, key=lambda e: (
        e.load,
        0 if needs.subject in e.subjects else 1,
        e.last_assigned_at or datetime.min,
        e.id,
    ))
    return best.id
