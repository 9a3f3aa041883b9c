"""`helpdesk experts ...`: give console users an expert profile, list experts, run the target check once."""
from __future__ import annotations

import click

from helpdesk.settings import Settings


@click.group("experts")
def experts_command() -> None:
    """Subject experts who answer escalated questions."""


def _database():
    from helpdesk.db import Database

    return Database(Settings.from_env().database_url)


@experts_command.command("add")
@click.option("--email", required=True,
              help="The console user (create it first with `helpdesk users create`).")
@click.option("--phone", required=True, help="E.164, e.g. +923001234567: their #123 replies come from it.")
@click.option("--subjects", required=True, help="Comma-separated subject slugs (general answers any).")
@click.option("--grade-bands", default="", help="Comma-separated grade band slugs; empty: all bands.")
@click.option("--languages", default="en,ur", show_default=True)
@click.option("--capacity", default=5, show_default=True, type=int)
@click.option("--hours", default="09:00-17:00", show_default=True, help="Working hours, local time.")
@click.option("--days", default="0,1,2,3,4,5", show_default=True, help="Working days, 0=Monday.")
@click.option("--timezone", default="Asia/Karachi", show_default=True)
@click.option("--channel", default="whatsapp", type=click.Choice(["whatsapp", "sms"]), show_default=True)
@click.option("--lead", is_flag=True, help="A lead: told about missed targets, may act on any ticket.")
def experts_add(email, phone, subjects, grade_bands, languages, capacity, hours, days, timezone, channel,
                lead):
    """Create or update an expert profile."""
    from sqlalchemy import select

    from helpdesk.models import User
    from helpdesk.privacy import mask_phone
    from helpdesk.web.experts_admin import save_expert

    start, _, end = hours.partition("-")
    split = lambda text: [part.strip() for part in text.split(",") if part.strip()]  # noqa: E731
    try:
        with _database().session_scope() as session:
            user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
            if user is None:
                raise ValueError(f"no console user {email}")
            expert = save_expert(session, user=user, phone=phone, subjects=split(subjects),
                                 grade_bands=split(grade_bands), languages=split(languages),
                                 capacity=capacity,
                                 start=start, end=end, days=[int(d) for d in split(days)], timezone=timezone,
                                 is_lead=lead, channel=channel)
            click.echo(f"expert {expert.id}: {user.email} {mask_phone(expert.phone)} "
                       f"{','.join(expert.subjects)}{' (lead)' if lead else ''}")
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@experts_command.command("list")
def experts_list():
    """The experts, their subjects, hours and open tickets."""
    from sqlalchemy import select

    from helpdesk.models.tickets import Expert
    from helpdesk.privacy import mask_phone
    from helpdesk.experts.tickets import _loads
    from helpdesk.web.experts_admin import hhmm

    with _database().session_scope() as session:
        loads = _loads(session)
        for e in session.scalars(select(Expert).order_by(Expert.id)):
            click.echo(f"{e.id:>3} {e.name:<20} {mask_phone(e.phone):<14} {','.join(e.subjects):<24} "
                       f"{hhmm(e.work_start_minute)}-{hhmm(e.work_end_minute)} "
                       f"load {loads.get(e.id, 0)}/{e.capacity}"
                       f"{' lead' if e.is_lead else ''}{'' if e.active else ' (inactive)'}")


@experts_command.command("check-targets")
def experts_check_targets():
    """Run the reassignment check once (the scheduler runs it every minute)."""
    from helpdesk import runtime
    from helpdesk.experts import tickets

    rt = runtime.install(runtime.build(Settings.from_env()))
    with rt.db.session_scope() as session:
        counts = tickets.check_targets(session, rt)
    click.echo(f"reassigned {counts['reassigned']}, assigned {counts['assigned']}")
