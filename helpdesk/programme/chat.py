"""A teacher's turn for the programme: the conversation decided on a Programme effect (LIVE, HUB, JOINED, a
pick from their menus, a question for a session's host); this applies it and writes the reply. The menus'
states are kept here (the conversation reads them back: helpdesk.conversation.PROGRAMME_MENUS)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from helpdesk.conversation import STATE_TTL_MINUTES, Programme, Reply
from helpdesk.models import Teacher, utcnow
from helpdesk.programme import hubs as hub_rules
from helpdesk.programme import service
from helpdesk.programme import sessions as rules
from helpdesk.programme import texts

PROGRAMME_STATES = ("live_menu", "live_question", "hub_menu", "hub_meeting")


def set_state(teacher: Teacher, name: str | None, now: datetime, **data) -> None:
    if name is None:
        teacher.state, teacher.state_data, teacher.state_expires_at = None, None, None
        return
    teacher.state, teacher.state_data = name, data
    teacher.state_expires_at = now + timedelta(minutes=STATE_TTL_MINUTES[name])


def state_is_free(teacher: Teacher, now: datetime) -> bool:
    """No state, an expired one, or one of the programme's own (a newer question replaces an unanswered menu)."""
    lapsed = teacher.state_expires_at is not None and teacher.state_expires_at < now
    return teacher.state is None or lapsed or teacher.state in PROGRAMME_STATES


def _drop_own_state(teacher: Teacher, now: datetime) -> None:
    """An unanswered programme menu or question ends here; onboarding or a lesson check is left alone."""
    if teacher.state in PROGRAMME_STATES:
        set_state(teacher, None, now)


def handle(db: Session, rt, teacher: Teacher, effect: Programme, now: datetime | None = None) -> Reply | str | None:
    now = now or utcnow()
    lang = service._lang(teacher)
    handler = {"live": _live_menu, "live_menu": _live_pick, "question": _question, "joined": _joined,
               "hub": _hub_menu, "hub_menu": _hub_pick, "hub_meeting": _meeting_answer}[effect.action]
    return handler(db, rt, teacher, effect, now, lang)


def _live_menu(db, rt, teacher, effect, now, lang):
    shown, booked = service.upcoming_for(db, teacher, now)
    if not shown:
        _drop_own_state(teacher, now)
        return texts.text("live_none", lang)
    body, choices = rules.menu(shown, booked, lang, rt.settings.timezone)
    set_state(teacher, "live_menu", now, options=[s.id for s in shown], titles=[o.title for o in choices.options])
    return Reply("live_menu", body, choices=choices)


def _live_pick(db, rt, teacher, effect, now, lang):
    options = (teacher.state_data or {}).get("options") or []
    session_id = options[effect.choice - 1]
    booked = session_id in service.upcoming_for(db, teacher, now)[1]
    set_state(teacher, None, now)
    if booked:
        live = service.cancel_booking(db, teacher, session_id, now)
        return texts.text("live_cancelled", lang, title=live.title)
    outcome, live = service.book(db, teacher, session_id, now)
    if outcome == "gone":
        return texts.text("live_gone", lang)
    if outcome == "full":
        return texts.text("live_full", lang, title=live.title)
    set_state(teacher, "live_question", now, session_id=live.id)
    return texts.text("live_booked", lang, title=live.title, link=live.meeting_link,
                      when=texts.when_text(live.starts_at, rt.settings.timezone, lang))


def _question(db, rt, teacher, effect, now, lang):
    session_id = (teacher.state_data or {}).get("session_id")
    set_state(teacher, None, now)
    if effect.text and session_id and service.save_question(db, teacher, session_id, effect.text):
        return texts.text("live_question_saved", lang)
    return texts.text("live_question_skipped", lang)


def _joined(db, rt, teacher, effect, now, lang):
    outcome, live, minutes = service.join(db, teacher, now)
    if outcome == "none":
        return texts.text("live_joined_none", lang)
    if outcome == "already":
        return texts.text("live_joined_already", lang, title=live.title)
    return texts.text("live_joined", lang, title=live.title, minutes=minutes,
                      hours=service.credited_total_text(db, teacher.id))


def _hub_menu(db, rt, teacher, effect, now, lang):
    if not teacher.district:
        return texts.text("hub_no_district", lang)
    found = service.hubs_in(db, teacher.district)
    if not found:
        return texts.text("hub_none", lang, district=teacher.district)
    if len(found) == 1:
        _drop_own_state(teacher, now)
        return _joined_hub(db, teacher, found[0].id, now, lang)
    body, choices = hub_rules.hub_menu(found, teacher.district, lang)
    set_state(teacher, "hub_menu", now, options=[h.id for h in found], titles=[o.title for o in choices.options])
    return Reply("hub_menu", body, choices=choices)


def _hub_pick(db, rt, teacher, effect, now, lang):
    options = (teacher.state_data or {}).get("options") or []
    set_state(teacher, None, now)
    return _joined_hub(db, teacher, options[effect.choice - 1], now, lang)


def _joined_hub(db, teacher, hub_id, now, lang):
    hub = service.join_hub(db, teacher, hub_id, now)
    if hub is None:
        return texts.text("hub_none", lang, district=teacher.district)
    return texts.text("hub_joined", lang, hub=hub.name)


def _meeting_answer(db, rt, teacher, effect, now, lang):
    meeting_id = (teacher.state_data or {}).get("meeting_id")
    set_state(teacher, None, now)
    coming = effect.choice == 1
    service.answer_meeting(db, teacher, meeting_id, coming, now)
    return texts.text("hub_coming" if coming else "hub_not_coming", lang)


