"""The scheduler: a database job store in Asia/Karachi, the lease, and the weekly CPD push firing once with two
scheduler instances on the same database, driven by a controllable clock."""
import threading
import time
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from helpdesk.cpd import subscriptions as cpd
from helpdesk.models import LessonDelivery, Subscription, Teacher
from workers.scheduler import RECURRING, SchedulerLease, build_scheduler, tick

MONDAY_SLOT = datetime(2025, 3, 3, 11, 0)  # Monday 3 March 2025, 16:00 in Karachi


class Clock:
    def __init__(self, now: datetime):
        self._now = now
        self._lock = threading.Lock()

    def set(self, now: datetime) -> None:
        with self._lock:
            self._now = now

    def __call__(self) -> datetime:
        with self._lock:
            return self._now


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def subscribed_teachers(rt, count: int) -> list[int]:
    ids = []
    with rt.db.session_scope() as session:
        for number in range(count):
            teacher = Teacher(phone=f"+92300555{number:04d}")
            session.add(teacher)
            session.flush()
            # Past the welcome series: the next lesson is the weekly CPD hour.
            session.add(Subscription(teacher_id=teacher.id, joined_at=MONDAY_SLOT - timedelta(weeks=3),
                                     series_position=5, next_lesson_at=MONDAY_SLOT))
            ids.append(teacher.id)
    return ids


def delivery_count(rt) -> int:
    with rt.db.session_scope() as session:
        return len(session.scalars(select(LessonDelivery.id)).all())


def test_weekly_push_fires_once_with_two_schedulers_on_one_database(make_app, database_url, twilio_api):
    app = make_app(database_url, cpd_check_seconds=0.2)
    rt = app.extensions["helpdesk"]
    teachers = subscribed_teachers(rt, 4)
    clock = Clock(MONDAY_SLOT - timedelta(minutes=1))
    first, first_lease = build_scheduler(rt, BackgroundScheduler, clock=clock)
    second, second_lease = build_scheduler(rt, BackgroundScheduler, clock=clock)
    first.start()
    second.start()
    try:
        time.sleep(1.0)
        assert delivery_count(rt) == 0  # 15:59 in Karachi: nothing due
        clock.set(MONDAY_SLOT + timedelta(seconds=30))
        assert wait_for(lambda: delivery_count(rt) == 4)
        time.sleep(1.5)  # many more ticks of both schedulers at the same clock
        rt.jobs.drain()
        assert delivery_count(rt) == 4
        assert sorted(m["To"] for m in twilio_api.messages) == sorted(f"+92300555{n:04d}" for n in range(4))

        clock.set(MONDAY_SLOT + timedelta(weeks=1, seconds=30))
        assert wait_for(lambda: delivery_count(rt) == 8)
        time.sleep(1.5)
        rt.jobs.drain()
        assert delivery_count(rt) == 8
        with rt.db.session_scope() as session:
            per_teacher = {t: session.scalars(select(LessonDelivery.lesson_id)
                                              .where(LessonDelivery.teacher_id == t)).all() for t in teachers}
            next_due = set(session.scalars(select(Subscription.next_lesson_at)))
        assert all(len(lessons) == 2 and len(set(lessons)) == 2 for lessons in per_teacher.values())
        assert next_due == {MONDAY_SLOT + timedelta(weeks=2)}
        # Only one of the two held the lease the whole time.
        assert first_lease.acquire() != second_lease.acquire()
    finally:
        first.shutdown(wait=True)
        second.shutdown(wait=True)


def test_jobs_persist_in_the_database_in_karachi_time(make_app, database_url):
    rt = make_app(database_url, cpd_schedule="biweekly thu 09:30").extensions["helpdesk"]
    scheduler, _ = build_scheduler(rt, BackgroundScheduler)
    scheduler.start(paused=True)
    scheduler.shutdown()
    # A new scheduler (a restarted process) finds the jobs in the store, with their next run times.
    again, _ = build_scheduler(rt, BackgroundScheduler)
    store = again._jobstores["default"] if hasattr(again, "_jobstores") else None
    jobs = {job.id: job for job in store.get_all_jobs()}
    assert {"sweep-unprocessed", "ticket-targets", "cpd-hour", "cpd-due"} <= set(jobs)
    assert {job_id for job_id, _, _ in RECURRING} <= set(jobs)
    weekly = jobs["cpd-hour"]
    assert str(weekly.next_run_time.tzinfo) == "Asia/Karachi"
    assert (weekly.next_run_time.weekday(), weekly.next_run_time.hour, weekly.next_run_time.minute) == (3, 9, 30)
    assert weekly.misfire_grace_time == 3600 and weekly.coalesce


def test_the_lease_lets_one_scheduler_tick_until_it_expires(make_app, database_url):
    rt = make_app(database_url).extensions["helpdesk"]
    clock = Clock(MONDAY_SLOT)
    leader, standby = SchedulerLease(rt.db, "a", clock), SchedulerLease(rt.db, "b", clock)
    assert tick(rt, leader, "workers.jobs.sweep_unprocessed") is True
    assert tick(rt, standby, "workers.jobs.sweep_unprocessed") is False
    clock.set(MONDAY_SLOT + timedelta(minutes=5))  # the leader stopped renewing
    assert standby.acquire() is True and leader.acquire() is False
    rt.jobs.drain()


def test_scheduled_push_is_told_the_time_it_fired_for(make_app, database_url):
    rt = make_app(database_url).extensions["helpdesk"]
    subscribed_teachers(rt, 1)
    lease = SchedulerLease(rt.db, "a", Clock(MONDAY_SLOT + timedelta(seconds=5)))
    assert tick(rt, lease, "workers.cpd_jobs.push_due_lessons")
    rt.jobs.drain()
    with rt.db.session_scope() as session:
        (delivery,) = session.scalars(select(LessonDelivery)).all()
        assert delivery.sent_at == MONDAY_SLOT + timedelta(seconds=5)
        assert cpd.subscription_of(session, session.get(Teacher, delivery.teacher_id)).next_lesson_at == \
            MONDAY_SLOT + timedelta(weeks=1)


def test_the_cpd_tick_is_a_job_rq_accepts(make_app, sqlite_url, redis_url):
    from rq import Queue

    from workers.scheduler import CPD_PUSH, SchedulerLease, tick

    rt = make_app(sqlite_url, redis_url=redis_url).extensions["helpdesk"]
    assert tick(rt, SchedulerLease(rt.db), CPD_PUSH)
    jobs = Queue("low", connection=rt.redis).jobs
    assert [(job.func_name, len(job.args)) for job in jobs] == [(CPD_PUSH, 1)]
