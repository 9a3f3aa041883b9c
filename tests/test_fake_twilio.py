"""The fake Twilio API behaves like Twilio for the real twilio SDK (requests over HTTP, no patching)."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from support.fixtures import fake_twilio, twilio_api  # noqa: F401

WA_TEACHER = "whatsapp:+923001234567"
WA_SENDER = "whatsapp:+14155238886"


class LocalTwilioHttpClient(TwilioHttpClient):
    """Section 6 of the research notes: rewrite *.twilio.com to the fake, keep everything else of the SDK."""

    def __init__(self, base, **kw):
        super().__init__(**kw)
        b = urlsplit(base)
        self._scheme, self._netloc = b.scheme, b.netloc

    def request(self, method, url, *args, **kwargs):
        u = urlsplit(url)
        if u.hostname and u.hostname.endswith("twilio.com"):
            url = urlunsplit((self._scheme, self._netloc, u.path, u.query, u.fragment))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def client(twilio_api, monkeypatch):
    for name in ("TWILIO_EDGE", "TWILIO_REGION", "TWILIO_ACCOUNT_SID"):
        monkeypatch.delenv(name, raising=False)  # Client() reads these from os.environ; they rewrite hosts
    http = LocalTwilioHttpClient(twilio_api.base_url, timeout=5)
    return Client(twilio_api.account_sid, twilio_api.auth_token, http_client=http)


@pytest.fixture
def receiver():
    """A tiny app stand-in that records the status callbacks it receives."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append({"url": f"http://{self.headers['Host']}{self.path}",
                             "params": dict(parse_qsl(body)),
                             "signature": self.headers.get("X-Twilio-Signature", "")})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    server.received = received
    server.url = f"http://127.0.0.1:{server.server_address[1]}/twilio/status?tenant=pk"
    yield server
    server.shutdown()
    server.server_close()


def test_create_returns_a_sid_and_records_the_form(client, twilio_api):
    message = client.messages.create(to=WA_TEACHER, from_=WA_SENDER, body="Assalam o Alaikum",
                                     status_callback="https://example.org/status", validity_period=600)

    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.to == WA_TEACHER and message.body == "Assalam o Alaikum"
    sent = twilio_api.wait_for_messages(1)[0]
    assert sent["sid"] == message.sid
    assert sent["To"] == WA_TEACHER and sent["From"] == WA_SENDER
    assert sent["StatusCallback"] == "https://example.org/status" and sent["ValidityPeriod"] == "600"
    assert twilio_api.requests[-1]["auth_ok"] is True


def test_sms_segments_follow_the_encoding(client):
    def segments(body):
        return client.messages.create(to="+923001234567", from_="+15005550006", body=body).num_segments

    assert segments("a" * 160) == "1" and segments("a" * 161) == "2"
    urdu = "آپ کا سوال ماہر کو بھیج دیا گیا ہے"  # UCS-2: 70 units in one segment, then 67 per segment
    assert segments((urdu * 5)[:70]) == "1" and segments((urdu * 5)[:71]) == "2"
    assert segments((urdu * 5)[:135]) == "3"


def test_fail_next_raises_then_the_next_call_succeeds(client, twilio_api):
    twilio_api.fail_next(429)

    with pytest.raises(TwilioRestException) as failure:
        client.messages.create(to=WA_TEACHER, from_=WA_SENDER, body="hi")
    assert (failure.value.status, failure.value.code) == (429, 20429)
    assert twilio_api.messages == []

    assert client.messages.create(to=WA_TEACHER, from_=WA_SENDER, body="hi").sid
    assert len(twilio_api.messages) == 1


def test_opted_out_recipient_gives_21610(client, twilio_api):
    twilio_api.opt_out("+923001234567")

    with pytest.raises(TwilioRestException) as failure:
        client.messages.create(to="+923001234567", from_="+15005550006", body="lesson 3")
    assert (failure.value.status, failure.value.code) == (400, 21610)
    assert client.messages.create(to=WA_TEACHER, from_=WA_SENDER, body="other channel").sid


def test_closed_window_rejects_free_form_but_not_templates(client, twilio_api):
    twilio_api.close_window(WA_TEACHER)

    with pytest.raises(TwilioRestException) as failure:
        client.messages.create(to=WA_TEACHER, from_=WA_SENDER, body="Your answer is ready")
    assert (failure.value.status, failure.value.code) == (400, 63016)

    sent = client.messages.create(to=WA_TEACHER, from_=WA_SENDER, content_sid="HX" + "1" * 32,
                                  content_variables=json.dumps({"1": "Ayesha"}))
    assert sent.sid
    assert twilio_api.messages[0]["ContentVariables"] == '{"1": "Ayesha"}'


