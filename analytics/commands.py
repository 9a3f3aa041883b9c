"""`helpdesk report ...`: planner reports from the command line (aggregates only, suppressed like the console)."""
from __future__ import annotations

from datetime import date, datetime

import click

FORMATS = ("csv", "json", "html")


def _day(_ctx, _param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD") from None


def _period(date_from, date_to, timezone: str, days: int = 28):
    from zoneinfo import ZoneInfo

    from analytics.reports import Period
    from analytics.service import default_period

    if date_from and date_to:
        if date_to < date_from:
            raise click.BadParameter("--to is before --from")
        return Period(date_from, date_to)
    today = date_to or datetime.now(ZoneInfo(timezone)).date()  # the helpdesk's today, not the server's
    period = default_period(today, days)
    return Period(date_from, period.end) if date_from else period


def _database():
    from helpdesk.db import Database
    from helpdesk.settings import Settings

    settings = Settings.from_env()
    return settings, Database(settings.database_url)


@click.group("report")
def report_command() -> None:
    """Planner reports: CPD needs, recurring challenges, content gaps."""


@report_command.command("needs")
@click.option("--from", "date_from", callback=_day, help="First day, YYYY-MM-DD (default: 28 days before --to).")
@click.option("--to", "date_to", callback=_day, help="Last day, YYYY-MM-DD (default: today).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--district", default=None)
@click.option("--level", default=None, help="School level: ece, primary, middle, high, higher-secondary.")
@click.option("--subject", default=None)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to a file.")
def needs_command(date_from, date_to, fmt, district, level, subject, output) -> None:
    """Ranked CPD needs overall and per district, with trends, gaps and the matching lesson tracks."""
    from analytics import service
    from analytics.reports import Filters

    settings, database = _database()
    period = _period(date_from, date_to, settings.timezone)
    filters = Filters(district=district, school_level=level, subject=subject)
    try:
        with database.session_scope() as session:
            page = service.build_page(session, period=period, filters=filters, k=settings.report_min_teachers,
                                      with_gaps=fmt != "csv")
    finally:
        database.dispose()
    text = {"csv": service.to_csv, "json": service.to_json, "html": service.render_html}[fmt](page)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


@report_command.command("demo-data")
@click.option("--rows", default=8000, show_default=True)
@click.option("--days", default=120, show_default=True)
@click.option("--force", is_flag=True, help="Add rows even when the database already has interactions.")
def demo_data_command(rows: int, days: int, force: bool) -> None:
    """Add synthetic interactions (deterministic) so the reports have something to show."""
    from analytics import demo, store

    _settings, database = _database()
    try:
        with database.session_scope() as session:
            if store.has_interactions(session) and not force:
                raise click.UsageError("the database already has interactions (use --force to add more)")
            added = demo.seed_demo(session, today=datetime.now().date(), n=rows, days=days)
    finally:
        database.dispose()
    click.echo(f"added {added} synthetic interactions")
