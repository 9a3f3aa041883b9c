"""The pure core of a teacher's turn: given what they wrote and where the conversation stands, decide
what to say and what should happen. No Flask, database, Twilio or rq here: helpdesk.dialogue gathers the
facts into a Turn, calls decide() and applies the Decision (replies, state, effects).

Order of a turn (first rule that applies wins):
  Twilio opt-out field -> STOP / START -> safeguarding triage (urgent ticket; before the opt-out silence and
  the flood limit, so a disclosure is never held back) -> opted out: silence -> flooded: defer ->
  first-contact welcome -> keywords -> conversation state (delete confirmation, LANG menu, clarify
  choice, onboarding step, FAQ rating, waiting for an EXPERT question or a SUGGEST text, a CPD
  lesson check, a live session / hub menu) -> rating an expert's answer ->
  media / location / empty / greeting / thanks -> CPD reflection -> follow-up to an open ticket -> the FAQ.

Choices: a question with options (onboarding's menus, LANG, the answer rating, clarify) is a Reply whose
`text` is the numbered menu and whose `choices` hold the prompt and short titles, numbered from 1; a channel
may show them as buttons or a list. A tap sends the option's number back (tapped_text), so a tap, the typed
number and the option's words in any of the three languages reach the same decision.

Reply language: `en`, `ur` (Urdu script) or `roman-ur`. Roman Urdu writers get the bot's own texts in Roman
Urdu (they chose Latin script, old phones may not render Urdu, and GSM-7 SMS costs a third of an Urdu-script
one), and FAQ answers in Roman Urdu too. An FAQ without a Roman Urdu text (an expert-approved one in the
database, or a programme's own) falls back to English, never to Urdu script (see FaqEntry.answer_in). LANG
fixes any of the three for good.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from helpdesk import content
from helpdesk.channels.base import Choices, Option
from helpdesk.cpd import lesson_check
from helpdesk.safeguarding.triage import Triage, combine, triage
from knowledge_base.normalize import analyze, detect_language

ONBOARDING_STEPS = ("name", "role", "school_level", "subjects", "district", "school_type")
CHOICE_STEPS = {"role", "school_level", "subjects", "school_type"}

# How long the bot waits for the answer to what it asked, in minutes. A "2" two days after an FAQ answer
# is not a rating any more; an onboarding left for a day starts again only when the teacher asks (PROFILE).
STATE_TTL_MINUTES = {
    "awaiting_rating": 24 * 60,
    "awaiting_clarify": 24 * 60,
    "onboarding": 24 * 60,
    "awaiting_lang": 60,
    "awaiting_expert_question": 60,
    "awaiting_suggestion": 60,
    "awaiting_delete_confirm": 15,
    "cpd_check": 72 * 60,  # set by helpdesk.cpd.subscriptions, which asks the questions (cpd.CHECK_TTL)
    # Set by helpdesk.programme.chat, which writes the menus (live sessions, hubs, a hub meeting's question).
    "live_menu": 60,
    "live_question": 60,
    "hub_menu": 60,
    "hub_meeting": 72 * 60,
}
PROGRAMME_MENUS = ("live_menu", "hub_menu", "hub_meeting")  # numbered choices in state data "options"
NAME_MAX_WORDS = 4
NAME_PREFIXES = ("my name is ", "i am ", "im ", "this is ", "mera naam ", "mera nam ", "name ", "naam ",
                 "میرا نام ")
QUESTION_WORDS = 5  # a reply this long to a menu is a question, not a menu choice
# Titles of the non-profile choices (messages.yaml keys), in option order.
LANGUAGE_TITLES = ("choice_english", "choice_urdu", "choice_roman_urdu")  # content.LANGUAGES' order
EXPERT_RATING_TITLES = ("choice_helped", "choice_not_helped")  # the buttons under an expert's answer


# --------------------------------------------------------------------------- input

@dataclass(frozen=True)
class Profile:
    name: str | None = None
    role: str | None = None
    school_level: str | None = None
    subjects: str | None = None
    district: str | None = None
    school_type: str | None = None
    onboarded: bool = False


@dataclass(frozen=True)
class Turn:
    text: str
    language: str = "en"              # the teacher's current reply language: en | ur | roman-ur
    language_chosen: bool = False     # set by LANG: stop guessing from each message
    channel: str = "sms"
    num_media: int = 0
    media_types: tuple[str, ...] = ()
    has_location: bool = False
    message_type: str | None = None   # Twilio's MessageType (e.g. "sticker") when present
    opt_out_type: str | None = None   # Twilio Advanced Opt-Out: STOP | START | HELP (Twilio already replied)
    first_contact: bool = False
    opted_out: bool = False
    state: str | None = None          # unexpired state only (the edge drops expired state)
    state_data: dict = field(default_factory=dict)
    profile: Profile = Profile()
    has_active_ticket: bool = False
    awaiting_expert_rating: bool = False
    awaiting_reflection: bool = False
    flooded: bool = False
    flood_notice_due: bool = False
    recent_question: str | None = None  # what EXPERT escalates when no state says otherwise
    answer_target_minutes: int = 240  # TICKET_TARGET_MINUTES_NORMAL: the "escalated" notice promises it
    province: str | None = None       # from the profile's district: which helplines apply
    callback_offered: bool = False    # an on-call phone is set, so the acknowledgement may promise a call
    helplines_file: str | None = None  # a deployment's own helplines (settings.helplines_file)
    semantic: Triage | None = None    # the optional semantic signal's view of the text (TRIAGE_SEMANTIC)


class Knowledge(Protocol):
    def match(self, text: str): ...
    def answer(self, faq_id: str, language: str, channel: str) -> str: ...
    def entry(self, faq_id: str): ...
    def fully_reviewed(self) -> bool: ...


# --------------------------------------------------------------------------- output

@dataclass(frozen=True)
class Reply:
    key: str
    text: str              # the whole message as text: what SMS, and WhatsApp without a template, shows
    kind: str = "notice"   # outbound kind: answer | notice | optout-confirm
    choices: Choices | None = None  # "choose one of these": the channel may show buttons or a list instead


def choices_of(prompt: str, titles: list[str], language: str) -> Choices:
    """Options numbered from 1: a tap sends the number back, reaching the decision a typed number does."""
    return Choices(prompt, tuple(Option(str(i), title) for i, title in enumerate(titles, 1)), language)


@dataclass(frozen=True)
class StateChange:
    name: str | None                  # None clears the state
    data: dict = field(default_factory=dict)
    ttl_minutes: int = 0


@dataclass(frozen=True)
class OptOut:
    pass


@dataclass(frozen=True)
class OptIn:
    pass


@dataclass(frozen=True)
class SetLanguage:
    language: str
    chosen: bool


@dataclass(frozen=True)
class SaveProfile:
    values: dict


@dataclass(frozen=True)
class MarkOnboarded:
    pass


@dataclass(frozen=True)
class RecordQuestion:
    """One analytics row per teacher question; its id goes into the new state's data as interaction_id."""
    route: str                          # answered | clarified | escalated | urgent
    language: str
    faq_id: str | None = None
    match: object | None = None


