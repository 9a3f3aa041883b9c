"""How the console says times and the matcher's note to a person: pure wording, no Flask, no database.

Times are stored as naive UTC; experts read them in the helpdesk's own time zone (settings.timezone), and
deadlines relative to now ("42 min left", "overdue 5 min"), which is what a queue needs at a glance.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

# Without the matcher's own verdict (older snapshots), the score alone says how far to trust the nearest FAQ.
MEDIUM_CONFIDENCE = 0.35
HIGH_CONFIDENCE = 0.6


def local_time(at: datetime | str | None, zone: str) -> datetime | None:
    """A stored naive-UTC time (or its ISO text, as ticket conversations keep it) in the zone."""
    if at is None or at == "":
        return None
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)
        except ValueError:
            return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(ZoneInfo(zone))


def stamp(at: datetime | str | None, zone: str) -> str:
    """'2 Dec 14:05' in the zone ('' for no time)."""
    local = local_time(at, zone)
    return f"{local.day} {local:%b %H:%M}" if local else ""


def span(minutes: float) -> str:
    """A duration as people say it: '42 min', '3 h 5 min', '2 days'."""
    minutes = int(abs(minutes))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days = hours // 24
    return "1 day" if days == 1 else f"{days} days"


def waiting(created_at: datetime | None, now: datetime) -> str:
    """How long the teacher has waited: 'waiting 42 min'."""
    if created_at is None:
        return ""
    return f"waiting {span((now - created_at).total_seconds() / 60)}"


def deadline(due_at: datetime | None, now: datetime) -> str:
    """'42 min left' or 'overdue 5 min' ('' when no deadline runs)."""
    if due_at is None:
        return ""
    minutes = (due_at - now).total_seconds() / 60
    return f"{span(minutes)} left" if minutes >= 0 else f"overdue {span(minutes)}"


def is_overdue(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and due_at < now


@dataclass(frozen=True)
class MatcherNote:
    """The matcher's proposal, in words: which FAQ was closest and how far to trust it."""
    faq_id: str | None
    question: str | None
    confidence: str | None   # "low" | "medium" | "high"

    @property
    def text(self) -> str:
        if self.faq_id is None:
            return "No FAQ came close to this question."
        name = self.question or self.faq_id
        return f"Closest FAQ: {name} ({self.confidence} confidence)"


def confidence(decision: str | None, reason: str | None, score: float) -> str:
    """The matcher's own verdict first (it knows its calibrated thresholds); the score only without one."""
    if decision == "answer":
        return "high"
    if decision == "clarify":
        return "medium"
    if reason == "low-score":
        return "low"
    if score >= HIGH_CONFIDENCE:
        return "high"
    return "medium" if score >= MEDIUM_CONFIDENCE else "low"


RELEVANCE_WORDS = {"high": "good match", "medium": "fair match", "low": "weak match"}


def relevance(score: float, chosen: bool = False) -> str:
    """How well an FAQ fits a search, in a word: 'good match' for the matcher's own answer or a high score.
    The same scale as the matcher note, so the knowledge-base card and the FAQ picker agree with it."""
    return RELEVANCE_WORDS["high" if chosen else confidence(None, None, score)]


def is_good(word: str) -> bool:
    return word == RELEVANCE_WORDS["high"]


def matcher_note(match_info: dict | None, question_of) -> MatcherNote | None:
    """From a ticket's match snapshot; `question_of(faq_id)` gives the FAQ's first question (or None)."""
    if not match_info:
        return None
    candidates = match_info.get("candidates") or []
    faq_id = match_info.get("faq_id") or (candidates[0]["faq_id"] if candidates else None)
    if faq_id is None:
        return MatcherNote(None, None, None)
    scores = [c.get("score", 0.0) for c in candidates if c.get("faq_id") == faq_id]
    score = max(scores) if scores else float(match_info.get("score") or 0.0)
    return MatcherNote(faq_id, question_of(faq_id),
                       confidence(match_info.get("decision"), match_info.get("reason"), score))


@dataclass(frozen=True)
class Bubble:
    """One message of the conversation as the ticket page shows it."""
    direction: str   # "in" (from the teacher) | "out" (from the helpdesk or an expert)
    body: str
    at: str          # local, for people
    sort_key: str    # ISO UTC, for ordering
    who: str


def conversation(lines: list[dict], answers: list[tuple[datetime, str, str]], zone: str) -> list[Bubble]:
    """The ticket's conversation snapshot (and follow-ups) plus the experts' answers since, oldest first.
    `answers` are (at, actor, text) of the ticket's "answered" events."""
    bubbles = [Bubble(line.get("dir", "in"), line.get("body", ""), stamp(line.get("at"), zone),
                      str(line.get("at") or ""), "teacher" if line.get("dir") == "in" else "helpdesk")
               for line in lines or []]
    bubbles += [Bubble("out", text, stamp(at, zone), at.isoformat(timespec="seconds"), actor)
                for at, actor, text in answers]
    return sorted(bubbles, key=lambda b: b.sort_key)
