"""The expert queue: tickets opened on escalation, routed to experts, answered from a phone or the console,
and delivered to the teacher on the channel (and within the WhatsApp window) that reaches them.

Data functions: they take `session` first and never commit. Messages go through `outbound.queue_message`,
so nothing is sent before the caller's transaction commits.
"""
from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analytics.taxonomy import load_taxonomy, profile_band
from helpdesk import content, outbound
from helpdesk.channels.base import address_for, phone_of
from helpdesk.conversation import choices_of, expert_rating_choices
from helpdesk.experts import routing
from helpdesk.models import InboundMessage, OutboundMessage, Teacher, utcnow
from helpdesk.models.tickets import ACTIVE_STATUSES, Expert, Ticket, TicketEvent
from helpdesk.privacy import mask_phone

log = logging.getLogger(__name__)

CONVERSATION_MESSAGES = 10  # how much of the recent conversation a ticket keeps
RATING_WINDOW = timedelta(days=3)  # a "1"/"2" this long after an expert's answer is its rating
NEAREST_FAQ_MIN_SCORE = 0.2  # below this the nearest FAQ says nothing about the subject
OPEN_WORDS = {"open", "kholo", "khol", "کھولیں", "کھولو"}

class TicketError(ValueError):
    """An action that is not allowed on this ticket now (closed, not yours...). The text is for the user."""


# --- taxonomy labels -----------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def taxonomy() -> dict:
    """The shipped taxonomy (read by analytics.taxonomy, the one loader) as {section: {slug: label}},
    for the console's menus and the labels below."""
    tax = load_taxonomy()
    return {"areas": {a.slug: a for a in tax.areas}, "subjects": {s.slug: s for s in tax.subjects},
            "grade_bands": {b.slug: b for b in tax.grade_bands}}


def label(section: str, slug: str | None) -> str:
    if not slug:
        return ""
    item = taxonomy()[section].get(slug)
    return item.en if item else slug


def short_band(slug: str | None) -> str:
    # "Primary (grades 1-5)" is long for a phone notification; "Primary" says enough.
    return label("grade_bands", slug).split(" (")[0]


# --- the contract the conversation calls -------------------------------------------------------

def open_ticket(session: Session, rt, *, teacher: Teacher, inbound: InboundMessage | None, question: str,
                match=None, urgent: bool = False, reason: str, interaction_id: int | None = None,
                triage=None) -> Ticket:
    """Open a ticket for an escalated question and assign it (or queue it) at once. An urgent one also goes to
    the on-call lead's phone at once."""
    guess = taxonomy_guess(rt, match, teacher)
    ticket = Ticket(
        teacher_id=teacher.id, inbound_id=inbound.id if inbound is not None else None,
        interaction_id=interaction_id, question=question.strip() or "(no text)", reason=reason[:40],
        language=teacher.language or "en", conversation=recent_conversation(session, teacher),
        match_info=match_summary(match), profile=teacher_profile(teacher),
        area=guess.area, subject=guess.subject, grade_band=guess.grade_band, nearest_faq_id=guess.faq_id,
        priority="urgent" if urgent else "normal", status="open",
    )
    session.add(ticket)
    session.flush()
    record(session, ticket, "system", "opened", f"{ticket.priority}, reason: {reason}")
    if triage is not None:
        record(session, ticket, "system", "flagged", f"{triage.category}, score {triage.score}, rule {triage.rule}")
    route_ticket(session, rt, ticket)
    if urgent:
        alert_oncall(session, rt, ticket)
    log.info("ticket %s opened for %s (%s, %s)", ticket.id, mask_phone(teacher.phone), ticket.subject,
             ticket.priority)
    return ticket


def active_ticket(session: Session, teacher: Teacher) -> Ticket | None:
    """The teacher's ticket still waiting for an expert (a follow-up attaches to it)."""
    return session.scalars(
        select(Ticket).where(Ticket.teacher_id == teacher.id, Ticket.status.in_(ACTIVE_STATUSES))
        .order_by(Ticket.id.desc()).limit(1)
    ).first()


