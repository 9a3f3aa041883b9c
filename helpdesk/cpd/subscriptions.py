"""CPD hour: subscriptions, the weekly push, credit for DONE, belts and certificates (issue 7).

The chat calls the contract functions (subscribe, unsubscribe, record_done, awaiting_reflection,
progress_text). The scheduler enqueues `workers.cpd_jobs.push_due_lessons`, which marks due subscriptions
as queued and enqueues one `push_batch` job per batch of subscriptions; each batch job claims every
subscription with a conditional UPDATE of `next_lesson_at` (only rows that still hold the value read are
claimed: rowcount 1, or the ids RETURNING gives back when subscriptions sharing a slot are claimed together),
so a duplicated job, a second scheduler or a retried batch never sends a lesson twice. A batch reads what the
choice needs in a few queries and stores its messages with outbound.queue_messages (multi-row INSERTs, send
jobs enqueued together after commit). Which lesson: see helpdesk.cpd.lesson_choice.
"""
from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sqlalchemy import any_, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from helpdesk import content, outbound
from helpdesk.channels.templates import LESSON_INVITE, lesson_invite_variables, sids_for
from helpdesk.cpd import lesson_check, lesson_choice
from helpdesk.cpd import rules as cpd_rules
from helpdesk.conversation import choices_of, cut_title
from helpdesk.models import Certificate, CpdCredit, LessonDelivery, Subscription, Teacher, utcnow
from helpdesk.privacy import mask_phone, pseudonym
from knowledge_base.lessons import LESSONS_DIR, Lesson, load_lessons

log = logging.getLogger(__name__)

# A reply that is not a keyword counts as the reflection answer for this long after the lesson was sent.
REFLECTION_WINDOW = timedelta(hours=72)
# The conversation state that holds a lesson check under way, and how long an unanswered question waits (a
# teacher who answers question 1 in the staff room may answer question 2 after school the next day).
CHECK_STATE = "cpd_check"
CHECK_TTL = timedelta(hours=72)
# A batch job that was enqueued but never ran (Redis lost it) is picked up again after this long.
REQUEUE_AFTER = timedelta(minutes=10)
DISTRICT_NEEDS_WEEKS = 12
DONE_WORDS = {"done", "ho gaya", "hogaya", "ho gya", "mukammal", "مکمل", "ہو گیا", "ہوگیا"}


def _t(lang: str, key: str, **values) -> str:
    """A CPD text from helpdesk/content/messages.yaml (key `cpd_<key>`), in the teacher's language."""
    return content.text(f"cpd_{key}", lang, **values)


def _lang(teacher: Teacher) -> str:
    return teacher.language if teacher.language in content.LANGUAGES else "en"


# --- catalogue and schedule ------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _load(directory: str) -> tuple[Lesson, ...]:
    return tuple(load_lessons(Path(directory)))


def _directory(rt) -> str:
    return str((rt.settings.extra.get("lessons_dir") if rt is not None else None) or LESSONS_DIR)


def lessons(rt=None) -> tuple[Lesson, ...]:
    return _load(_directory(rt))


@lru_cache(maxsize=4)
def _by_id(directory: str) -> dict[str, Lesson]:
    return {lesson.id: lesson for lesson in _load(directory)}


def lesson_by_id(rt, lesson_id: str) -> Lesson | None:
    return _by_id(_directory(rt)).get(lesson_id)


def schedule(rt) -> cpd_rules.Schedule:
    return _parse_schedule(rt.settings.cpd_schedule)


@lru_cache(maxsize=8)
def _parse_schedule(text: str) -> cpd_rules.Schedule:
    return cpd_rules.parse_schedule(text)  # a frozen dataclass: safe to share


def _next_due(rt, position: int, joined_at: datetime, previous_at: datetime) -> datetime:
    """When lesson number `position` (0-based) of a subscription is due."""
    return cpd_rules.following_lesson_at(position, joined_at, previous_at,
                                         tuple(rt.settings.cpd_welcome_offsets_days), schedule(rt),
                                         rt.settings.timezone)


def _local_text(rt, when: datetime, lang: str) -> str:
    from datetime import timezone
    from zoneinfo import ZoneInfo

    local = when.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(rt.settings.timezone))
    return content.date_time_text(local, lang)


# --- the chat contract -----------------------------------------------------------------------------------

def subscription_of(session: Session, teacher: Teacher) -> Subscription | None:
    return session.scalars(select(Subscription).where(Subscription.teacher_id == teacher.id)).first()


