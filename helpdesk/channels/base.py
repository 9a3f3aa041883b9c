"""What every channel provider shares, and the one transport interface every outbound message goes through.

This module is the contract between the service and its providers: addresses, message limits, what a failed
send means, the message kinds a channel can render, and which transport carries each channel. `outbound`,
`workers.jobs` and `inbox` use only this module; a provider module (`twilio.py`, `outbox.py`) implements it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Mapping, Protocol

# --- addresses ------------------------------------------------------------------------------------

SMS, WHATSAPP = "sms", "whatsapp"

# How an address names its channel: "whatsapp:+92..." (the form Twilio uses as well); a bare E.164 number is
# SMS. A new channel adds its prefix with register_scheme ("telegram:" + a chat id, say).
_SCHEMES: dict[str, str] = {WHATSAPP: "whatsapp:"}
_BARE = SMS


def register_scheme(channel: str, prefix: str) -> None:
    if not prefix.endswith(":"):
        raise ValueError(f"an address scheme ends with ':', got {prefix!r}")
    _SCHEMES[channel] = prefix


def address_for(channel: str, phone: str) -> str:
    """Where to send to `phone` on `channel`: '+923001234567' -> 'whatsapp:+923001234567' on WhatsApp."""
    return _SCHEMES.get(channel, "") + phone


def channel_of(address: str | None) -> str:
    for channel, prefix in _SCHEMES.items():
        if address and address.startswith(prefix):
            return channel
    return _BARE


def phone_of(address: str) -> str:
    """The teacher's identity in an address (the E.164 number), without its channel's prefix."""
    return address.removeprefix(_SCHEMES.get(channel_of(address), ""))


def all_addresses(phone: str) -> tuple[str, ...]:
    """Every address `phone` can be written to: finds one person's messages across channels."""
    return (phone, *(prefix + phone for prefix in _SCHEMES.values()))


# --- message length -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    """A channel's limits as its provider declares them (see e.g. twilio.CHANNELS)."""
    max_chars: int                    # one message's body; longer text is split into parts
    billed_in_segments: bool = False  # SMS: each part costs sms_segments(part)

    def split(self, text: str) -> list[str]:
        return split_message(text, self.max_chars)

    def segments(self, text: str) -> int:
        return sms_segments(text) if self.billed_in_segments else 1


_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


def is_gsm7(text: str) -> bool:
    return all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in text)


