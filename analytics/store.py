"""The interaction store: one row per teacher question, written in the caller's transaction.

Called by the conversation (record_interaction, set_rating, set_route), tickets (set_taxonomy, set_resolved)
and DELETE MY DATA (forget_teacher). Data functions take `session` first and never commit; analytics never
calls back upstream.

Resolution rules (they define the "unresolved share" in the needs report):
  answered   resolved at once (the FAQ answer went out); a rating of 2 ("did not help") un-resolves it.
  clarified  unresolved until the teacher picks a candidate (set_route(..., "answered")).
  escalated, urgent  unresolved until the expert's answer (set_resolved, called by tickets).
A question is a content-gap candidate (`gap`) once it went to an expert or was rated unhelpful; that sticks.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from analytics import redact, taxonomy
from analytics.models import ROUTES, Interaction
from helpdesk.models.core import utcnow
from helpdesk.privacy import pseudonym, pseudonym_key

MAX_QUESTION_CHARS = 500  # an SMS question is a few hundred characters; longer text is a pasted document


def teacher_key(rt, phone: str) -> str:
    return pseudonym(phone, pseudonym_key(rt.settings))


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(moment: datetime, tz_name: str) -> date:
    """The calendar day in the helpdesk's time zone of a naive-UTC timestamp (weeks start on the local Monday)."""
    return moment.replace(tzinfo=timezone.utc).astimezone(_zone(tz_name)).date()


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def record_interaction(session, rt, *, teacher, inbound, route: str, match=None, faq_id: str | None = None,
                       language: str) -> Interaction:
    """One row per teacher question (call it for questions only, not for keywords or ratings).

    `faq_id` is the answered FAQ (defaults to match.faq_id); for an escalated or clarified question the top
    candidate of `match` codes the teaching area ("nearest"). Replaying the same inbound message returns the
    row already written.
    """
    if route not in ROUTES:
        raise ValueError(f"route must be one of {', '.join(ROUTES)}, got {route!r}")
    if inbound is not None and inbound.id is not None:
        existing = session.scalars(select(Interaction).where(Interaction.inbound_id == inbound.id)).first()
        if existing is not None:
            return existing
    now = utcnow()
    day = local_day(now, rt.settings.timezone)
    faq_id = faq_id or (match.faq_id if match is not None else None)
    code = _code(rt, teacher, route, faq_id, match)
    answered = route == "answered"
    row = Interaction(
        created_at=now, day=day, week=week_start(day), month=month_start(day),
        teacher_key=teacher_key(rt, teacher.phone),
        inbound_id=inbound.id if inbound is not None else None,
        channel=(inbound.channel if inbound is not None else None) or teacher.channel or "sms",
        language=language or "en",
        district=teacher.district or "", school_level=teacher.school_level or "",
        school_type=teacher.school_type or "", profile_subjects=teacher.subjects or "",
        area=code.area, subject=code.subject, grade_band=code.grade_band, coding_source=code.source,
        route=route, faq_id=faq_id if answered else None,
        match_score=float(match.score) if match is not None and match.score is not None else None,
        resolved=1 if answered else 0, resolved_at=now if answered else None,
        resolution_seconds=0 if answered else None,
        gap=1 if route in ("escalated", "urgent") else 0,
        question_text=redact.scrub(inbound.body if inbound is not None else "",
                                   names=[teacher.name])[:MAX_QUESTION_CHARS],
    )
    session.add(row)
    session.flush()
    return row


def _code(rt, teacher, route: str, faq_id: str | None, match) -> taxonomy.CpdCode:
    source = "faq"
    if route != "answered" or not faq_id:
        candidates = getattr(match, "candidates", None) or ()
        faq_id = faq_id or (candidates[0].faq_id if candidates else None)
        source = "faq" if route == "answered" else "nearest"
        if source == "nearest" and faq_id and not taxonomy.nearest_is_close(
                candidates[0].score if candidates else None, getattr(match, "reason", None),
                rt.knowledge.matcher().thresholds.answer):
            return taxonomy.CpdCode(subject=taxonomy.profile_subject(teacher.subjects),
                                    grade_band=taxonomy.profile_band(teacher.school_level), source="awaiting")
    entry = rt.knowledge.view().entry(faq_id) if faq_id else None
    return taxonomy.code(topic=entry.topic if entry else None, subject=entry.subject if entry else None,
                         grades=entry.grades if entry else (), source=source,
                         school_level=teacher.school_level, profile_subjects=teacher.subjects)