def add_followup(session: Session, rt, ticket: Ticket, inbound: InboundMessage) -> None:
    body = (inbound.body or "").strip() or f"({inbound.num_media} attachment(s))"
    ticket.conversation = [*ticket.conversation, _line("in", body, inbound.received_at)][-50:]
    ticket.updated_at = utcnow()
    record(session, ticket, "teacher", "followup", body)
    if ticket.assignee is not None:
        notify_expert(session, ticket.assignee,
                      f"#{ticket.id} follow-up from the teacher: {_clip(body, 400)}", ticket=ticket)


def awaiting_expert_rating(session: Session, teacher: Teacher) -> Ticket | None:
    """The answered ticket a "1"/"2" from the teacher would rate, if any."""
    since = utcnow() - RATING_WINDOW
    return session.scalars(
        select(Ticket).where(Ticket.teacher_id == teacher.id, Ticket.status == "answered",
                             Ticket.rating.is_(None), Ticket.answered_at >= since)
        .order_by(Ticket.answered_at.desc()).limit(1)
    ).first()


def rate_answer(session: Session, rt, ticket: Ticket, rating: int) -> None:
    """1: it helped, the ticket closes. 2: it did not, the ticket reopens and goes back to an expert."""
    if rating not in (1, 2):
        raise ValueError("rating must be 1 (helped) or 2 (did not help)")
    now = utcnow()
    ticket.rating, ticket.rated_at, ticket.updated_at = rating, now, now
    record(session, ticket, "teacher", "rated", "helped" if rating == 1 else "did not help")
    _analytics_call("set_rating", session, ticket.interaction_id, rating)
    if rating == 1:
        ticket.status, ticket.closed_at = "closed", now
        record(session, ticket, "system", "closed", "the teacher said the answer helped")
        return
    ticket.status, ticket.closed_at = "reopened", None
    record(session, ticket, "system", "reopened", "the teacher said the answer did not help")
    previous = ticket.answered_by
    _unassign(ticket)  # so it does not count against the load it is about to be weighed by
    # The expert who answered knows the question best: back to them if they still have room.
    if previous is not None and previous.active and _load(session, previous.id) < previous.capacity:
        assign_ticket(session, rt, ticket, previous, "system")
    else:
        route_ticket(session, rt, ticket)


def expert_for_phone(session: Session, phone: str) -> Expert | None:
    phone = phone_of(phone)
    return session.scalars(select(Expert).where(Expert.phone == phone, Expert.active.is_(True))).first()


def handle_expert_message(session: Session, rt, expert: Expert, inbound: InboundMessage) -> None:
    """`#123 <answer>`, `#123 pass`, `#123 close` (and `#123` alone: show it again) from an expert's phone."""
    command = parse_command(inbound.body or "") or _tapped_command(session, expert, inbound)
    if command is None:
        notify_expert(session, expert, "To answer a ticket reply #<number> followed by your answer. "
                                       "#<number> pass returns it to the queue, #<number> close closes it.")
        return
    ticket = session.get(Ticket, command.ticket_id)
    if ticket is None:
        notify_expert(session, expert, f"There is no ticket #{command.ticket_id}.")
        return
    if not can_act(expert, ticket):
        record(session, ticket, expert.name, "refused",
               f"{command.action} from an expert it is not assigned to")
        notify_expert(session, expert, f"Sorry, ticket #{ticket.id} is not assigned to you, so your message "
                                       "was not sent. Only its expert or a lead can act on it.", ticket=ticket)
        return
    try:
        reply = _run_command(session, rt, expert, ticket, command)
    except TicketError as exc:
        reply = str(exc)
    notify_expert(session, expert, reply, ticket=ticket)


# The buttons under a ticket notice, in option order: a tap sends the option's number.
EXPERT_ACTIONS = ("Answer", "Pass", "Close")


