"""The one send path: splitting, segments, Twilio errors, retries, the WhatsApp window, opt-outs, rate limits."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk import outbound
from helpdesk.channels.base import sms_segments, split_message
from helpdesk.channels.twilio import InvalidInbound, normalise_phone
from helpdesk.dialogue import get_or_create_teacher
from helpdesk.models import OutboundMessage, Teacher, utcnow
from helpdesk.ratelimit import RateLimiter

# --- pure: length and addresses ------------------------------------------------------------------


def test_sms_segments_follow_gsm7_and_ucs2_rules():
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2                 # 153 per segment once split
    assert sms_segments("a" * 306) == 2
    assert sms_segments("{" * 80) == 1                  # extended characters take two septets
    assert sms_segments("{" * 81) == 2
    assert sms_segments("ب" * 70) == 1                  # one Urdu letter makes the message UCS-2
    assert sms_segments("a" * 69 + "ب") == 1
    assert sms_segments("a" * 70 + "ب") == 2            # 67 per segment once split
    assert sms_segments("ب" * 134) == 2


def test_long_messages_split_at_sentence_boundaries():
    sentences = [f"Sentence number {i} is here." for i in range(100)]
    text = " ".join(sentences)
    parts = split_message(text, 1600)
    assert all(len(p) <= 1600 for p in parts) and len(parts) == 2
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts) == text
    urdu = "یہ ایک جملہ ہے۔ " * 200
    assert all(len(p) <= 1600 and p.endswith("۔") for p in split_message(urdu, 1600))


def test_long_messages_split_at_paragraph_breaks_when_whole_paragraphs_fit():
    paragraphs = ["*Heading*", "A" * 900 + ".", "B" * 900 + ".", "Short last block."]
    text = "\n\n".join(paragraphs)
    parts = split_message(text, 1600)
    assert parts == ["\n\n".join(paragraphs[:2]), "\n\n".join(paragraphs[2:])]
    # A paragraph too long for one part falls back to sentences, and the paragraphs around it stay whole.
    long_paragraph = " ".join(f"Sentence number {i} is here." for i in range(100))
    parts = split_message(f"*Heading*\n\n{long_paragraph}\n\nLast block.", 1600)
    assert parts[0].startswith("*Heading*\n\nSentence number 0") and parts[-1].endswith("\n\nLast block.")
    assert all(len(p) <= 1600 for p in parts)


def test_a_sentence_longer_than_the_limit_is_wrapped_at_spaces():
    parts = split_message("word " * 500, 100)
    assert all(len(p) <= 100 for p in parts)
    assert " ".join(parts).split() == ["word"] * 500


@pytest.mark.parametrize("raw", ["whatsapp:+923001234567", "923001234567", "+92 300 1234567", "03001234567",
                                 "0092-300-1234567"])
def test_every_spelling_of_a_number_normalises_to_one_e164_key(raw):
    assert normalise_phone(raw) == "+923001234567"


def test_garbage_is_not_a_phone_number():
    with pytest.raises(InvalidInbound):
        normalise_phone("hello")


# --- the send path against the fake Twilio --------------------------------------------------------

def queue(rt, phone="+923001234567", body="hello", channel="sms", **teacher_fields):
    with rt.db.session_scope() as session:
        teacher = get_or_create_teacher(session, phone)
        teacher.channel = channel
        for name, value in teacher_fields.items():
            setattr(teacher, name, value)
        rows = outbound.queue_message(session, teacher=teacher, body=body, kind="notice")
        return [row.id for row in rows]


def rows(rt):
    with rt.db.session_scope() as session:
        return session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()


def test_a_long_whatsapp_reply_goes_out_in_order_as_several_messages(rt, twilio_api):
    body = " ".join(f"Step {i}: do the next useful thing in class." for i in range(80))
    ids = queue(rt, body=body, channel="whatsapp", last_whatsapp_inbound_at=utcnow())
    assert len(ids) == 3
    assert rt.jobs.drain()
    sent = twilio_api.wait_for_messages(3)
    assert [m["Body"] for m in sent] == [r.body for r in rows(rt)]
    assert " ".join(m["Body"] for m in sent) == body.strip()


def test_a_429_then_201_sends_exactly_one_message_in_process(rt, twilio_api):
    twilio_api.fail_next(429, 20429, times=2)
    queue(rt)
    deadline = time.monotonic() + 10
    while not twilio_api.messages and time.monotonic() < deadline:
        rt.jobs.drain(1)
    assert rt.jobs.drain()
    assert len(twilio_api.messages) == 1
    row = rows(rt)[0]
    assert (row.status, row.attempts) == ("accepted", 3)


def test_a_server_error_that_persists_gives_up_after_the_configured_attempts(make_app, sqlite_url, twilio_api):
    rt = make_app(sqlite_url, send_max_attempts=3).extensions["helpdesk"]
    twilio_api.fail_next(500, 20500, "Internal error", times=10)
    queue(rt)
    deadline = time.monotonic() + 10
    while rows(rt)[0].status not in ("failed",) and time.monotonic() < deadline:
        rt.jobs.drain(1)
    row = rows(rt)[0]
    assert (row.status, row.attempts, row.error_code) == ("failed", 3, 20500)
    assert twilio_api.messages == []


def test_an_opted_out_recipient_is_marked_and_never_retried(rt, twilio_api):
    twilio_api.opt_out("+923001234567")
    queue(rt)
    assert rt.jobs.drain()
    row = rows(rt)[0]
    assert (row.status, row.error_code, row.attempts) == ("failed", 21610, 1)
    with rt.db.session_scope() as session:
        assert session.scalars(select(Teacher)).one().opted_out_at is not None
    queue(rt, body="a later notice")
    assert rt.jobs.drain()
    assert rows(rt)[1].status == "suppressed"
    assert len([r for r in twilio_api.requests if r["method"] == "POST"]) == 1


def test_a_timeout_after_the_request_is_not_blindly_retried(make_app, sqlite_url, twilio_api):
    rt = make_app(sqlite_url, twilio_http_timeout=0.5).extensions["helpdesk"]
    twilio_api.hang_next(2.0)
    queue(rt)
    assert rt.jobs.drain()
    time.sleep(2.0)
    assert rows(rt)[0].status == "unknown"
    assert len(twilio_api.messages) == 1  # Twilio did create it: a retry would have sent it twice


def test_a_send_in_doubt_is_settled_from_twilio_instead_of_sent_twice(make_app, sqlite_url, twilio_api):
    from workers.jobs import reconcile_unknown

    rt = make_app(sqlite_url, twilio_http_timeout=0.5).extensions["helpdesk"]
    twilio_api.hang_next(2.0)
    queue(rt, body="the answer")
    assert rt.jobs.drain()
    time.sleep(2.0)
    with rt.db.session_scope() as session:  # as it will look once the reconcile delay has passed
        session.get(OutboundMessage, rows(rt)[0].id).updated_at = utcnow() - timedelta(minutes=5)
    assert reconcile_unknown() == 1
    assert rt.jobs.drain()
    row = rows(rt)[0]
    assert (row.status, row.twilio_sid) == ("accepted", twilio_api.messages[0]["sid"])
    assert len(twilio_api.messages) == 1


def test_a_send_in_doubt_that_twilio_never_created_is_sent_again_once(make_app, sqlite_url, twilio_api):
    from workers.jobs import reconcile_unknown

    rt = make_app(sqlite_url).extensions["helpdesk"]
    with rt.db.session_scope() as session:  # a timeout where the request never reached Twilio
        session.add(OutboundMessage(to_address="+923001234567", channel="sms", body="the answer", kind="notice",
                                    status="unknown", attempts=1, created_at=utcnow() - timedelta(minutes=5),
                                    updated_at=utcnow() - timedelta(minutes=5)))
    assert reconcile_unknown() == 1
    assert rt.jobs.drain()
    assert [m["Body"] for m in twilio_api.messages] == ["the answer"]
    assert reconcile_unknown() == 0
    assert rows(rt)[0].status == "accepted"


def test_outside_the_whatsapp_window_the_template_goes_and_the_answer_waits(make_app, sqlite_url, twilio_api):
    app = make_app(sqlite_url, whatsapp_answer_ready_template_sid="HX" + "1" * 32)
    rt = app.extensions["helpdesk"]
    queue(rt, body="Your expert's answer", channel="whatsapp",
          last_whatsapp_inbound_at=utcnow() - timedelta(hours=30), last_inbound_at=utcnow() - timedelta(hours=30))
    assert rt.jobs.drain()
    sent = twilio_api.wait_for_messages(1)
    assert sent[0]["ContentSid"] == "HX" + "1" * 32 and "Body" not in sent[0]
    assert [r.status for r in rows(rt)] == ["held", "accepted"]

    from support.teachers import Phone

    Phone(app.test_client(), "+923001234567", whatsapp=True).send("OPEN")
    assert rt.jobs.drain()
    bodies = [m.get("Body") for m in twilio_api.messages]
    assert "Your expert's answer" in bodies


def test_twilio_saying_the_window_is_closed_holds_the_message_too(make_app, sqlite_url, twilio_api):
    app = make_app(sqlite_url, whatsapp_answer_ready_template_sid="HX" + "2" * 32)
    rt = app.extensions["helpdesk"]
    twilio_api.close_window("whatsapp:+923001234567")
    queue(rt, body="free-form text", channel="whatsapp", last_whatsapp_inbound_at=utcnow())
    assert rt.jobs.drain()
    assert rows(rt)[0].status == "held"
    assert [m.get("ContentSid") for m in twilio_api.messages] == ["HX" + "2" * 32]


# --- the per-sender rate, shared through Redis -----------------------------------------------------

def test_the_sender_rate_is_shared_by_every_limiter_on_the_same_redis(redis_server):
    import redis

    redis_server.flushall()
    connection = redis.Redis.from_url(redis_server.url)
    limiters = [RateLimiter(redis.Redis.from_url(redis_server.url)) for _ in range(3)]
    # 30 reservations at 10/s from three "workers": each gets a send time 0.1 s after the previous one,
    # whoever asks and however long the asking takes. The slot each reservation got is read from the
    # bucket itself (its theoretical arrival time minus one interval), in Redis's clock: a client-side
    # clock would add the scheduling delay of a loaded machine to every gap.
    slots, waits = [], []
    for i in range(30):
        waits.append(limiters[i % 3].reserve("sender:+15005550006", per_second=10))
        slots.append(float(connection.get("helpdesk:rate:sender:+15005550006")) - 0.1)
    gaps = [b - a for a, b in zip(slots, slots[1:])]
    assert all(gap == pytest.approx(0.1, abs=0.001) for gap in gaps), gaps
    assert slots[-1] - slots[0] == pytest.approx(2.9, abs=0.005)
    assert waits[0] == 0 and waits[-1] > 1.5  # nobody sends early: the waits grow with the queue of slots


def test_the_flood_check_lets_through_a_burst_then_refuses(redis_server):
    import redis

    redis_server.flushall()
    limiter = RateLimiter(redis.Redis.from_url(redis_server.url))
    allowed = [limiter.allow("flood:+923001234567", per_minute=5) for _ in range(8)]
    assert allowed == [True] * 5 + [False] * 3
    local = RateLimiter()
    assert [local.allow("x", per_minute=2) for _ in range(3)] == [True, True, False]


# --- the bulk variant (the CPD push) --------------------------------------------------------------

def _stored(session, ids):
    by_id = {row.id: row for row in session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(ids)))}
    position = {row_id: index for index, row_id in enumerate(ids)}
    return [(by_id[i].teacher_id, by_id[i].to_address, by_id[i].channel, by_id[i].body, by_id[i].kind,
             by_id[i].content_sid, by_id[i].content_variables, by_id[i].status, by_id[i].segments,
             position.get(by_id[i].follows_id)) for i in ids]


def test_queue_messages_stores_what_queue_message_stores_and_sends_after_commit(rt, twilio_api):
    long_body = " ".join(f"Step {i}: do the next useful thing in class." for i in range(80))
    with rt.db.session_scope() as session:
        get_or_create_teacher(session, "+923001234001")
        wa = get_or_create_teacher(session, "+923001234002")
        wa.channel, wa.last_whatsapp_inbound_at = "whatsapp", utcnow()
        get_or_create_teacher(session, "+923001234003").opted_out_at = utcnow()

    def drafts(session):
        teachers = {t.phone: t for t in session.scalars(select(Teacher))}
        sms, wa, stopped = (teachers[f"+92300123400{n}"] for n in (1, 2, 3))
        return [dict(teacher=sms, body="Short lesson ب", kind="lesson"),
                dict(teacher=wa, body=long_body, kind="lesson"),
                dict(teacher=wa, body="", kind="template", channel="whatsapp", content_sid="HX" + "3" * 32,
                     content_variables={"1": "Sana", "2": "Exit tickets"}),
                dict(teacher=stopped, body="Not for you", kind="lesson"),
                dict(to_address="+923009999999", body=long_body, kind="relay")]

    session = rt.db.Session()
    try:  # the reference: one queue_message at a time, rolled back
        one_by_one = [[row.id for row in outbound.queue_message(session, **spec)] for spec in drafts(session)]
        expected = [_stored(session, ids) for ids in one_by_one]
    finally:
        session.rollback()
        session.close()
    with rt.db.session_scope() as session:
        bulk = outbound.queue_messages(session, [outbound.MessageDraft(**spec) for spec in drafts(session)])
        assert [_stored(session, ids) for ids in bulk] == expected
        assert [len(ids) for ids in bulk] == [1, 3, 1, 1, 3]
        assert twilio_api.messages == [] and rt.jobs.drain()  # nothing is sent before the commit
    assert rt.jobs.drain()
    sent = twilio_api.wait_for_messages(8)
    assert len(sent) == 8 and "+923001234003" not in {m["To"] for m in sent}
    to_wa = [m.get("Body") or m.get("ContentSid") for m in sent if m["To"] == "whatsapp:+923001234002"]
    assert " ".join(body for body in to_wa if not body.startswith("HX")) == long_body  # parts in order


def test_queue_messages_sends_nothing_when_the_transaction_rolls_back(rt, twilio_api):
    with pytest.raises(RuntimeError):
        with rt.db.session_scope() as session:
            teacher = get_or_create_teacher(session, "+923001234004")
            outbound.queue_messages(session, [outbound.MessageDraft(teacher=teacher, body="x", kind="lesson")])
            raise RuntimeError("the batch failed")
    assert rt.jobs.drain() and twilio_api.messages == []
    with rt.db.session_scope() as session:  # the next commit does not pick up the rolled-back sends
        get_or_create_teacher(session, "+923001234005")
    assert rt.jobs.drain() and twilio_api.messages == []


def test_enqueue_many_puts_every_job_on_redis_in_one_pipeline(redis_server):
    import redis
    from rq import Queue

    from workers.queue import RedisJobQueue

    redis_server.flushall()
    connection = redis.Redis.from_url(redis_server.url)
    jobs = RedisJobQueue(connection)
    assert jobs.enqueue_many(outbound.SEND_JOB, [((n,), f"out-{n}") for n in range(1, 301)]) == 300
    queue = Queue("default", connection=connection)
    assert queue.count == 300
    first = queue.fetch_job("out-1")
    assert (first.func_name, first.args, first.retries_left) == (outbound.SEND_JOB, (1,), 3)
    assert queue.job_ids[:3] == ["out-1", "out-2", "out-3"]


def test_the_sweeper_resends_lost_jobs_but_respects_a_backoff(make_app, sqlite_url, twilio_api):
    from workers.jobs import sweep_unprocessed

    rt = make_app(sqlite_url, sweep_after_seconds=0).extensions["helpdesk"]
    long_ago = utcnow() - timedelta(minutes=5)
    with rt.db.session_scope() as session:
        # What a lost enqueue leaves behind, and a 429 whose backoff has not yet run out.
        session.add(OutboundMessage(to_address="+923001234567", channel="sms", body="lost", kind="notice",
                                    status="pending", updated_at=long_ago))
        session.add(OutboundMessage(to_address="+923001234568", channel="sms", body="backing off", kind="notice",
                                    status="retrying", updated_at=long_ago,
                                    not_before=utcnow() + timedelta(hours=1)))
    assert sweep_unprocessed() == 1
    assert rt.jobs.drain()
    assert [m["Body"] for m in twilio_api.messages] == ["lost"]