def subscribe(session: Session, rt, teacher: Teacher, now: datetime | None = None) -> str:
    """CPD ON. A first subscription starts the welcome series; coming back resumes the weekly hour."""
    now = now or utcnow()
    lang = _lang(teacher)
    sub = subscription_of(session, teacher)
    if sub is not None and sub.active and sub.next_lesson_at is not None:
        return _t(lang, "already", first=_local_text(rt, sub.next_lesson_at, lang))
    if sub is None:
        sub = Subscription(teacher_id=teacher.id, joined_at=now, series_position=0, active=True)
        session.add(sub)
        sub.next_lesson_at = _next_due(rt, 0, now, now)
    else:
        sub.active, sub.cancelled_at = True, None
        # A returning teacher skips the rest of the welcome series: it is for newcomers.
        sub.series_position = max(sub.series_position, len(rt.settings.cpd_welcome_offsets_days))
        sub.next_lesson_at = cpd_rules.next_slot(now, schedule(rt), rt.settings.timezone)
    sub.updated_at = now
    session.flush()
    rhythm = _t(lang, "two_weeks" if schedule(rt).every_weeks == 2 else "week")
    sched = schedule(rt)
    days = ", ".join(content.day_name(d, lang) for d in sched.days)
    return _t(lang, "subscribed", first=_local_text(rt, sub.next_lesson_at, lang), rhythm=rhythm,
              time=f"{days} {content.clock_text(sched.at.hour, sched.at.minute, lang)}")


def unsubscribe(session: Session, rt, teacher: Teacher, now: datetime | None = None) -> str:
    """CPD OFF. Credit earned is kept."""
    now = now or utcnow()
    lang = _lang(teacher)
    sub = subscription_of(session, teacher)
    if sub is None or not sub.active:
        return _t(lang, "not_subscribed")
    sub.active, sub.next_lesson_at, sub.cancelled_at, sub.updated_at = False, None, now, now
    session.flush()
    return _t(lang, "unsubscribed", hours=cpd_rules.hours_text(credited_minutes(session, teacher.id)))


def _latest_delivery(session: Session, teacher: Teacher) -> LessonDelivery | None:
    return session.scalars(
        select(LessonDelivery).where(LessonDelivery.teacher_id == teacher.id)
        .order_by(LessonDelivery.sent_at.desc(), LessonDelivery.id.desc()).limit(1)
    ).first()


def pending_delivery(session: Session, teacher: Teacher) -> LessonDelivery | None:
    """The latest lesson, if it is not credited yet (only the latest one can be credited)."""
    latest = _latest_delivery(session, teacher)
    return latest if latest is not None and latest.completed_at is None else None


def awaiting_reflection(session: Session, teacher: Teacher, now: datetime | None = None) -> bool:
    """True while the latest lesson is uncredited and was sent within REFLECTION_WINDOW: a free-text reply
    then is the answer to its reflection prompt (DONE credits a lesson at any time)."""
    pending = pending_delivery(session, teacher)
    return (pending is not None and pending.awaiting_reflection
            and (now or utcnow()) - pending.sent_at < REFLECTION_WINDOW)


def is_done_word(text: str) -> bool:
    return " ".join(text.strip().lower().rstrip(".!۔").split()) in DONE_WORDS


def record_done(session: Session, rt, teacher: Teacher, text: str, now: datetime | None = None) -> str | None:
    """DONE or a reflection answer: credit the pending lesson's minutes, then ask its check. DONE after a
    check that failed or was left unfinished asks the check again. None when there is nothing to do."""
    now = now or utcnow()
    pending = pending_delivery(session, teacher)
    if pending is None:
        return retake_check(session, rt, teacher, now)
    lesson = lesson_by_id(rt, pending.lesson_id)
    minutes = lesson.minutes if lesson is not None else _fallback_minutes()
    reflection = None if is_done_word(text) else text.strip()[:2000] or None
    claimed = session.execute(
        update(LessonDelivery).where(LessonDelivery.id == pending.id, LessonDelivery.completed_at.is_(None))
        .values(completed_at=now, minutes_credited=minutes, awaiting_reflection=False, reflection=reflection)
    ).rowcount
    if claimed != 1:
        return None  # credited by a concurrent DONE
    before = credited_minutes(session, teacher.id)
    session.add(CpdCredit(teacher_id=teacher.id, delivery_id=pending.id, lesson_id=pending.lesson_id,
                          minutes=minutes, credited_at=now))
    session.flush()
    session.expire(pending)
    after = before + minutes
    lessons_done = credited_lessons(session, teacher.id)
    lang = _lang(teacher)
    title = lesson.text("title", lang) if lesson is not None else pending.lesson_id
    lines = []
    if reflection:
        lines.append(_t(lang, "thanks_reflection"))
    lines.append(_t(lang, "credited", minutes=minutes, title=title, hours=cpd_rules.hours_text(after),
                    lessons=lessons_done))
    passed = passed_checks(session, teacher.id)
    lines += _belt_lines(session, rt, teacher, (before, passed), (after, passed), now)
    if lesson is not None and lesson.check:
        lines.append(_start_check(session, teacher, pending, lesson, now))
    return "\n".join(lines)