def _tapped_command(session: Session, expert: Expert, inbound: InboundMessage) -> "Command | None":
    """A tap on a ticket notice's buttons: the ticket is the notice's (the tap names the message it answers;
    without that name, the expert's latest notice with buttons). Answer asks for the text; Pass, Close act."""
    extra = inbound.extra or {}
    payload = (extra.get("ButtonPayload") or extra.get("ListId") or "").strip()
    if payload not in ("1", "2", "3"):
        return None
    # The expert's recent notices with buttons (filtered here: a JSON column may hold JSON null, not NULL).
    recent = session.execute(
        select(OutboundMessage.ticket_id, OutboundMessage.twilio_sid, OutboundMessage.choices).where(
            OutboundMessage.to_address.in_((expert.phone, f"whatsapp:{expert.phone}")),
            OutboundMessage.ticket_id.is_not(None)).order_by(OutboundMessage.id.desc()).limit(50)).all()
    notices = [(ticket_id, sid) for ticket_id, sid, choices in recent if choices]
    replied = extra.get("OriginalRepliedMessageSid")
    # A tap names the message it answers: never guess another ticket for it (Pass or Close would act on it).
    ticket_id = next((ticket_id for ticket_id, sid in notices if sid == replied) if replied
                     else (ticket_id for ticket_id, _ in notices), None)
    if ticket_id is None:
        return None
    return Command(ticket_id, {"1": "ask", "2": "pass", "3": "close"}[payload])


def _run_command(session: Session, rt, expert: Expert, ticket: Ticket, command: "Command") -> str:
    if command.action == "pass":
        pass_ticket(session, rt, ticket, expert.name, expert=expert)
        return f"#{ticket.id} is back in the queue. Thank you."
    if command.action == "close":
        close_ticket(session, rt, ticket, expert.name)
        return f"#{ticket.id} is closed."
    if command.action == "show":
        return ticket_notice(ticket)
    if command.action == "ask":
        return f"Reply #{ticket.id} followed by your answer: it goes to the teacher."
    relay_answer(session, rt, ticket, answer=command.text, actor=expert.name, expert=expert)
    return f"#{ticket.id}: your answer was sent to the teacher. Thank you."


# --- safeguarding flags ------------------------------------------------------------------------

FALSE_ALARM = "false alarm"   # the event kind a lead's mark leaves; service_figures counts these


def alert_oncall(session: Session, rt, ticket: Ticket) -> None:
    """The on-call lead hears of an urgent ticket at once, by SMS (a WhatsApp notice outside their 24-hour
    window would be refused), with the teacher's number to call back. No on-call phone set: every active lead
    is told on their own phone instead, and the teacher was not promised a call."""
    teacher = ticket.teacher
    category = ticket.reason.removeprefix("urgent:")
    body = (f"URGENT {category.replace('_', ' ')} #{ticket.id} from {teacher.name or 'a teacher'} "
            f"({teacher.phone}, {teacher.district or 'district unknown'}): {_clip(ticket.question, 300)}\n"
            f"Call them back, then reply #{ticket.id} with what you told them.")
    phone = rt.settings.oncall_phone
    if phone:
        outbound.queue_message(session, body=body, kind="oncall", to_address=phone, channel="sms")
        record(session, ticket, "system", "on-call told", f"SMS to the on-call phone {mask_phone(phone)}")
        return
    tell_leads(session, ticket, body)


def is_flag(ticket: Ticket) -> bool:
    return ticket.reason.startswith("urgent:")


def mark_false_alarm(session: Session, ticket: Ticket, actor: str, note: str = "") -> None:
    """A lead says the flag was wrong: the ticket leaves the urgent queue and stays open as an ordinary
    question. The mark is kept in the history (never removed) and counted in the service figures."""
    if not is_flag(ticket):
        raise TicketError(f"#{ticket.id} was not flagged as urgent.")
    if any(event.kind == FALSE_ALARM for event in ticket.events):
        raise TicketError(f"#{ticket.id} is already marked as a false alarm.")
    ticket.priority, ticket.updated_at = "normal", utcnow()
    record(session, ticket, actor, FALSE_ALARM, note.strip())


# --- phone commands (pure parsing) -------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    ticket_id: int
    action: str  # answer | pass | close | show | ask (the Answer button: how to send one)
    text: str = ""


_COMMAND = re.compile(r"^\s*#\s*(\d{1,9})\b[\s:.,-]*(.*)$", re.DOTALL)


