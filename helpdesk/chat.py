"""`helpdesk chat`: a teacher's phone in a terminal. It signs and posts real webhook requests to the
running service and prints the replies as the service stores them for sending."""
from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from sqlalchemy import or_, select

from helpdesk.channels.twilio import compute_signature, normalise_phone
from helpdesk.db import Database
from helpdesk.models import OutboundMessage
from helpdesk.settings import DEV_AUTH_TOKEN, Settings

# Lines starting with these send a media message instead of text, to try the media replies by hand.
MEDIA_COMMANDS = {"/image": "image/jpeg", "/voice": "audio/ogg", "/pdf": "application/pdf"}


class ChatSession:
    def __init__(self, settings: Settings, url: str, sender: str, whatsapp: bool):
        self.settings = settings
        self.url = url.rstrip("/")
        self.phone = normalise_phone(sender)
        self.address = f"whatsapp:{self.phone}" if whatsapp else self.phone
        self.db = Database(settings.database_url)
        self.seen_id = self._latest_id()
        # Without TWILIO_AUTH_TOKEN chat talks to `helpdesk demo`, the only app that accepts this token.
        self.auth_token = settings.twilio_auth_token or DEV_AUTH_TOKEN

    def say(self, text: str, wait: float) -> list[str]:
        status = self.post(self.form_for(text))
        if status != 200:
            return [f"(the service answered HTTP {status})"]
        return self.replies(wait)

    def form_for(self, text: str) -> dict[str, str]:
        form = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": self.settings.twilio_account_sid or "AC" + "0" * 32,
            "From": self.address,
            "To": "whatsapp:+14155238886" if self.address.startswith("whatsapp:") else "+14155238886",
            "Body": text,
            "NumMedia": "0",
        }
        command = text.split(" ", 1)[0]
        if command in MEDIA_COMMANDS:
            form.update(Body="", NumMedia="1", MediaUrl0="https://example.invalid/media/1",
                        MediaContentType0=MEDIA_COMMANDS[command])
        if self.address.startswith("whatsapp:"):
            form.update(WaId=self.phone.lstrip("+"), ProfileName="Chat Teacher")
        return form

    def post(self, form: dict[str, str]) -> int:
        target = f"{self.url}/twilio/inbound"
        signed = f"{self.settings.public_base_url}/twilio/inbound" if self.settings.public_base_url else target
        data = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(target, data=data, method="POST", headers={
            "X-Twilio-Signature": compute_signature(self.auth_token, signed, form),
            "Content-Type": "application/x-www-form-urlencoded",
        })
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def replies(self, wait: float) -> list[str]:
        """Replies stored for this number, waiting until they stop coming (or `wait` runs out)."""
        deadline, quiet_since, found = time.monotonic() + wait, None, []
        while time.monotonic() < deadline:
            new = self._new_replies()
            if new:
                found += new
                quiet_since = time.monotonic()
            elif found and time.monotonic() - quiet_since > 0.7:
                break
            time.sleep(0.1)
        return found

    def _new_replies(self) -> list[str]:
        with self.db.session_scope() as session:
            rows = session.scalars(
                select(OutboundMessage).where(OutboundMessage.id > self.seen_id,
                                              or_(OutboundMessage.to_address == self.phone,
                                                  OutboundMessage.to_address == f"whatsapp:{self.phone}"))
                .order_by(OutboundMessage.id)
            ).all()
            if rows:
                self.seen_id = rows[-1].id
            return [row.body or f"[template {row.content_sid}]" for row in rows]

    def _latest_id(self) -> int:
        with self.db.session_scope() as session:
            return session.scalar(select(OutboundMessage.id).order_by(OutboundMessage.id.desc()).limit(1)) or 0


def recent_outbound(settings: Settings, limit: int) -> list[dict]:
    db = Database(settings.database_url)
    with db.session_scope() as session:
        rows = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(limit)).all()
        return [
            {"to": row.to_address, "body": row.body, "status": row.status, "kind": row.kind,
             "created_at": row.created_at.isoformat(timespec="seconds") + "Z"}
            for row in reversed(rows)
        ]
