"""Everything Twilio-specific: inbound parsing, signatures, sending through the real SDK, the limits and
message kinds it declares (CHANNELS), and what its error codes mean (failure_of).

See shared/research/twilio-platform.md for the platform rules cited in the comments.
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import datetime
from typing import Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from helpdesk.channels.base import (SMS, WHATSAPP, ChannelSpec, Choices, Failure, Inbound, Limits, MessageKind,
                                    Option, OutgoingMessage, SendError, SendResult, StatusUpdate)

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Twilio's WhatsApp addresses; ours (base.address_for) have the same form, so none is rewritten.
WHATSAPP_PREFIX = "whatsapp:"
WHATSAPP_MAX_CHARS = 1600  # Body limit on every channel; WhatsApp has no segments.
SMS_MAX_CHARS = 1600       # Twilio concatenates up to 1600 characters into one multi-segment SMS.
MAX_INBOUND_BODY = 4096    # Twilio sends at most 1600; anything far longer is not from Twilio.
MESSAGE_SID = re.compile(r"^(SM|MM|IM|SW)[0-9a-fA-F]{32}$")
STATUS_WORD = re.compile(r"^[a-z_]{2,20}$")

# What Twilio's error codes mean (shared/research/twilio-platform.md). Codes not listed are judged by HTTP
# status: 429 and 5xx are retried, any other refusal is permanent.
OPTED_OUT = 21610
OUTSIDE_WINDOW = 63016
FAILURE_BY_CODE = {
    OPTED_OUT: Failure.OPTED_OUT,
    OUTSIDE_WINDOW: Failure.OUTSIDE_WINDOW,
    **dict.fromkeys((21211, 21612, 21614, 21617, 21658, 63003, 21408), Failure.PERMANENT),
}


def failure_of(code: int | None) -> Failure | None:
    return FAILURE_BY_CODE.get(code) if code is not None else None


class InvalidInbound(ValueError):
    pass


# --- addresses ------------------------------------------------------------------------------------

def normalise_phone(raw: str, default_country: str = "92") -> str:
    """Any of 'whatsapp:+923001234567', '923001234567' (WaId), '+92 300 1234567', '03001234567' -> E.164."""
    text = raw.strip()
    if text.lower().startswith(WHATSAPP_PREFIX):
        text = text[len(WHATSAPP_PREFIX):]
    digits = re.sub(r"[\s\-().]", "", text)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("0") and not digits.startswith("+"):
        digits = "+" + default_country + digits[1:]
    if not digits.startswith("+"):
        digits = "+" + digits
    # ASCII digits only: "\d" also matches Arabic-Indic and other digits, which no carrier dials.
    if not re.fullmatch(r"\+[1-9][0-9]{6,14}", digits):
        raise InvalidInbound(f"not a phone number: {raw[:6]}...")
    return digits


# --- inbound --------------------------------------------------------------------------------------

# ButtonPayload/ButtonText: a quick-reply tap or list pick (the option's id and title); some accounts send a
# list pick as ListId/ListTitle instead. The id is the option's number (helpdesk.conversation.tapped_text).
_EXTRA_FIELDS = ("ProfileName", "Latitude", "Longitude", "Address", "Label", "ButtonPayload", "ButtonText",
                 "ListId", "ListTitle", "OptOutType", "MessageType", "OriginalRepliedMessageSid", "Forwarded")


def parse_inbound(form: Mapping[str, str]) -> Inbound:
    """Raise InvalidInbound (a 400) for anything that is not a Twilio inbound message."""
    sid = (form.get("MessageSid") or form.get("SmsMessageSid") or "").strip()
    if not MESSAGE_SID.match(sid):
        raise InvalidInbound("missing or malformed MessageSid")
    sender = form.get("From") or ""
    if not sender:
        raise InvalidInbound("missing From")
    channel = WHATSAPP if sender.lower().startswith(WHATSAPP_PREFIX) else SMS
    # WaId is the WhatsApp identity without '+'; From is authoritative when both are present.
    phone = normalise_phone(sender)
    body = _clean(form.get("Body") or "")
    if len(body) > MAX_INBOUND_BODY:
        raise InvalidInbound("Body too long")
    try:
        num_media = int(form.get("NumMedia") or 0)
    except ValueError:
        raise InvalidInbound("NumMedia is not a number") from None
    if not 0 <= num_media <= 10:
        raise InvalidInbound("NumMedia out of range")
    media = tuple(
        {"url": _clean(form.get(f"MediaUrl{i}", ""))[:1000],
         "content_type": _clean(form.get(f"MediaContentType{i}", ""))[:100]}
        for i in range(num_media)
    )
    extra = {name: _clean(form[name])[:500] for name in _EXTRA_FIELDS if form.get(name)}
    return Inbound(sid=sid, phone=phone, channel=channel, body=body, num_media=num_media, media=media, extra=extra)


def _clean(text: str) -> str:
    # NUL is never part of a real message, and PostgreSQL refuses it in text columns.
    return text.replace("\x00", "")


def parse_status(form: Mapping[str, str]) -> StatusUpdate:
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    if not MESSAGE_SID.match(sid) or not STATUS_WORD.match(status):
        raise InvalidInbound("missing or malformed MessageSid or MessageStatus")
    raw_code = (form.get("ErrorCode") or "").strip()
    code = int(raw_code) if raw_code.isdigit() and len(raw_code) <= 6 else None  # Twilio codes are 5 digits
    return StatusUpdate(sid=sid, status=status, error_code=code, failure=failure_of(code))


# --- signatures -----------------------------------------------------------------------------------

def signed_url(request_url: str, public_base_url: str | None) -> str:
    """The URL Twilio signed: the configured public base (TLS usually ends at a proxy) plus our path and query.

    Connection-override fragments (#rc=...) are not part of the signature.
    """
    parts = urlsplit(request_url)
    if public_base_url:
        base = urlsplit(public_base_url)
        prefix = base.path.rstrip("/")
        parts = parts._replace(scheme=base.scheme, netloc=base.netloc, path=prefix + parts.path)
    return urlunsplit(parts._replace(fragment=""))


def signature_is_valid(auth_token: str, url: str, params, signature: str | None) -> bool:
    if not signature:
        return False
    return RequestValidator(auth_token).validate(url, params, signature)


def compute_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    return RequestValidator(auth_token).compute_signature(url, params)


# --- imitating Twilio (`helpdesk chat`) -----------------------------------------------------------

SANDBOX_NUMBER = "+14155238886"  # Twilio's WhatsApp sandbox sender, the `To` of a chat message


def inbound_form(sender: str, body: str, *, account_sid: str | None = None, media_type: str | None = None,
                 tap: Option | None = None, profile_name: str = "Chat Teacher") -> dict[str, str]:
    """The form Twilio posts to /twilio/inbound for a message from `sender` (an address).

    `tap`: the teacher tapped this quick-reply button; Twilio sends its title as Body and ButtonText, and
    its id as ButtonPayload. `media_type`: one attachment of that type instead of text.
    """
    whatsapp = sender.startswith(WHATSAPP_PREFIX)
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": account_sid or "AC" + "0" * 32,
        "From": sender,
        "To": WHATSAPP_PREFIX + SANDBOX_NUMBER if whatsapp else SANDBOX_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    if media_type:
        form.update(Body="", NumMedia="1", MediaUrl0="https://example.invalid/media/1",
                    MediaContentType0=media_type)
    if tap is not None:
        form.update(Body=tap.title, ButtonText=tap.title, ButtonPayload=tap.id)
    if whatsapp:
        form.update(WaId=sender[len(WHATSAPP_PREFIX):].lstrip("+"), ProfileName=profile_name)
    return form


def signature_header(auth_token: str, url: str, params: Mapping[str, str] | None = None) -> dict[str, str]:
    """The header that signs a request to `url` (a POST with form `params`, or a GET) as Twilio does."""
    return {"X-Twilio-Signature": compute_signature(auth_token, url, params or {})}


# --- what Twilio can carry -----------------------------------------------------------------------

# Twilio's Body limit is 1600 characters on every channel (WhatsApp itself allows more, and has no segments);
# it concatenates up to 1600 characters into one multi-segment SMS, billed per segment.
CHANNELS = {
    WHATSAPP: ChannelSpec(Limits(WHATSAPP_MAX_CHARS), frozenset(MessageKind)),
    SMS: ChannelSpec(Limits(SMS_MAX_CHARS, billed_in_segments=True), frozenset({MessageKind.TEXT})),
}


# --- choices --------------------------------------------------------------------------------------

# WhatsApp's limits for interactive messages (shared/research/twilio-platform.md): a quick reply has up to 3
# buttons of 20 characters, a list picker up to 10 items of 24 and a button label of 20; the text above either
# holds 1024 characters.
QUICK_REPLY_MAX, QUICK_TITLE_MAX = 3, 20
LIST_MAX, LIST_TITLE_MAX, LIST_BUTTON_MAX = 10, 24, 20
CHOICE_BODY_MAX = 1024

TemplateSids = Callable[[str, str], "str | None"]  # (template name, language) -> an approved Content SID


def render_choices(message: OutgoingMessage, template_sid: TemplateSids | None) -> dict | None:
    """`content_sid` and `content_variables` (JSON) that show `message.choices` as WhatsApp buttons or a list,
    or None for the numbered text `body` (SMS, outside the 24-hour window, no template, too many options).

    The templates (made by `helpdesk templates sync`, one per size and language) are generic:
    `choices-quick-{n}` (n = 1..3): body {{1}}, button i titled {{i+1}} with id "i";
    `choices-list-{n}` (n = 2..10): body {{1}}, list button {{2}}, item i titled {{i+2}} with id "i".
    Three short options become buttons; more, or titles too long for a button, a list.
    """
    choices = message.choices
    if (choices is None or template_sid is None or not message.window_open
            or not message.to.startswith(WHATSAPP_PREFIX)):
        return None
    titles = [option.title for option in choices.options]
    if not titles or len(choices.prompt) > CHOICE_BODY_MAX or not choices.prompt.strip():
        return None
    if [option.id for option in choices.options] != [str(i) for i in range(1, len(titles) + 1)]:
        return None  # the templates number their options; other ids could not come back as sent
    if len(titles) <= QUICK_REPLY_MAX and all(len(title) <= QUICK_TITLE_MAX for title in titles):
        name, values = f"choices-quick-{len(titles)}", [choices.prompt, *titles]
    elif 2 <= len(titles) <= LIST_MAX and all(len(title) <= LIST_TITLE_MAX for title in titles):
        name, values = f"choices-list-{len(titles)}", [choices.prompt, _list_button(choices), *titles]
    else:
        return None
    sid = template_sid(name, choices.language)
    if not sid:
        return None
    return {"content_sid": sid,
            "content_variables": json.dumps({str(i): value for i, value in enumerate(values, 1)},
                                            ensure_ascii=False)}


def _list_button(choices: Choices) -> str:
    from helpdesk import content

    return content.text("choices_button", choices.language)[:LIST_BUTTON_MAX]


# --- sending --------------------------------------------------------------------------------------

class BaseUrlHttpClient(TwilioHttpClient):
    """Sends the SDK's requests to another base URL (a local fake in tests, a regional proxy).

    The SDK has no base_url argument; rewriting the host here keeps every other part of the real SDK.
    """

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        base = urlsplit(base_url)
        self._scheme, self._netloc = base.scheme, base.netloc

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith("twilio.com"):
            url = urlunsplit((self._scheme, self._netloc, parts.path, parts.query, parts.fragment))
        return super().request(method, url, *args, **kwargs)


class TwilioTransport:
    def __init__(self, *, account_sid: str, auth_token: str, sms_from: str | None, whatsapp_from: str | None,
                 messaging_service_sid: str | None, timeout: float, validity_period: int | None,
                 api_base_url: str | None = None, public_base_url: str | None = None,
                 template_sids: TemplateSids | None = None):
        # The SDK's HTTP client has no timeout by default: a hung connection would hang the worker.
        http = (BaseUrlHttpClient(api_base_url, timeout=timeout) if api_base_url
                else TwilioHttpClient(timeout=timeout))
        self.client = Client(account_sid, auth_token, http_client=http)
        self.sms_from = sms_from
        self.whatsapp_from = whatsapp_from
        self.messaging_service_sid = messaging_service_sid
        self.validity_period = validity_period
        self.public_base_url = public_base_url
        self.template_sids = template_sids  # None: choices always go as numbered text

    channels = CHANNELS

    def status_callback(self, outbound_id: int) -> str | None:
        # Our id rides in the callback URL, so a callback links the Twilio SID to the row even when the
        # worker died between Twilio's answer and our commit.
        return f"{self.public_base_url}/twilio/status?oid={outbound_id}" if self.public_base_url else None

    def sender_for(self, to: str) -> str:
        if to.startswith(WHATSAPP_PREFIX):
            return self.whatsapp_from or self.messaging_service_sid or "whatsapp"
        return self.sms_from or self.messaging_service_sid or "sms"

    def send(self, message: OutgoingMessage) -> SendResult:
        kwargs = self._create_kwargs(message)
        try:
            created = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        except TwilioException as exc:
            raise SendError(str(exc), meaning=Failure.PERMANENT) from exc
        except Exception as exc:  # requests' errors: decide whether the request may have been sent
            raise _classify_transport_error(exc) from exc
        return SendResult(sid=created.sid, status=created.status or "queued")

    def find_sent(self, message: OutgoingMessage, since: datetime) -> SendResult | None:
        try:
            recent = self.client.messages.list(to=message.to, limit=50)
        except (TwilioException, OSError) as exc:
            raise SendError(f"could not list messages: {exc}") from exc
        for record in recent:
            created = record.date_created
            if created is not None and created.replace(tzinfo=None) < since:
                continue
            # A template's body is rendered by Twilio, so for those the recipient and time must do.
            templated = message.content_sid or render_choices(message, self.template_sids)
            if templated or (record.body or "") == (message.body or ""):
                return SendResult(sid=record.sid, status=record.status or "queued")
        return None

    def _create_kwargs(self, message: OutgoingMessage) -> dict:
        kwargs: dict = {"to": message.to}
        is_whatsapp = message.to.startswith(WHATSAPP_PREFIX)
        sender = self.whatsapp_from if is_whatsapp else self.sms_from
        if sender:
            kwargs["from_"] = sender if not is_whatsapp or sender.startswith(WHATSAPP_PREFIX) \
                else WHATSAPP_PREFIX + sender
        else:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        choices = None if message.content_sid else render_choices(message, self.template_sids)
        if message.content_sid:
            kwargs["content_sid"] = message.content_sid
            if message.content_variables:
                kwargs["content_variables"] = json.dumps(message.content_variables)
        elif choices:
            kwargs.update(choices)
        else:
            kwargs["body"] = message.body
        if message.status_callback:
            kwargs["status_callback"] = message.status_callback
        if self.validity_period:
            # Stale helpdesk replies should die in Twilio's queue rather than arrive hours late.
            kwargs["validity_period"] = self.validity_period
        return kwargs


def _classify(exc: TwilioRestException) -> SendError:
    code, status = exc.code, exc.status
    meaning = failure_of(code)
    if meaning is None:
        # 429 was never processed and is always safe to retry; 5xx from the API is transient.
        transient = status == 429 or bool(status and status >= 500)
        meaning = Failure.RETRY_LATER if transient else Failure.PERMANENT
    return SendError(exc.msg or str(exc), meaning=meaning, code=code, http_status=status)


def _classify_transport_error(exc: Exception) -> SendError:
    import requests

    if isinstance(exc, requests.exceptions.ConnectTimeout) or (
        isinstance(exc, requests.exceptions.ConnectionError)
        and not isinstance(exc, requests.exceptions.ReadTimeout)
        and "Read timed out" not in str(exc)
        and _never_connected(exc)
    ):
        return SendError(f"connection failed: {exc}", meaning=Failure.RETRY_LATER)
    return SendError(f"no answer from Twilio, the message may have been sent: {exc}",
                     meaning=Failure.AMBIGUOUS)


def _never_connected(exc: Exception) -> bool:
    text = str(exc)
    return any(marker in text for marker in ("Connection refused", "Failed to establish", "Name or service"))


# --- media (voice notes and pictures teachers send) ------------------------------------------------

# Twilio's media URLs live on this host; nothing else is fetched (no open proxy).
MEDIA_HOST = "api.twilio.com"
# WhatsApp's own limit for media; anything bigger is not a teacher's note.
MEDIA_MAX_BYTES = 16 * 1024 * 1024
MEDIA_CHUNK = 64 * 1024


class MediaError(Exception):
    """The media could not be fetched; `status` is what our proxy answers (400 refused, 413 too big, 502)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def media_url_allowed(url: str, api_base_url: str | None = None) -> bool:
    """Only Twilio's media host over https (or the configured API base, e.g. the fake in tests)."""
    parts = urlsplit(url or "")
    if parts.scheme == "https" and parts.hostname == MEDIA_HOST and parts.port is None:
        return True
    if api_base_url:
        base = urlsplit(api_base_url)
        return (parts.scheme, parts.netloc) == (base.scheme, base.netloc)
    return False


def fetch_media(url: str, *, account_sid: str, auth_token: str, api_base_url: str | None = None,
                timeout: float = 10.0, max_bytes: int = MEDIA_MAX_BYTES) -> tuple[str, bytes]:
    """(content type, bytes) of a Twilio media URL, fetched with the account's Basic auth, as Twilio requires.

    The SDK's own HTTP client (its pooled requests session) makes the request, but its `request()` decodes
    bodies to text, which would corrupt audio and images; so the bytes are read from that session directly.
    Twilio answers with a redirect to its storage; requests drops our Authorization header on the other host.
    """
    if not media_url_allowed(url, api_base_url):
        raise MediaError("not a Twilio media URL", 400)
    http = (BaseUrlHttpClient(api_base_url, timeout=timeout) if api_base_url
            else TwilioHttpClient(timeout=timeout))
    if api_base_url:
        parts = urlsplit(url)
        url = urlunsplit((http._scheme, http._netloc, parts.path, parts.query, ""))
    try:
        with http.session.get(url, auth=(account_sid, auth_token), stream=True, timeout=timeout,
                              allow_redirects=True) as response:
            if response.status_code != 200:
                raise MediaError(f"Twilio answered {response.status_code}", 502)
            if int(response.headers.get("Content-Length") or 0) > max_bytes:
                raise MediaError("media too large", 413)
            body = bytearray()
            for chunk in response.iter_content(MEDIA_CHUNK):
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise MediaError("media too large", 413)
            return response.headers.get("Content-Type") or "application/octet-stream", bytes(body)
    except MediaError:
        raise
    except Exception as exc:  # requests' connection errors and timeouts
        raise MediaError(f"could not fetch media: {exc}", 502) from exc