def test_validation_errors_match_twilio(client, twilio_api):
    with pytest.raises(TwilioRestException) as failure:
        client.messages.create(to=WA_TEACHER, from_=WA_SENDER)
    assert (failure.value.status, failure.value.code) == (400, 21602)

    wrong = Client(twilio_api.account_sid, "wrong-token",
                   http_client=LocalTwilioHttpClient(twilio_api.base_url, timeout=5))
    with pytest.raises(TwilioRestException) as failure:
        wrong.messages.create(to=WA_TEACHER, from_=WA_SENDER, body="hi")
    assert (failure.value.status, failure.value.code) == (401, 20003)
    assert twilio_api.requests[-1]["auth_ok"] is False
    assert twilio_api.messages == []


def test_list_filters_by_recipient_and_fetch_returns_one(client):
    first = client.messages.create(to=WA_TEACHER, from_=WA_SENDER, body="one")
    client.messages.create(to="whatsapp:+923009999999", from_=WA_SENDER, body="someone else")
    second = client.messages.create(to=WA_TEACHER, from_=WA_SENDER, body="two")

    listed = client.messages.list(to=WA_TEACHER)

    assert [m.sid for m in listed] == [second.sid, first.sid]  # newest first
    assert client.messages(first.sid).fetch().body == "one"
    with pytest.raises(TwilioRestException) as failure:
        client.messages("SM" + "f" * 32).fetch()
    assert failure.value.status == 404


def test_status_callbacks_are_signed_like_twilio(client, twilio_api, receiver):
    sid = client.messages.create(to=WA_TEACHER, from_=WA_SENDER, body="hi",
                                 status_callback=receiver.url + "#rc=2").sid

    assert twilio_api.send_status_callbacks(sid, ("sent", "undelivered"), error_code=63016) == [204, 204]

    validator = RequestValidator(twilio_api.auth_token)
    sent, undelivered = receiver.received
    for callback in (sent, undelivered):
        assert callback["url"] == receiver.url
        assert validator.validate(callback["url"], callback["params"], callback["signature"])
    assert sent["params"]["MessageStatus"] == "sent" and "ErrorCode" not in sent["params"]
    assert undelivered["params"] | {"MessageSid": sid, "ErrorCode": "63016", "To": WA_TEACHER} == \
        undelivered["params"]
    assert not validator.validate(sent["url"], {**sent["params"], "MessageStatus": "read"}, sent["signature"])
    assert client.messages(sid).fetch().status == "undelivered"


def test_auto_callbacks_follow_each_create(client, twilio_api, receiver):
    twilio_api.auto_callbacks = True

    sid = client.messages.create(to=WA_TEACHER, from_=WA_SENDER, body="hi",
                                 status_callback=receiver.url).sid

    deadline = time.monotonic() + 5
    while len(receiver.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [(c["params"]["MessageSid"], c["params"]["MessageStatus"]) for c in receiver.received] == \
        [(sid, "sent"), (sid, "delivered")]


def test_a_hung_create_times_out_the_client_but_is_still_recorded(twilio_api):
    twilio_api.hang_next(3)
    slow = Client(twilio_api.account_sid, twilio_api.auth_token,
                  http_client=LocalTwilioHttpClient(twilio_api.base_url, timeout=0.3))

    with pytest.raises(requests.exceptions.ReadTimeout):  # the SDK does not wrap transport errors
        slow.messages.create(to=WA_TEACHER, from_=WA_SENDER, body="hi")
    # Like Twilio, the message may exist although the caller saw a timeout: reconcile, don't blind-retry.
    assert len(twilio_api.wait_for_messages(1)) == 1


def test_wait_for_messages_reports_what_it_saw(twilio_api):
    with pytest.raises(AssertionError, match="expected 1 message"):
        twilio_api.wait_for_messages(1, timeout=0.1)


def test_media_is_served_with_basic_auth_only(twilio_api):
    url = twilio_api.add_media("MM" + "5" * 32, "ME" + "5" * 32, b"\x00voice\xff", "audio/ogg")
    local = twilio_api.base_url + urlsplit(url).path
    served = requests.get(local, auth=(twilio_api.account_sid, twilio_api.auth_token), timeout=5)
    assert served.status_code == 200 and served.content == b"\x00voice\xff"
    assert served.headers["Content-Type"] == "audio/ogg"
    assert requests.get(local, auth=(twilio_api.account_sid, "wrong"), timeout=5).status_code == 401
    missing = requests.get(local[:-1] + "0", auth=(twilio_api.account_sid, twilio_api.auth_token), timeout=5)
    assert missing.status_code == 404
