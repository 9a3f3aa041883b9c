"""Synthetic, deterministic interactions: the demo's planner dashboard and the 1M-row benchmark.

Same seed, same rows. Teachers are pseudonyms of made-up keys (no phone number is involved), districts have
their own mix of teaching areas (so the heatmap has a shape), a few areas grow towards the end of the
range (so trends show), and about one question in eight goes to an expert with a wording drawn from the
shipped FAQ questions plus a little noise (so content gaps cluster).
"""
from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, timedelta
from typing import Iterator

from analytics.taxonomy import load_taxonomy

DISTRICTS = ("Lahore", "Karachi", "Peshawar", "Quetta", "Multan", "Faisalabad", "Sukkur", "Abbottabad")
LEVELS = ("primary", "middle", "high")
SCHOOL_TYPES = ("public", "low-fee private")
SUBJECTS = ("general", "maths", "science", "english", "urdu", "social-studies")
BAND = {"primary": "primary", "middle": "middle", "high": "secondary"}
GROWING = ("inclusive-education", "digital-tools")  # these two rise over the range
GAP_WORDINGS = (
    "How do I teach students with hearing difficulty in a big class?",
    "Children with hearing problems cannot follow my lesson, what can I do?",
    "How can I use a mobile phone to show videos without internet?",
    "No internet in school, how to use digital lessons offline?",
    "Bachon ko online assignment kaise dun jab unke paas phone nahi?",
    "Students of three grades in one room, how to plan the day?",
    "How to make a timetable for multigrade class of grade 1 to 5?",
    "Mera transfer kab hoga aur promotion ka tareeqa kya hai?",
    "My salary has not come for three months, whom should I contact?",
    "How to teach electricity circuits without any equipment?",
)


def _key(i: int) -> str:
    return hashlib.sha256(f"demo-teacher-{i}".encode()).hexdigest()[:16]


def generate(n: int, *, start: date, end: date, teachers: int = 300, seed: int = 7) -> Iterator[dict]:
    """n interaction rows (column dicts for analytics.models.Interaction), created_at ascending."""
    rng = random.Random(seed)
    areas = load_taxonomy().area_slugs
    profiles = []
    for i in range(teachers):
        level = rng.choice(LEVELS)
        profiles.append((_key(i), rng.choice(DISTRICTS), level, rng.choice(SCHOOL_TYPES), rng.choice(SUBJECTS)))
    # Each district favours three areas; a Zipf-like tail covers the rest.
    district_bias = {d: rng.sample(areas, 3) for d in DISTRICTS}
    span = max(1, (end - start).days + 1) * 86400
    start_dt = datetime(start.year, start.month, start.day)
    step = span / max(n, 1)
    for j in range(n):
        # Evenly spread over the range with jitter, so row order is time order and the seed fixes everything.
        created = start_dt + timedelta(seconds=int(j * step + rng.random() * step * 0.9))
        progress = j / max(n - 1, 1)
        key, district, level, school_type, subject = profiles[int(rng.paretovariate(1.2) * 7) % teachers
                                                              if rng.random() < 0.5 else rng.randrange(teachers)]
        roll = rng.random()
        if roll < 0.45:
            area = rng.choice(district_bias[district])
        elif roll < 0.45 + 0.25 * progress:
            area = rng.choice(GROWING)
        else:
            area = rng.choice(areas)
        route_roll = rng.random()
        route = ("answered" if route_roll < 0.72 else "clarified" if route_roll < 0.84
                 else "escalated" if route_roll < 0.985 else "urgent")
        rating = None
        if route == "answered" and rng.random() < 0.5:
            rating = 1 if rng.random() < 0.8 else 2
        resolved = route == "answered" and rating != 2
        if route in ("escalated", "urgent") and rng.random() < 0.7:
            resolved = True
        resolution = 0 if route == "answered" else (rng.randrange(600, 72 * 3600) if resolved else None)
        gap = route in ("escalated", "urgent") or rating == 2
        text = ""
        if gap:
            text = rng.choice(GAP_WORDINGS)
            if rng.random() < 0.3:
                text = text.replace("?", " please?").replace("How", "how")
        day = created.date()  # demo timestamps are local days already; good enough for synthetic data
        yield {
            "created_at": created, "day": day, "week": day - timedelta(days=day.weekday()),
            "month": day.replace(day=1), "teacher_key": key, "inbound_id": None,
            "channel": "whatsapp" if rng.random() < 0.6 else "sms", "language": rng.choice(("en", "ur", "ur")),
            "district": district, "school_level": level, "school_type": school_type, "profile_subjects": subject,
            "area": area, "subject": subject, "grade_band": BAND[level],
            "coding_source": "faq" if route == "answered" else "nearest", "route": route, "faq_id": None,
            "match_score": round(rng.random(), 3), "rating": rating, "resolved": int(resolved),
            "resolved_at": created + timedelta(seconds=resolution) if resolved else None,
            "resolution_seconds": resolution if resolved else None, "gap": int(gap), "question_text": text,
        }


def seed_demo(session, *, today: date, n: int = 8000, days: int = 120, seed: int = 7) -> int:
    """Insert n synthetic interactions over the `days` days up to `today` (executemany, one statement)."""
    from sqlalchemy import insert

    from analytics.models import Interaction

    rows = list(generate(n, start=today - timedelta(days=days - 1), end=today, seed=seed))
    session.execute(insert(Interaction), rows)
    return len(rows)


def seed_if_empty(db, *, today: date | None = None) -> int:
    """`helpdesk demo` calls this: a fresh database gets synthetic interactions so `helpdesk report needs`
    and the planner dashboard show something at once. A database with real interactions is never touched."""
    from sqlalchemy import inspect

    from analytics.store import has_interactions

    if not inspect(db.engine).has_table("interactions"):
        raise LookupError("the interactions table does not exist: the database needs `helpdesk db upgrade` "
                          "with a migration that creates it")
    with db.session_scope() as session:
        if has_interactions(session):
            return 0
        return seed_demo(session, today=today or datetime.now().date())
