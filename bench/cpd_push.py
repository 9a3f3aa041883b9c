"""Benchmark the CPD push: 100,000 subscribed teachers on SQLite and PostgreSQL.

    python bench/cpd_push.py                      # SQLite file + a throwaway PostgreSQL
    python bench/cpd_push.py --teachers 20000     # smaller
    DATABASE_URL=postgresql+psycopg://... python bench/cpd_push.py   # only that database

Measures, per database:
  1. selection + enqueue: `push_due_lessons` (the scheduler's job): select every due subscription, mark it
     queued, enqueue one batch job per CPD_BATCH_SIZE subscriptions. Target < 60 s.
  2. fan-out: every batch job (claim the batch's subscriptions, choose each lesson from data read once per
     batch, build the outbound rows through outbound.queue_messages in multi-row INSERTs; the send jobs are
     enqueued together after each batch commits). Reported alongside, and counted in "push end to end".
  3. sending rate: a few hundred due teachers pushed on the in-process queue to the fake Twilio
     (tests/fakes/twilio_api.py) with SENDER_MESSAGES_PER_SECOND set; the rate actually seen is measured
     over a short window and must stay at the configured value.
  4. reply latency during a push: the real push (scheduler job -> batch jobs -> send jobs) runs at the
     configured rate while --questions new teachers each send a question, spread evenly through the first
     --latency-window seconds; the time from each signed webhook to its reply reaching the fake Twilio is
     measured (p50, p95; target p95 within 5 s). On PostgreSQL + Redis with two real `helpdesk worker`
     processes and --latency-teachers subscribers (default 100,000: the push takes 83 minutes at 20/s, so
     the questions cover its first minutes, including the fan-out); and on the embedded default (SQLite,
     in-process jobs) with --embedded-teachers (default 2,000: 100 s at 20/s, so the window spans the
     whole push). --skip-push runs step 4 only.
The job queue in steps 1 and 2 records jobs instead of running them, so the timing is ours, not the sender's.
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from sqlalchemy import insert, select  # noqa: E402

DISTRICTS = ["Lahore", "Multan", "Swat", "Quetta", "Karachi", "Thar", "Gilgit", "Muzaffarabad"]
LEVELS = ["primary", "middle", "high", "ece", ""]
SUBJECTS = ["maths", "science", "english", "urdu", "general", ""]
AREAS = ["classroom-management", "assessment", "literacy", "numeracy", "multigrade", "inclusive-education",
         "steam-activities", "lesson-planning"]


class RecordingQueue:
    """A JobQueue that keeps what was enqueued (the bench times our code, not a queue server)."""

    def __init__(self):
        self.jobs: list[tuple[str, tuple]] = []

    def enqueue(self, func_path, *args, job_id=None, delay=0.0, queue="default") -> bool:
        self.jobs.append((func_path, args))
        return True

    def enqueue_many(self, func_path, calls, queue="default") -> int:
        self.jobs.extend((func_path, args) for args, _job_id in calls)
        return len(calls)


def make_runtime(database_url: str, data_dir: Path, **overrides):
    from helpdesk import runtime
    from helpdesk.settings import Settings

    settings = Settings(data_dir=data_dir, database_url=database_url, pseudonym_key="bench", **overrides)
    rt = runtime.build(settings)
    rt.db.create_all()
    return runtime.install(rt)


def seed(rt, count: int, due_at, rng: random.Random) -> None:
    from analytics.models import Interaction
    from helpdesk.models import Subscription, Teacher
    from helpdesk.privacy import pseudonym

    now = due_at
    chunk = 5000
    for start in range(0, count, chunk):
        teachers, subs, asked = [], [], []
        for number in range(start, min(count, start + chunk)):
            phone = f"+92300{number:07d}"
            kind = rng.random()
            channel = "sms" if kind < 0.6 else "whatsapp"
            last_wa = (now - timedelta(hours=2 if kind < 0.85 else 40)) if channel == "whatsapp" else None
            teachers.append(dict(id=number + 1, phone=phone, channel=channel, language=rng.choice(["en", "ur"]),
                                 last_whatsapp_inbound_at=last_wa, district=rng.choice(DISTRICTS),
                                 school_level=rng.choice(LEVELS), subjects=rng.choice(SUBJECTS),
                                 created_at=now - timedelta(days=60), onboarded=True, blocked=False,
                                 language_chosen=False))
            subs.append(dict(teacher_id=number + 1, active=True, joined_at=now - timedelta(days=30),
                             next_lesson_at=due_at - timedelta(minutes=1), series_position=3,
                             updated_at=now - timedelta(days=7)))
            if rng.random() < 0.3:  # a third of teachers asked something recently
                for _ in range(rng.randint(1, 3)):
                    when = now - timedelta(days=rng.randint(1, 50))
                    asked.append(dict(created_at=when, day=when.date(), week=when.date(), month=when.date(),
                                      teacher_key=pseudonym(phone, "bench"), channel=channel, language="en",
                                      district=teachers[-1]["district"], area=rng.choice(AREAS), route="answered"))
        with rt.db.engine.begin() as conn:
            conn.execute(insert(Teacher), teachers)
            conn.execute(insert(Subscription), subs)
            if asked:
                conn.execute(insert(Interaction), asked)
    # A live database has planner statistics (autovacuum gathers them); a table bulk-loaded a second ago has
    # none, and PostgreSQL would then plan the per-batch lookups as scans of the whole table.
    with rt.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # explicit ids: move the sequences past them for later inserts
            for table in ("teachers", "cpd_subscriptions"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
        conn.exec_driver_sql("ANALYZE")


def bench_push(database_url: str, teachers: int, data_dir: Path) -> dict:
    from helpdesk.cpd import subscriptions as cpd
    from helpdesk.models import OutboundMessage, utcnow
    from workers.cpd_jobs import push_due_lessons

    rt = make_runtime(database_url, data_dir, whatsapp_lesson_template_sid="HX" + "0" * 32)
    queue = RecordingQueue()
    rt.jobs = queue
    from helpdesk import runtime
    runtime.install(rt)
    now = utcnow()
    started = time.perf_counter()
    seed(rt, teachers, now, random.Random(7))
    seeded = time.perf_counter() - started

    started = time.perf_counter()
    batches = push_due_lessons(now.isoformat())
    select_enqueue = time.perf_counter() - started

    batch_jobs = [args for func, args in queue.jobs if func.endswith("push_batch")]
    queue.jobs.clear()
    started = time.perf_counter()
    sent = templates = 0
    for ids, now_iso in batch_jobs:
        with rt.db.session_scope() as session:
            result = cpd.push_batch(session, rt, ids, now)
        sent += result.sent
        templates += result.templates
    fan_out = time.perf_counter() - started
    with rt.db.session_scope() as session:
        messages = len(session.scalars(select(OutboundMessage.id)).all())
    send_jobs = sum(1 for func, _ in queue.jobs if func.endswith("send_outbound"))
    rt.db.dispose()
    return dict(seeded=seeded, select_enqueue=select_enqueue, batches=batches, fan_out=fan_out, lessons=sent,
                templates=templates, messages=messages, send_jobs=send_jobs)


def bench_rate(database_url: str, data_dir: Path, rate: float, teachers: int, window: float) -> dict:
    from fakes.twilio_api import FakeTwilio
    from support.teachers import ACCOUNT_SID, AUTH_TOKEN, SMS_FROM
    from helpdesk.models import utcnow
    from workers.cpd_jobs import push_due_lessons

    fake = FakeTwilio().start()
    try:
        rt = make_runtime(database_url, data_dir, twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                          twilio_api_base_url=fake.base_url, twilio_sms_from=SMS_FROM,
                          sender_messages_per_second=rate)
        now = utcnow()
        with rt.db.engine.begin() as conn:  # SMS teachers: one message each
            from helpdesk.models import Subscription, Teacher
            conn.execute(insert(Teacher), [dict(id=500000 + n, phone=f"+92311{n:07d}", channel="sms", language="en",
                                                created_at=now, onboarded=True, blocked=False, language_chosen=False)
                                           for n in range(teachers)])
            conn.execute(insert(Subscription), [dict(teacher_id=500000 + n, active=True, joined_at=now,
                                                     next_lesson_at=now - timedelta(minutes=1), series_position=3,
                                                     updated_at=now - timedelta(days=7)) for n in range(teachers)])
        push_due_lessons(now.isoformat())
        time.sleep(1.0)  # let the batch job build the rows and the first sends start
        start_count, started = len(fake.messages), time.monotonic()
        time.sleep(window)
        end_count, elapsed = len(fake.messages), time.monotonic() - started
        rt.jobs.drain(timeout=teachers / rate + 30)  # let the rest go before the fake Twilio stops
        rt.db.dispose()
        return dict(configured=rate, observed=(end_count - start_count) / elapsed, window=elapsed,
                    sent_in_window=end_count - start_count)
    finally:
        fake.stop()


QUESTION = "How can I get a noisy class's attention without shouting?"


def bench_reply_latency(database_url: str, redis_url: str | None, data_dir: Path, teachers: int, rate: float,
                        questions: int, window: float) -> dict:
    """Push lessons to `teachers` subscribers and time `questions` new teachers' questions during the push."""
    from fakes.twilio_api import FakeTwilio
    from support.processes import WorkerProcess, service_env
    from support.teachers import ACCOUNT_SID, AUTH_TOKEN, SMS_FROM, WHATSAPP_FROM, Phone

    from helpdesk import create_app
    from helpdesk.models import utcnow
    from workers.scheduler import CPD_PUSH

    fake = FakeTwilio(auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID).start()
    workers = []
    try:
        app = create_app(dict(data_dir=data_dir, database_url=database_url, redis_url=redis_url,
                              twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                              twilio_api_base_url=fake.base_url, twilio_sms_from=SMS_FROM,
                              twilio_whatsapp_from=WHATSAPP_FROM, public_base_url="http://localhost",
                              sender_messages_per_second=rate, pseudonym_key="bench",
                              whatsapp_lesson_template_sid="HX" + "0" * 32))
        rt = app.extensions["helpdesk"]
        rt.db.create_all()
        now = utcnow()
        seed(rt, teachers, now, random.Random(11))
        if redis_url:
            env = service_env(database_url, redis_url, fake, SENDER_MESSAGES_PER_SECOND=rate, LOG_LEVEL="INFO",
                              WHATSAPP_LESSON_TEMPLATE_SID="HX" + "0" * 32, PSEUDONYM_KEY="bench",
                              KNOWLEDGE_BASE_DIR=str(ROOT / "knowledge_base" / "faqs"))
            workers = [WorkerProcess(env, data_dir / f"latency-worker{n}.log").start() for n in range(2)]
            deadline = time.monotonic() + 300
            while (time.monotonic() < deadline and
                   not all("worker ready with" in worker.log() and "Listening on" in worker.log() for worker in workers)):
                time.sleep(0.5)  # both workers have loaded the shipped knowledge base and listen
        else:
            rt.knowledge.matcher()  # what `helpdesk demo` has done before its first teacher writes
        client = app.test_client()
        started = time.monotonic()
        rt.enqueue(CPD_PUSH, now.isoformat(), job_id=f"bench-push-{now:%H%M%S}", queue="low")
        asked: dict[str, float] = {}
        for n in range(questions):
            due = started + window * (n + 0.5) / questions
            time.sleep(max(0.0, due - time.monotonic()))
            phone = f"+92399{n:07d}"
            asked[phone] = time.monotonic()
            Phone(client, phone).send(QUESTION)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with fake._cond:
                answered = {m["To"]: t for m, t in zip(fake.messages, fake.arrivals) if m["To"] in asked}
            if len(answered) == len(asked):
                break
            time.sleep(0.2)
        with fake._cond:
            arrivals = list(fake.arrivals)
            first_reply: dict[str, float] = {}
            for m, t in zip(fake.messages, fake.arrivals):
                if m["To"] in asked:
                    first_reply.setdefault(m["To"], t)
        elapsed = time.monotonic() - started
        latencies = sorted(first_reply[p] - asked[p] for p in first_reply)
        print(f"    (latencies s: {' '.join(f'{x:.1f}' for x in latencies)}; queues: {rt.jobs.depth()})",
              file=sys.stderr)
        in_window = [t for t in arrivals if started <= t <= started + window]
        sending = (len(in_window) - 1) / (in_window[-1] - in_window[0]) if len(in_window) > 1 else 0.0
        return dict(answered=len(latencies), questions=questions,
                    p50=statistics.median(latencies) if latencies else float("nan"),
                    p95=latencies[max(0, int(len(latencies) * 0.95 + 0.5) - 1)] if latencies else float("nan"),
                    worst=latencies[-1] if latencies else float("nan"), sent=len(arrivals), elapsed=elapsed,
                    observed_rate=sending)
    finally:
        for worker in workers:
            worker.stop()
        fake.stop()
        if not redis_url:
            rt.jobs.drain(timeout=0.1)
        rt.db.dispose()


