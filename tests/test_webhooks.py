"""The webhook receiver: signatures, validation, deduplication, acknowledgement, status callbacks."""
from __future__ import annotations

import random
import string

from sqlalchemy import func, select

from helpdesk.models import InboundMessage, OutboundMessage, StatusEvent
from support.teachers import new_sid, sign, signed_post


def count(rt, model) -> int:
    with rt.db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_it_acknowledges_with_empty_twiml_and_replies_through_the_rest_api(client, rt, teacher, twilio_api):
    response = teacher.send("How do I quieten a noisy class?")

    assert response.mimetype == "text/xml"
    assert b"<Response></Response>" in response.data
    assert rt.jobs.drain()
    sent = twilio_api.wait_for_messages(1)
    assert sent[0]["To"] == teacher.phone
    assert "silent signal" in sent[0]["Body"]
    assert sent[0]["StatusCallback"].startswith("http://localhost/twilio/status?oid=")


def test_a_webhook_posted_three_times_is_stored_and_answered_once(client, rt, teacher, twilio_api):
    sid = new_sid()
    for _ in range(3):
        teacher.send("How do I quieten a noisy class?", sid=sid)
    assert rt.jobs.drain()

    assert count(rt, InboundMessage) == 1
    assert len(twilio_api.messages) == 1
    assert count(rt, OutboundMessage) == 1


def test_it_rejects_a_missing_signature_with_403_and_stores_nothing(client, rt, teacher):
    response = client.post("/twilio/inbound", data=teacher.form("hello"))
    assert response.status_code == 403
    assert count(rt, InboundMessage) == 0


def test_it_rejects_a_wrong_signature_with_403_and_stores_nothing(client, rt, teacher):
    form = teacher.form("hello")
    response = client.post("/twilio/inbound", data=form,
                           headers={"X-Twilio-Signature": sign("http://localhost/twilio/inbound", form, "other")})
    assert response.status_code == 403
    tampered = dict(form, Body="tampered")
    response = client.post("/twilio/inbound", data=tampered,
                           headers={"X-Twilio-Signature": sign("http://localhost/twilio/inbound", form)})
    assert response.status_code == 403
    assert count(rt, InboundMessage) == 0


def test_it_answers_400_to_signed_but_malformed_requests(client, rt):
    for form in ({}, {"Body": "hi"}, {"MessageSid": "nonsense", "From": "+923001234567"},
                 {"MessageSid": new_sid(), "From": "not a number"},
                 {"MessageSid": new_sid(), "From": "+923001234567", "NumMedia": "many"}):
        assert signed_post(client, "/twilio/inbound", form).status_code == 400, form
    assert count(rt, InboundMessage) == 0


def test_an_oversized_body_is_refused_before_parsing(client, rt, teacher):
    form = teacher.form("x" * 100_000)
    assert signed_post(client, "/twilio/inbound", form).status_code == 413
    assert count(rt, InboundMessage) == 0


def test_signatures_are_checked_against_the_public_url_without_fragments(make_app, database_url, teacher):
    app = make_app(database_url, public_base_url="https://helpdesk.example.org")
    client = app.test_client()
    form = teacher.form("hello")
    public = "https://helpdesk.example.org/twilio/inbound"
    assert signed_post(client, "/twilio/inbound", form, base="http://localhost").status_code == 403
    response = client.post("/twilio/inbound", data=form, headers={"X-Twilio-Signature": sign(public, form)})
    assert response.status_code == 200


def test_whatsapp_and_sms_from_one_number_are_one_teacher(client, rt, teacher, twilio_api):
    from helpdesk.models import Teacher
    from support.teachers import Phone

    teacher.send("How do I quieten a noisy class?")
    Phone(client, teacher.phone, whatsapp=True).send("Kasr kaise samjhaun bachon ko")
    assert rt.jobs.drain()
    with rt.db.session_scope() as session:
        teachers = session.scalars(select(Teacher)).all()
        assert [t.phone for t in teachers] == [teacher.phone]
        assert teachers[0].channel == "whatsapp"
    addresses = [m["To"] for m in twilio_api.wait_for_messages(2)]
    assert addresses == [teacher.phone, f"whatsapp:{teacher.phone}"]