@dataclass(frozen=True)
class UpdateQuestion:
    """A later turn settled an earlier question: a clarify choice answered it, or it went to an expert."""
    interaction_id: int | None
    route: str
    faq_id: str | None = None


@dataclass(frozen=True)
class RateQuestion:
    interaction_id: int | None
    rating: int


@dataclass(frozen=True)
class OpenTicket:
    question: str
    reason: str
    urgent: bool = False
    match: object | None = None
    interaction_id: int | None = None   # None: the question recorded in this turn, if any
    triage: Triage | None = None        # why it was flagged, for the lead


@dataclass(frozen=True)
class AddFollowup:
    pass


@dataclass(frozen=True)
class RateExpertAnswer:
    rating: int


@dataclass(frozen=True)
class Cpd:
    action: str   # on | off | progress | done | answer (a lesson check question)
    text: str = ""
    choice: int | None = None  # answer: the 0-based choice picked


@dataclass(frozen=True)
class Programme:
    """Live sessions and hubs (helpdesk.programme.chat writes the reply and keeps the state).
    action: live | hub | joined | live_menu | hub_menu | hub_meeting (a pick: `choice`, from 1) | question."""
    action: str
    choice: int | None = None
    text: str = ""


@dataclass(frozen=True)
class RecordSuggestion:
    """SUGGEST: what the helpdesk or the CPD offer should improve (stored scrubbed, coded like a question)."""
    text: str
    match: object | None = None  # the FAQ matcher's view of the text: its nearest FAQ codes the area


@dataclass(frozen=True)
class DeleteData:
    pass


@dataclass(frozen=True)
class Defer:
    """Flooded: keep the message and answer it with the others in one batch a minute later."""


@dataclass
class Decision:
    replies: list[Reply] = field(default_factory=list)
    effects: list = field(default_factory=list)
    state: StateChange | None = None   # None: leave the state as it is
    handled_as: str = ""

    def keys(self) -> list[str]:
        return [reply.key for reply in self.replies]

    def effect(self, kind: type):
        return next((e for e in self.effects if isinstance(e, kind)), None)


# --------------------------------------------------------------------------- helpers

class _Ctx:
    """The turn plus the language and decision being built."""

    def __init__(self, turn: Turn, kb: Knowledge):
        self.turn = turn
        self.kb = kb
        self.lang = turn.language if turn.language in content.LANGUAGES else "en"
        self.decision = Decision()
        self._match = None

    def say(self, key: str, kind: str = "notice", **params) -> None:
        self.decision.replies.append(Reply(key, content.text(key, self.lang, self.turn.channel, **params), kind))

    def say_text(self, key: str, text: str, kind: str = "notice") -> None:
        self.decision.replies.append(Reply(key, text, kind))

    def ask(self, key: str, text: str, prompt: str, titles: list[str], kind: str = "notice") -> None:
        """A choice: `text` is the numbered menu, `prompt` and `titles` what buttons or a list show."""
        self.decision.replies.append(Reply(key, text, kind, choices_of(prompt, titles, self.lang)))

    def do(self, effect) -> None:
        self.decision.effects.append(effect)

    def set_state(self, name: str | None, **data) -> None:
        self.decision.state = StateChange(name, data, STATE_TTL_MINUTES.get(name, 0) if name else 0)

    def match(self, text: str | None = None):
        if text is not None and text != self.turn.text:
            return self.kb.match(text)
        if self._match is None:
            self._match = self.kb.match(self.turn.text)
        return self._match

    def done(self, handled_as: str) -> Decision:
        self.decision.handled_as = handled_as
        return self.decision