def parse_command(body: str) -> Command | None:
    found = _COMMAND.match(body or "")
    if not found:
        return None
    ticket_id, rest = int(found.group(1)), found.group(2).strip()
    word = rest.lower().rstrip(".!")
    if word in ("pass", "close"):
        return Command(ticket_id, word)
    if not rest:
        return Command(ticket_id, "show")
    return Command(ticket_id, "answer", rest)


def can_act(expert: Expert, ticket: Ticket) -> bool:
    return expert.active and (expert.is_lead or ticket.assignee_id == expert.id)


# --- actions (shared by the phone and the console) ----------------------------------------------

def relay_answer(session: Session, rt, ticket: Ticket, *, answer: str, actor: str,
                 expert: Expert | None = None, faq_id: str | None = None) -> list[OutboundMessage]:
    answer = answer.strip()
    if not answer:
        raise TicketError("The answer is empty.")
    if ticket.status == "closed":
        raise TicketError(f"#{ticket.id} is closed; nothing was sent.")
    now = utcnow()
    if ticket.due_at is not None and now > ticket.due_at:
        ticket.sla_breaches += 1  # answered, but after the target (the check did not reassign it yet)
    ticket.answer, ticket.answer_faq_id = answer, faq_id
    # A new answer (after "did not help") is rated afresh; the earlier rating stays in the history.
    ticket.rating, ticket.rated_at = None, None
    ticket.first_response_at = ticket.first_response_at or now
    ticket.answered_at, ticket.updated_at, ticket.due_at = now, now, None
    ticket.answered_by_id = expert.id if expert is not None else None
    ticket.answered_by_name = actor
    ticket.status = "answered"
    record(session, ticket, actor, "answered", answer)
    _analytics_call("set_resolved", session, ticket.interaction_id, now)
    return deliver_answer(session, rt, ticket, answer)


def deliver_answer(session: Session, rt, ticket: Ticket, answer: str) -> list[OutboundMessage]:
    """Send the answer on the teacher's channel. Outside the WhatsApp window the send path holds it and sends
    the "answer ready, reply OPEN" template; with the SMS fallback on, it goes by SMS at once instead."""
    teacher = ticket.teacher
    body = content.text("expert_answer", teacher.language or "en", answer=answer)
    channel = teacher.channel
    if channel == "whatsapp" and not outbound.whatsapp_window_open(teacher):
        if rt.settings.answer_sms_fallback:
            channel = "sms"
            record(session, ticket, "system", "delivery", "WhatsApp window closed: answer sent by SMS")
        else:
            record(session, ticket, "system", "delivery",
                   "WhatsApp window closed: answer held until the teacher replies (template sent)")
    # The answer goes in reply to the teacher's latest message, for the conversation view.
    return outbound.queue_message(session, teacher=teacher, body=body, kind="relay", channel=channel,
                                  in_reply_to_id=ticket.inbound_id,
                                  choices=expert_rating_choices(body, teacher.language or "en"))


def pass_ticket(session: Session, rt, ticket: Ticket, actor: str, expert: Expert | None = None) -> None:
    if ticket.status in ("closed", "answered"):
        raise TicketError(f"#{ticket.id} is {ticket.status}; there is nothing to pass.")
    previous = ticket.assignee_id
    _unassign(ticket)
    record(session, ticket, actor, "passed", "returned to the queue")
    # Not straight back to the expert who passed it.
    route_ticket(session, rt, ticket, exclude={previous} if previous else set())


def close_ticket(session: Session, rt, ticket: Ticket, actor: str, note: str = "") -> None:
    if ticket.status == "closed":
        raise TicketError(f"#{ticket.id} is already closed.")
    now = utcnow()
    ticket.status, ticket.closed_at, ticket.updated_at, ticket.due_at = "closed", now, now, None
    record(session, ticket, actor, "closed", note)


