"""The `helpdesk` command: run the service, talk to it, and look after its data."""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click

from helpdesk.settings import Settings


@click.group()
def main() -> None:
    """Teacher Helpdesk: WhatsApp and SMS help for school teachers."""


# --- database -------------------------------------------------------------------------------------

@main.group()
def db() -> None:
    """Database schema (Alembic migrations shipped in the package)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (the `release` process runs this once per deploy)."""
    from helpdesk.migrate import upgrade

    settings = Settings.from_env()
    upgrade(settings.database_url, revision)
    click.echo(f"database at revision {revision}")


@main.group()
def users() -> None:
    """Console users."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", required=True, type=click.Choice(["expert", "lead", "planner", "admin"]))
@click.option("--password", default=None, help="Default: a generated one, printed once.")
def users_create(email: str, name: str, role: str, password: str | None) -> None:
    """Create a console user (the first admin is made this way)."""
    from helpdesk.db import Database
    from helpdesk.web.admin import create_user

    database = Database(Settings.from_env().database_url)
    try:
        with database.session_scope() as session:
            user, password = create_user(session, email=email, name=name, role=role, password=password)
            click.echo(f"created {user.email} ({user.role}); password: {password}")
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


# --- provider templates ---------------------------------------------------------------------------

@main.group()
def templates() -> None:
    """WhatsApp message templates (Twilio Content API)."""


@templates.command("sync")
@click.option("--dry-run", is_flag=True, help="Show what would be created, replaced or submitted; change nothing.")
def templates_sync(dry_run: bool) -> None:
    """Create or replace the Content templates the service needs, record their SIDs, submit the out-of-window
    ones for WhatsApp approval and show their status. Safe to run again: an unchanged template is left alone."""
    from sqlalchemy import inspect
    from twilio.base.exceptions import TwilioException

    from helpdesk.channels import twilio_content
    from helpdesk.db import Database
    from helpdesk.settings import SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        click.echo("No Twilio credentials: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to the account whose "
                   "templates to sync.", err=True)
        sys.exit(2)
    database = Database(settings.database_url)
    if not inspect(database.engine).has_table("content_templates"):
        click.echo(f"The database at {_safe_url(settings)} has no content_templates table: run "
                   "`helpdesk db upgrade` first.", err=True)
        sys.exit(2)
    try:
        reports = twilio_content.sync(twilio_content.make_client(settings), database, dry_run=dry_run)
    except (TwilioException, OSError) as exc:  # OSError: requests' connection errors
        click.echo(f"The sync stopped at a Twilio error (the templates done before it are recorded): {exc}",
                   err=True)
        sys.exit(1)
    finally:
        database.dispose()
    _print_template_table(reports, dry_run)


def _print_template_table(reports, dry_run: bool) -> None:
    if dry_run:
        click.echo("Dry run: nothing was changed at Twilio or in the database.")
    click.echo(f"{'NAME':<17} {'LANGUAGE':<9} {'SID':<35} {'TYPE':<19} {'WHATSAPP':<13} ACTION")
    for r in reports:
        note = f" ({r.note})" if r.note else ""
        click.echo(f"{r.name:<17} {r.language:<9} {r.sid or '-':<35} {r.content_type:<19} {r.approval:<13} "
                   f"{r.action}{note}")
    actions = Counter(r.action for r in reports)
    click.echo(f"{len(reports)} templates: " + ", ".join(f"{n} {action}" for action, n in actions.most_common()))


# --- processes ------------------------------------------------------------------------------------

@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def demo(host: str, port: int) -> None:
    """Run everything in one process on embedded defaults: web, jobs, scheduler, shipped knowledge base."""
    from werkzeug.serving import make_server

    from helpdesk import create_app
    from helpdesk.migrate import upgrade
    from workers.scheduler import start_background_scheduler

    settings = Settings.from_env()
    upgrade(settings.database_url)
    app = create_app({"demo": True})  # the one web app that may run on the development token
    rt = app.extensions["helpdesk"]
    faqs = len(rt.knowledge.entries())
    _seed_demo_analytics(rt)
    _seed_demo_users(rt, f"http://{host}:{port}")
    start_background_scheduler(rt)
    server = make_server(host, port, app, threaded=True)
    click.echo(f"Teacher Helpdesk on http://{host}:{port}  ({faqs} FAQs loaded, database {_safe_url(settings)})")
    click.echo(f"Text it from another terminal:  helpdesk chat --url http://{host}:{port} --from +923001234567")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


@main.command()
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True,
              help="Let this worker run RQ's scheduler for delayed jobs (retries with backoff).")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
def worker(with_scheduler: bool, burst: bool) -> None:
    """An RQ worker with the knowledge base preloaded (start any number)."""
    from workers.worker import run_worker

    run_worker(Settings.from_env(), with_scheduler=with_scheduler, burst=burst)


@main.command()
def scheduler() -> None:
    """The scheduler process (recurring jobs). A second copy waits as a standby and never double-sends."""
    from workers.scheduler import run_scheduler

    run_scheduler(Settings.from_env())


# --- talking to it --------------------------------------------------------------------------------

@main.command()
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="The running service.")
@click.option("--from", "sender", default="+923001234567", show_default=True, help="The teacher's number.")
@click.option("--whatsapp", is_flag=True, help="Write as a WhatsApp user instead of SMS.")
@click.option("--wait", default=8.0, show_default=True, help="Seconds to wait for replies to each message.")
def chat(url: str, sender: str, whatsapp: bool, wait: float) -> None:
    """Text the running bot from this terminal (any directory): signed webhook posts in, and the replies the
    service keeps for this number out. On WhatsApp, choices show as buttons: type a number or title to tap."""
    from helpdesk.channels.twilio import InvalidInbound
    from helpdesk.chat import ChatError, ChatSession

    try:
        session = ChatSession(Settings.from_env(), url, sender, whatsapp)
        click.echo(f"Texting {url} as {session.address}. Empty line or Ctrl-D to quit.")
        for line in _lines(sys.stdin):
            if not line.strip():
                break
            for reply in session.say(line.rstrip("\n"), wait):
                click.echo(f"< {reply}\n")
    except InvalidInbound:
        raise click.BadParameter(f"not a phone number: {sender}", param_hint="--from") from None
    except ChatError as exc:
        raise click.ClickException(str(exc)) from None


def _lines(stream):
    while True:
        if stream.isatty():
            click.echo("> ", nl=False)
        line = stream.readline()
        if not line:
            return
        yield line


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--limit", default=50, show_default=True)
def outbox(as_json: bool, limit: int) -> None:
    """The stored outbound messages of every number, newest last, read from this machine's database
    (HELPDESK_DATA_DIR or DATABASE_URL: run it where the service runs)."""
    for row in _recent_outbound(Settings.from_env(), limit):
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(f"{row['created_at']}  {row['status']:<10} {row['to']}: {row['body'][:100]}")


def _recent_outbound(settings: Settings, limit: int) -> list[dict]:
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from helpdesk.db import Database
    from helpdesk.models import OutboundMessage

    try:
        with Database(settings.database_url).session_scope() as session:
            rows = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(limit)).all()
            return [{"to": row.to_address, "body": row.body, "status": row.status, "kind": row.kind,
                     "choices": row.choices, "created_at": row.created_at.isoformat(timespec="seconds") + "Z"}
                    for row in reversed(rows)]
    except (OperationalError, ProgrammingError):  # no such table: not the service's database
        raise click.ClickException(
            f"no helpdesk database at {_safe_url(settings)}: run this where the service runs, or set "
            "HELPDESK_DATA_DIR or DATABASE_URL to its data") from None


# --- knowledge base -------------------------------------------------------------------------------

@main.group()
def kb() -> None:
    """Knowledge-base files."""


@kb.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--lessons", "lessons_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The CPD lessons directory to check (default: the shipped lessons).")
@click.option("--strict", is_flag=True,
              help="Shipped-content rules: en, ur and roman-ur in answer and short, and a review record "
                   "on every FAQ and lesson.")
def kb_check(directory: Path | None, lessons_dir: Path | None, strict: bool) -> None:
    """Validate a knowledge-base directory (default: the shipped one) and the lessons, and list what awaits
    review."""
    from helpdesk.knowledge import shipped_faq_dir
    from knowledge_base.lessons import LESSONS_DIR, LessonError, load_lessons, taxonomy_slugs
    from knowledge_base.loader import KnowledgeBaseError, load_directory

    try:
        entries = load_directory(directory or shipped_faq_dir(), strict=strict)
    except KnowledgeBaseError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(f"{len(entries)} FAQs OK")
    for status, heading in (("unreviewed", "no review record"), ("draft", "draft review only")):
        _list_awaiting_review([e for e in entries if e.review_status == status], heading)
    try:
        areas, subjects, grades = taxonomy_slugs()
        lessons = load_lessons(lessons_dir or LESSONS_DIR, areas=areas, subjects=subjects, grades=grades,
                               strict=strict)
    except LessonError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(f"{len(lessons)} lessons OK")
    for status, heading in (("unreviewed", "lessons with no review record"),
                            ("draft", "lessons with a draft review only")):
        _list_awaiting_review([lesson for lesson in lessons if lesson.review_status == status], heading)


def _list_awaiting_review(items, heading: str) -> None:
    if items:
        click.echo(f"{len(items)} {heading}:")
        for item in items:
            click.echo(f"  {item.id} ({Path(item.source).name})")


@kb.command("export")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "yaml"]), default="csv", show_default=True)
def kb_export(directory: Path | None, fmt: str) -> None:
    """Write a knowledge base as one spreadsheet (CSV) or one YAML file to standard output."""
    from helpdesk.knowledge import shipped_faq_dir
    from knowledge_base.loader import export_csv, export_yaml, load_directory

    entries = load_directory(directory or shipped_faq_dir())
    if fmt == "csv":
        export_csv(entries, sys.stdout)
    else:
        click.echo(export_yaml(entries), nl=False)


@kb.command("import-csv")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The YAML file to write (put it in the knowledge-base directory to publish it).")
def kb_import_csv(csv_file: Path, out: Path) -> None:
    """Turn a content editor's spreadsheet into a knowledge-base YAML file, validating every row."""
    from knowledge_base.loader import KnowledgeBaseError, export_yaml, import_csv

    try:
        entries = import_csv(csv_file.read_text(encoding="utf-8"), source=str(csv_file))
    except KnowledgeBaseError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    out.write_text(export_yaml(entries), encoding="utf-8")
    click.echo(f"{len(entries)} FAQs written to {out}")


