"""The database edge of live sessions and teacher hubs: scheduling, booking, reminders, attendance (credited
to the CPD ledger), hub membership, meetings and the coordinator's digest. Every message goes through
helpdesk.outbound; reminders, announcements and digests take its bulk lane (kinds "reminder", "announcement").

Each sending stage is claimed before anything is sent, with a conditional UPDATE of its column
(`... SET day_reminders_at = now WHERE id = :id AND day_reminders_at IS NULL`, rowcount 1): a second
scheduler, a repeated tick or a retried job finds it taken and sends nothing.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from helpdesk import content, outbound
from helpdesk.channels.base import channel_of, phone_of
from helpdesk.cpd import rules as cpd_rules
from helpdesk.cpd import subscriptions as cpd
from helpdesk.models import CpdCredit, Teacher, utcnow
from helpdesk.models.programme import (
    Hub, HubMeeting, HubMeetingReply, HubMember, LiveSession, SessionBooking, SessionReminder,
)
from helpdesk.models.tickets import Expert
from helpdesk.programme import hubs as hub_rules
from helpdesk.programme import sessions as rules
from helpdesk.programme import texts

log = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9][0-9]{7,14}\Z")
LINK = re.compile(r"^https?://\S+\Z")
STAGE_COLUMNS = {"day": "day_reminders_at", "hour": "hour_reminders_at", "summary": "summary_sent_at"}
STAGE_KEYS = {"day": "live_reminder_day", "hour": "live_reminder_hour", "summary": "live_summary"}
LOOKBACK = timedelta(days=14)   # a summary still goes out when the recording link comes within two weeks
PROFILE_DIMS = ("role", "school_level", "school_type", "district")


class ProgrammeError(ValueError):
    """Input a lead can correct: shown on the console page, in words."""


def _lang(teacher: Teacher) -> str:
    return teacher.language if teacher.language in content.LANGUAGES else "en"


def _locked(db: Session, model, row_id: int):
    stmt = select(model).where(model.id == row_id)
    if db.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return db.scalars(stmt).first()


def reachable_teachers(db: Session):
    return select(Teacher).where(Teacher.opted_out_at.is_(None), Teacher.blocked.is_(False),
                                 Teacher.deleted_at.is_(None))


# --------------------------------------------------------------------------- scheduling (the console)

def parse_local(text: str, tz: str) -> datetime:
    """'2026-12-10 16:00' (or the browser's '2026-12-10T16:00') in the helpdesk time zone -> naive UTC."""
    try:
        local = datetime.fromisoformat((text or "").strip().replace("T", " "))
    except ValueError:
        raise ProgrammeError("date and time must look like 2026-12-10 16:00") from None
    return texts.to_utc(local.replace(tzinfo=None, second=0, microsecond=0), tz)


def _number(value, name: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ProgrammeError(f"{name} must be a whole number") from None
    if not low <= number <= high:
        raise ProgrammeError(f"{name} must be between {low} and {high}")
    return number


def save_session(db: Session, rt, *, title: str, area: str, starts: str, meeting_link: str, capacity,
                 duration_minutes=60, languages=("en", "ur", "roman-ur"), host_expert_id=None,
                 recording_link: str = "", session_id: int | None = None) -> LiveSession:
    """Create or edit a session from the console form (validated; raises ProgrammeError)."""
    from helpdesk.experts.tickets import taxonomy

    live = db.get(LiveSession, session_id) if session_id else LiveSession(status="scheduled")
    if live is None:
        raise LookupError(session_id)
    title = " ".join((title or "").split())
    if not title or len(title) > 120:
        raise ProgrammeError("a title of 1 to 120 characters is required")
    if area not in taxonomy()["areas"]:
        raise ProgrammeError("choose a teaching area")
    for link, name in ((meeting_link, "meeting link"), (recording_link, "recording link")):
        if link and not LINK.match(link.strip()):
            raise ProgrammeError(f"the {name} must start with https://")
    if not (meeting_link or "").strip():
        raise ProgrammeError("a meeting link is required")
    languages = [lang for lang in content.LANGUAGES if lang in set(languages or ())]
    if not languages:
        raise ProgrammeError("choose at least one language")
    host = None
    if host_expert_id not in (None, ""):
        host = db.get(Expert, _number(host_expert_id, "host", 1, 2**31 - 1))
        if host is None:
            raise ProgrammeError("no such host expert")
    live.title, live.area, live.meeting_link = title, area, meeting_link.strip()
    starts_at = parse_local(starts, rt.settings.timezone)
    if live.starts_at is not None and starts_at != live.starts_at:
        _forget_reminders(db, live)  # moved: remind again for the new time
    live.starts_at = starts_at
    live.capacity = _number(capacity, "capacity", 1, 100000)
    live.duration_minutes = _number(duration_minutes, "duration", 10, 480)
    live.languages, live.host_expert_id = languages, host.id if host else None
    live.recording_link = (recording_link or "").strip() or None
    db.add(live)
    db.flush()
    return live


def _forget_reminders(db: Session, live: LiveSession) -> None:
    bookings = select(SessionBooking.id).where(SessionBooking.session_id == live.id)
    db.execute(delete(SessionReminder).where(SessionReminder.booking_id.in_(bookings),
                                             SessionReminder.kind.in_(("day", "hour"))))
    live.day_reminders_at = live.hour_reminders_at = None


def cancel_session(db: Session, session_id: int) -> None:
    live = db.get(LiveSession, session_id)
    if live is None:
        raise LookupError(session_id)
    live.status = "cancelled"


def booked_counts(db: Session, session_ids: list[int]) -> dict[int, int]:
    if not session_ids:
        return {}
    rows = db.execute(select(SessionBooking.session_id, func.count(SessionBooking.id))
                      .where(SessionBooking.session_id.in_(session_ids), SessionBooking.status == "booked")
                      .group_by(SessionBooking.session_id))
    return dict(rows.all())


def facts_of(live: LiveSession, booked: int) -> rules.SessionFacts:
    return rules.SessionFacts(live.id, live.title, live.starts_at, live.duration_minutes, live.capacity, booked,
                              tuple(live.languages or ()), live.status)


# --------------------------------------------------------------------------- announcements

def announce_session(db: Session, rt, session_id: int, now: datetime | None = None) -> int:
    """Tell the teachers whose recent questions or district needs match the session's area (the lesson
    choice's evidence, helpdesk.cpd.subscriptions). Once per session. Returns the messages queued."""
    now = now or utcnow()
    claimed = db.execute(update(LiveSession).where(LiveSession.id == session_id, LiveSession.announced_at.is_(None),
                                                   LiveSession.status == "scheduled")
                         .values(announced_at=now)).rowcount
    if claimed != 1:
        return 0
    live = db.get(LiveSession, session_id)
    teachers = [t for t in db.scalars(reachable_teachers(db)) if rules.speaks(live.languages, _lang(t))]
    topics = cpd.recent_topics(db, rt, teachers, now)
    needs: dict[str | None, tuple] = {}
    drafts = []
    for teacher in teachers:
        if teacher.district not in needs:
            needs[teacher.district] = cpd.district_needs(db, rt, teacher.district, now)
        if not rules.matches_area(live.area, topics.get(teacher.id, ()), needs[teacher.district]):
            continue
        lang = _lang(teacher)
        body = texts.text("live_announce", lang, title=live.title, minutes=live.duration_minutes,
                          when=texts.when_text(live.starts_at, rt.settings.timezone, lang))
        drafts.append(outbound.MessageDraft(body=body, kind="announcement", teacher=teacher))
    outbound.queue_messages(db, drafts)
    log.info("live session %d announced to %d teachers", session_id, len(drafts))
    return len(drafts)


# --------------------------------------------------------------------------- the teacher's side

def upcoming_for(db: Session, teacher: Teacher, now: datetime) -> tuple[list[rules.SessionFacts], set[int]]:
    rows = db.scalars(select(LiveSession).where(LiveSession.status == "scheduled",
                                                LiveSession.starts_at >= now - rules.BOOKING_CLOSES)).all()
    counts = booked_counts(db, [row.id for row in rows])
    booked = set(db.scalars(select(SessionBooking.session_id).where(
        SessionBooking.teacher_id == teacher.id, SessionBooking.status == "booked")))
    shown = rules.upcoming([facts_of(row, counts.get(row.id, 0)) for row in rows], _lang(teacher), now, booked)
    return shown, booked


def book(db: Session, teacher: Teacher, session_id: int, now: datetime) -> tuple[str, LiveSession | None]:
    """('booked' | 'full' | 'gone', session). The session row is locked while places are counted (PostgreSQL),
    so two teachers tapping the last place at once cannot both get it."""
    live = _locked(db, LiveSession, session_id)
    if live is None or not rules.bookable(facts_of(live, 0), now):
        return "gone", live
    if booked_counts(db, [live.id]).get(live.id, 0) >= live.capacity:
        return "full", live
    booking = db.scalars(select(SessionBooking).where(SessionBooking.session_id == live.id,
                                                      SessionBooking.teacher_id == teacher.id)).first()
    if booking is None:
        db.add(SessionBooking(session_id=live.id, teacher_id=teacher.id, booked_at=now))
    else:
        booking.status, booking.booked_at, booking.cancelled_at = "booked", now, None
    db.flush()
    return "booked", live


def cancel_booking(db: Session, teacher: Teacher, session_id: int, now: datetime) -> LiveSession | None:
    booking = db.scalars(select(SessionBooking).where(SessionBooking.session_id == session_id,
                                                      SessionBooking.teacher_id == teacher.id)).first()
    if booking is None:
        return None
    booking.status, booking.cancelled_at = "cancelled", now
    return db.get(LiveSession, session_id)


def save_question(db: Session, teacher: Teacher, session_id: int, question: str) -> bool:
    booking = db.scalars(select(SessionBooking).where(SessionBooking.session_id == session_id,
                                                      SessionBooking.teacher_id == teacher.id,
                                                      SessionBooking.status == "booked")).first()
    if booking is None:
        return False
    booking.question = question.strip()[:1000]
    return True


def mark_attended(db: Session, booking_id: int, now: datetime) -> int | None:
    """Attendance, once: the host's tick or the teacher's JOINED. Credits the session's minutes to the CPD
    ledger (helpdesk.models.CpdCredit). Returns the minutes credited, None when already recorded."""
    claimed = db.execute(update(SessionBooking).where(SessionBooking.id == booking_id,
                                                      SessionBooking.attended.is_(False))
                         .values(attended=True, attended_at=now)).rowcount
    if claimed != 1:
        return None
    booking = db.get(SessionBooking, booking_id)
    db.refresh(booking)
    live = db.get(LiveSession, booking.session_id)
    db.add(CpdCredit(teacher_id=booking.teacher_id, booking_id=booking.id, lesson_id=f"live-{live.id}",
                     minutes=live.duration_minutes, credited_at=now))
    db.flush()
    return live.duration_minutes


def join(db: Session, teacher: Teacher, now: datetime) -> tuple[str, LiveSession | None, int]:
    """JOINED: ('credited' | 'already' | 'none', session, minutes) for the booked session running now."""
    rows = db.execute(select(SessionBooking, LiveSession).join(LiveSession)
                      .where(SessionBooking.teacher_id == teacher.id, SessionBooking.status == "booked",
                             LiveSession.starts_at <= now + rules.JOIN_EARLY,
                             LiveSession.starts_at >= now - timedelta(hours=12))
                      .order_by(LiveSession.starts_at.desc())).all()
    for booking, live in rows:
        if rules.running_for_join(facts_of(live, 0), now):
            minutes = mark_attended(db, booking.id, now)
            return ("already", live, 0) if minutes is None else ("credited", live, minutes)
    return "none", None, 0


# --------------------------------------------------------------------------- reminders and summaries

def send_due(db: Session, rt, now: datetime) -> int:
    """The scheduler's tick: every sending stage due now (reminders a day and an hour before, the summary
    after), each claimed once per session. Returns the messages queued."""
    rows = db.scalars(select(LiveSession).where(LiveSession.status == "scheduled",
                                                LiveSession.starts_at <= now + rules.DAY_BEFORE,
                                                LiveSession.starts_at >= now - LOOKBACK)).all()
    queued = 0
    for live in rows:
        done = {stage: getattr(live, column) is not None for stage, column in STAGE_COLUMNS.items()}
        stage = rules.due_stage(facts_of(live, 0), now, done, bool(live.recording_link))
        if stage is not None:
            queued += _send_stage(db, rt, live, stage, now)
    return queued


def _send_stage(db: Session, rt, live: LiveSession, stage: str, now: datetime) -> int:
    column = getattr(LiveSession, STAGE_COLUMNS[stage])
    claimed = db.execute(update(LiveSession).where(LiveSession.id == live.id, column.is_(None))
                         .values({STAGE_COLUMNS[stage]: now})).rowcount
    if claimed != 1:
        return 0  # another tick has it
    wanted = [SessionBooking.session_id == live.id, SessionBooking.status == "booked"]
    if stage == "summary":
        wanted.append(SessionBooking.attended.is_(True))
    pairs = db.execute(select(SessionBooking, Teacher).join(Teacher).where(*wanted)).all()
    drafts = []
    for booking, teacher in pairs:
        lang = _lang(teacher)
        link = live.recording_link if stage == "summary" else live.meeting_link
        body = texts.text(STAGE_KEYS[stage], lang, title=live.title, link=link,
                          when=texts.when_text(live.starts_at, rt.settings.timezone, lang))
        drafts.append(outbound.MessageDraft(body=body, kind="reminder", teacher=teacher))
        db.add(SessionReminder(booking_id=booking.id, kind=stage, sent_at=now))
    if stage == "summary":
        db.execute(update(LiveSession).where(LiveSession.id == live.id).values(status="done"))
    outbound.queue_messages(db, drafts)
    log.info("live session %d: %s sent to %d teachers", live.id, stage, len(drafts))
    return len(drafts)


# --------------------------------------------------------------------------- the host's page

def host_view(db: Session, rt, session_id: int) -> dict:
    """The booked teachers' questions (scrubbed, listed apart from who asked), their anonymous profile mix
    (k-suppressed) and the attendance list."""
    live = db.get(LiveSession, session_id)
    if live is None:
        raise LookupError(session_id)
    rows = db.execute(select(SessionBooking, Teacher).join(Teacher)
                      .where(SessionBooking.session_id == session_id, SessionBooking.status == "booked")
                      .order_by(SessionBooking.booked_at, SessionBooking.id)).all()
    profiles = [{dim: getattr(teacher, dim) for dim in PROFILE_DIMS} for _, teacher in rows]
    from analytics.redact import scrub

    return dict(
        session=live,
        # Initials or a pseudonym (as on the reflections page), never the number: what the host ticks.
        bookings=[dict(id=b.id, attended=b.attended, label=cpd.public_label(rt, t)) for b, t in rows],
        questions=[scrub(b.question, [t.name]) for b, t in rows if b.question],
        mix=rules.profile_mix(profiles, PROFILE_DIMS, rt.settings.report_min_teachers),
        booked=len(rows), attended=sum(1 for b, _ in rows if b.attended),
    )


def hosted_by(db: Session, user_id: int) -> set[int]:
    """Ids of the sessions the console user hosts (through their expert profile)."""
    return set(db.scalars(select(LiveSession.id).join(Expert, Expert.id == LiveSession.host_expert_id)
                          .where(Expert.user_id == user_id)))


def demand_by_area(db: Session, k: int, since: datetime | None = None) -> list[dict]:
    """Per teaching area: sessions held or planned, teachers who booked and who attended. A count of fewer
    than k teachers is not shown (None), like every planner number."""
    stmt = (select(LiveSession.area, func.count(func.distinct(LiveSession.id)),
                   func.count(func.distinct(SessionBooking.teacher_id)))
            .outerjoin(SessionBooking, (SessionBooking.session_id == LiveSession.id)
                       & (SessionBooking.status == "booked"))
            .where(LiveSession.status != "cancelled").group_by(LiveSession.area))
    attended = (select(LiveSession.area, func.count(func.distinct(SessionBooking.teacher_id)))
                .join(SessionBooking, SessionBooking.session_id == LiveSession.id)
                .where(SessionBooking.attended.is_(True)).group_by(LiveSession.area))
    if since is not None:
        stmt, attended = stmt.where(LiveSession.starts_at >= since), attended.where(LiveSession.starts_at >= since)
    came = dict(db.execute(attended).all())
    out = []
    for area, sessions_count, booked in db.execute(stmt).all():
        out.append(dict(area=area, sessions=sessions_count, booked=booked if booked >= k else None,
                        attended=came.get(area, 0) if came.get(area, 0) >= k else None))
    return sorted(out, key=lambda row: row["area"])


# --------------------------------------------------------------------------- hubs

def save_hub(db: Session, *, name: str, district: str, coordinator_phone: str, tehsil: str = "",
             markaz: str = "", now: datetime | None = None, tz: str = "Asia/Karachi") -> Hub:
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise ProgrammeError("a hub name of 1 to 120 characters is required")
    found = content.find_district(district or "")
    if not found:
        raise ProgrammeError("unknown district")
    phone = phone_of((coordinator_phone or "").strip())
    if not E164.match(phone):
        raise ProgrammeError("the coordinator's phone must be in international format, e.g. +923001234567")
    month = texts.local(now or utcnow(), tz).strftime("%Y-%m")  # the first digest covers the next full month
    hub = Hub(name=name, district=found, tehsil=(tehsil or "").strip() or None,
              markaz=(markaz or "").strip() or None, coordinator_phone=phone, digest_month=month)
    db.add(hub)
    db.flush()
    return hub


def hub_facts(hub: Hub) -> hub_rules.HubFacts:
    return hub_rules.HubFacts(hub.id, hub.name, hub.district, hub.tehsil, hub.markaz)


def hubs_in(db: Session, district: str | None) -> list[hub_rules.HubFacts]:
    rows = db.scalars(select(Hub).where(Hub.active.is_(True))).all()
    return hub_rules.hubs_for([hub_facts(h) for h in rows], district)


def join_hub(db: Session, teacher: Teacher, hub_id: int, now: datetime) -> Hub | None:
    hub = db.get(Hub, hub_id)
    if hub is None or not hub.active:
        return None
    member = db.scalars(select(HubMember).where(HubMember.teacher_id == teacher.id)).first()
    if member is None:
        db.add(HubMember(hub_id=hub.id, teacher_id=teacher.id, joined_at=now))
    elif member.hub_id != hub.id:
        member.hub_id, member.joined_at = hub.id, now
    db.flush()
    return hub


def announce_meeting(db: Session, rt, hub_id: int, *, starts: str, place: str, topic: str,
                     now: datetime | None = None) -> HubMeeting:
    """A hub meeting, announced to the members with two answers (coming / not), read back through the member's
    state. A member in the middle of something else (onboarding, a lesson check) keeps that state: the
    announcement reaches them, but their answer is read by what they were doing."""
    from helpdesk.programme import chat

    now = now or utcnow()
    hub = db.get(Hub, hub_id)
    if hub is None:
        raise LookupError(hub_id)
    place, topic = " ".join((place or "").split()), " ".join((topic or "").split())
    if not place or not topic or len(place) > 200 or len(topic) > 200:
        raise ProgrammeError("a place and a topic (up to 200 characters each) are required")
    meeting = HubMeeting(hub_id=hub.id, starts_at=parse_local(starts, rt.settings.timezone), place=place,
                         topic=topic, created_at=now, announced_at=now)
    if meeting.starts_at <= now:
        raise ProgrammeError("the meeting must be in the future")
    db.add(meeting)
    db.flush()
    members = db.scalars(reachable_teachers(db).join(HubMember, HubMember.teacher_id == Teacher.id)
                         .where(HubMember.hub_id == hub.id)).all()
    drafts = []
    for teacher in members:
        lang = _lang(teacher)
        body, choices, titles = hub_rules.meeting_message(hub.name, topic, place, meeting.starts_at,
                                                          rt.settings.timezone, lang)
        drafts.append(outbound.MessageDraft(body=body, kind="announcement", teacher=teacher, choices=choices))
        if chat.state_is_free(teacher, now):
            chat.set_state(teacher, "hub_meeting", now, options=["yes", "no"], titles=titles,
                           meeting_id=meeting.id)
    outbound.queue_messages(db, drafts)
    return meeting


def answer_meeting(db: Session, teacher: Teacher, meeting_id: int, coming: bool, now: datetime) -> bool:
    meeting = db.get(HubMeeting, meeting_id)
    if meeting is None:
        return False
    reply = db.scalars(select(HubMeetingReply).where(HubMeetingReply.meeting_id == meeting_id,
                                                     HubMeetingReply.teacher_id == teacher.id)).first()
    if reply is None:
        db.add(HubMeetingReply(meeting_id=meeting_id, teacher_id=teacher.id, coming=coming, replied_at=now))
    else:
        reply.coming, reply.replied_at = coming, now
    db.flush()
    return True


def hub_area_teachers(db: Session, rt, hub_id: int, now: datetime) -> dict[str, int]:
    """Area -> how many of the hub's members asked about it lately: the lesson choice's evidence
    (cpd.recent_topics: analytics interactions by pseudonym, the last lesson_choice.RECENT_WEEKS weeks)."""
    members = db.scalars(select(Teacher).join(HubMember, HubMember.teacher_id == Teacher.id)
                         .where(HubMember.hub_id == hub_id)).all()
    counts: dict[str, int] = {}
    for ranked in cpd.recent_topics(db, rt, members, now).values():
        for area, _questions in ranked:
            counts[area] = counts.get(area, 0) + 1
    return counts


def hub_overview(db: Session, rt, now: datetime) -> list[dict]:
    """The planner's view: per hub its members and top challenges (areas under k teachers never shown)."""
    from helpdesk.experts.tickets import taxonomy

    areas = taxonomy()["areas"]
    k = rt.settings.report_min_teachers
    out = []
    for hub in db.scalars(select(Hub).order_by(Hub.district, Hub.name)).all():
        members = db.scalar(select(func.count(HubMember.id)).where(HubMember.hub_id == hub.id)) or 0
        top = hub_rules.top_challenges(hub_area_teachers(db, rt, hub.id, now), k)
        out.append(dict(hub=hub, members=members if members >= k else None,
                        challenges=[(areas[a].en if a in areas else a, n) for a, n in top]))
    return out


def send_hub_digests(db: Session, rt, now: datetime) -> int:
    """The monthly digest to each hub's coordinator: sent once per local month (claimed with digest_month),
    about the month that just ended."""
    from helpdesk.experts.tickets import taxonomy

    local_now = texts.local(now, rt.settings.timezone)
    month = local_now.strftime("%Y-%m")
    month_start = texts.to_utc(local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
                               rt.settings.timezone)
    previous_start = texts.to_utc((texts.local(month_start, rt.settings.timezone) - timedelta(days=1))
                                  .replace(day=1), rt.settings.timezone)
    areas = taxonomy()["areas"]
    sent = 0
    for hub in db.scalars(select(Hub).where(Hub.active.is_(True))).all():
        claimed = db.execute(update(Hub).where(Hub.id == hub.id, (Hub.digest_month.is_(None))
                                               | (Hub.digest_month != month)).values(digest_month=month)).rowcount
        if claimed != 1:
            continue
        teacher = db.scalars(select(Teacher).where(Teacher.phone == hub.coordinator_phone)).first()
        lang = _lang(teacher) if teacher is not None else "en"
        members = db.scalar(select(func.count(HubMember.id)).where(HubMember.hub_id == hub.id)) or 0
        new = db.scalar(select(func.count(HubMember.id)).where(
            HubMember.hub_id == hub.id, HubMember.joined_at >= previous_start, HubMember.joined_at < month_start)) or 0
        meeting_ids = list(db.scalars(select(HubMeeting.id).where(
            HubMeeting.hub_id == hub.id, HubMeeting.starts_at >= previous_start, HubMeeting.starts_at < month_start)))
        coming = db.scalar(select(func.count(HubMeetingReply.id)).where(
            HubMeetingReply.meeting_id.in_(meeting_ids), HubMeetingReply.coming.is_(True))) if meeting_ids else 0
        top = hub_rules.top_challenges(hub_area_teachers(db, rt, hub.id, now), rt.settings.report_min_teachers)
        label = lambda a: (areas[a].ur if lang == "ur" else areas[a].en) if a in areas else a  # noqa: E731
        body = hub_rules.digest_text(
            hub_name=hub.name, month_label=texts.local(previous_start, rt.settings.timezone).strftime("%Y-%m"),
            members=members, new=new, meetings=len(meeting_ids), coming=coming or 0,
            challenges=[label(a) for a, _ in top], language=lang)
        _send_to_coordinator(db, hub, teacher, body)
        sent += 1
    return sent


def _send_to_coordinator(db: Session, hub: Hub, teacher: Teacher | None, body: str) -> None:
    if teacher is not None:
        outbound.queue_message(db, body=body, kind="announcement", teacher=teacher)
        return
    expert = db.scalars(select(Expert).where(Expert.phone == hub.coordinator_phone)).first()
    channel = expert.channel if expert is not None else "sms"
    address = f"whatsapp:{hub.coordinator_phone}" if channel == "whatsapp" else hub.coordinator_phone
    outbound.queue_message(db, body=body, kind="announcement", to_address=address, channel=channel_of(address))


def forget_teacher(db: Session, teacher: Teacher) -> None:
    """DELETE MY DATA (helpdesk.erasure): the questions for hosts and the hub membership go; bookings,
    attendance and meeting answers stay as anonymous counts."""
    db.execute(update(SessionBooking).where(SessionBooking.teacher_id == teacher.id).values(question=None))
    db.execute(delete(HubMember).where(HubMember.teacher_id == teacher.id))


def credited_total_text(db: Session, teacher_id: int) -> str:
    return cpd_rules.hours_text(cpd.credited_minutes(db, teacher_id))