def retag_ticket(session: Session, ticket: Ticket, actor: str, *, area: str | None, subject: str | None,
                 grade_band: str | None) -> None:
    tax = taxonomy()
    for value, section in ((area, "areas"), (subject, "subjects"), (grade_band, "grade_bands")):
        if value and value not in tax[section]:
            raise TicketError(f"Unknown {section[:-1].replace('_', ' ')}: {value}")
    ticket.area = area or None
    ticket.subject = subject or ticket.subject
    ticket.grade_band = grade_band or None
    ticket.updated_at = utcnow()
    record(session, ticket, actor, "retagged",
           f"{ticket.area} / {ticket.subject} / {ticket.grade_band or '-'}")
    if ticket.interaction_id and ticket.area:
        _analytics_call("set_taxonomy", session, ticket.interaction_id, ticket.area, ticket.subject,
                        ticket.grade_band, source="expert")


def take_ticket(session: Session, rt, ticket: Ticket, expert: Expert) -> None:
    if ticket.status not in ACTIVE_STATUSES:
        raise TicketError(f"#{ticket.id} is {ticket.status}.")
    if ticket.assignee_id not in (None, expert.id) and not expert.is_lead:
        raise TicketError(f"#{ticket.id} is assigned to someone else.")
    assign_ticket(session, rt, ticket, expert, expert.name)


# --- console actions: a lead's assignment, reopening, notes between experts -------------------------

NOTE = "note"  # the event kind of an internal note: shown to experts, never sent to the teacher


def assign_to_expert(session: Session, rt, ticket: Ticket, expert: Expert, actor: str) -> None:
    """A lead hands the ticket to a named expert (whatever routing would choose); they are told at once."""
    if ticket.status not in ACTIVE_STATUSES:
        raise TicketError(f"#{ticket.id} is {ticket.status}; reopen it before assigning it.")
    if not expert.active:
        raise TicketError(f"{expert.name} is not active.")
    if ticket.assignee_id == expert.id:
        raise TicketError(f"#{ticket.id} is already assigned to {expert.name}.")
    if ticket.assignee_id is not None:
        ticket.reassignments += 1
    assign_ticket(session, rt, ticket, expert, actor)


def reopen_ticket(session: Session, rt, ticket: Ticket, actor: str, note: str = "") -> Expert | None:
    """A closed or answered ticket goes back to work: to the expert who answered it if they have room,
    otherwise through routing like any new ticket. The teacher is not messaged."""
    if ticket.status in ACTIVE_STATUSES:
        raise TicketError(f"#{ticket.id} is still open.")
    ticket.status, ticket.closed_at, ticket.updated_at = "reopened", None, utcnow()
    record(session, ticket, actor, "reopened", note.strip())
    previous = ticket.answered_by
    if previous is not None and previous.active and _load(session, previous.id) < previous.capacity:
        assign_ticket(session, rt, ticket, previous, actor)
        return previous
    return route_ticket(session, rt, ticket)


def add_note(session: Session, ticket: Ticket, actor: str, text: str) -> TicketEvent:
    text = text.strip()
    if not text:
        raise TicketError("The note is empty.")
    ticket.updated_at = utcnow()
    return record(session, ticket, actor, NOTE, text[:4000])


# --- routing -------------------------------------------------------------------------------------

def target_minutes(settings, priority: str) -> int:
    if priority == "urgent":
        return settings.ticket_target_minutes_urgent
    return settings.ticket_target_minutes_normal


def route_ticket(session: Session, rt, ticket: Ticket, exclude: set[int] | None = None,
                 note_queued: bool = True) -> Expert | None:
    """Assign to the best expert on duty, or leave the ticket in its subject's unassigned queue."""
    experts = session.scalars(select(Expert).where(Expert.active.is_(True))).all()
    loads = _loads(session)
    slots = [expert_slot(e, loads.get(e.id, 0)) for e in experts]
    needs = routing.TicketNeeds(subject=ticket.subject, grade_band=ticket.grade_band,
                                language=ticket.language, exclude=frozenset(exclude or ()),
                                urgent=ticket.priority == "urgent")
    chosen = routing.choose_expert(slots, needs, utcnow())
    if chosen is None:
        _unassign(ticket)
        if note_queued:
            record(session, ticket, "system", "queued", f"no matching expert on duty; waiting in the "
                                                        f"{label('subjects', ticket.subject)} queue")
        return None
    expert = next(e for e in experts if e.id == chosen)
    assign_ticket(session, rt, ticket, expert, "system")
    return expert


