"""`helpdesk cpd ...`: see which lesson a teacher gets next and why, and what a push would send."""
from __future__ import annotations

from collections import Counter
from datetime import datetime

import click
from sqlalchemy import select

from helpdesk.settings import Settings


@click.group()
def cpd() -> None:
    """CPD hour: lesson choice and the scheduled push."""


def _runtime():
    from helpdesk import runtime

    return runtime.install(runtime.build(Settings.from_env()))


def _now(value: str | None) -> datetime:
    from helpdesk.models import utcnow

    return datetime.fromisoformat(value) if value else utcnow()


@cpd.command("preview")
@click.option("--phone", required=True, help="The teacher's number in E.164 (+92...).")
@click.option("--at", "at", default=None, help="Pretend it is this UTC time (ISO 8601). Default: now.")
def preview(phone: str, at: str | None) -> None:
    """Which lesson this teacher would get next, and why."""
    from helpdesk.cpd import subscriptions as cpd_module
    from helpdesk.models import Teacher
    from helpdesk.privacy import mask_phone

    rt = _runtime()
    now = _now(at)
    with rt.db.session_scope() as session:
        teacher = session.scalars(select(Teacher).where(Teacher.phone == phone.strip())).first()
        if teacher is None:
            raise click.UsageError(f"no teacher with number {mask_phone(phone)}")
        sub = cpd_module.subscription_of(session, teacher)
        status = ("subscribed, next lesson due " + f"{sub.next_lesson_at:%Y-%m-%d %H:%M} UTC"
                  if sub and sub.active and sub.next_lesson_at else "not subscribed")
        choice = cpd_module.choose_for(session, rt, teacher, now)
        sent = len(cpd_module.sent_lessons(session, [teacher.id]).get(teacher.id, ()))
        click.echo(f"teacher {mask_phone(teacher.phone)}: {status}; {sent} lessons sent so far")
        if choice is None:
            click.echo("next lesson: none (every lesson in the catalogue has been sent)")
            return
        lesson = cpd_module.lesson_by_id(rt, choice.lesson_id)
        click.echo(f"next lesson: {choice.lesson_id} ({lesson.text('title')}, {lesson.minutes} min, {lesson.area}, "
                   f"{lesson.level})")
        click.echo(f"rule: {choice.tier}: {choice.why}")


@cpd.command("push")
@click.option("--dry-run", is_flag=True, help="Show who would get what, and send nothing.")
@click.option("--at", "at", default=None, help="Pretend it is this UTC time (ISO 8601). Default: now.")
@click.option("--limit", default=20, show_default=True, help="Rows of detail to print in a dry run.")
def push(dry_run: bool, at: str | None, limit: int) -> None:
    """Push the lessons that are due now (the scheduler does this on its own)."""
    from helpdesk.cpd import subscriptions as cpd_module
    from workers.cpd_jobs import push_due_lessons

    rt = _runtime()
    now = _now(at)
    if not dry_run:
        batches = push_due_lessons(now.isoformat())
        click.echo(f"{batches} batch jobs enqueued")
        if hasattr(rt.jobs, "drain"):
            rt.jobs.drain(include_delayed=False)
        return
    with rt.db.session_scope() as session:
        ids = cpd_module.due_subscription_ids(session, now)
        size = max(1, rt.settings.cpd_batch_size)
        planned = []
        for start in range(0, len(ids), size):
            planned += cpd_module.push_batch(session, rt, ids[start:start + size], now, dry_run=True).planned
        session.rollback()
    for _, masked, lesson_id, tier in planned[:limit]:
        click.echo(f"{masked}  {lesson_id or '-'}  ({tier})")
    if len(planned) > limit:
        click.echo(f"... and {len(planned) - limit} more")
    lessons = Counter(lesson_id for _, _, lesson_id, _ in planned if lesson_id)
    tiers = Counter(tier for _, _, _, tier in planned)
    click.echo(f"due: {len(planned)} teachers in {(len(planned) + size - 1) // size} batches; "
               f"by rule: {dict(sorted(tiers.items()))}")
    click.echo("by lesson: " + ", ".join(f"{lesson_id} {count}" for lesson_id, count in lessons.most_common()))
