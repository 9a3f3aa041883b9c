"""`helpdesk chat`: a teacher's phone in a terminal. It signs and posts the webhook requests Twilio would send
to the running service, and asks that service (GET /dev/outbox) for the replies it keeps for this number, so
it works from any directory and on any database the service uses.

On WhatsApp a reply that offers choices is shown as buttons, `[1 Teacher] [2 Head teacher]`; typing one's
number or title sends what Twilio sends for a tap on it.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request

from helpdesk.channels import twilio
from helpdesk.channels.base import SMS, WHATSAPP, Choices, Option, address_for
from helpdesk.settings import DEV_AUTH_TOKEN, Settings

# Lines starting with these send a media message instead of text, to try the media replies by hand.
MEDIA_COMMANDS = {"/image": "image/jpeg", "/voice": "audio/ogg", "/pdf": "application/pdf"}
QUIET_AFTER = 0.7  # seconds without a new reply after the first one: the service has finished answering


class ChatError(Exception):
    """The service cannot be talked to this way; the message says what to do instead."""


class ChatSession:
    def __init__(self, settings: Settings, url: str, sender: str, whatsapp: bool):
        self.url = url.rstrip("/")
        self.public_base_url = settings.public_base_url
        self.account_sid = settings.twilio_account_sid
        self.phone = twilio.normalise_phone(sender)
        self.whatsapp = whatsapp
        self.address = address_for(WHATSAPP if whatsapp else SMS, self.phone)
        # Without TWILIO_AUTH_TOKEN chat talks to `helpdesk demo`, the only app that accepts this token.
        self.auth_token = settings.twilio_auth_token or DEV_AUTH_TOKEN
        self.last_choices: Choices | None = None  # on screen as buttons: a typed number or title taps one
        self.seen_id = self.outbox(after=0, limit=0)["latest_id"]  # older messages are not this conversation

    # --- talking ----------------------------------------------------------------------------------

    def say(self, text: str, wait: float) -> list[str]:
        status = self.post(self.form_for(text))
        if status != 200:
            return [f"(the service answered HTTP {status})"]
        return self.show(self.replies(wait))

    def form_for(self, text: str) -> dict[str, str]:
        media_type = MEDIA_COMMANDS.get(text.split(" ", 1)[0])
        return twilio.inbound_form(self.address, "" if media_type else text, account_sid=self.account_sid,
                                   media_type=media_type, tap=None if media_type else self.tapped(text))

    def tapped(self, text: str) -> Option | None:
        """The button `text` names (its number or its title) among the choices on screen, if any."""
        if not (self.whatsapp and self.last_choices):
            return None
        typed = text.strip().casefold()
        for number, option in enumerate(self.last_choices.options, start=1):
            if typed in (str(number), option.title.casefold()):
                return option
        return None

    def post(self, form: dict[str, str]) -> int:
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   **twilio.signature_header(self.auth_token, self._signed("/twilio/inbound"), form)}
        data = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(f"{self.url}/twilio/inbound", data=data, method="POST", headers=headers)
        try:
            with self._open(request) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    # --- reading the replies ----------------------------------------------------------------------

    def outbox(self, *, after: int, limit: int = 100) -> dict:
        """The running service's outbox for this number (GET /dev/outbox)."""
        path = "/dev/outbox?" + urllib.parse.urlencode({"to": self.phone, "after": after, "limit": limit})
        request = urllib.request.Request(self.url + path,
                                         headers=twilio.signature_header(self.auth_token, self._signed(path)))
        try:
            with self._open(request) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise ChatError(_refusal(self.url, exc.code)) from None
        except ValueError:
            raise ChatError(f"{self.url}/dev/outbox did not answer with JSON: is it the helpdesk?") from None

    def replies(self, wait: float) -> list[dict]:
        """New messages for this number, waiting until they stop coming (or `wait` runs out)."""
        deadline, quiet_since, found = time.monotonic() + wait, 0.0, []
        while time.monotonic() < deadline:
            new = self.outbox(after=self.seen_id)["messages"]
            if new:
                found += new
                self.seen_id = new[-1]["id"]
                quiet_since = time.monotonic()
            elif found and time.monotonic() - quiet_since > QUIET_AFTER:
                break
            time.sleep(0.1)
        return found

    def show(self, messages: list[dict]) -> list[str]:
        """The messages as this phone shows them; the last choices among them become the buttons on screen."""
        if messages:
            self.last_choices = None
        shown = []
        for message in messages:
            choices = Choices.from_json(message.get("choices")) if self.whatsapp else None
            if choices and choices.options:
                self.last_choices = choices
                shown.append(buttons(choices))
            else:
                shown.append(message.get("body") or f"[template {message.get('content_sid')}]")
        return shown

    # --- plumbing ---------------------------------------------------------------------------------

    def _signed(self, path: str) -> str:
        # The service checks the signature against its public URL when it has one: sign that one too.
        return f"{self.public_base_url or self.url}{path}"

    def _open(self, request: urllib.request.Request):
        try:
            return urllib.request.urlopen(request, timeout=15)
        except urllib.error.HTTPError:
            raise
        except OSError as exc:  # refused, unknown host, timed out
            raise ChatError(f"cannot reach {self.url} ({getattr(exc, 'reason', exc)}): is the service running? "
                            "Start it with `helpdesk demo`, or pass its address with --url.") from None


def buttons(choices: Choices) -> str:
    """'What is your role?' + '[1 Teacher] [2 Head teacher]': what WhatsApp shows under a quick reply."""
    row = " ".join(f"[{number} {option.title}]" for number, option in enumerate(choices.options, start=1))
    return f"{choices.prompt}\n  {row}" if choices.prompt else row


def _refusal(url: str, status: int) -> str:
    if status == 404:
        return (f"{url} does not show its outbox: it sends through Twilio, so its replies go to real phones. "
                "`helpdesk chat` reads the replies of `helpdesk demo` or of a service without Twilio credentials.")
    if status == 403:
        return (f"{url} refused chat's signature: set TWILIO_AUTH_TOKEN to the service's token "
                "(leave it unset for `helpdesk demo`).")
    return f"{url}/dev/outbox answered HTTP {status}"
