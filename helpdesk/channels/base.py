"""The one transport interface every outbound message goes through."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Option:
    """One choice offered to the teacher. `id` is what a tap sends back; it is the option's number, so a tap,
    a typed number and the option's words all reach the same decision."""
    id: str
    title: str  # short: a WhatsApp button title holds 20 characters, a list item 24


@dataclass(frozen=True)
class Choices:
    """A "choose one of these" message kind. The conversation decides it; each channel renders it (buttons or
    a list on WhatsApp inside the window, a numbered text menu on SMS and wherever no template is set up)."""
    prompt: str
    options: tuple[Option, ...]
    language: str = "en"

    def to_json(self) -> dict:
        return {"prompt": self.prompt, "language": self.language,
                "options": [{"id": option.id, "title": option.title} for option in self.options]}

    @classmethod
    def from_json(cls, data: dict | None) -> "Choices | None":
        if not data:
            return None
        return cls(prompt=data.get("prompt") or "", language=data.get("language") or "en",
                   options=tuple(Option(str(o["id"]), o["title"]) for o in data.get("options") or ()))


@dataclass(frozen=True)
class OutgoingMessage:
    to: str                               # "+92..." or "whatsapp:+92..."
    body: str | None = None
    content_sid: str | None = None        # an approved WhatsApp template (Content API)
    content_variables: dict | None = None
    status_callback: str | None = None
    choices: Choices | None = None        # rendered by the channel when it can; `body` is the text fallback
    window_open: bool = False             # WhatsApp: the teacher wrote within 24 hours


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str


class SendError(Exception):
    """A send that did not go through.

    `permanent`: retrying cannot help (opted out, outside the WhatsApp window, invalid number).
    `ambiguous`: the request may have reached the provider (a read timeout), so a retry could send twice.
    Otherwise the error is transient and safe to retry (429, 5xx, connection refused).
    """

    def __init__(self, message: str, *, code: int | None = None, http_status: int | None = None,
                 permanent: bool = False, ambiguous: bool = False):
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.permanent = permanent
        self.ambiguous = ambiguous


class Transport(Protocol):
    def send(self, message: OutgoingMessage) -> SendResult: ...

    def sender_for(self, to: str) -> str:
        """The sending number or service for `to`: rate limits are held per sender."""
        ...

    def find_sent(self, message: OutgoingMessage, since: datetime) -> SendResult | None:
        """A message like this one that the provider created since `since`, if any: settles a send whose
        answer never came back (a timeout after the request may or may not have created the message)."""
        ...
