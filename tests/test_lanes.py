"""Replies never wait behind a broadcast: the reply lane takes the sender's next slot, bulk only free slots,
and both together never exceed the sender's rate. Real Redis, PostgreSQL, `helpdesk worker` processes and the
real twilio SDK against the fake Twilio API; and the embedded default (SQLite, in-process jobs)."""
from __future__ import annotations

import time
import uuid

import pytest
import redis

from helpdesk import outbound
from helpdesk.dialogue import get_or_create_teacher
from helpdesk.ratelimit import RateLimiter
from support.processes import WorkerProcess, service_env, wait_until
from support.teachers import Phone

QUESTION = "How do I quieten a noisy class?"


def queue_lessons(rt, count: int) -> None:
    with rt.db.session_scope() as session:
        teachers = [get_or_create_teacher(session, f"+92311{n:07d}") for n in range(count)]
        session.flush()
        outbound.queue_messages(session, [outbound.MessageDraft(teacher=t, body=f"Lesson {n}: exit tickets.",
                                                                kind="lesson") for n, t in enumerate(teachers)])


def reply_position(twilio_api, phone: str) -> tuple[int, int]:
    """(index of the first message to `phone`, how many lessons went out after it)."""
    with twilio_api._cond:
        messages = list(twilio_api.messages)
    first = next(i for i, m in enumerate(messages) if m["To"] == phone)
    return first, sum(1 for m in messages[first + 1:] if m["Body"].startswith("Lesson "))


def assert_rate_held(arrivals: list[float], rate: float) -> None:
    """Both lanes share one rate: over the whole burst and over every 2-second window. Arrival times are
    the slots plus a few ms of sending; a second limiter per lane would show up as twice the rate."""
    assert len(arrivals) > 2 * rate
    overall = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    assert overall <= rate * 1.05, overall
    for i, start in enumerate(arrivals):
        in_window = sum(1 for t in arrivals[i:] if t < start + 2.0)
        assert in_window <= 2 * rate + 2, (in_window, i)


@pytest.mark.parametrize("shared", [True, False], ids=["redis", "in-process"])
def test_a_bulk_poll_never_takes_a_slot_that_a_reply_holds(redis_server, shared):
    limiter = RateLimiter(redis.Redis.from_url(redis_server.url) if shared else None)
    key = f"sender:{uuid.uuid4().hex}"
    assert limiter.take_if_free(key, per_second=2) == 0  # free: taken
    assert 0 < limiter.take_if_free(key, per_second=2) <= 0.5  # not free: not taken either
    assert limiter.reserve(key, per_second=2) == pytest.approx(0.5, abs=0.05)  # a reply holds the next slot
    assert limiter.take_if_free(key, per_second=2) == pytest.approx(1.0, abs=0.05)  # bulk waits for after it
    for _ in range(5):
        limiter.take_if_free(key, per_second=2)
    # Polling reserved nothing: the next reply's slot is right after the first reply's.
    assert limiter.reserve(key, per_second=2) == pytest.approx(1.0, abs=0.05)


def test_with_workers_a_reply_overtakes_a_queued_broadcast_and_the_sender_rate_holds(
        prod_app, pg_url, redis_url, twilio_api, tmp_path):
    rate, lessons = 10, 120
    rt = prod_app.extensions["helpdesk"]
    queue_lessons(rt, lessons)  # 120 bulk send jobs on Redis: 12 s of sending at 10 a second
    env = service_env(pg_url, redis_url, twilio_api, SENDER_MESSAGES_PER_SECOND=rate)
    workers = [WorkerProcess(env, tmp_path / f"worker{n}.log").start() for n in range(2)]
    try:
        twilio_api.wait_for_messages(15, timeout=60)
        teacher = Phone(prod_app.test_client(), "+923009990001")
        teacher.send(QUESTION)
        wait_until(lambda: any(m["To"] == teacher.phone for m in list(twilio_api.messages)), timeout=30,
                   message="the reply")
        sent = twilio_api.wait_for_messages(lessons + 1, timeout=60)
        first, lessons_after = reply_position(twilio_api, teacher.phone)
        # Before the lanes, every lesson had reserved its slot first and the reply came after all 120.
        assert lessons_after >= 60, (first, lessons_after)
        assert sorted(m["Body"] for m in sent if m["To"] != teacher.phone) == sorted(
            f"Lesson {n}: exit tickets." for n in range(lessons))
        time.sleep(0.5)
        assert_rate_held(list(twilio_api.arrivals), rate)
    finally:
        for proc in workers:
            proc.stop()


def test_in_process_a_reply_overtakes_a_broadcast_and_new_messages_are_processed_during_it(
        make_app, sqlite_url, twilio_api):
    rate, lessons = 10, 80
    app = make_app(sqlite_url, sender_messages_per_second=rate)
    rt = app.extensions["helpdesk"]
    queue_lessons(rt, lessons)
    twilio_api.wait_for_messages(5, timeout=30)
    teacher = Phone(app.test_client(), "+923009990002")
    teacher.send(QUESTION)
    wait_until(lambda: any(m["To"] == teacher.phone for m in list(twilio_api.messages)), timeout=30,
               message="the reply")
    assert rt.jobs.drain(timeout=60)
    assert len(twilio_api.messages) == lessons + 1
    # The inbound message was processed while lessons were still sleeping for their slots on the send thread.
    _, lessons_after = reply_position(twilio_api, teacher.phone)
    assert lessons_after >= 40, lessons_after
    assert_rate_held(list(twilio_api.arrivals), rate)


def test_each_message_is_stored_and_queued_in_its_lane(make_app, database_url, redis_url):
    from rq import Queue
    from sqlalchemy import select

    from helpdesk.models import OutboundMessage

    rt = make_app(database_url, redis_url=redis_url).extensions["helpdesk"]
    with rt.db.session_scope() as session:
        teacher = get_or_create_teacher(session, "+923001110001")
        outbound.queue_message(session, teacher=teacher, body="Use a quiet countdown.", kind="answer")
        outbound.queue_message(session, to_address="+923009990009", body="#12 Maths: new ticket", kind="expert")
        outbound.queue_messages(session, [
            outbound.MessageDraft(teacher=teacher, body="", kind="template", channel="whatsapp",
                                  content_sid="HX" + "1" * 32, lane=outbound.BULK),  # stands in for a lesson
            outbound.MessageDraft(teacher=teacher, body="Lesson: exit tickets.", kind="lesson")])
    with rt.db.session_scope() as session:
        lanes = [(row.kind, row.lane) for row in session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))]
    assert lanes == [("answer", "reply"), ("expert", "reply"), ("template", "bulk"), ("lesson", "bulk")]
    assert Queue("replies", connection=rt.redis).count == 2
    assert Queue("bulk", connection=rt.redis).count == 2