def expert_slot(expert: Expert, load: int) -> routing.ExpertSlot:
    return routing.ExpertSlot(
        id=expert.id, subjects=tuple(expert.subjects or ()), grade_bands=tuple(expert.grade_bands or ()),
        languages=tuple(expert.languages or ("en",)), capacity=expert.capacity, load=load,
        work_start_minute=expert.work_start_minute, work_end_minute=expert.work_end_minute,
        work_days=tuple(expert.work_days or ()), timezone=expert.timezone,
        last_assigned_at=expert.last_assigned_at, active=expert.active, is_lead=expert.is_lead,
    )


def assign_ticket(session: Session, rt, ticket: Ticket, expert: Expert, actor: str) -> None:
    now = utcnow()
    ticket.assignee_id, ticket.assignee = expert.id, expert
    ticket.status = "assigned"
    ticket.assigned_at, ticket.updated_at = now, now
    ticket.due_at = now + timedelta(minutes=target_minutes(rt.settings, ticket.priority))
    expert.last_assigned_at = now
    record(session, ticket, actor, "assigned", f"to {expert.name}")
    notify_expert(session, expert, ticket_notice(ticket), ticket=ticket,
                  choices=choices_of(ticket_notice(ticket), list(EXPERT_ACTIONS), "en"))


def _unassign(ticket: Ticket) -> None:
    ticket.assignee_id, ticket.assignee, ticket.assigned_at, ticket.due_at = None, None, None, None
    if ticket.status == "assigned":
        ticket.status = "open"
    ticket.updated_at = utcnow()


def _loads(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Ticket.assignee_id, func.count(Ticket.id))
        .where(Ticket.assignee_id.is_not(None), Ticket.status.in_(ACTIVE_STATUSES))
        .group_by(Ticket.assignee_id)
    ).all()
    return {expert_id: count for expert_id, count in rows}


def _load(session: Session, expert_id: int) -> int:
    return _loads(session).get(expert_id, 0)


def check_targets(session: Session, rt, now=None) -> dict[str, int]:
    """Reassign tickets whose assignee missed the target time (telling the leads), and hand waiting tickets
    to experts who have come on duty or have room again."""
    now = now or utcnow()
    stmt = (select(Ticket).where(Ticket.status == "assigned", Ticket.due_at < now)
            .order_by(Ticket.id).limit(200))
    if session.bind.dialect.name == "postgresql":
        # Two overlapping checks must not both reassign (and both tell the lead about) the same ticket.
        stmt = stmt.with_for_update(skip_locked=True, of=Ticket)
    overdue = session.scalars(stmt).all()
    for ticket in overdue:
        _reassign_overdue(session, rt, ticket)
    waiting = session.scalars(
        _unassigned().order_by(Ticket.priority.desc(), Ticket.id).limit(200)  # "urgent" > "normal": urgent first
    ).all()
    assigned = 0
    for ticket in waiting:
        chosen = route_ticket(session, rt, ticket, exclude=set(ticket.missed_by or []), note_queued=False)
        assigned += chosen is not None
    return {"reassigned": len(overdue), "assigned": assigned}


def _reassign_overdue(session: Session, rt, ticket: Ticket) -> None:
    missed_by = ticket.assignee
    minutes = target_minutes(rt.settings, ticket.priority)
    ticket.sla_breaches += 1
    ticket.reassignments += 1
    who = missed_by.name if missed_by else "its expert"
    record(session, ticket, "system", "target missed", f"{who} did not answer within {minutes} min")
    if missed_by is not None:
        ticket.missed_by = sorted({*(ticket.missed_by or []), missed_by.id})
    _unassign(ticket)
    new = route_ticket(session, rt, ticket, exclude=set(ticket.missed_by or []))
    where = f"now assigned to {new.name}" if new else "back in the unassigned queue"
    tell_leads(session, ticket, f"#{ticket.id} ({label('subjects', ticket.subject)}, {ticket.priority}) was "
                                f"not answered by {who} within {minutes} min; {where}.")