def _belt_lines(session: Session, rt, teacher: Teacher, before: tuple[int, int], after: tuple[int, int],
                now: datetime) -> list[str]:
    """Certificates for the belts crossed between (minutes, passed checks) before and after; the message."""
    crossed = cpd_rules.belts_crossed(before, after)
    if not crossed:
        return []
    lessons_done = credited_lessons(session, teacher.id)
    certificates = [issue_certificate(session, rt, teacher, level, lessons_done, after[0], now, passed=after[1])
                    for level in crossed]
    lang = _lang(teacher)
    top = certificates[-1]
    return [_t(lang, "milestone", belt=cpd_rules.belt_name(top.level, lang), url=certificate_url(rt, top.code))]


# --- the check after DONE --------------------------------------------------------------------------------

def _start_check(session: Session, teacher: Teacher, delivery: LessonDelivery, lesson: Lesson,
                 now: datetime) -> str:
    """A new attempt at the lesson's check: the intro and the first question."""
    delivery.check_answers, delivery.check_passed, delivery.checked_at = [], None, None
    delivery.check_attempts = (delivery.check_attempts or 0) + 1
    lang = _lang(teacher)
    return "\n\n".join([_t(lang, "check_intro", count=len(lesson.check)),
                         _ask_question(teacher, delivery, lesson, 0, now)])


def _ask_question(teacher: Teacher, delivery: LessonDelivery, lesson: Lesson, index: int, now: datetime) -> str:
    """Question `index` as numbered choices; the teacher's state holds its choices in every language so the
    pure conversation can read the answer (helpdesk.conversation, state cpd_check)."""
    question = lesson.check[index]
    lang = _lang(teacher)
    teacher.state = CHECK_STATE
    teacher.state_data = {
        "delivery_id": delivery.id, "question": index,
        "options": [[option.get(code) for code in content.LANGUAGES if option.get(code)]
                    for option in question.options],
        "titles": [cut_title(option) for option in question.option_texts(lang)],  # for buttons or a list
    }
    teacher.state_expires_at = now + CHECK_TTL
    head = _t(lang, "check_question", number=index + 1, count=len(lesson.check))
    return f"{head} {lesson_check.numbered(question.text(lang), question.option_texts(lang))}"


def retake_check(session: Session, rt, teacher: Teacher, now: datetime | None = None) -> str | None:
    """DONE with nothing to credit: ask again the check of the latest lesson if it was not passed."""
    now = now or utcnow()
    latest = _latest_delivery(session, teacher)
    if latest is None or latest.completed_at is None or latest.check_passed:
        return None
    lesson = lesson_by_id(rt, latest.lesson_id)
    if lesson is None or not lesson.check:
        return None
    return _start_check(session, teacher, latest, lesson, now)


def answer_check(session: Session, rt, teacher: Teacher, choice: int, now: datetime | None = None) -> str:
    """The teacher picked `choice` (0-based) for the question their state holds: say right or not, then ask
    the next question or give the result (and any belt the pass completes)."""
    now = now or utcnow()
    data = dict(teacher.state_data or {})
    lang = _lang(teacher)
    delivery = session.get(LessonDelivery, data.get("delivery_id") or 0)
    lesson = lesson_by_id(rt, delivery.lesson_id) if delivery is not None else None
    index = data.get("question", 0)
    answers = list(delivery.check_answers or []) if delivery is not None else []
    if (lesson is None or delivery.teacher_id != teacher.id or delivery.check_passed is not None
            or len(answers) != index or index >= len(lesson.check)):
        _clear_check_state(teacher)  # a stale state (the lesson left the catalogue, or answered already)
        return _t(lang, "check_gone")
    question = lesson.check[index]
    answers.append(choice)
    delivery.check_answers = answers
    right = choice == question.answer
    lines = [_t(lang, "check_right") if right else
             _t(lang, "check_wrong", answer=f"{question.answer + 1}) {question.option_texts(lang)[question.answer]}")]
    if len(answers) < len(lesson.check):
        lines.append(_ask_question(teacher, delivery, lesson, len(answers), now))
        return "\n\n".join(lines)
    _clear_check_state(teacher)
    correct = sum(answer == q.answer for answer, q in zip(answers, lesson.check))
    delivery.check_passed, delivery.checked_at = lesson_check.passed(correct, len(lesson.check)), now
    total = len(lesson.check)
    if not delivery.check_passed:
        lines.append(_t(lang, "check_failed", correct=correct, count=total))
        return "\n\n".join(lines)
    session.flush()
    passed = passed_checks(session, teacher.id)
    lines.append(_t(lang, "check_passed", correct=correct, count=total, passed=passed))
    minutes = credited_minutes(session, teacher.id)
    lines += _belt_lines(session, rt, teacher, (minutes, passed - 1), (minutes, passed), now)
    return "\n\n".join(lines)


