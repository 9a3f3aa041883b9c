"""Teacher hubs, the pure rules: which hubs a teacher may join, the meeting announcement, the members' top
challenges (k-suppressed like every planner view) and the coordinator's monthly digest."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from analytics.reports import Cell, suppress_small
from helpdesk.conversation import choices_of, cut_title
from helpdesk.programme import texts

MEETING_TITLES = ("hub_choice_yes", "hub_choice_no")
TOP_CHALLENGES = 3


@dataclass(frozen=True)
class HubFacts:
    id: int
    name: str
    district: str
    tehsil: str | None = None
    markaz: str | None = None

    @property
    def label(self) -> str:
        return ", ".join(part for part in (self.name, self.markaz, self.tehsil) if part)


def hubs_for(hubs: list[HubFacts], district: str | None) -> list[HubFacts]:
    if not district:
        return []
    wanted = district.strip().lower()
    return sorted((h for h in hubs if h.district.strip().lower() == wanted), key=lambda h: (h.name, h.id))


def hub_menu(hubs: list[HubFacts], district: str, language: str):
    lines = [texts.text("hub_menu", language, district=district)]
    lines += [f"{n} {hub.label}" for n, hub in enumerate(hubs, 1)]
    prompt = "\n".join([texts.text("hub_menu_tap", language, district=district), *lines[1:]])
    return "\n".join(lines), choices_of(prompt, [cut_title(hub.name) for hub in hubs], language)


def meeting_message(hub_name: str, topic: str, place: str, starts_at: datetime, tz: str, language: str):
    """(text, Choices, titles) of a meeting announcement with its two answers."""
    when = texts.when_text(starts_at, tz, language)
    body = texts.text("hub_meeting", language, hub=hub_name, topic=topic, when=when, place=place)
    prompt = texts.text("hub_meeting_tap", language, hub=hub_name, topic=topic, when=when, place=place)
    titles = [texts.text(key, language) for key in MEETING_TITLES]
    return body, choices_of(prompt, titles, language), titles


def top_challenges(area_teachers: dict[str, int], k: int, limit: int = TOP_CHALLENGES) -> list[tuple[str, int]]:
    """Areas the hub's members asked about, most teachers first; an area fewer than k members asked about is
    not shown at all (its count could point at one teacher)."""
    cells = suppress_small([Cell(key=(area,), teachers=n, questions=n) for area, n in area_teachers.items()], k)
    shown = sorted(((c.key[0], c.teachers) for c in cells if not c.suppressed), key=lambda item: (-item[1], item[0]))
    return shown[:limit]


def digest_text(*, hub_name: str, month_label: str, members: int, new: int, meetings: int, coming: int,
                challenges: list[str], language: str) -> str:
    listed = ", ".join(challenges) if challenges else texts.text("hub_digest_few", language)
    return texts.text("hub_digest", language, hub=hub_name, month=month_label, members=members, new=new,
                      meetings=meetings, coming=coming, challenges=listed)