def sms_segments(text: str) -> int:
    """Billed SMS segments (GSM 03.38, the same at every provider). One non-GSM-7 character (any Urdu letter)
    makes the whole message UCS-2."""
    if is_gsm7(text):
        units = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in text)
        single, multi = 160, 153
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)  # astral emoji take two UTF-16 units
        single, multi = 70, 67
    if units <= single:
        return 1
    return -(-units // multi)


_SENTENCE_END = re.compile(r"(?<=[.!?۔؟])\s+|\n+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def split_message(text: str, limit: int) -> list[str]:
    """Split into parts of at most `limit` characters: at paragraph breaks where whole paragraphs fit, so a
    WhatsApp lesson over 1600 characters keeps its heading and blocks; a longer paragraph at sentence
    boundaries, then at spaces."""
    text = text.strip()
    if len(text) <= limit:
        return [text]
    pieces = (piece for paragraph in _PARAGRAPH_BREAK.split(text) for piece in
              ([paragraph.strip()] if len(paragraph.strip()) <= limit else _sentence_parts(paragraph.strip(), limit)))
    return _pack(pieces, limit, "\n\n")


def _sentence_parts(text: str, limit: int) -> list[str]:
    pieces = (piece for sentence in _SENTENCE_END.split(text) for piece in _hard_wrap(sentence.strip(), limit))
    return _pack(pieces, limit, " ")


def _pack(pieces, limit: int, separator: str) -> list[str]:
    """Join pieces (each within the limit) greedily into as few parts as fit, in order."""
    parts: list[str] = []
    current = ""
    for piece in pieces:
        if not piece:
            continue
        candidate = f"{current}{separator}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current)
            current = piece
    if current:
        parts.append(current)
    return [p for p in parts if p]


def _hard_wrap(sentence: str, limit: int) -> list[str]:
    if len(sentence) <= limit:
        return [sentence]
    words, lines, line = sentence.split(" "), [], ""
    for word in words:
        while len(word) > limit:
            lines.append(word[:limit])
            word = word[limit:]
        if len(line) + len(word) + 1 > limit and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return lines


# --- what a channel can render --------------------------------------------------------------------

class MessageKind(str, Enum):
    """How a message is put on the screen (not OutboundMessage.kind, which says what it is for)."""
    TEXT = "text"
    CHOICES = "choices"    # buttons or a list to tap; elsewhere the numbered text in `body`
    TEMPLATE = "template"  # a provider-approved template (WhatsApp outside the 24-hour window)
    MEDIA = "media"


@dataclass(frozen=True)
class ChannelSpec:
    """What a provider declares for each channel it carries."""
    limits: Limits
    kinds: frozenset[MessageKind] = frozenset({MessageKind.TEXT})

    def renders(self, kind: MessageKind) -> bool:
        return kind in self.kinds


# --- messages -------------------------------------------------------------------------------------

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
    to: str                               # an address: "+92..." or "whatsapp:+92..." (address_for)
    body: str | None = None
    content_sid: str | None = None        # an approved WhatsApp template (Content API)
    content_variables: dict | None = None
    status_callback: str | None = None    # from the transport's status_callback(outbound_id)
    choices: Choices | None = None        # rendered by the channel when it can; `body` is the text fallback
    window_open: bool = False             # WhatsApp: the teacher wrote within 24 hours


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str


@dataclass(frozen=True)
class Inbound:
    """A message from a teacher, as each provider's webhook parser gives it."""
    sid: str
    phone: str
    channel: str  # "whatsapp" | "sms"
    body: str
    num_media: int = 0
    media: tuple[dict, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)


# --- what a failed send means ---------------------------------------------------------------------

class Failure(str, Enum):
    """What the service does about a failed send. Each provider maps its own error codes onto these."""
    OPTED_OUT = "opted_out"            # the teacher said STOP: mark them opted out, never retry
    OUTSIDE_WINDOW = "outside_window"  # WhatsApp's 24 hours are over: hold it, send the "answer ready" note
    RETRY_LATER = "retry_later"        # never processed (429, 5xx, connection refused): back off and retry
    PERMANENT = "permanent"            # retrying cannot help (an invalid number, a refused request)
    AMBIGUOUS = "ambiguous"            # the request may have reached the provider: a retry could send twice


_NOT_RETRIED = frozenset({Failure.OPTED_OUT, Failure.OUTSIDE_WINDOW, Failure.PERMANENT})


class SendError(Exception):
    """A send that did not go through; `meaning` says what to do about it, `code` is the provider's own.

    `permanent=True` and `ambiguous=True` are shorthands for those meanings; without any the error is
    RETRY_LATER.
    """

    def __init__(self, message: str, *, meaning: Failure | None = None, code: int | None = None,
                 http_status: int | None = None, permanent: bool = False, ambiguous: bool = False):
        super().__init__(message)
        if meaning is None:
            meaning = Failure.AMBIGUOUS if ambiguous else Failure.PERMANENT if permanent else Failure.RETRY_LATER
        self.meaning = meaning
        self.code = code
        self.http_status = http_status

    @property
    def permanent(self) -> bool:
        return self.meaning in _NOT_RETRIED

    @property
    def ambiguous(self) -> bool:
        return self.meaning is Failure.AMBIGUOUS


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery status from the provider's callback; `failure` is what its error code means, if known."""
    sid: str
    status: str
    error_code: int | None
    failure: Failure | None = None


# --- transports -----------------------------------------------------------------------------------

class Transport(Protocol):
    # The channels this transport carries, and what each can do.
    channels: Mapping[str, ChannelSpec]

    def send(self, message: OutgoingMessage) -> SendResult: ...

    def sender_for(self, to: str) -> str:
        """The sending number or service for `to`: rate limits are held per sender."""
        ...

    def find_sent(self, message: OutgoingMessage, since: datetime) -> SendResult | None:
        """A message like this one that the provider created since `since`, if any: settles a send whose
        answer never came back (a timeout after the request may or may not have created the message)."""
        ...

    def status_callback(self, outbound_id: int) -> str | None:
        """Where the provider should report delivery of outbound message `outbound_id` (None: it does not)."""
        ...


def by_channel(*transports: Transport) -> dict[str, Transport]:
    """Channel -> transport, from each transport's declared channels. Two providers for one channel is a
    configuration error, not a choice made here."""
    table: dict[str, Transport] = {}
    for transport in transports:
        for channel in transport.channels:
            if channel in table:
                raise ValueError(f"two transports carry the {channel!r} channel")
            table[channel] = transport
    return table


# The transports of this process, installed by helpdesk.runtime.install: queue-time code (outbound) that is
# handed no runtime finds a channel's limits here.
_installed: dict[str, Transport] = {}


def install_transports(transports: Mapping[str, Transport]) -> None:
    _installed.clear()
    _installed.update(transports)


def transport_for(channel: str) -> Transport:
    try:
        return _installed[channel]
    except KeyError:
        raise LookupError(f"no transport carries the {channel!r} channel "
                          "(runtime.install registers them)") from None


def spec_for(channel: str) -> ChannelSpec:
    return transport_for(channel).channels[channel]


def limits_for(channel: str) -> Limits:
    return spec_for(channel).limits