def test_random_forms_never_cause_a_server_error(app, rt):
    client = app.test_client()
    rng = random.Random(20261123)
    keys = ["MessageSid", "From", "To", "Body", "NumMedia", "MediaUrl0", "WaId", "Latitude", "ButtonPayload",
            "MessageStatus", "ErrorCode", "SmsSid", "OptOutType", "\x00", "ü"]

    def junk():
        alphabet = string.printable + "اردوبچے😀\x00\u202e"
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))

    def value(key):
        choices = [junk(), new_sid(), "+923001234567", "whatsapp:+923001234567", str(rng.randint(-5, 50))]
        return rng.choice(choices)

    statuses = []
    for i in range(1000):
        form = {k: value(k) for k in rng.sample(keys, rng.randint(0, len(keys)))}
        path = rng.choice(["/twilio/inbound", "/twilio/status"])
        if i % 2:
            response = signed_post(client, path, form)
        else:
            garbage = "".join(rng.choice(string.ascii_letters + "+/=") for _ in range(28))
            response = client.post(path, data=form, headers={"X-Twilio-Signature": garbage})
        statuses.append(response.status_code)
    assert rt.jobs.drain(60)
    assert max(statuses) < 500
    assert set(statuses) <= {200, 204, 400, 403}


# --- delivery-status callbacks -------------------------------------------------------------------

def _send_and_get_row(rt, teacher, twilio_api):
    teacher.send("How do I quieten a noisy class?")
    assert rt.jobs.drain()
    message = twilio_api.wait_for_messages(1)[0]
    return message


def _status(client, sid, status, oid=None, **extra):
    path = "/twilio/status" + (f"?oid={oid}" if oid else "")
    form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32, **extra}
    return signed_post(client, path, form)


def test_status_callbacks_only_move_forward_and_are_deduplicated(client, rt, teacher, twilio_api):
    message = _send_and_get_row(rt, teacher, twilio_api)
    sid = message["sid"]

    assert _status(client, sid, "delivered").status_code == 204
    assert _status(client, sid, "sent").status_code == 204       # late and out of order
    assert _status(client, sid, "delivered").status_code == 204  # repeated
    with rt.db.session_scope() as session:
        row = session.scalars(select(OutboundMessage)).one()
        assert row.status == "delivered"
        assert session.scalar(select(func.count()).select_from(StatusEvent)) == 2
    assert _status(client, sid, "read").status_code == 204
    with rt.db.session_scope() as session:
        assert session.scalars(select(OutboundMessage)).one().status == "read"


def test_a_status_callback_links_a_sid_the_worker_never_stored(client, rt, teacher, twilio_api):
    # What a worker leaves behind when it dies after Twilio accepted the message but before it stored the SID.
    with rt.db.session_scope() as session:
        row = OutboundMessage(to_address=teacher.phone, channel="sms", body="hello", kind="notice",
                              status="sending", attempts=1)
        session.add(row)
        session.flush()
        oid = row.id
    assert _status(client, "SM" + "a" * 32, "delivered", oid=oid).status_code == 204
    with rt.db.session_scope() as session:
        row = session.get(OutboundMessage, oid)
        assert (row.twilio_sid, row.status) == ("SM" + "a" * 32, "delivered")


def test_an_opt_out_error_in_a_callback_marks_the_teacher_opted_out(client, rt, teacher, twilio_api):
    from helpdesk.models import Teacher

    message = _send_and_get_row(rt, teacher, twilio_api)
    assert _status(client, message["sid"], "failed", ErrorCode="21610").status_code == 204
    with rt.db.session_scope() as session:
        assert session.scalars(select(Teacher)).one().opted_out_at is not None


def test_status_callbacks_need_a_valid_signature(client, rt, teacher, twilio_api):
    message = _send_and_get_row(rt, teacher, twilio_api)
    form = {"MessageSid": message["sid"], "MessageStatus": "delivered"}
    assert client.post("/twilio/status", data=form).status_code == 403
    assert signed_post(client, "/twilio/status", {"MessageSid": message["sid"]}).status_code == 400
