"""Live helpdesk sessions, the pure rules: which sessions a teacher may book, what the LIVE menu says, which
sending stage is due when, who an announcement is for, and the host's anonymous profile mix.
No Flask, database or sending here (helpdesk.programme.service does that)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from analytics.reports import Cell, suppress_complementary, suppress_small
from helpdesk.conversation import choices_of, cut_title
from helpdesk.programme import texts

MENU_SIZE = 9            # a WhatsApp list shows 10 items; nine sessions is already a long SMS
BOOKING_CLOSES = timedelta(minutes=15)   # after the start a place is no use any more
DAY_BEFORE, HOUR_BEFORE = timedelta(hours=24), timedelta(hours=1)
# "JOINED" counts from a little before the start to a while after the end (a teacher may reply late).
JOIN_EARLY, JOIN_LATE = timedelta(minutes=15), timedelta(hours=3)


@dataclass(frozen=True)
class SessionFacts:
    id: int
    title: str
    starts_at: datetime   # UTC
    duration_minutes: int
    capacity: int
    booked: int           # places taken
    languages: tuple[str, ...] = ("en", "ur", "roman-ur")
    status: str = "scheduled"

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def full(self) -> bool:
        return self.booked >= self.capacity


def speaks(languages, language: str) -> bool:
    """A session held in Urdu suits a Roman Urdu writer too (the same spoken language)."""
    return language in languages or (language == "roman-ur" and "ur" in languages)


def bookable(session: SessionFacts, now: datetime) -> bool:
    return session.status == "scheduled" and now < session.starts_at + BOOKING_CLOSES


def upcoming(sessions: list[SessionFacts], language: str, now: datetime, booked_ids: set[int]) -> list[SessionFacts]:
    """What LIVE offers: open sessions in the teacher's language (and any they booked), soonest first."""
    shown = [s for s in sessions if bookable(s, now) and (s.id in booked_ids or speaks(s.languages, language))]
    return sorted(shown, key=lambda s: (s.starts_at, s.id))[:MENU_SIZE]


def menu(sessions: list[SessionFacts], booked_ids: set[int], language: str, tz: str):
    """(text, Choices) of the LIVE menu; each line says whether it is booked or full."""
    lines, titles = [texts.text("live_menu", language)], []
    for n, s in enumerate(sessions, 1):
        key = "live_line_booked" if s.id in booked_ids else "live_line_full" if s.full else "live_line"
        when = texts.when_text(s.starts_at, tz, language)
        lines.append(texts.text(key, language, n=n, title=s.title, when=when))
        titles.append(cut_title(("✓ " if s.id in booked_ids else "") + s.title))
    prompt = "\n".join([texts.text("live_menu_tap", language), *lines[1:]])
    return "\n".join(lines), choices_of(prompt, titles, language)


def due_stage(session: SessionFacts, now: datetime, done: dict[str, bool], has_recording: bool) -> str | None:
    """The sending stage due now, if any. The day-before reminder is skipped when the hour reminder is due
    already (a teacher should not get both at once); the summary waits for the recording link."""
    if session.status == "cancelled":
        return None
    if now >= session.ends_at:
        return "summary" if has_recording and not done.get("summary") else None
    if now >= session.starts_at:
        return None
    if now >= session.starts_at - HOUR_BEFORE:
        return None if done.get("hour") else "hour"
    if now >= session.starts_at - DAY_BEFORE:
        return None if done.get("day") else "day"
    return None


def running_for_join(session: SessionFacts, now: datetime) -> bool:
    return session.status != "cancelled" and session.starts_at - JOIN_EARLY <= now <= session.ends_at + JOIN_LATE


def matches_area(area: str, recent_topics: tuple, district_needs: tuple, top: int = 3) -> bool:
    """The lesson choice's evidence: the teacher asked about the area lately, or it is one of their
    district's top needs."""
    asked = {topic for topic, _count in recent_topics}
    return area in asked or area in tuple(district_needs)[:top]


def profile_mix(profiles: list[dict], dims: tuple[str, ...], k: int) -> dict[str, list[tuple[str, int | None]]]:
    """Attendees by role, school level...: per dimension (value, teachers), a count under k hidden (None), and
    a second one hidden with it where the hidden one could be worked out from the total (analytics rules)."""
    out = {}
    for dim in dims:
        counts: dict[str, int] = {}
        for profile in profiles:
            value = profile.get(dim) or "(not given)"
            counts[value] = counts.get(value, 0) + 1
        cells = [Cell(key=(value,), teachers=n, questions=n) for value, n in sorted(counts.items())]
        cells = suppress_complementary(suppress_small(cells, k), [list(range(len(cells)))], k)
        out[dim] = [(c.key[0], None if c.suppressed else c.teachers) for c in cells]
    return out
