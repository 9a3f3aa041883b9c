"""Pure CPD rules: when the next lesson is due, and the belt levels.

Times in and out are naive UTC (as stored); the schedule is read in the service's time zone (Asia/Karachi).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# After the welcome series the first weekly lesson waits at least this long, so two lessons never land on
# consecutive days.
MIN_GAP_AFTER_WELCOME = timedelta(days=2)


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    days: tuple[int, ...]  # 0 = Monday
    at: time
    every_weeks: int = 1

    @property
    def cron(self) -> dict:
        """APScheduler cron fields for the slot (the biweekly rhythm is kept per subscription, not here)."""
        return {"day_of_week": ",".join(DAYS[d] for d in self.days), "hour": self.at.hour, "minute": self.at.minute}


_SCHEDULE = re.compile(r"^(?:(weekly|biweekly|fortnightly)\s+)?([a-z,]+)\s+(\d{1,2}):(\d{2})$")


def parse_schedule(text: str) -> Schedule:
    """'mon 16:00' (weekly), 'biweekly mon 16:00', 'mon,thu 16:00'."""
    match = _SCHEDULE.match(text.strip().lower())
    if not match:
        raise ScheduleError(f"CPD schedule must look like 'mon 16:00' or 'biweekly mon 16:00', got {text!r}")
    rhythm, days, hour, minute = match.groups()
    try:
        day_numbers = tuple(sorted({DAYS.index(day[:3]) for day in days.split(",") if day}))
        at = time(int(hour), int(minute))
    except ValueError:
        raise ScheduleError(f"CPD schedule has an unknown day or time: {text!r}") from None
    return Schedule(day_numbers, at, 2 if rhythm in ("biweekly", "fortnightly") else 1)


def next_slot(after: datetime, schedule: Schedule, tz: str) -> datetime:
    """The first scheduled slot strictly after `after` (naive UTC in and out)."""
    zone = ZoneInfo(tz)
    local = after.replace(tzinfo=timezone.utc).astimezone(zone)
    for offset in range(0, 8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in schedule.days:
            continue
        slot = datetime.combine(day, schedule.at, tzinfo=zone)
        if slot > local:
            return slot.astimezone(timezone.utc).replace(tzinfo=None)
    raise AssertionError("a weekly schedule always has a slot within 8 days")


def welcome_time(joined_at: datetime, offset_days: float, schedule: Schedule, tz: str) -> datetime:
    """Welcome lesson `offset_days` after the join date, at the CPD hour's time of day (never before joining)."""
    zone = ZoneInfo(tz)
    joined_local = joined_at.replace(tzinfo=timezone.utc).astimezone(zone)
    day: date = joined_local.date() + timedelta(days=int(offset_days))
    slot = datetime.combine(day, schedule.at, tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)
    return max(slot, joined_at)


def following_lesson_at(position: int, joined_at: datetime, previous_at: datetime, welcome_offsets: tuple,
                        schedule: Schedule, tz: str) -> datetime:
    """When lesson number `position` (0-based) is due, given the previous one was due at `previous_at`."""
    if position < len(welcome_offsets):
        return max(welcome_time(joined_at, welcome_offsets[position], schedule, tz), previous_at)
    after = previous_at + (MIN_GAP_AFTER_WELCOME if position == len(welcome_offsets) else timedelta(0))
    after += timedelta(weeks=schedule.every_weeks - 1)
    return next_slot(after, schedule, tz)


# --- belts -----------------------------------------------------------------------------------------------
# A belt needs both hours of credited practice and passed lesson checks. The 48 shipped lessons hold about 28
# hours, so black (16 h) is a little over half the catalogue; white comes after the first one or two lessons,
# to reward starting. Lessons average about 37 minutes, so h hours are about 1.6 h lessons; the checks asked
# for are about three quarters of those (1, 3, 5, 7, 11, 14, 19): a teacher may fail a few checks on the way,
# but not most of them, and hours alone (DONE without reading the lesson) no longer earn a belt.
BELTS: tuple[tuple[str, float, int, dict], ...] = (
    ("white", 1, 1, {"en": "White", "ur": "سفید", "roman-ur": "Safaid"}),
    ("yellow", 2.5, 3, {"en": "Yellow", "ur": "پیلی", "roman-ur": "Peeli"}),
    ("orange", 4, 5, {"en": "Orange", "ur": "نارنجی", "roman-ur": "Naranji"}),
    ("green", 6, 7, {"en": "Green", "ur": "سبز", "roman-ur": "Sabz"}),
    ("blue", 9, 11, {"en": "Blue", "ur": "نیلی", "roman-ur": "Neeli"}),
    ("brown", 12, 14, {"en": "Brown", "ur": "بھوری", "roman-ur": "Bhoori"}),
    ("black", 16, 19, {"en": "Black", "ur": "سیاہ", "roman-ur": "Siyah"}),
)


def _reached(hours: float, checks: int, minutes: int, passed: int) -> bool:
    return minutes >= hours * 60 and passed >= checks


def belt_for(minutes: int, passed: int) -> str | None:
    """The highest belt whose hours and passed checks are both reached."""
    reached = None
    for slug, hours, checks, _ in BELTS:
        if _reached(hours, checks, minutes, passed):
            reached = slug
    return reached


def belts_crossed(before: tuple[int, int], after: tuple[int, int]) -> list[str]:
    """Belts reached at `after` (minutes, passed checks) and not at `before`."""
    return [slug for slug, hours, checks, _ in BELTS
            if not _reached(hours, checks, *before) and _reached(hours, checks, *after)]


def next_belt(minutes: int, passed: int) -> tuple[str, float, int] | None:
    """The first belt not reached yet: (slug, hours needed, passed checks needed)."""
    for slug, hours, checks, _ in BELTS:
        if not _reached(hours, checks, minutes, passed):
            return slug, hours, checks
    return None


def belt_name(slug: str, lang: str = "en") -> str:
    for belt, _, _, names in BELTS:
        if belt == slug:
            return names.get(lang) or names["en"]
    return slug


def hours_text(minutes: int) -> str:
    return f"{minutes / 60:.1f}"
