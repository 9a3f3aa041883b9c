"""The channel seam: what channels/base.py promises every provider, what Twilio declares through it, and that
the send path uses only the seam (so a provider is one module plus a webhook blueprint)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select
from twilio.base.exceptions import TwilioRestException

from helpdesk import outbound
from helpdesk.channels import base, templates, twilio
from helpdesk.channels.base import (SMS, WHATSAPP, ChannelSpec, Failure, Limits, MessageKind, OutgoingMessage,
                                    SendError, SendResult, address_for, all_addresses, by_channel, channel_of,
                                    phone_of)
from helpdesk.channels.outbox import OutboxTransport
from helpdesk.dialogue import get_or_create_teacher
from helpdesk.models import OutboundMessage
from helpdesk.privacy import mask_address
from helpdesk.runtime import make_transports
from helpdesk.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PHONE = "+923001234567"


# --- addresses ------------------------------------------------------------------------------------

@pytest.mark.parametrize("channel, address", [(SMS, PHONE), (WHATSAPP, f"whatsapp:{PHONE}")])
def test_an_address_names_its_channel_and_its_phone(channel, address):
    assert address_for(channel, PHONE) == address
    assert channel_of(address) == channel
    assert phone_of(address) == PHONE


def test_a_new_channel_brings_its_own_address_scheme(monkeypatch):
    monkeypatch.setitem(base._SCHEMES, "telegram", "telegram:")
    assert address_for("telegram", "12345") == "telegram:12345"
    assert (channel_of("telegram:12345"), phone_of("telegram:12345")) == ("telegram", "12345")
    assert set(all_addresses(PHONE)) == {PHONE, f"whatsapp:{PHONE}", f"telegram:{PHONE}"}
    assert mask_address(f"telegram:{PHONE}") == "telegram:+92300****567"
    with pytest.raises(ValueError):
        base.register_scheme("fax", "fax")


def test_masking_keeps_the_channel_and_hides_the_number():
    assert mask_address(f"whatsapp:{PHONE}") == "whatsapp:+92300****567"
    assert mask_address(PHONE) == "+92300****567"


# --- limits and kinds -----------------------------------------------------------------------------

def test_limits_split_and_count_segments_only_where_the_provider_says_so():
    text = "word " * 100
    sms, whatsapp = twilio.CHANNELS[SMS].limits, twilio.CHANNELS[WHATSAPP].limits
    assert (sms.segments(text), whatsapp.segments(text)) == (base.sms_segments(text), 1) == (4, 1)
    assert Limits(max_chars=120).split(text) == base.split_message(text, 120)
    assert all(len(part) <= 120 for part in Limits(max_chars=120).split(text))


def test_twilio_declares_what_each_channel_renders():
    assert twilio.CHANNELS[WHATSAPP].renders(MessageKind.CHOICES)
    assert twilio.CHANNELS[WHATSAPP].renders(MessageKind.TEMPLATE)
    assert not twilio.CHANNELS[SMS].renders(MessageKind.CHOICES)  # a numbered text menu instead
    assert twilio.CHANNELS[SMS].renders(MessageKind.TEXT)


# --- what errors mean -----------------------------------------------------------------------------

@pytest.mark.parametrize("status, code, meaning", [
    (400, 21610, Failure.OPTED_OUT), (400, 63016, Failure.OUTSIDE_WINDOW), (400, 21211, Failure.PERMANENT),
    (429, 20429, Failure.RETRY_LATER), (503, 20503, Failure.RETRY_LATER), (400, 12345, Failure.PERMANENT),
])
def test_twilio_codes_become_meanings_the_service_acts_on(status, code, meaning):
    error = twilio._classify(TwilioRestException(status, "https://api.twilio.com/x", msg="no", code=code))
    assert (error.meaning, error.code, error.http_status) == (meaning, code, status)
    assert error.permanent == (meaning in (Failure.OPTED_OUT, Failure.OUTSIDE_WINDOW, Failure.PERMANENT))


def test_a_status_callback_carries_the_meaning_of_its_error_code():
    form = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "failed", "ErrorCode": "21610"}
    assert twilio.parse_status(form).failure is Failure.OPTED_OUT
    assert twilio.parse_status(dict(form, ErrorCode="30007")).failure is None
    assert twilio.parse_status(dict(form, ErrorCode="")).failure is None


def test_send_error_shorthands_name_a_meaning():
    assert SendError("x").meaning is Failure.RETRY_LATER
    assert SendError("x", permanent=True).meaning is Failure.PERMANENT
    assert SendError("x", ambiguous=True).ambiguous and not SendError("x", ambiguous=True).permanent
    assert SendError("x", meaning=Failure.OPTED_OUT).permanent


# --- transports per channel -----------------------------------------------------------------------

def test_without_credentials_the_outbox_carries_every_twilio_channel_with_twilios_limits():
    transports = make_transports(Settings())
    assert set(transports) == {SMS, WHATSAPP}
    assert all(isinstance(t, OutboxTransport) for t in transports.values())
    assert {channel: t.channels[channel] for channel, t in transports.items()} == twilio.CHANNELS


def test_with_credentials_twilio_carries_them_and_names_its_status_callback():
    settings = Settings(twilio_account_sid="AC" + "0" * 32, twilio_auth_token="t", twilio_sms_from="+15005550006",
                        public_base_url="https://helpdesk.example.org")
    transports = make_transports(settings)
    assert {type(t) for t in transports.values()} == {twilio.TwilioTransport}
    assert transports[SMS].status_callback(7) == "https://helpdesk.example.org/twilio/status?oid=7"


def test_two_transports_for_one_channel_is_refused():
    with pytest.raises(ValueError):
        by_channel(OutboxTransport(twilio.CHANNELS), OutboxTransport({SMS: twilio.CHANNELS[SMS]}))


class RecordingTransport:
    """A provider outside Twilio (a Telegram bot, say): its own channel, limits and error meanings."""

    channels = {"telegram": ChannelSpec(Limits(max_chars=50), frozenset({MessageKind.TEXT}))}

    def __init__(self, fail_with: Failure | None = None):
        self.sent: list[OutgoingMessage] = []
        self.fail_with = fail_with

    def send(self, message):
        if self.fail_with:
            raise SendError("refused", meaning=self.fail_with, code=403)
        self.sent.append(message)
        return SendResult(sid=f"TG{len(self.sent)}", status="sent")

    def sender_for(self, to):
        return "telegram-bot"

    def find_sent(self, message, since):
        return None

    def status_callback(self, outbound_id):
        return None


@pytest.fixture
def with_telegram(rt, monkeypatch):
    """The app's runtime with a second provider registered next to Twilio for a 'telegram' channel."""
    monkeypatch.setitem(base._SCHEMES, "telegram", "telegram:")
    telegram = RecordingTransport()
    rt.transports = {**rt.transports, **by_channel(telegram)}
    base.install_transports(rt.transports)
    yield telegram
    del rt.transports["telegram"]
    base.install_transports(rt.transports)