def tell_leads(session: Session, ticket: Ticket, text: str) -> None:
    leads = session.scalars(select(Expert).where(Expert.is_lead.is_(True), Expert.active.is_(True))).all()
    for lead in leads:
        notify_expert(session, lead, text, ticket=ticket)
    record(session, ticket, "system", "lead told", f"{len(leads)} lead(s): {text}")


# --- messages to experts -------------------------------------------------------------------------

def ticket_notice(ticket: Ticket) -> str:
    subject = label("subjects", ticket.subject) or "General"
    band = f", {short_band(ticket.grade_band)}" if ticket.grade_band else ""
    urgent = "URGENT " if ticket.priority == "urgent" else ""
    return (f"{urgent}#{ticket.id} {subject}{band}: {_clip(ticket.question, 500)}\n"
            f"Reply #{ticket.id} followed by your answer. #{ticket.id} pass returns it to the queue, "
            f"#{ticket.id} close closes it.")


def notify_expert(session: Session, expert: Expert, body: str, ticket: Ticket | None = None,
                  choices=None) -> None:
    """A message to an expert; `ticket` links it to the ticket it is about (DELETE MY DATA blanks those).
    `choices`: the ticket's actions, as buttons where the expert's WhatsApp can show them."""
    channel = expert_channel(session, expert)
    address = address_for(channel, expert.phone)
    rows = outbound.queue_message(session, body=body, kind="expert", to_address=address, channel=channel,
                                  choices=choices)
    for row in rows:
        row.ticket_id = ticket.id if ticket is not None else None


def expert_channel(session: Session, expert: Expert) -> str:
    """WhatsApp only inside the expert's own 24-hour window (free-form messages outside it are refused, and
    there is no template for ticket notices); otherwise SMS, so a notice is never stuck."""
    if expert.channel != "whatsapp":
        return "sms"
    since = utcnow() - outbound.WHATSAPP_WINDOW
    recent = session.scalar(
        select(InboundMessage.id)
        .where(InboundMessage.phone == expert.phone, InboundMessage.channel == "whatsapp",
               InboundMessage.received_at >= since)
        .limit(1)
    )
    return "whatsapp" if recent is not None else "sms"


# --- snapshots taken when a ticket opens --------------------------------------------------------

@dataclass(frozen=True)
class TaxonomyGuess:
    area: str | None
    subject: str
    grade_band: str | None
    faq_id: str | None


def taxonomy_guess(rt, match, teacher: Teacher) -> TaxonomyGuess:
    """Nearest FAQ topic as the area; its subject unless it is a poor match; the teacher's level as band."""
    entry, score = None, 0.0
    if match is not None:
        faq_id = getattr(match, "faq_id", None)
        candidates = getattr(match, "candidates", ()) or ()
        if faq_id is None and candidates:
            faq_id, score = candidates[0].faq_id, candidates[0].score
        elif faq_id is not None:
            score = max([c.score for c in candidates if c.faq_id == faq_id] or [getattr(match, "score", 0.0)])
        entry = rt.knowledge.view().entry(faq_id) if faq_id else None
    teacher_subjects = [s.strip() for s in (teacher.subjects or "").split(",") if s.strip()]
    if entry is not None and entry.subject and score >= NEAREST_FAQ_MIN_SCORE:
        subject = entry.subject
    else:
        subject = teacher_subjects[0] if teacher_subjects else routing.ANY_SUBJECT
    bands = taxonomy()["grade_bands"]
    # The profile stores the onboarding level ("high"); the taxonomy speaks in bands ("secondary").
    band = profile_band(teacher.school_level) or None
    band = band if band in bands else None
    if band is None and entry is not None and entry.grades:
        band = entry.grades[0] if entry.grades[0] in bands else None
    return TaxonomyGuess(area=entry.topic if entry else None, subject=subject, grade_band=band,
                         faq_id=entry.id if entry else None)