def _get(session, interaction_id: int) -> Interaction | None:
    return session.get(Interaction, interaction_id) if interaction_id else None


def set_rating(session, interaction_id: int, rating: int) -> None:
    """1 = helped, 2 = did not help (un-resolves the question and makes it a content-gap candidate)."""
    if rating not in (1, 2):
        raise ValueError(f"rating must be 1 (helped) or 2 (did not help), got {rating!r}")
    row = _get(session, interaction_id)
    if row is None:
        return
    row.rating = rating
    if rating == 2:
        row.resolved, row.resolved_at, row.resolution_seconds, row.gap = 0, None, None, 1
    elif not row.resolved:
        _mark_resolved(row, utcnow())


def set_route(session, interaction_id: int, route: str, *, faq_id: str | None = None, rt=None) -> None:
    """A later turn changed the outcome: a clarify choice answered it, or an answer was escalated."""
    if route not in ROUTES:
        raise ValueError(f"route must be one of {', '.join(ROUTES)}, got {route!r}")
    row = _get(session, interaction_id)
    if row is None:
        return
    row.route = route
    if route == "answered":
        row.faq_id = faq_id or row.faq_id
        if rt is not None and faq_id and row.coding_source != "expert":
            entry = rt.knowledge.view().entry(faq_id)
            if entry is not None:
                code = taxonomy.code(topic=entry.topic, subject=entry.subject, grades=entry.grades, source="faq",
                                     school_level=row.school_level, profile_subjects=row.profile_subjects)
                row.area, row.subject, row.grade_band, row.coding_source = (code.area, code.subject,
                                                                            code.grade_band, code.source)
        if row.rating != 2:
            _mark_resolved(row, utcnow())
    else:
        row.gap = 1
        row.resolved, row.resolved_at, row.resolution_seconds = 0, None, None


def set_taxonomy(session, interaction_id: int, area: str, subject: str | None = None,
                 grade_band: str | None = None, source: str = "expert") -> None:
    """The expert's tag overrides the automatic coding; unknown slugs are refused (they would split counts)."""
    tax = taxonomy.load_taxonomy()
    if area not in tax.area_slugs:
        raise ValueError(f"unknown teaching area {area!r}")
    if subject and subject not in tax.subject_slugs:
        raise ValueError(f"unknown subject {subject!r}")
    if grade_band and grade_band not in tax.band_slugs:
        raise ValueError(f"unknown grade band {grade_band!r}")
    row = _get(session, interaction_id)
    if row is None:
        return
    row.area, row.coding_source = area, source
    if subject:
        row.subject = subject
    if grade_band:
        row.grade_band = grade_band


def set_resolved(session, interaction_id: int, resolved_at: datetime | None = None) -> None:
    """The teacher got an answer (an expert's, for an escalated question)."""
    row = _get(session, interaction_id)
    if row is not None:
        _mark_resolved(row, resolved_at or utcnow())


def _mark_resolved(row: Interaction, when: datetime) -> None:
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    row.resolved, row.resolved_at = 1, when
    row.resolution_seconds = max(0, int((when - row.created_at).total_seconds()))


def forget_teacher(session, rt, phone: str) -> int:
    """DELETE MY DATA: keep the anonymous counts, cut the link to the person.

    The teacher's rows get a fresh random key (so distinct-teacher counts of past periods do not change, but
    the rows can no longer be tied to the number, even by someone holding the pseudonym key) and lose their
    wording. Returns the number of rows changed.
    """
    new_key = "x" + secrets.token_hex(7)
    result = session.execute(
        update(Interaction).where(Interaction.teacher_key == teacher_key(rt, phone))
        .values(teacher_key=new_key, question_text="", inbound_id=None)
    )
    return result.rowcount or 0


# --- aggregate queries (GROUP BY in SQL, the same on SQLite and PostgreSQL; maths in analytics.reports) ------

def _filtered(stmt, start: date, end: date, filters):
    stmt = stmt.where(Interaction.day >= start, Interaction.day <= end)
    if filters is not None:
        if filters.district is not None:
            stmt = stmt.where(Interaction.district == filters.district)
        if filters.school_level is not None:
            stmt = stmt.where(Interaction.school_level == filters.school_level)
        if filters.subject is not None:
            stmt = stmt.where(Interaction.subject == filters.subject)
    return stmt