def _safe_url(settings: Settings) -> str:
    url = settings.database_url
    return url.split("@")[-1] if "@" in url else url


def _seed_demo_analytics(rt) -> None:
    # An empty database gets synthetic (clearly fake) interactions so the planner dashboard and
    # `helpdesk report needs` have something to show in the demo; real data is never mixed in.
    from analytics.demo import seed_if_empty

    try:
        added = seed_if_empty(rt.db)
    except LookupError as exc:
        click.echo(f"No synthetic planner data: {exc}", err=True)
        return
    if added:
        click.echo(f"Added {added} synthetic interactions for the planner reports (helpdesk report needs).")


DEMO_EXPERT_PHONE = "+923110000002"


def _seed_demo_users(rt, url: str) -> None:
    """An empty demo gets one console user per role (passwords printed once) and an expert on duty
    around the clock, so an escalated question can be answered from the console or `helpdesk chat`."""
    from sqlalchemy import func, select

    from helpdesk.models import Expert, User
    from helpdesk.web.admin import create_user

    with rt.db.session_scope() as session:
        if session.scalar(select(func.count()).select_from(User)):
            return
        click.echo(f"Demo console users (log in at {url}/login; passwords are shown only now):")
        for role in ("admin", "lead", "expert", "planner"):
            user, password = create_user(session, email=f"{role}@demo.example", name=f"Demo {role}", role=role)
            click.echo(f"  {user.email:<22} {password}")
            if role in ("lead", "expert"):
                phone = DEMO_EXPERT_PHONE if role == "expert" else "+923110000001"
                # The lead supervises (capacity 0: nothing is routed to them) but may act on any ticket.
                session.add(Expert(user_id=user.id, phone=phone, subjects=["general"], is_lead=role == "lead",
                                   capacity=0 if role == "lead" else 5, work_start_minute=0,
                                   work_end_minute=24 * 60, work_days=list(range(7))))
    click.echo(f"The demo expert answers from a phone too:  helpdesk chat --url {url} --from {DEMO_EXPERT_PHONE}"
               "  (then '#1 your answer')")


def _register_optional_commands() -> None:
    from analytics.commands import report_command
    from knowledge_base.commands import calibrate_command, match_command

    main.add_command(match_command)
    main.add_command(calibrate_command)
    main.add_command(report_command)
    from helpdesk.cpd.cli import cpd as cpd_group; main.add_command(cpd_group)  # noqa: E702
    from helpdesk.experts.cli import experts_command; main.add_command(experts_command)  # noqa: E702
    from helpdesk.safeguarding.cli import triage_command; main.add_command(triage_command)  # noqa: E702


_register_optional_commands()
