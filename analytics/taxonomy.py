"""The CPD taxonomy (knowledge_base/taxonomy.yaml) and the coding of one question against it. Pure.

Coding rules, in order (the first that gives a teaching area wins; `source` records which):
  faq      the answered FAQ's topic / subject / grades;
  nearest  an escalated or clarified question: the top candidate FAQ's topic (the matcher's nearest guess),
           only when that FAQ is close (``nearest_is_close``);
  awaiting an escalated question whose nearest FAQ is not close, or that the matcher sent to a person for an
           admin/HR or escalation cue ("Mera transfer kab hoga" is not a digital-tools need): no area until
           the expert tags it; counted apart (the uncoded row) in the needs report;
  expert   set later by the expert who answered the ticket (analytics.store.set_taxonomy), overriding the above;
  none     nothing to go on (no candidate at all).
Subject and grade band fall back to the teacher's profile when the FAQ is general (one subject listed in the
profile; the school level mapped to a band), because "how do I teach fractions" from a primary maths teacher
is a primary maths need even if the FAQ covers several bands.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

from knowledge_base.lessons import TAXONOMY_PATH

# Onboarding asks for a school level (primary, middle, high); the taxonomy speaks in grade bands.
LEVEL_TO_BAND = {"primary": "primary", "middle": "middle", "high": "secondary", "secondary": "secondary",
                 "higher-secondary": "higher-secondary", "ece": "ece"}


@dataclass(frozen=True)
class Label:
    slug: str
    en: str
    ur: str


@dataclass(frozen=True)
class Area(Label):
    lesson_track: str


@dataclass(frozen=True)
class Taxonomy:
    areas: tuple[Area, ...]
    subjects: tuple[Label, ...]
    grade_bands: tuple[Label, ...]

    def area(self, slug: str) -> Area | None:
        return next((a for a in self.areas if a.slug == slug), None)

    def label(self, kind: str, slug: str, lang: str = "en") -> str:
        """Display label for an area / subject / grade band slug; unknown or empty slugs read 'Not coded'."""
        items = {"area": self.areas, "subject": self.subjects, "grade_band": self.grade_bands}[kind]
        found = next((i for i in items if i.slug == slug), None)
        if found is None:
            return slug or ("غیر درج شدہ" if lang == "ur" else "Not coded")
        return found.ur if lang == "ur" else found.en

    @property
    def area_slugs(self) -> tuple[str, ...]:
        return tuple(a.slug for a in self.areas)

    @property
    def subject_slugs(self) -> tuple[str, ...]:
        return tuple(s.slug for s in self.subjects)

    @property
    def band_slugs(self) -> tuple[str, ...]:
        return tuple(b.slug for b in self.grade_bands)


class TaxonomyError(ValueError):
    pass


def parse_taxonomy(raw: dict, source: str = "<taxonomy>") -> Taxonomy:
    def labels(section: str) -> list[dict]:
        items = raw.get(section) if isinstance(raw, dict) else None
        if not isinstance(items, list) or not items:
            raise TaxonomyError(f"{source}: '{section}' must be a non-empty list")
        for i, item in enumerate(items):
            missing = [k for k in ("slug", "en", "ur") if not isinstance(item, dict) or not item.get(k)]
            if missing:
                raise TaxonomyError(f"{source}: {section}[{i}] lacks {', '.join(missing)}")
        return items

    areas = tuple(Area(a["slug"], a["en"], a["ur"], a.get("lesson_track") or a["slug"]) for a in labels("areas"))
    subjects = tuple(Label(s["slug"], s["en"], s["ur"]) for s in labels("subjects"))
    bands = tuple(Label(b["slug"], b["en"], b["ur"]) for b in labels("grade_bands"))
    return Taxonomy(areas, subjects, bands)


@lru_cache(maxsize=4)
def load_taxonomy(path: str | Path = TAXONOMY_PATH) -> Taxonomy:
    with open(path, encoding="utf-8") as handle:
        return parse_taxonomy(yaml.safe_load(handle), str(path))


@dataclass(frozen=True)
class CpdCode:
    area: str = ""
    subject: str = ""
    grade_band: str = ""
    source: str = "none"  # faq | nearest | awaiting | expert | none


# The nearest FAQ codes an escalated question only when its confidence reaches this share of the answer
# threshold: half-way to "confident enough to answer" (below that the top candidate is mostly noise: on
# the development sets' must-escalate questions the median top confidence is under a fifth of it).
NEAREST_MIN_SHARE = 0.5
# Reasons the matcher gives for handing a question to a person whatever its nearest FAQ is about.
NOT_A_TEACHING_NEED = frozenset({"admin-hr", "escalation-cue", "empty"})


def nearest_is_close(score: float | None, reason: str | None, answer_threshold: float) -> bool:
    """May an escalated question be coded from its nearest FAQ?"""
    if reason in NOT_A_TEACHING_NEED or score is None:
        return False
    return score >= NEAREST_MIN_SHARE * answer_threshold


def profile_subject(profile_subjects: str | None) -> str:
    """The teacher's subject when the profile names exactly one (a comma-separated list of slugs)."""
    subjects = [s.strip() for s in (profile_subjects or "").split(",") if s.strip()]
    return subjects[0] if len(subjects) == 1 else ""


def profile_band(school_level: str | None) -> str:
    return LEVEL_TO_BAND.get((school_level or "").strip().lower(), "")


def code(*, topic: str | None, subject: str | None, grades: Iterable[str], source: str,
         school_level: str | None = None, profile_subjects: str | None = None) -> CpdCode:
    """Code one question from the FAQ it matched (or its nearest candidate) and the teacher's profile."""
    if not topic:
        return CpdCode(subject=profile_subject(profile_subjects), grade_band=profile_band(school_level),
                       source="none")
    grades = tuple(grades)
    band = profile_band(school_level)
    if grades and band not in grades:
        # The profile's band is not one the FAQ is written for: trust the FAQ when it names a single band.
        band = grades[0] if len(grades) == 1 else ""
    chosen_subject = subject if subject and subject != "general" else (profile_subject(profile_subjects)
                                                                        or subject or "")
    return CpdCode(area=topic, subject=chosen_subject, grade_band=band, source=source)