def expert_reply_within(turn: Turn, language: str) -> str:
    """'usually within 4 hours': the configured ticket target, so the teacher knows when to look again."""
    minutes = turn.answer_target_minutes
    if minutes == 60:
        return content.text("within_one_hour", language)
    if minutes % 60 == 0:
        return content.text("within_hours", language, n=minutes // 60)
    return content.text("within_minutes", language, n=minutes)


def guess_language(turn: Turn) -> str | None:
    """A new reply language from this message, when it says enough to tell (never after LANG)."""
    if turn.language_chosen:
        return None
    detected = detect_language(turn.text)
    words = re.findall(r"\w+", turn.text)
    urdu_letters = len(re.findall("[\u0600-\u06ff]", turn.text))
    # "ok", "1" or "shukriya" alone say nothing about the teacher's language; three words or Urdu script do.
    informative = urdu_letters >= 3 or len([w for w in words if not w.isdigit()]) >= 3
    if (informative or turn.first_contact) and detected != turn.language and words:
        return detected
    return None


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", content.words_of(text))]


def _only_numbers(text: str) -> bool:
    words = content.words_of(text)
    return bool(words) and bool(re.fullmatch(r"[\d ]+", words))


def _has_words(text: str) -> bool:
    return bool(re.search(r"[^\W\d_]", text))


def _word_count(text: str) -> int:
    return len(content.words_of(text).split())


# --------------------------------------------------------------------------- taps

def expert_rating_choices(body: str, language: str) -> Choices:
    """The buttons under an expert's answer (helpdesk.experts.tickets sends it; the rating is read below)."""
    return choices_of(body, [content.text(key, language) for key in EXPERT_RATING_TITLES], language)


def offered_options(state: str | None, data: dict) -> int:
    """How many numbered options the bot's last question in this state offered (0: none)."""
    if state == "onboarding" and data.get("step") in CHOICE_STEPS:
        return len(content.choice_options(data["step"]))
    if state == "awaiting_clarify":
        return len(data.get("options") or []) + 1
    if state == "cpd_check" or state in PROGRAMME_MENUS:
        return len(data.get("options") or [])
    return {"awaiting_lang": len(LANGUAGE_TITLES), "awaiting_rating": 2}.get(state or "", 0)


def tapped_text(body: str, payload: str | None, state: str | None, data: dict) -> str:
    """The text of a turn whose message may be a button tap or list pick: the option's id (its number) when it
    is one of the options the current state offered, so a tap decides exactly what typing the number does;
    else the message body (a stale button's words are read like typed words)."""
    payload = (payload or "").strip()
    if payload.isdigit() and payload.isascii() and 1 <= int(payload) <= offered_options(state, data):
        return payload
    return body


# --------------------------------------------------------------------------- decide

def decide(turn: Turn, kb: Knowledge) -> Decision:
    ctx = _Ctx(turn, kb)
    book = content.keyword_book()
    text = turn.text.strip()

    if turn.opt_out_type:
        return _advanced_opt_out(ctx, turn.opt_out_type.upper())
    keyword = book.keyword(text)
    name = keyword[0] if keyword else None
    if name == "stop":
        ctx.do(OptOut())
        ctx.set_state(None)
        ctx.say("stopped", kind="optout-confirm")
        return ctx.done("keyword:stop")
    if turn.opted_out and (name == "start" or content.words_of(text) == "yes"):
        ctx.do(OptIn())
        ctx.say("started")
        return ctx.done("keyword:start")
    # A SUGGEST text is the teacher's own words like any message: it is triaged too.
    free_text = not keyword or (name == "suggest" and bool(keyword[1]))
    flag = combine(triage(text), turn.semantic) if text and free_text else None
    if flag is not None and flag.urgent:
        return _urgent(ctx, flag)
    if turn.opted_out:
        return ctx.done("opted-out")  # stored, never answered until START
    if turn.flooded:
        ctx.do(Defer())
        if turn.flood_notice_due:
            ctx.say("slow_down")
        return ctx.done("flooded")

    new_language = guess_language(turn)
    if new_language:
        ctx.lang = new_language
        ctx.do(SetLanguage(new_language, chosen=False))
    if turn.first_contact:
        # The welcome claims reviewed answers only while every live FAQ has a full review record.
        ctx.say("welcome_reviewed" if ctx.kb.fully_reviewed() else "welcome")
        ctx.say("privacy")

    if keyword:
        return _keyword(ctx, name, keyword[1])
    if turn.state:
        handled = _continue_state(ctx)
        if handled is not None:
            return handled
    expert_titled = _titled(text, EXPERT_RATING_TITLES) if turn.awaiting_expert_rating else None
    numbered = _only_numbers(text) and _numbers(text)[:1] in ([1], [2])
    if turn.awaiting_expert_rating and (expert_titled or numbered):
        rating = expert_titled or _numbers(text)[0]
        ctx.do(RateExpertAnswer(rating))
        ctx.say("expert_rating_thanks" if rating == 1 else "expert_rating_reopened")
        return ctx.done("expert-rating")
    if turn.awaiting_reflection and _titled(text, ("choice_not_yet",)):
        ctx.say("cpd_not_yet")  # the lesson's "Not yet" button: no reflection to credit, DONE comes later
        return ctx.done("cpd:not-yet")
    unusual = _unusual_message(ctx)
    if unusual is not None:
        return unusual
    return _question(ctx, text)


def _advanced_opt_out(ctx: _Ctx, kind: str) -> Decision:
    # Twilio already replied to the teacher; a second confirmation from us would be noise (or fail: 21610).
    if kind == "STOP":
        ctx.do(OptOut())
        ctx.set_state(None)
    elif kind == "START":
        ctx.do(OptIn())
    return ctx.done(f"twilio-opt-out:{kind.lower()}")


def _urgent(ctx: _Ctx, flag: Triage) -> Decision:
    """A flagged message: an urgent ticket (which tells the on-call lead), never an FAQ answer, and the
    helplines for the teacher's province and this kind of danger. It runs even when the teacher is over the
    flood limit; an opted-out teacher gets the ticket but no reply (they said STOP)."""
    turn = ctx.turn
    ctx.do(RecordQuestion("urgent", ctx.lang))
    ctx.do(OpenTicket(turn.text, reason=f"urgent:{flag.category}"[:40], urgent=True, triage=flag))
    ctx.set_state(None)
    if turn.opted_out:
        return ctx.done(f"urgent-opted-out:{flag.category}")
    new_language = guess_language(turn)
    if new_language:
        ctx.lang = new_language
        ctx.do(SetLanguage(new_language, chosen=False))
    ctx.say("urgent_ack_callback" if turn.callback_offered else "urgent_ack")
    lines = content.helplines(turn.province, flag.category, ctx.lang, turn.helplines_file)
    if lines:
        ctx.say("urgent_helplines", helplines="\n".join(lines))
    if turn.first_contact:
        ctx.say("privacy")
    return ctx.done(f"urgent:{flag.category}")


# --------------------------------------------------------------------------- keywords

def _keyword(ctx: _Ctx, name: str, argument: str) -> Decision:
    turn = ctx.turn
    if name == "help":
        ctx.say("help")
    elif name == "lang":
        language = content.keyword_book().language(argument) if argument else None
        if language:
            _set_language(ctx, language)
        else:
            _ask_language(ctx)
            ctx.set_state("awaiting_lang")
    elif name == "profile":
        _start_onboarding(ctx, editing=True)
    elif name == "expert":
        _expert(ctx)
    elif name == "cpd_on":
        ctx.do(Cpd("on"))
    elif name == "cpd_off":
        ctx.do(Cpd("off"))
    elif name == "cpd":
        ctx.do(Cpd("progress"))
    elif name == "done":
        ctx.do(Cpd("done", turn.text))
    elif name in ("live", "hub", "joined"):
        ctx.do(Programme(name))
    elif name == "start":  # not opted out: nothing to undo, so START just says hello
        if turn.first_contact:
            _ask_step(ctx, ONBOARDING_STEPS[0], editing=False, intro=True)
        else:
            ctx.say("started")
    elif name == "suggest":
        return _suggest(ctx)
    elif name == "delete":
        ctx.say("delete_confirm")
        ctx.set_state("awaiting_delete_confirm")
    return ctx.done(f"keyword:{name}")


def _ask_language(ctx: _Ctx) -> None:
    ctx.ask("lang_menu", content.text("lang_menu", ctx.lang, ctx.turn.channel),
            content.tap_text("lang_menu", ctx.lang), [content.text(key, ctx.lang) for key in LANGUAGE_TITLES])


def _set_language(ctx: _Ctx, language: str) -> None:
    ctx.lang = language
    ctx.do(SetLanguage(language, chosen=True))
    ctx.say("lang_set")
    ctx.set_state(None)


def _expert(ctx: _Ctx) -> None:
    """EXPERT: a ticket now with the question in hand (the one just answered or offered), else ask for it."""
    data = ctx.turn.state_data if ctx.turn.state in ("awaiting_rating", "awaiting_clarify") else {}
    question = data.get("question") or ctx.turn.recent_question
    if ctx.turn.has_active_ticket:
        ctx.say("expert_requested")
        return
    if not question:
        ctx.say("ask_expert_question")
        ctx.set_state("awaiting_expert_question")
        return
    interaction_id = data.get("interaction_id")
    if interaction_id:
        ctx.do(UpdateQuestion(interaction_id, "escalated"))
    ctx.do(OpenTicket(question, reason="asked-expert", interaction_id=interaction_id))
    ctx.say("expert_requested")
    ctx.set_state(None)


def _suggest(ctx: _Ctx) -> Decision:
    """SUGGEST with its text ("SUGGEST more science videos"), or alone: then the next message is the text.
    "Suggest an activity for fractions?" is a teaching question, not a suggestion: a question mark sends it
    to the FAQ like any question."""
    inline = suggestion_text(ctx.turn.text)
    if inline and ("?" in inline or "؟" in inline):
        return _question(ctx, ctx.turn.text.strip())
    if inline:
        return _record_suggestion(ctx, inline)
    ctx.say("ask_suggestion")
    ctx.set_state("awaiting_suggestion")
    return ctx.done("keyword:suggest")


def suggestion_text(message: str) -> str:
    """The words after the SUGGEST keyword, as the teacher wrote them ("" when the keyword stands alone)."""
    book = content.keyword_book()
    words = message.strip().split(None, 1)
    if len(words) < 2 or book.keyword(message) in (None, ("suggest", "")):
        return ""
    return words[1].strip(" :-،")


def _record_suggestion(ctx: _Ctx, text: str) -> Decision:
    ctx.do(RecordSuggestion(text[:1000], match=ctx.match(text)))
    ctx.say("suggestion_thanks")
    ctx.set_state(None)
    return ctx.done("suggestion")


def _suggestion_reply(ctx: _Ctx) -> Decision | None:
    text = ctx.turn.text.strip()
    if not _has_words(text):
        return None  # a picture or an emoji is no suggestion: the usual reply, the state lapses
    return _record_suggestion(ctx, text)


# --------------------------------------------------------------------------- state

def _continue_state(ctx: _Ctx) -> Decision | None:
    """Handle the reply to what the bot asked; None when the message is not such a reply."""
    state = ctx.turn.state
    handler = {
        "awaiting_delete_confirm": _delete_reply,
        "awaiting_lang": _lang_reply,
        "awaiting_clarify": _clarify_reply,
        "onboarding": _onboarding_reply,
        "awaiting_rating": _rating_reply,
        "awaiting_expert_question": _expert_question_reply,
        "awaiting_suggestion": _suggestion_reply,
        "cpd_check": _check_reply,
        "live_question": _live_question_reply,
        **{menu: _programme_pick for menu in PROGRAMME_MENUS},
    }.get(state)
    return handler(ctx) if handler else None


def _check_reply(ctx: _Ctx) -> Decision | None:
    """An answer to a lesson check question (numbered choices in the state). The CPD effect records it and
    asks the next question, so the state is left to it; words that name no choice are a new question."""
    options = ctx.turn.state_data.get("options") or []
    choice = lesson_check.pick_option(ctx.turn.text, options)
    if choice is not None:
        ctx.do(Cpd("answer", ctx.turn.text, choice=choice))
        return ctx.done("cpd:check-answer")
    if lesson_check.is_number_reply(ctx.turn.text):
        ctx.say("cpd_check_invalid", count=len(options))
        return ctx.done("cpd:check-invalid")
    return None


def _programme_pick(ctx: _Ctx) -> Decision | None:
    """A pick from a live session, hub or hub meeting menu: its number, a tap, or its title's words (yes/no
    for a meeting). The programme's effect answers and sets the next state; other words are a new question."""
    data = ctx.turn.state_data
    count = len(data.get("options") or [])
    text = ctx.turn.text
    book = content.keyword_book()
    choice = _title_index(text, data.get("titles") or [])
    if _only_numbers(text) and len(_numbers(text)) == 1:
        choice = _numbers(text)[0]
        if not 1 <= choice <= count:
            ctx.say("choice_invalid")
            return ctx.done(f"{ctx.turn.state}:invalid")
    elif ctx.turn.state == "hub_meeting" and choice is None:
        choice = 1 if book.is_answer(text, "yes") else 2 if book.is_answer(text, "no") else None
    if choice is None:
        return None
    ctx.do(Programme(ctx.turn.state, choice=choice))
    return ctx.done(f"{ctx.turn.state}:picked")


def _live_question_reply(ctx: _Ctx) -> Decision | None:
    """After a booking: the teacher's question for the host, or SKIP/no."""
    text = ctx.turn.text.strip()
    book = content.keyword_book()
    if book.is_answer(text, "skip") or book.is_answer(text, "no"):
        ctx.do(Programme("question"))
        return ctx.done("live:question-skipped")
    if not _has_words(text):
        return None
    ctx.do(Programme("question", text=text))
    return ctx.done("live:question")


def _delete_reply(ctx: _Ctx) -> Decision:
    if content.keyword_book().is_answer(ctx.turn.text, "yes"):
        ctx.do(DeleteData())
        ctx.say("deleted")
        ctx.set_state(None)
        return ctx.done("delete:confirmed")
    ctx.say("delete_cancelled")
    ctx.set_state(None)
    return ctx.done("delete:cancelled")


def _lang_reply(ctx: _Ctx) -> Decision | None:
    language = content.keyword_book().language(ctx.turn.text)
    titled = _titled(ctx.turn.text, LANGUAGE_TITLES)
    if language is None and titled:
        language = content.LANGUAGES[titled - 1]  # LANGUAGE_TITLES follow content.LANGUAGES' order
    if language is None:
        return None
    _set_language(ctx, language)
    return ctx.done("lang:set")


def _expert_question_reply(ctx: _Ctx) -> Decision | None:
    text = ctx.turn.text.strip()
    if not _has_words(text):
        return None
    ctx.do(RecordQuestion("escalated", ctx.lang))
    ctx.do(OpenTicket(text, reason="asked-expert"))
    ctx.say("escalated", within=expert_reply_within(ctx.turn, ctx.lang))
    ctx.set_state(None)
    return ctx.done("expert:question")


def _rating_reply(ctx: _Ctx) -> Decision | None:
    book = content.keyword_book()
    text = ctx.turn.text
    data = ctx.turn.state_data
    numbers = _numbers(text) if _only_numbers(text) else []
    titled = _titled(text, ("choice_helped", "choice_ask_expert"))
    helped = numbers == [1] or titled == 1 or book.is_answer(text, "yes") or book.is_answer(text, "thanks")
    not_helped = (numbers == [2] or titled == 2 or book.is_answer(text, "no")
                  or book.contains_answer(text, "complaint"))
    if helped:
        ctx.do(RateQuestion(data.get("interaction_id"), 1))
        ctx.say("rated_helpful")
        ctx.set_state(None)
        if data.get("resume_onboarding"):
            _ask_step(ctx, data["resume_onboarding"], editing=bool(data.get("editing")), intro=True)
        return ctx.done("rating:helped")
    if not_helped:
        ctx.do(RateQuestion(data.get("interaction_id"), 2))
        ctx.do(UpdateQuestion(data.get("interaction_id"), "escalated"))
        question = data.get("question") or ""
        if numbers != [2] and titled != 2 and not book.is_answer(text, "no"):
            question = f"{question}\n{text}"  # the complaint says what was wrong with the answer
        ctx.do(OpenTicket(question, reason="not-helpful", interaction_id=data.get("interaction_id")))
        ctx.say("escalated_not_helpful", within=expert_reply_within(ctx.turn, ctx.lang))
        if data.get("resume_onboarding"):
            ctx.say("profile_paused")
        ctx.set_state(None)
        return ctx.done("rating:not-helped")
    return None


def _clarify_reply(ctx: _Ctx) -> Decision | None:
    data = ctx.turn.state_data
    options: list[str] = list(data.get("options") or [])
    texts: list[str] = list(data.get("texts") or [])
    text = ctx.turn.text
    book = content.keyword_book()
    choice: int | None = None
    if _only_numbers(text) and len(_numbers(text)) == 1:
        number = _numbers(text)[0]
        if 1 <= number <= len(options) + 1:
            choice = number
    elif book.is_answer(text, "none") or book.is_answer(text, "no") or _titled(text, ("choice_none",)):
        choice = len(options) + 1
    elif _title_index(text, data.get("titles") or []):
        choice = _title_index(text, data.get("titles") or [])
    elif _word_count(text) <= QUESTION_WORDS + 3 and texts:
        choice = _pick_by_words(text, texts)
    if choice is None:
        return None
    interaction_id = data.get("interaction_id")
    if choice == len(options) + 1:
        ctx.do(UpdateQuestion(interaction_id, "escalated"))
        ctx.do(OpenTicket(data.get("question") or text, reason="none-of-these", interaction_id=interaction_id))
        ctx.say("escalated", within=expert_reply_within(ctx.turn, ctx.lang))
        ctx.set_state(None)
        return ctx.done("clarify:none")
    faq_id = options[choice - 1]
    ctx.do(UpdateQuestion(interaction_id, "answered", faq_id))
    _send_answer(ctx, faq_id, data.get("question") or text, interaction_id=interaction_id)
    return ctx.done("clarify:picked")


def _titled(text: str, keys: tuple[str, ...]) -> int | None:
    """1 + the index of the choice title (a messages.yaml key) the text is, in any language: what a button
    tap's text says, or a teacher typing the button's words."""
    words = content.words_of(text)
    for index, key in enumerate(keys, 1):
        if words and any(words == content.words_of(content.text(key, lang)) for lang in content.LANGUAGES):
            return index
    return None


def _title_index(text: str, titles: list[str]) -> int | None:
    words = content.words_of(text)
    return next((i for i, title in enumerate(titles, 1) if words and words == content.words_of(title)), None)


def _pick_by_words(text: str, texts: list[str]) -> int | None:
    from rapidfuzz import fuzz

    scores = [fuzz.token_set_ratio(content.words_of(text), content.words_of(option)) for option in texts]
    best = max(range(len(scores)), key=lambda i: scores[i])
    runner_up = sorted(scores)[-2] if len(scores) > 1 else 0
    return best + 1 if scores[best] >= 70 and scores[best] - runner_up >= 10 else None


# --------------------------------------------------------------------------- onboarding

def _start_onboarding(ctx: _Ctx, editing: bool) -> None:
    if editing:
        ctx.say("profile_intro", summary=profile_summary(ctx.turn.profile, ctx.lang))
        _ask_step(ctx, ONBOARDING_STEPS[0], editing=True)
    else:
        _ask_step(ctx, ONBOARDING_STEPS[0], editing=False, intro=True)


def _ask_step(ctx: _Ctx, step: str, editing: bool, intro: bool = False) -> None:
    if intro and not editing:
        ctx.say("onboard_intro")
    prompt = content.text(f"ask_{step}", ctx.lang, ctx.turn.channel)
    if step in CHOICE_STEPS:
        options = content.choice_options(step)
        lines = [f"{i} {content.choice_label(step, value, ctx.lang)}" for i, value in enumerate(options, 1)]
        ctx.ask(f"ask_{step}", "\n".join([prompt, *lines]), content.tap_text(f"ask_{step}", ctx.lang),
                [content.choice_title(step, value, ctx.lang) for value in options])
    else:
        ctx.say_text(f"ask_{step}", prompt)
    ctx.set_state("onboarding", step=step, editing=editing)


def _next_step(ctx: _Ctx, step: str, editing: bool) -> None:
    index = ONBOARDING_STEPS.index(step)
    if index + 1 < len(ONBOARDING_STEPS):
        _ask_step(ctx, ONBOARDING_STEPS[index + 1], editing)
        return
    ctx.do(MarkOnboarded())
    name = ctx.turn.profile.name
    pending = ctx.decision.effect(SaveProfile)
    name = (pending.values.get("name") if pending else None) or name
    ctx.say("profile_done", name_part=f", {name}" if name else "")
    ctx.set_state(None)


def _onboarding_reply(ctx: _Ctx) -> Decision | None:
    data = ctx.turn.state_data
    step = data.get("step")
    if step not in ONBOARDING_STEPS:
        return None
    editing = bool(data.get("editing"))
    text = ctx.turn.text.strip()
    if content.keyword_book().is_answer(text, "skip"):
        _next_step(ctx, step, editing)
        return ctx.done(f"onboarding:skip:{step}")
    if not text:
        return None  # media or empty: the usual reply, the step stays
    counted = _strip_name_prefix(text) if step == "name" else text  # "my name is ..." is not a question
    long_or_asked = "?" in text or "؟" in text or _word_count(counted) >= QUESTION_WORDS
    value = None if long_or_asked else _parse_step(step, text)
    if value is not None:
        ctx.do(SaveProfile({step: value}))
        _next_step(ctx, step, editing)
        return ctx.done(f"onboarding:{step}")
    if long_or_asked or _looks_like_question(ctx, text):
        # Answer it; onboarding resumes after the teacher rates the answer (or lapses, see _rating_reply).
        result = _question(ctx, text, resume_onboarding=step, editing=editing)
        return result
    if step == "name":
        ctx.say("name_invalid")
    elif step == "district":
        ctx.say("district_unknown", text=text[:40])
    else:
        ctx.say("choice_invalid")
    ctx.set_state("onboarding", step=step, editing=editing)
    return ctx.done(f"onboarding:invalid:{step}")


def _looks_like_question(ctx: _Ctx, text: str) -> bool:
    if "?" in text or "؟" in text or _word_count(text) >= QUESTION_WORDS:
        return True
    return ctx.match().decision in ("answer", "clarify")


def _parse_step(step: str, text: str):
    if step == "name":
        return _parse_name(text)
    if step == "district":
        return content.find_district(text)
    return _parse_choice(step, text)


def _strip_name_prefix(text: str) -> str:
    lowered = text.strip().lower()
    for prefix in NAME_PREFIXES:
        if lowered.startswith(prefix):
            return text.strip()[len(prefix):]
    return text


def _parse_name(text: str) -> str | None:
    text = _strip_name_prefix(text)
    text = re.sub(r"[.!،۔]+$", "", text.strip()).strip()
    words = text.split()
    if not words or len(words) > NAME_MAX_WORDS or len(text) > 60 or "?" in text or "؟" in text:
        return None
    if any(ch.isdigit() for ch in text) or not all(re.fullmatch(r"[^\W\d_][\w.'\-]*", w) for w in words):
        return None
    return " ".join(w[:1].upper() + w[1:] if w.isascii() else w for w in words)


def _parse_choice(step: str, text: str):
    options = content.choice_options(step)
    numbers = _numbers(text)
    if numbers and _only_numbers(text.replace(",", " ")):
        if not all(1 <= n <= len(options) for n in numbers):
            return None
        picked = [options[n - 1] for n in dict.fromkeys(numbers)]
        if step != "subjects":
            return picked[0] if len(picked) == 1 else None
        return ",".join(picked)
    words = f" {content.words_of(text)} "
    # Each option's longest label found in the reply: "head teacher" must not also count as "teacher".
    found: dict[str, int] = {}
    for value in options:
        labels = {value.replace("_", " ").replace("-", " ")}
        for lang in content.LANGUAGES:  # "Riazi (Maths)" also answers to "riazi" and to "maths"
            label = content.choice_label(step, value, lang)
            labels |= {content.words_of(part) for part in [label, *re.split(r"[()/]", label)]}
            labels.add(content.words_of(content.choice_title(step, value, lang)))  # a button's words
        hits = [len(label) for label in labels if len(label) >= 3 and f" {label} " in words]
        if hits:
            found[value] = max(hits)
    if not found:
        return None
    if step == "subjects":
        return ",".join(found)
    ranked = sorted(found.items(), key=lambda item: -item[1])
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def profile_summary(profile: Profile, language: str) -> str:
    parts = []
    if profile.name:
        parts.append(profile.name)
    for step in ("role", "school_level", "school_type"):
        value = getattr(profile, step)
        if value:
            parts.append(content.choice_label(step, value, language))
    if profile.subjects:
        parts.append(", ".join(content.choice_label("subjects", s, language) for s in profile.subjects.split(",")))
    if profile.district:
        parts.append(profile.district)
    return "; ".join(parts) or content.text("profile_empty", language)


# --------------------------------------------------------------------------- unusual messages

def _unusual_message(ctx: _Ctx) -> Decision | None:
    turn = ctx.turn
    text = turn.text.strip()
    book = content.keyword_book()
    if not text:
        if turn.has_location:
            ctx.say("location")
            return ctx.done("location")
        if turn.num_media:
            kinds = " ".join(turn.media_types)
            if turn.message_type == "sticker" or "webp" in kinds:
                ctx.say("greeting")
                return ctx.done("sticker")
            key = "media_voice" if "audio" in kinds else "media_image" if "image" in kinds else "media_other"
            ctx.say(key)
            return ctx.done(f"media:{key.removeprefix('media_')}")
        if turn.first_contact:
            _ask_step(ctx, ONBOARDING_STEPS[0], editing=False, intro=True)
            return ctx.done("first-contact")
        ctx.say("empty")
        return ctx.done("empty")
    if not _has_words(text) and not _only_numbers(text):
        ctx.say("greeting")  # emoji or punctuation only
        return ctx.done("emoji")
    if book.is_answer(text, "thanks") or (analyze(text) == [] and book.contains_answer(text, "thanks")):
        ctx.say("thanks")
        return ctx.done("thanks")
    # "SKIP", "ok" or "1" answers a menu; with no menu to answer it is no question for an expert (a first SKIP
    # used to open a ticket, and everything after it was "added to your question").
    choice_like = _choice_like(text) and not turn.has_active_ticket and not turn.awaiting_reflection
    if not analyze(text) or (_only_numbers(text) and not turn.awaiting_reflection) or choice_like:
        if turn.first_contact:
            _ask_step(ctx, ONBOARDING_STEPS[0], editing=False, intro=True)
            return ctx.done("first-contact")
        ctx.say("greeting")
        return ctx.done("greeting")
    return None


CHOICE_WORDS = ("skip", "yes", "no", "none")  # keywords.yaml answers that only ever answer a menu
# Button titles that are no question either: an old message's button tapped after its question lapsed.
BUTTON_TITLES = ("choice_helped", "choice_not_helped", "choice_none", "choice_not_yet")


def _choice_like(text: str) -> bool:
    book = content.keyword_book()
    return (_only_numbers(text) or any(book.is_answer(text, kind) for kind in CHOICE_WORDS)
            or _titled(text, BUTTON_TITLES) is not None)


# --------------------------------------------------------------------------- questions

def _question(ctx: _Ctx, text: str, resume_onboarding: str | None = None, editing: bool = False) -> Decision:
    turn = ctx.turn
    result = ctx.match(text)
    confident = result.decision == "answer"
    if turn.awaiting_reflection and not confident and result.decision != "clarify":
        ctx.do(Cpd("done", text))
        return ctx.done("cpd:reflection")
    if turn.has_active_ticket and not confident:
        ctx.do(AddFollowup())
        ctx.say("followup_added")
        return ctx.done("followup")
    if resume_onboarding is None and turn.first_contact and not turn.profile.onboarded:
        resume_onboarding = ONBOARDING_STEPS[0]  # a first question first; the profile is offered after it
    resume = {"resume_onboarding": resume_onboarding, "editing": editing} if resume_onboarding else {}
    if confident:
        ctx.do(RecordQuestion("answered", ctx.lang, faq_id=result.faq_id, match=result))
        _send_answer(ctx, result.faq_id, text, **resume)
        return ctx.done("answer")
    if result.decision == "clarify" and result.candidates:
        ctx.do(RecordQuestion("clarified", ctx.lang, match=result))
        _send_clarify(ctx, result, text, resume)
        return ctx.done("clarify")
    ctx.do(RecordQuestion("escalated", ctx.lang, match=result))
    ctx.do(OpenTicket(text, reason=result.reason or "no-match", match=result))
    ctx.say("escalated", within=expert_reply_within(ctx.turn, ctx.lang))
    if resume_onboarding:
        ctx.say("profile_paused")
    ctx.set_state(None)
    return ctx.done("escalate")


def _send_answer(ctx: _Ctx, faq_id: str, question: str, interaction_id: int | None = None, **resume) -> None:
    answer = ctx.kb.answer(faq_id, ctx.lang, ctx.turn.channel)
    prompt = content.text("rate_prompt", ctx.lang, ctx.turn.channel)
    ctx.ask("answer", f"{answer}\n\n{prompt}", f"{answer}\n\n{content.tap_text('rate_prompt', ctx.lang)}",
            [content.text("choice_helped", ctx.lang), content.text("choice_ask_expert", ctx.lang)],
            kind="answer")
    ctx.set_state("awaiting_rating", faq_id=faq_id, question=question[:1000], interaction_id=interaction_id,
                  **{k: v for k, v in resume.items() if v is not None})


def _send_clarify(ctx: _Ctx, result, question: str, resume: dict) -> None:
    options, texts, titles = [], [], []
    short = dict(zip((c.faq_id for c in result.candidates), getattr(result, "titles", ()) or ()))
    for candidate in result.candidates:
        entry = ctx.kb.entry(candidate.faq_id)
        if entry is None:
            continue
        options.append(candidate.faq_id)
        texts.append(faq_question(entry, ctx.lang))
        titles.append(_clarify_title(candidate, entry, texts[-1], short))
    lines = [content.text("clarify_intro", ctx.lang, ctx.turn.channel)]
    lines += [f"{i} {question_text}" for i, question_text in enumerate(texts, 1)]
    lines.append(f"{len(texts) + 1} {content.text('none_of_these', ctx.lang, ctx.turn.channel)}")
    # The buttons or list show each FAQ's short title (a list item holds 24 characters, a question rarely
    # fits); the prompt above them keeps the full questions, so the teacher still reads what each one means.
    prompt = "\n".join([content.tap_text("clarify_intro", ctx.lang),
                        *(f"{i} {question_text}" for i, question_text in enumerate(texts, 1))])
    ctx.ask("clarify", "\n".join(lines), prompt, [*titles, content.text("choice_none", ctx.lang)])
    ctx.set_state("awaiting_clarify", options=options, texts=texts, titles=titles, question=question[:1000],
                  interaction_id=None, **resume)


LIST_TITLE_MAX = 24  # a WhatsApp list item's title; the matcher's clarify titles are cut to it too


def _clarify_title(candidate, entry, question_text: str, titles: dict) -> str:
    """The matcher's short title (the FAQ's own `title`, or its first question cut short) when the teacher
    reads the FAQ's first phrasing; else their own language's phrasing, cut at a word."""
    title = titles.get(candidate.faq_id)
    if title and (not entry.questions or question_text == entry.questions[0]):
        return title
    return cut_title(question_text)


def cut_title(text: str, limit: int = LIST_TITLE_MAX) -> str:
    """A button or list title from a longer text: cut at a word, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1].rsplit(" ", 1)[0].rstrip(",;:-،")
    return (cut or text[:limit - 1]) + "…"


def faq_question(entry, language: str) -> str:
    """The FAQ's first phrasing in the teacher's own language (en, roman-ur or ur), else its canonical first
    one: a Roman Urdu writer choosing between options should read them the way they write."""
    for question in entry.questions:
        if detect_language(question) == language:
            return question
    return entry.questions[0] if entry.questions else entry.id

