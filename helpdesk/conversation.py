"""The pure core of a teacher's turn: given what they wrote and where the conversation stands, decide
what to say and do. No Flask, database or Twilio here: the edge (helpdesk.dialogue) applies the decision.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "band", "بند"}
START_WORDS = {"start", "unstop", "shuru", "شروع"}
HELP_WORDS = {"help", "menu", "madad", "مدد"}

TEXTS = {
    "en": {
        "help": "Teacher Helpdesk: send your teaching question any time, in English or Urdu. "
                "EXPERT talks to a person, LANG changes language, STOP ends messages.",
        "stopped": "You will get no more messages from the Teacher Helpdesk. Send START to come back.",
        "started": "Welcome back to the Teacher Helpdesk. Send your question any time.",
        "media": "Thank you! I can read text only. Please type your question in a few words.",
        "escalated": "Thank you. I have passed your question to a subject expert, who will reply here soon.",
        "feedback": "Reply 1 if this helped, 2 to ask an expert.",
        "clarify": "Did you mean:",
        "none_of_these": "none of these",
    },
    "ur": {
        "help": "ٹیچر ہیلپ ڈیسک: اپنا تدریسی سوال کسی بھی وقت اردو یا انگریزی میں بھیجیں۔ "
                "ماہر سے بات کے لیے EXPERT، زبان بدلنے کے لیے LANG، پیغامات بند کرنے کے لیے STOP لکھیں۔",
        "stopped": "آپ کو ٹیچر ہیلپ ڈیسک سے مزید پیغامات نہیں آئیں گے۔ واپس آنے کے لیے START بھیجیں۔",
        "started": "ٹیچر ہیلپ ڈیسک میں دوبارہ خوش آمدید۔ اپنا سوال کسی بھی وقت بھیجیں۔",
        "media": "شکریہ! میں صرف تحریر پڑھ سکتا ہوں۔ براہ کرم اپنا سوال چند الفاظ میں لکھ دیں۔",
        "escalated": "شکریہ۔ آپ کا سوال ایک ماہر استاد کو بھیج دیا گیا ہے، وہ جلد یہاں جواب دیں گے۔",
        "feedback": "اگر یہ مددگار تھا تو 1 لکھیں، ماہر سے پوچھنے کے لیے 2 لکھیں۔",
        "clarify": "کیا آپ کا مطلب تھا:",
        "none_of_these": "ان میں سے کوئی نہیں",
    },
}


@dataclass(frozen=True)
class Turn:
    text: str
    num_media: int = 0
    channel: str = "sms"
    language: str = "en"
    opted_out: bool = False


@dataclass
class Decision:
    replies: list[str] = field(default_factory=list)
    kind: str = "answer"
    opt_out: bool = False
    opt_in: bool = False
    escalate: bool = False
    match: object | None = None


def text(language: str, key: str) -> str:
    return TEXTS.get(language, TEXTS["en"]).get(key) or TEXTS["en"][key]


class Knowledge(Protocol):
    def match(self, text: str): ...
    def answer(self, faq_id: str, language: str, channel: str) -> str: ...


def decide(turn: Turn, kb: Knowledge) -> Decision:
    word = turn.text.strip().lower()
    if word in STOP_WORDS:
        return Decision(replies=[text(turn.language, "stopped")], kind="optout-confirm", opt_out=True)
    if word in START_WORDS:
        return Decision(replies=[text(turn.language, "started")], kind="notice", opt_in=True)
    if turn.opted_out:
        return Decision()
    if word in HELP_WORDS:
        return Decision(replies=[text(turn.language, "help")], kind="notice")
    if not word:
        return Decision(replies=[text(turn.language, "media")], kind="notice")
    result = kb.match(turn.text)
    if result.decision == "answer":
        answer = kb.answer(result.faq_id, turn.language, turn.channel)
        return Decision(replies=[f"{answer}\n\n{text(turn.language, 'feedback')}"], match=result)
    return Decision(replies=[text(turn.language, "escalated")], kind="notice", escalate=True, match=result)
