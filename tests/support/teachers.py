"""A teacher's phone for tests: signed Twilio webhook posts, exactly as Twilio would send them."""
from __future__ import annotations

import uuid

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"
SMS_FROM = "+15005550006"
WHATSAPP_FROM = "whatsapp:+14155238886"


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


def sign(url: str, form: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


def signed_post(client, path: str, form: dict, token: str = AUTH_TOKEN, base: str = "http://localhost"):
    return client.post(path, data=form, headers={"X-Twilio-Signature": sign(base + path, form, token)})


class Phone:
    def __init__(self, client, phone: str, whatsapp: bool = False):
        self.client = client
        self.phone = phone
        self.whatsapp = whatsapp
        self.address = f"whatsapp:{phone}" if whatsapp else phone

    def form(self, body: str = "", sid: str | None = None, **extra) -> dict:
        form = {"MessageSid": sid or new_sid(), "AccountSid": ACCOUNT_SID, "From": self.address,
                "To": WHATSAPP_FROM if self.whatsapp else SMS_FROM, "Body": body, "NumMedia": "0"}
        if self.whatsapp:
            form.update(WaId=self.phone.lstrip("+"), ProfileName="Test Teacher")
        form.update(extra)
        return form

    def send(self, body: str = "", sid: str | None = None, **extra):
        response = signed_post(self.client, "/twilio/inbound", self.form(body, sid, **extra))
        assert response.status_code == 200, response.data
        return response