def test_a_second_provider_gets_its_channel_split_by_its_own_limits(rt, with_telegram, twilio_api):
    with rt.db.session_scope() as session:
        teacher = get_or_create_teacher(session, PHONE)
        teacher.channel = "telegram"
        outbound.queue_message(session, teacher=teacher, body="A first sentence here. " * 5, kind="notice")
        sms = get_or_create_teacher(session, "+923007654321")
        outbound.queue_message(session, teacher=sms, body="by SMS, through Twilio", kind="notice")
    assert rt.jobs.drain()
    assert [m.to for m in with_telegram.sent] == [f"telegram:{PHONE}"] * 3
    assert all(len(m.body) <= 50 for m in with_telegram.sent)
    assert [m["Body"] for m in twilio_api.wait_for_messages(1)] == ["by SMS, through Twilio"]
    with rt.db.session_scope() as session:
        statuses = session.scalars(select(OutboundMessage.status).where(OutboundMessage.channel == "telegram"))
        assert list(statuses) == ["sent"] * 3


def test_a_providers_opted_out_meaning_marks_the_teacher_without_any_twilio_code(rt, with_telegram):
    with_telegram.fail_with = Failure.OPTED_OUT
    with rt.db.session_scope() as session:
        teacher = get_or_create_teacher(session, PHONE)
        teacher.channel = "telegram"
        outbound.queue_message(session, teacher=teacher, body="hello", kind="notice")
    assert rt.jobs.drain()
    with rt.db.session_scope() as session:
        row = session.scalars(select(OutboundMessage)).one()
        assert (row.status, row.error_code, row.attempts) == ("failed", 403, 1)
        assert row.teacher.opted_out_at is not None


# --- the seam holds -------------------------------------------------------------------------------

@pytest.mark.parametrize("module", ["helpdesk/outbound.py", "workers/jobs.py", "helpdesk/inbox.py"])
def test_the_send_path_knows_channels_only_through_the_seam(module):
    source = (ROOT / module).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    channel_modules = {name for name in imported if name.startswith("helpdesk.channels.")}
    # base and templates are provider-neutral; twilio.py, outbox.py and twilio_content.py are not
    neutral = {"helpdesk.channels.base": base, "helpdesk.channels.templates": templates}
    allowed = set(neutral) | {f"{module}.{n}" for module, found in neutral.items() for n in dir(found)}
    assert channel_modules <= allowed
    assert not any(code in source for code in ("21610", "63016", '"whatsapp:'))