def _check_open(session: Session, teacher: Teacher) -> bool:
    """The latest lesson is credited but its check is not passed (DONE asks it)."""
    latest = _latest_delivery(session, teacher)
    return latest is not None and latest.completed_at is not None and not latest.check_passed


def _clear_check_state(teacher: Teacher) -> None:
    if teacher.state == CHECK_STATE:
        teacher.state, teacher.state_data, teacher.state_expires_at = None, None, None


def _fallback_minutes() -> int:
    # A lesson removed from the catalogue after it was sent still earns the shortest lesson's credit.
    from knowledge_base.lessons import MIN_MINUTES

    return MIN_MINUTES


def credited_minutes(session: Session, teacher_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(CpdCredit.minutes), 0))
                              .where(CpdCredit.teacher_id == teacher_id)) or 0)


def credited_lessons(session: Session, teacher_id: int) -> int:
    # Lessons only: an attended live session credits minutes too (CpdCredit.booking_id), but it is no lesson.
    return int(session.scalar(select(func.count(CpdCredit.id)).where(CpdCredit.teacher_id == teacher_id,
                                                                     CpdCredit.delivery_id.is_not(None))) or 0)


def passed_checks(session: Session, teacher_id: int) -> int:
    return int(session.scalar(select(func.count(LessonDelivery.id))
                              .where(LessonDelivery.teacher_id == teacher_id,
                                     LessonDelivery.check_passed.is_(True))) or 0)


def journey(session: Session, rt, teacher_id: int) -> dict[str, dict[str, list[int]]]:
    """Area -> level -> [lessons passed, lessons in the catalogue] for every area the teacher has passed a
    lesson check in. A level is completed when every lesson of it is passed (credited and its check passed)."""
    passed = set(session.scalars(select(LessonDelivery.lesson_id).where(
        LessonDelivery.teacher_id == teacher_id, LessonDelivery.completed_at.is_not(None),
        LessonDelivery.check_passed.is_(True))))
    totals: dict[str, dict[str, list[int]]] = {}
    for lesson in lessons(rt):
        counts = totals.setdefault(lesson.area, {}).setdefault(lesson.level, [0, 0])
        counts[0] += lesson.id in passed
        counts[1] += 1
    return {area: {level: counts for level, counts in levels.items()}
            for area, levels in sorted(totals.items()) if any(done for done, _ in levels.values())}


def progress_text(session: Session, rt, teacher: Teacher) -> str:
    """The answer to `CPD`: hours so far, belt, the next belt, and what comes next."""
    lang = _lang(teacher)
    minutes = credited_minutes(session, teacher.id)
    passed = passed_checks(session, teacher.id)
    lines = [_t(lang, "progress", hours=cpd_rules.hours_text(minutes),
                lessons=credited_lessons(session, teacher.id)), _t(lang, "checks_passed", passed=passed)]
    belt = cpd_rules.belt_for(minutes, passed)
    if belt:
        lines.append(_t(lang, "belt", belt=cpd_rules.belt_name(belt, lang)))
    upcoming = cpd_rules.next_belt(minutes, passed)
    if upcoming:
        slug, hours, checks = upcoming
        lines.append(_t(lang, "next_belt", belt=cpd_rules.belt_name(slug, lang),
                        remaining=f"{max(0.0, hours - minutes / 60):.1f}", checks=max(0, checks - passed)))
    pending = pending_delivery(session, teacher)
    if pending is not None:
        lesson = lesson_by_id(rt, pending.lesson_id)
        lines.append(_t(lang, "pending", title=lesson.text("title", lang) if lesson else pending.lesson_id))
    elif _check_open(session, teacher):
        lines.append(_t(lang, "check_waiting"))
    sub = subscription_of(session, teacher)
    if sub is not None and sub.active and sub.next_lesson_at is not None:
        lines.append(_t(lang, "next_lesson", when=_local_text(rt, sub.next_lesson_at, lang)))
    else:
        lines.append(_t(lang, "off"))
    return "\n".join(lines)