def print_latency(name: str, teachers: int, rate: float, window: float, figures: dict) -> None:
    verdict = "OK" if figures["p95"] <= 5.0 and figures["answered"] == figures["questions"] else "OVER 5 s"
    print(f"{name}: reply latency during a push to {teachers:,} subscribers at {rate:.0f} msg/s, "
          f"{figures['questions']} questions spread over the first {window:.0f} s")
    print(f"  answered {figures['answered']}/{figures['questions']}: p50 {figures['p50']:.2f} s, "
          f"p95 {figures['p95']:.2f} s, worst {figures['worst']:.2f} s  {verdict}")
    print(f"  messages sent meanwhile: {figures['sent']:,} in {figures['elapsed']:.0f} s "
          f"(sender rate observed {figures['observed_rate']:.1f}/s, configured {rate:.0f}/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second for the rate check")
    parser.add_argument("--rate-teachers", type=int, default=150)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--latency-teachers", type=int, default=100_000)
    parser.add_argument("--embedded-teachers", type=int, default=2_000)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--latency-window", type=float, default=None,
                        help="seconds the questions are spread over (default: the embedded push's length, "
                             "embedded teachers / rate)")
    parser.add_argument("--skip-push", action="store_true", help="only the reply-latency figures (step 4)")
    args = parser.parse_args()
    logging.disable(logging.INFO)

    targets = []
    server = None
    tmp = Path(tempfile.mkdtemp(prefix="cpd-bench-"))
    if os.environ.get("DATABASE_URL"):
        targets.append(("DATABASE_URL", os.environ["DATABASE_URL"], os.environ["DATABASE_URL"]))
    else:
        from support.servers import PostgresServer

        server = PostgresServer(tmp / "pg").start()
        targets.append(("SQLite", f"sqlite:///{tmp / 'push.sqlite3'}", f"sqlite:///{tmp / 'rate.sqlite3'}"))
        targets.append(("PostgreSQL", server.create_database("cpd_push"), server.create_database("cpd_rate")))
    try:
        for name, url, rate_url in ([] if args.skip_push else targets):
            figures = bench_push(url, args.teachers, tmp)
            total = figures["select_enqueue"] + figures["fan_out"]
            print(f"{name}: {args.teachers:,} subscribed teachers (seeded in {figures['seeded']:.1f} s)")
            print(f"  selection + enqueue : {figures['select_enqueue']:6.2f} s  ({figures['batches']} batch jobs)"
                  f"  {'OK' if figures['select_enqueue'] < 60 else 'OVER 60 s'}")
            print(f"  fan-out (all batches): {figures['fan_out']:6.2f} s  ({figures['lessons']:,} lessons, "
                  f"{figures['templates']:,} via template, {figures['messages']:,} outbound rows, "
                  f"{figures['send_jobs']:,} send jobs)")
            print(f"  push end to end      : {total:6.2f} s  {'OK' if total < 60 else 'OVER 60 s'}")
            rate = bench_rate(rate_url, tmp, args.rate, args.rate_teachers, args.window)
            print(f"  sending rate         : {rate['observed']:.1f} msg/s observed over {rate['window']:.1f} s "
                  f"(configured {rate['configured']:.0f}/s; {rate['sent_in_window']} sent)")
        window = args.latency_window or args.embedded_teachers / args.rate
        # The embedded push goes on sending on its threads after its figures are in, to a fake Twilio that
        # has stopped: those warnings are expected and would bury the table.
        logging.disable(logging.WARNING)
        if server is not None:
            from support.servers import RedisServer

            redis = RedisServer(tmp / "redis").start()
            try:
                figures = bench_reply_latency(server.create_database("cpd_latency"), redis.url, tmp,
                                              args.latency_teachers, args.rate, args.questions, window)
            finally:
                redis.stop()
            print_latency("PostgreSQL + Redis, 2 workers", args.latency_teachers, args.rate, window, figures)
        figures = bench_reply_latency(f"sqlite:///{tmp / 'latency.sqlite3'}", None, tmp, args.embedded_teachers,
                                      args.rate, args.questions, window)
        print_latency("embedded default (SQLite, in-process)", args.embedded_teachers, args.rate, window, figures)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
