"""The message templates the service needs, whatever the provider, and the SID lookup the send path uses.

A provider that sends rich or out-of-window messages only through pre-registered templates (Twilio's Content
API for WhatsApp) builds its own from `CATALOGUE` (helpdesk/channels/twilio_content.py does, for
`helpdesk templates sync`) and records the SIDs in the content_templates table. `TemplateSids` answers
"which SID for this template in this language", preferring SIDs made by hand in the settings.

The choices templates carry no words of their own: every text is a variable ({{1}} the prompt, then the
option titles), so one template per size serves every question. Their contract with the channel rendering
them (quick reply: {{1}} body, {{i+1}} option i; list: {{1}} body, {{2}} button, {{i+2}} item i; option ids
"1".."n") is fixed: change it only together with the renderer.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import select

LANGUAGES = ("en", "ur", "roman-ur")
MAX_BUTTONS = 3      # a WhatsApp quick reply in a session holds up to 3 buttons
MAX_LIST_ITEMS = 10  # a WhatsApp list picker holds up to 10 rows
ANSWER_READY = "answer-ready"
LESSON_INVITE = "lesson-invite"
APPROVED = "approved"


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    language: str
    kind: str                    # "buttons" | "list" | "text"
    body: str                    # the text, with {{n}} placeholders
    options: int = 0             # buttons / list: how many options
    samples: dict = field(default_factory=dict)  # example values for every placeholder (reviewers see them)
    # Sent outside WhatsApp's 24-hour window, so WhatsApp must approve it first (category UTILITY). The
    # others are session-only: they go out only while the teacher's window is open and need no approval.
    outside_window: bool = False


def quick_reply_name(options: int) -> str:
    return f"choices-quick-{options}"


def list_name(options: int) -> str:
    return f"choices-list-{options}"


# Words the service writes in templates. The reply words (OPEN / کھولیں / KHOLO) are among the
# tickets module's OPEN_WORDS; any reply at all releases what was held.
_TEXTS = {
    ANSWER_READY: {
        "en": "Hello {{1}}, a subject expert has answered your question on the Teacher Helpdesk. "
              "Reply OPEN to read the answer.",
        "ur": "السلام علیکم {{1}}، ٹیچر ہیلپ ڈیسک پر ایک ماہر نے آپ کے سوال کا جواب دے دیا ہے۔ "
              "جواب پڑھنے کے لیے کھولیں لکھ کر بھیجیں۔",
        "roman-ur": "Assalam o Alaikum {{1}}, Teacher Helpdesk par aik mahir ne aap ke sawal ka jawab de "
                    "diya hai. Jawab parhne ke liye KHOLO likh kar bhejein.",
    },
    LESSON_INVITE: {
        "en": "Hello {{1}}, your next CPD lesson is ready: {{2}}. Reply OPEN to read it.",
        "ur": "السلام علیکم {{1}}، آپ کا اگلا سی پی ڈی سبق تیار ہے: {{2}}۔ "
              "پڑھنے کے لیے کھولیں لکھ کر بھیجیں۔",
        "roman-ur": "Assalam o Alaikum {{1}}, aap ka agla CPD sabaq tayyar hai: {{2}}. Parhne ke liye KHOLO "
                    "likh kar bhejein.",
    },
}
_SAMPLES = {
    ANSWER_READY: {"en": {"1": "Ayesha"}, "ur": {"1": "عائشہ"}, "roman-ur": {"1": "Ayesha"}},
    LESSON_INVITE: {"en": {"1": "Ayesha", "2": "Group work in a large class"},
                    "ur": {"1": "عائشہ", "2": "بڑی کلاس میں گروپ کا کام"},
                    "roman-ur": {"1": "Ayesha", "2": "Bari class mein group ka kaam"}},
}
_CHOICE_SAMPLES = {  # prompt, list button, option word
    "en": ("Choose one:", "Options", "Option"),
    "ur": ("ایک چنیں:", "اختیارات", "اختیار"),
    "roman-ur": ("Aik chunein:", "Options", "Option"),
}


# Twilio refuses an empty variable (error 21656), so a teacher who gave no name is greeted by role.
_NO_NAME = {"en": "teacher", "ur": "استاد محترم", "roman-ur": "Ustad sahib"}


def answer_ready_variables(name: str | None, language: str) -> dict:
    return {"1": (name or "").strip() or _NO_NAME.get(language, _NO_NAME["en"])}


def lesson_invite_variables(first_name: str | None, title: str, language: str) -> dict:
    return {"1": (first_name or "").strip() or _NO_NAME.get(language, _NO_NAME["en"]), "2": title}


def _choice_specs(language: str) -> list[TemplateSpec]:
    prompt, button, word = _CHOICE_SAMPLES[language]
    specs = []
    for n in range(1, MAX_BUTTONS + 1):
        samples = {"1": prompt, **{str(i + 1): f"{word} {i}" for i in range(1, n + 1)}}
        specs.append(TemplateSpec(quick_reply_name(n), language, "buttons", "{{1}}", n, samples))
    for n in range(2, MAX_LIST_ITEMS + 1):
        samples = {"1": prompt, "2": button, **{str(i + 2): f"{word} {i}" for i in range(1, n + 1)}}
        specs.append(TemplateSpec(list_name(n), language, "list", "{{1}}", n, samples))
    return specs


def catalogue() -> tuple[TemplateSpec, ...]:
    """Every template the service needs, in every language."""
    specs: list[TemplateSpec] = []
    for language in LANGUAGES:
        specs += _choice_specs(language)
        for name in (ANSWER_READY, LESSON_INVITE):
            specs.append(TemplateSpec(name, language, "text", _TEXTS[name][language],
                                      samples=_SAMPLES[name][language], outside_window=True))
    return tuple(specs)


CATALOGUE = catalogue()
_NEEDS_APPROVAL = {spec.name for spec in CATALOGUE if spec.outside_window}


# --- the lookup ----------------------------------------------------------------------------------

class TemplateSids:
    """`sids(name, language) -> SID or None`, for the send path.

    Order: a SID made by hand in the settings (WHATSAPP_TEMPLATE_SIDS "name/language" then "name", then the
    two older single settings), then what `helpdesk templates sync` recorded for the language, then for
    English. A synced template WhatsApp must approve counts only once it is approved: sending it earlier
    fails at WhatsApp, while without it the message waits for the teacher (or goes by SMS when configured).
    The table is read at most every `ttl` seconds, so a sync in another process is seen within a minute.
    """

    def __init__(self, db, settings, ttl: float = 60.0):
        self.db = db
        self.settings = settings
        self.ttl = ttl
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], str] = {}
        self._loaded_at: float | None = None

    def __call__(self, name: str, language: str | None) -> str | None:
        language = language if language in LANGUAGES else "en"
        return self._hand_made(name, language) or self._synced(name, language) or self._synced(name, "en")

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = None

    def _hand_made(self, name: str, language: str) -> str | None:
        by_name = self.settings.whatsapp_template_sids
        legacy = {ANSWER_READY: self.settings.whatsapp_answer_ready_template_sid,
                  LESSON_INVITE: self.settings.whatsapp_lesson_template_sid}
        return by_name.get(f"{name}/{language}") or by_name.get(name) or legacy.get(name)

    def _synced(self, name: str, language: str) -> str | None:
        if self.db is None:
            return None
        with self._lock:
            if self._loaded_at is None or time.monotonic() - self._loaded_at > self.ttl:
                self._rows = self._load()
                self._loaded_at = time.monotonic()
            return self._rows.get((name, language))

    def _load(self) -> dict[tuple[str, str], str]:
        from helpdesk.models import ContentTemplate

        with self.db.session_scope() as session:
            rows = session.execute(select(ContentTemplate.name, ContentTemplate.language, ContentTemplate.sid,
                                          ContentTemplate.approval_status)).all()
        return {(name, language): sid for name, language, sid, status in rows
                if name not in _NEEDS_APPROVAL or status == APPROVED}


def sids_for(rt) -> TemplateSids:
    """The runtime's lookup: the transport's own when it has one (one cache per process), else a fresh one."""
    found = getattr(rt.transport_for("whatsapp"), "template_sids", None)
    return found if isinstance(found, TemplateSids) else TemplateSids(rt.db, rt.settings)