def aggregate(session, *, dims: tuple[str, ...], start: date, end: date, filters=None, bucket: str | None = None,
              split: date | None = None) -> list:
    """Cells of questions grouped by `dims` (Interaction column names) and a period label.

    The period label is the week or month bucket (`bucket="week"|"month"`, as an ISO date), or "cur"/"prev" for
    days on/after and before `split`, or "" for neither. Distinct teachers and repeat askers come from one
    inner GROUP BY that includes the teacher's pseudonym, so no teacher id ever leaves the database.
    """
    from sqlalchemy import case, func, literal_column

    from analytics.reports import Cell

    if bucket in ("week", "month"):
        period = getattr(Interaction, bucket)
    elif split is not None:
        period = case((Interaction.day >= split, literal_column("'cur'")), else_=literal_column("'prev'"))
    else:
        period = literal_column("''")
    # The period and flags are computed in a derived table and grouped by its columns: PostgreSQL would not
    # accept GROUP BY on an expression whose bound parameters differ from the SELECT list's copy.
    base = _filtered(
        select(*[getattr(Interaction, d).label(d) for d in dims], period.label("period"), Interaction.teacher_key,
               case((Interaction.route.in_(("escalated", "urgent")), 1), else_=0).label("esc"),
               case((Interaction.rating == 2, 1), else_=0).label("unh"), Interaction.resolved.label("res"),
               func.coalesce(Interaction.resolution_seconds, 0).label("secs")),
        start, end, filters,
    ).subquery()
    group = [base.c[d] for d in dims] + [base.c.period, base.c.teacher_key]
    inner = select(*group, func.count().label("n"), func.sum(base.c.esc).label("esc"),
                   func.sum(base.c.unh).label("unh"), func.sum(base.c.res).label("res"),
                   func.sum(base.c.secs).label("secs")).group_by(*group).subquery()
    keys = [inner.c[d] for d in dims]
    outer = select(
        *keys, inner.c.period, func.count().label("teachers"), func.sum(inner.c.n).label("questions"),
        func.sum(case((inner.c.n >= 2, 1), else_=0)).label("repeat"),
        func.sum(inner.c.esc).label("esc"), func.sum(inner.c.unh).label("unh"), func.sum(inner.c.res).label("res"),
        func.sum(inner.c.secs).label("secs"),
    ).group_by(*keys, inner.c.period)
    cells = []
    for row in session.execute(outer):
        questions, resolved = int(row.questions), int(row.res or 0)
        label = row.period.isoformat() if hasattr(row.period, "isoformat") else str(row.period)
        cells.append(Cell(key=tuple(row[i] or "" for i in range(len(dims))), period=label, questions=questions,
                          teachers=int(row.teachers), repeat_askers=int(row.repeat or 0),
                          escalated=int(row.esc or 0), unhelpful=int(row.unh or 0), unresolved=questions - resolved,
                          resolved=resolved, resolution_seconds=int(row.secs or 0)))
    cells.sort(key=lambda c: (c.period, c.key))
    return cells


def gap_questions(session, *, start: date, end: date, split: date, filters=None, limit: int = 10000) -> list:
    """Content-gap candidates in [start, end] (those before `split` are the previous period), oldest first."""
    from analytics.gaps import GapQuestion

    stmt = _filtered(select(Interaction.id, Interaction.created_at, Interaction.day, Interaction.teacher_key,
                            Interaction.area, Interaction.question_text).where(Interaction.gap == 1),
                     start, end, filters)
    # Newest first under the limit (a flood of old rows must not crowd out the current period), then re-sorted.
    rows = session.execute(stmt.order_by(Interaction.day.desc(), Interaction.id.desc()).limit(limit)).all()
    return [GapQuestion(id=r.id, created_at=r.created_at, teacher_key=r.teacher_key, area=r.area,
                        text=r.question_text or "", current=r.day >= split, day=r.day) for r in reversed(rows)]


def has_interactions(session) -> bool:
    return session.scalars(select(Interaction.id).limit(1)).first() is not None


def option_values(session, column: str) -> list[str]:
    """Distinct non-empty values of a profile column, for the planner's filter menus."""
    col = getattr(Interaction, column)
    return [v for v in session.scalars(select(col).distinct().order_by(col)) if v]
