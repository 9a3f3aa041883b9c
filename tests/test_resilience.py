"""Nothing is lost: Redis down, a worker SIGKILLed mid-job, Twilio answering 429. Real Redis, real
PostgreSQL, the real `helpdesk worker` process and the real twilio SDK against the fake Twilio API."""
from __future__ import annotations

import time

import psycopg
from sqlalchemy import func, select

from helpdesk.models import InboundMessage, OutboundMessage, Teacher
from support.processes import wait_until
from support.teachers import Phone

QUESTION = "How do I quieten a noisy class?"


def sweep(app):
    from workers.jobs import sweep_unprocessed

    with app.app_context():
        return sweep_unprocessed()


def test_messages_that_arrive_while_redis_is_down_are_all_answered_once_it_is_back(
        prod_app, redis_server, worker, twilio_api):
    client = prod_app.test_client()
    redis_server.stop()
    phones = [Phone(client, f"+92300000000{i}") for i in range(3)]
    for phone in phones:
        response = phone.send(QUESTION)  # still 200: stored, the enqueue failure is only logged
        assert b"<Response></Response>" in response.data
    rt = prod_app.extensions["helpdesk"]
    with rt.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 3

    redis_server.restart()
    assert sweep(prod_app) == 3
    worker("--burst").wait(60)

    sent = twilio_api.wait_for_messages(3)
    assert sorted(m["To"] for m in sent) == sorted(p.phone for p in phones)
    assert sweep(prod_app) == 0  # nothing left behind


def test_a_worker_killed_mid_job_leads_to_exactly_one_reply_after_restart(
        prod_app, pg_url, worker, twilio_api):
    rt = prod_app.extensions["helpdesk"]
    phone = Phone(prod_app.test_client(), "+923001112223")
    with rt.db.session_scope() as session:
        session.add(Teacher(phone=phone.phone))

    # Hold the teacher's row lock from outside, so the worker blocks half-way through its transaction.
    blocker = psycopg.connect(pg_url.replace("+psycopg", ""))
    blocker.execute("SELECT id FROM teachers WHERE phone = %s FOR UPDATE", (phone.phone,))
    phone.send(QUESTION)
    first = worker()
    wait_until(lambda: _someone_waits_on_a_lock(pg_url), message="the worker to block mid-job")

    first.kill()
    blocker.rollback()
    blocker.close()
    with rt.db.session_scope() as session:
        assert session.scalars(select(InboundMessage.status)).one() == "received"  # rolled back, not lost

    assert sweep(prod_app) == 1
    second = worker()
    twilio_api.wait_for_messages(1, timeout=30)
    time.sleep(1.5)  # give a duplicate (RQ re-running the abandoned job, a second sweep) time to show up
    sweep(prod_app)
    time.sleep(1.0)
    second.stop()
    assert len(twilio_api.messages) == 1
    with rt.db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 1


def _someone_waits_on_a_lock(pg_url: str) -> bool:
    # A fresh connection each time: pg_stat_activity is a snapshot per transaction.
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").fetchone()
    return row[0] > 0


def test_a_429_from_twilio_is_retried_with_backoff_and_delivered_exactly_once(prod_app, worker, twilio_api):
    client = prod_app.test_client()
    rt = prod_app.extensions["helpdesk"]
    twilio_api.callback_transport = _into(client)
    twilio_api.auto_callbacks = True
    twilio_api.fail_next(429, 20429, times=1)

    Phone(client, "+923004445556").send(QUESTION)
    worker()
    sent = twilio_api.wait_for_messages(1, timeout=30)

    def delivered():
        with rt.db.session_scope() as session:
            return session.scalars(select(OutboundMessage.status)).one() == "delivered"

    wait_until(delivered, message="the delivered callback")
    creates = [r for r in twilio_api.requests if r["method"] == "POST" and r["path"].endswith("Messages.json")]
    assert [r["status"] for r in creates] == [429, 201]
    assert len(sent) == 1
    with rt.db.session_scope() as session:
        row = session.scalars(select(OutboundMessage)).one()
        assert (row.attempts, row.twilio_sid) == (2, sent[0]["sid"])


def _into(client):
    """Deliver the fake's status callbacks to the app under test."""
    def transport(url, params, headers):
        path = url.replace("http://localhost", "")
        return client.post(path, data=params, headers=headers).status_code

    return transport


def test_the_worker_rides_out_a_redis_outage_and_answers_once_redis_is_back(prod_app, redis_server, worker,
                                                                            twilio_api):
    client = prod_app.test_client()
    proc = worker()
    Phone(client, "+923001230001").send(QUESTION)
    twilio_api.wait_for_messages(1, timeout=30)

    redis_server.stop()
    try:
        # Long enough for RQ's heartbeat and maintenance to hit the dead connection (RQ 3 then quits with
        # "found an unhandled exception"), and for several reconnection attempts with backoff.
        time.sleep(15)
        assert proc.proc.poll() is None, proc.log()[-2000:]
    finally:
        redis_server.start()  # same port, empty: what a restarted Redis without persistence looks like

    Phone(client, "+923001230002").send(QUESTION)  # enqueued on the new Redis; the same worker answers it
    sent = twilio_api.wait_for_messages(2, timeout=60)
    assert sorted(m["To"] for m in sent) == ["+923001230001", "+923001230002"]
    assert proc.proc.poll() is None
    log = proc.log()
    assert log.count("worker ready with") == 1  # the knowledge base was loaded once, not rebuilt
    assert 1 <= log.count("Redis unreachable") <= 3, log[-3000:]  # logged once in a while, not per attempt
    assert "Redis is back" in log