# --- certificates ----------------------------------------------------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud and typed


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"CPD-{raw[:4]}-{raw[4:]}"


def public_label(rt, teacher: Teacher) -> str:
    """Initials of the name the teacher gave, else a pseudonymous label: never the number."""
    words = [word for word in (teacher.name or "").replace(".", " ").split() if word[:1].isalpha()]
    if words:
        return ".".join(word[0].upper() for word in words[:3]) + "."
    from helpdesk.privacy import pseudonym_key

    return f"Teacher {pseudonym(teacher.phone, pseudonym_key(rt.settings))[:6].upper()}"


def issue_certificate(session: Session, rt, teacher: Teacher, level: str, lessons_done: int, minutes: int,
                      now: datetime, *, passed: int = 0) -> Certificate:
    existing = session.scalars(select(Certificate).where(Certificate.teacher_id == teacher.id,
                                                         Certificate.level == level)).first()
    if existing is not None:
        return existing
    certificate = Certificate(teacher_id=teacher.id, level=level, code=new_code(), label=public_label(rt, teacher),
                              lessons=lessons_done, minutes=minutes, issued_at=now, passed_checks=passed,
                              journey=journey(session, rt, teacher.id))
    session.add(certificate)
    session.flush()
    log.info("certificate %s (%s belt) issued to %s", certificate.code, level, mask_phone(teacher.phone))
    return certificate


def certificate_url(rt, code: str) -> str:
    return f"{rt.settings.public_base_url or ''}/certificates/{code}"


# --- choosing ----------------------------------------------------------------------------------------------

def lesson_facts(rt) -> list[lesson_choice.LessonFacts]:
    return [lesson_choice.LessonFacts(lesson.id, lesson.area, lesson.subjects, lesson.grades, lesson.level,
                                      lesson.requires)
            for lesson in lessons(rt)]


def grade_bands_of(teacher: Teacher) -> tuple[str, ...]:
    try:
        from analytics.taxonomy import LEVEL_TO_BAND
    except ImportError:  # analytics not installed: accept band slugs as they are
        LEVEL_TO_BAND = {}
    level = (teacher.school_level or "").strip().lower()
    if not level:
        return ()
    bands = [LEVEL_TO_BAND.get(part.strip(), part.strip()) for part in level.replace("/", ",").split(",")]
    return tuple(band for band in bands if band)


def subjects_of(teacher: Teacher) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in (teacher.subjects or "").split(",") if part.strip())


def recent_topics(session: Session, rt, teachers: list[Teacher], now: datetime) -> dict[int, tuple]:
    """Teacher id -> ((area, questions), ...) from the analytics interactions of the last RECENT_WEEKS weeks."""
    from analytics.models import Interaction
    from helpdesk.privacy import pseudonym_key

    key = pseudonym_key(rt.settings)
    by_key = {pseudonym(teacher.phone, key): teacher.id for teacher in teachers}
    since = now - timedelta(weeks=lesson_choice.RECENT_WEEKS)
    rows: dict[int, list] = {}
    keys = list(by_key)
    for start in range(0, len(keys), 900):  # SQLite allows 999 bound parameters by default on old builds
        chunk = keys[start:start + 900]
        for teacher_key, area, created_at in session.execute(
            select(Interaction.teacher_key, Interaction.area, Interaction.created_at)
            .where(_member_of(session, Interaction.teacher_key, chunk), Interaction.created_at >= since,
                   Interaction.created_at <= now, Interaction.area != "")
        ):
            rows.setdefault(by_key[teacher_key], []).append((area, created_at))
    return {teacher_id: lesson_choice.rank_topics(pairs) for teacher_id, pairs in rows.items()}


def district_needs(session: Session, rt, district: str | None, now: datetime) -> tuple[str, ...]:
    """Top needs (areas) of a district, best first: the planners' needs score (analytics.service) over the
    last DISTRICT_NEEDS_WEEKS weeks, so a lesson follows the same ranking the needs report shows."""
    if not district:
        return ()
    from analytics.service import district_top_needs

    return tuple(district_top_needs(session, district, now=now, weeks=DISTRICT_NEEDS_WEEKS))