def match_summary(match) -> dict | None:
    if match is None:
        return None
    return {"decision": getattr(match, "decision", None), "faq_id": getattr(match, "faq_id", None),
            "score": round(float(getattr(match, "score", 0.0) or 0.0), 3),
            "reason": getattr(match, "reason", ""),
            "candidates": [{"faq_id": c.faq_id, "score": round(float(c.score), 3)}
                           for c in (getattr(match, "candidates", ()) or ())[:3]]}


def teacher_profile(teacher: Teacher) -> dict:
    # No phone number here: the snapshot is shown to every role that may see the ticket.
    return {name: getattr(teacher, name) for name in
            ("name", "role", "school_level", "subjects", "district", "school_type", "language", "channel")}


def recent_conversation(session: Session, teacher: Teacher, limit: int = CONVERSATION_MESSAGES) -> list[dict]:
    inbound = session.execute(
        select(InboundMessage.body, InboundMessage.received_at).where(InboundMessage.teacher_id == teacher.id)
        .order_by(InboundMessage.id.desc()).limit(limit)
    ).all()
    sent = session.execute(
        select(OutboundMessage.body, OutboundMessage.created_at)
        .where(OutboundMessage.teacher_id == teacher.id, OutboundMessage.content_sid.is_(None))
        .order_by(OutboundMessage.id.desc()).limit(limit)
    ).all()
    # Oldest first; ids break ties between messages stored in the same microsecond.
    timeline = [(at, 0, -n, "in", body) for n, (body, at) in enumerate(inbound)]
    timeline += [(at, 1, -n, "out", body) for n, (body, at) in enumerate(sent)]
    timeline.sort(key=lambda item: (item[0], item[2], item[1]))
    return [_line(direction, body, at) for at, _, _, direction, body in timeline][-limit:]


def _line(direction: str, body: str, at) -> dict:
    return {"dir": direction, "body": body or "", "at": (at or utcnow()).isoformat(timespec="seconds")}


def _clip(text: str, length: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1] + "…"


# --- history -------------------------------------------------------------------------------------

def record(session: Session, ticket: Ticket, actor: str, kind: str, detail: str = "") -> TicketEvent:
    event = TicketEvent(ticket_id=ticket.id, actor=actor[:120], kind=kind, detail=detail or "", at=utcnow())
    session.add(event)
    return event


def _analytics_call(name: str, session: Session, interaction_id: int | None, *args, **kwargs) -> None:
    """Analytics is optional here: written by another area, and a ticket without an interaction has none."""
    if not interaction_id:
        return
    try:
        from analytics import store
    except ImportError:
        return
    function = getattr(store, name, None)
    if function is not None:
        function(session, interaction_id, *args, **kwargs)


# --- the teacher asks for a held answer -----------------------------------------------------------

def is_open_request(text: str) -> bool:
    """The reply the "your answer is ready, reply OPEN" template asks for. The dialogue releases held
    messages on every WhatsApp inbound; this tells it that "OPEN" needs no further answer."""
    return (text or "").strip().lower().rstrip(".!") in OPEN_WORDS


def _unassigned():
    """Tickets waiting in the queue: open or reopened, with no expert."""
    return select(Ticket).where(Ticket.status.in_(("open", "reopened")), Ticket.assignee_id.is_(None))


def tickets_for_queue(session: Session, *, subject: str | None = None):
    stmt = _unassigned()
    if subject:
        stmt = stmt.where(Ticket.subject == subject)
    return session.scalars(stmt.order_by(Ticket.priority.desc(), Ticket.created_at)).all()


def visible_to_expert(ticket: Ticket, expert: Expert | None) -> bool:
    """Experts see their own tickets and the unassigned queue; leads see everything."""
    if expert is None:
        return False
    return expert.is_lead or ticket.assignee_id == expert.id or ticket.assignee_id is None or \
        ticket.answered_by_id == expert.id


__all__ = ["open_ticket", "active_ticket", "add_followup", "awaiting_expert_rating", "rate_answer",
           "expert_for_phone", "handle_expert_message", "relay_answer", "pass_ticket", "close_ticket",
           "retag_ticket", "take_ticket", "check_targets", "parse_command", "TicketError"]