def _member_of(session: Session, column, values: list):
    """column IN values. On PostgreSQL as = ANY(one array parameter): psycopg parses a query with hundreds of
    placeholders on every execution, which cost more than the query itself for a batch of 500 teachers."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(literal(list(values), ARRAY(column.type)))
    return column.in_(values)


def sent_lessons(session: Session, teacher_ids: list[int]) -> dict[int, set[str]]:
    return lesson_history(session, teacher_ids)[0]


def lesson_history(session: Session, teacher_ids: list[int]) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
    """(teacher id -> lessons sent, teacher id -> lessons completed) in one pass over the deliveries."""
    sent: dict[int, set[str]] = {}
    completed: dict[int, set[str]] = {}
    for start in range(0, len(teacher_ids), 900):
        chunk = teacher_ids[start:start + 900]
        for teacher_id, lesson_id, completed_at in session.execute(
            select(LessonDelivery.teacher_id, LessonDelivery.lesson_id, LessonDelivery.completed_at)
            .where(_member_of(session, LessonDelivery.teacher_id, chunk))
        ):
            sent.setdefault(teacher_id, set()).add(lesson_id)
            if completed_at is not None:
                completed.setdefault(teacher_id, set()).add(lesson_id)
    return sent, completed


# (database, district, push time) -> needs. Every batch of one push asks at the same push time, so a worker
# process asks the database once per district per push instead of once per district per batch (200 batches
# for 100,000 teachers, each needs query a GROUP BY over the district's last 24 weeks of questions).
_PUSH_NEEDS: OrderedDict[tuple, tuple[str, ...]] = OrderedDict()
_PUSH_NEEDS_SIZE = 512
_PUSH_NEEDS_LOCK = threading.Lock()


class _NeedsCache:
    """District needs for a batch: asked once per district per push (see _PUSH_NEEDS)."""

    def __init__(self, session, rt, now):
        self.session, self.rt, self.now, self.cache = session, rt, now, {}
        self.database = str(session.get_bind().url)

    def __call__(self, district: str | None) -> tuple[str, ...]:
        if district not in self.cache:
            self.cache[district] = self._shared(district)
        return self.cache[district]

    def _shared(self, district: str | None) -> tuple[str, ...]:
        key = (self.database, district, self.now)
        with _PUSH_NEEDS_LOCK:
            if key in _PUSH_NEEDS:
                return _PUSH_NEEDS[key]
        needs = district_needs(self.session, self.rt, district, self.now)
        with _PUSH_NEEDS_LOCK:
            _PUSH_NEEDS[key] = needs
            while len(_PUSH_NEEDS) > _PUSH_NEEDS_SIZE:
                _PUSH_NEEDS.popitem(last=False)
        return needs


def teacher_facts(teacher: Teacher, sent: set[str], topics: tuple, needs: tuple,
                  completed: set[str] = frozenset()) -> lesson_choice.TeacherFacts:
    return lesson_choice.TeacherFacts(sent=frozenset(sent), completed=frozenset(completed), recent_topics=topics,
                                      district=teacher.district,
                                      district_needs=needs, subjects=subjects_of(teacher),
                                      grade_bands=grade_bands_of(teacher))


def choose_for(session: Session, rt, teacher: Teacher, now: datetime | None = None) -> lesson_choice.Choice | None:
    """The lesson this teacher would get next, and why (for `helpdesk cpd preview`)."""
    now = now or utcnow()
    sent, completed = lesson_history(session, [teacher.id])
    facts = teacher_facts(teacher, sent.get(teacher.id, set()),
                          recent_topics(session, rt, [teacher], now).get(teacher.id, ()),
                          district_needs(session, rt, teacher.district, now), completed.get(teacher.id, set()))
    return lesson_choice.choose_lesson(lesson_facts(rt), facts)


# --- the push ----------------------------------------------------------------------------------------------

@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    templates: int = 0
    skipped: int = 0  # opted out, blocked, or the catalogue is exhausted
    lost_claims: int = 0  # another job got there first
    planned: list | None = None  # dry run: (subscription id, masked phone, lesson id, tier)


def due_subscription_ids(session: Session, now: datetime) -> list[int]:
    """Every active subscription due by `now` (dry runs and reports; the push uses select_due_for_push)."""
    query = select(Subscription.id).where(Subscription.active.is_(True), Subscription.next_lesson_at <= now)
    return list(session.scalars(query.order_by(Subscription.next_lesson_at, Subscription.id)))


def select_due_for_push(session: Session, now: datetime) -> list[int]:
    """Due subscriptions with no batch job in flight (or one enqueued over REQUEUE_AFTER ago); marks them.

    Not the claim (the batch job claims): this only keeps the minutely check from enqueuing the same
    subscriptions again while their batch waits in the queue.
    """
    ids = list(session.scalars(
        select(Subscription.id)
        .where(Subscription.active.is_(True), Subscription.next_lesson_at <= now,
               or_(Subscription.queued_at.is_(None), Subscription.queued_at < Subscription.next_lesson_at,
                   Subscription.queued_at < now - REQUEUE_AFTER))
        .order_by(Subscription.next_lesson_at, Subscription.id)
    ))
    for start in range(0, len(ids), 900):
        session.execute(update(Subscription).where(Subscription.id.in_(ids[start:start + 900]))
                        .values(queued_at=now), execution_options={"synchronize_session": False})
    return ids


def push_batch(session: Session, rt, subscription_ids: list[int], now: datetime, *,
               dry_run: bool = False) -> BatchResult:
    """Claim each subscription and queue its lesson through the one send path, all in the caller's transaction.

    Built for a batch, not a teacher: what the choice needs is read in a few queries for the whole batch
    (deliveries by teacher ids, recent question topics by pseudonyms, each district's needs once), the claims
    are a few conditional UPDATEs, and the messages and deliveries go in as multi-row INSERTs.
    """
    result = BatchResult(planned=[] if dry_run else None)
    pairs = session.execute(
        select(Subscription, Teacher).join(Teacher, Teacher.id == Subscription.teacher_id)
        .where(_member_of(session, Subscription.id, list(subscription_ids)), Subscription.active.is_(True),
               Subscription.next_lesson_at <= now)
        .order_by(Subscription.id)
    ).all()
    if not pairs:
        return result
    teachers = [teacher for _, teacher in pairs]
    sent, completed = lesson_history(session, [teacher.id for teacher in teachers])
    topics = recent_topics(session, rt, teachers, now)
    needs = _NeedsCache(session, rt, now)
    facts_of_lessons = lesson_facts(rt)
    plans = []
    for sub, teacher in pairs:
        choice = lesson_choice.choose_lesson(facts_of_lessons, teacher_facts(
            teacher, sent.get(teacher.id, set()), topics.get(teacher.id, ()), needs(teacher.district),
            completed.get(teacher.id, set())))
        if dry_run:
            result.planned.append((sub.id, mask_phone(teacher.phone), choice.lesson_id if choice else None,
                                   choice.tier if choice else "none"))
        plans.append((sub, teacher, choice))
    if dry_run:
        return result
    claimed = _claim_many(session, rt, [sub for sub, _, _ in plans], now)
    drafts: list[outbound.MessageDraft] = []
    deliveries: list[dict] = []
    welcome_length = len(rt.settings.cpd_welcome_offsets_days)
    for sub, teacher, choice in plans:
        if sub.id not in claimed:
            result.lost_claims += 1
            continue
        result.claimed += 1
        if teacher.opted_out_at is not None or teacher.blocked:
            sub.active, sub.next_lesson_at = False, None  # STOP ends CPD lessons too
            result.skipped += 1
            continue
        if choice is None:
            result.skipped += 1
            continue
        lesson = lesson_by_id(rt, choice.lesson_id)
        via_template = lesson_drafts(rt, teacher, lesson, now, drafts)
        deliveries.append(dict(teacher_id=teacher.id, lesson_id=lesson.id, area=lesson.area,
                               series="welcome" if sub.series_position <= welcome_length else "weekly",
                               reason=choice.tier, channel=teacher.channel, via_template=via_template,
                               sent_at=now, awaiting_reflection=True))
        result.sent += 1
        result.templates += int(via_template)
    outbound.queue_messages(session, drafts)
    if deliveries:
        session.connection().execute(insert(LessonDelivery.__table__), deliveries)
    return result


def _following(rt, sub: Subscription, now: datetime, memo: dict | None = None) -> datetime:
    """When the lesson after the one due now is due (memoised per batch: most subscriptions share a slot)."""
    due_at = sub.next_lesson_at
    position = sub.series_position + 1
    welcome_length = len(rt.settings.cpd_welcome_offsets_days)
    # Lessons missed while the service was down are not all sent at once: the next one is scheduled from now.
    previous_at = max(due_at, now - timedelta(days=1))
    # Past the welcome series the join date no longer matters, and every later position behaves alike.
    key = (min(position, welcome_length + 1), sub.joined_at if position < welcome_length else None, previous_at)
    if memo is not None and key in memo:
        return memo[key]
    following = _next_due(rt, position, sub.joined_at, previous_at)
    if following <= now:
        following = cpd_rules.next_slot(now, schedule(rt), rt.settings.timezone)
    if memo is not None:
        memo[key] = following
    return following


def _claim(session: Session, rt, sub: Subscription, now: datetime) -> bool:
    """The guarantee against sending twice: move next_lesson_at forward only if it still holds what we read."""
    return sub.id in _claim_many(session, rt, [sub], now)


def _claim_many(session: Session, rt, subs: list[Subscription], now: datetime) -> set[int]:
    """Claim subscriptions; returns the ids this transaction won.

    Each claim is the conditional UPDATE of next_lesson_at (only if it still holds the value we read), so a
    duplicated job, a second scheduler or a retried batch never sends a lesson twice. Subscriptions that
    were due at the same moment and move to the same next slot share one UPDATE ... WHERE id IN (...)
    RETURNING id: the rows returned are exactly those whose single-row UPDATE would have had rowcount 1.
    """
    memo: dict = {}
    groups: dict[tuple, list[Subscription]] = {}
    for sub in subs:
        groups.setdefault((sub.next_lesson_at, _following(rt, sub, now, memo)), []).append(sub)
    table = Subscription.__table__
    returning = session.get_bind().dialect.update_returning
    won: set[int] = set()
    for (due_at, following), members in groups.items():
        for start in range(0, len(members), 500):  # bound parameters per statement stay small everywhere
            chunk = members[start:start + 500]
            # Core on the session's connection: no ORM bookkeeping (nor an autoflush) per statement.
            claim = (update(table)
                     .where(table.c.active.is_(True), table.c.next_lesson_at == due_at)
                     .values(next_lesson_at=following, series_position=table.c.series_position + 1,
                             updated_at=now))
            if returning:
                won.update(session.connection().execute(
                    claim.where(_member_of(session, table.c.id, [sub.id for sub in chunk]))
                    .returning(table.c.id)).scalars())
            else:  # a database without UPDATE ... RETURNING: one claim per row, rowcount 1 wins
                for sub in chunk:
                    if session.connection().execute(claim.where(table.c.id == sub.id)).rowcount == 1:
                        won.add(sub.id)
        for sub in members:
            if sub.id in won:
                # What the UPDATE wrote, without marking the object dirty (that would UPDATE it again).
                set_committed_value(sub, "next_lesson_at", following)
                set_committed_value(sub, "series_position", sub.series_position + 1)
                set_committed_value(sub, "updated_at", now)
    return won


def lesson_drafts(rt, teacher: Teacher, lesson: Lesson, now: datetime, drafts: list) -> bool:
    """Add one teacher's lesson messages to `drafts`. Returns True when the WhatsApp template goes first."""
    lang = _lang(teacher)
    channel = teacher.channel
    via_template = False
    if channel == "whatsapp" and not outbound.whatsapp_window_open(teacher, now):
        template_sid = sids_for(rt)(LESSON_INVITE, lang)
        if template_sid:
            # Outside the 24-hour window only an approved template may go out. The lesson below is then held
            # by send_outbound and released when the teacher replies (outbound.release_held); kind "template"
            # also stops send_outbound from adding the answer-ready template.
            first_name = (teacher.name or "").split()[0] if teacher.name else ""
            drafts.append(outbound.MessageDraft(body="", kind="template", teacher=teacher, channel="whatsapp",
                                                content_sid=template_sid,
                                                content_variables=lesson_invite_variables(
                                                    first_name, lesson.text("title", lang), lang),
                                                lane=outbound.BULK))
            via_template = True
    body = sms_text(lesson, lang) if channel == "sms" else whatsapp_text(lesson, lang)
    drafts.append(outbound.MessageDraft(body=body, kind="lesson", teacher=teacher,
                                        choices=lesson_choices(body, lang)))
    return via_template


def lesson_choices(body: str, lang: str):
    """[Done] [Not yet] under a lesson: Done is DONE (both the keyword and the button's words credit it),
    Not yet only says DONE is still open (helpdesk.conversation)."""
    return choices_of(body, [content.text("choice_done", lang), content.text("choice_not_yet", lang)], lang)


def check_choices(teacher: Teacher, text: str):
    """The buttons or list of the check question the teacher's state holds (just asked): each choice's words
    cut to a title; the message above them keeps the numbered question whole."""
    titles = (teacher.state_data or {}).get("titles") or []
    return choices_of(text, titles, _lang(teacher)) if titles else None


def whatsapp_text(lesson: Lesson, lang: str) -> str:
    blocks = [f"*{_t(lang, 'lesson_head', title=lesson.text('title', lang), minutes=lesson.minutes)}*",
              *lesson.text("parts", lang),
              _t(lang, "try", activity=lesson.text("activity", lang)),
              _t(lang, "materials", materials=lesson.text("materials", lang)),
              _t(lang, "reflect", reflection=lesson.text("reflection", lang)),
              _t(lang, "footer", minutes=lesson.minutes)]
    return "\n\n".join(blocks)


def sms_text(lesson: Lesson, lang: str) -> str:
    return f"{lesson.text('sms', lang)}\n{_t(lang, 'sms_footer', minutes=lesson.minutes)}"
