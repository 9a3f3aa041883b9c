"""Jobs of the support programme (helpdesk.programme): live sessions, hubs, the planner digest.

The scheduler enqueues the clocked ticks with the time they fired for, so a run is reproducible; each sending
stage claims its rows itself."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from helpdesk.models import utcnow
from helpdesk.programme import service
from helpdesk.runtime import current

log = logging.getLogger(__name__)


def _parse(now_iso: str | None) -> datetime:
    return datetime.fromisoformat(now_iso) if now_iso else utcnow()


def send_session_reminders(now_iso: str | None = None) -> int:
    """Every minute: reminders a day and an hour before each session, the summary after it."""
    rt = current()
    with rt.db.session_scope() as session:
        return service.send_due(session, rt, _parse(now_iso))


def announce_session(session_id: int, now_iso: str | None = None) -> int:
    """After a lead schedules a session: tell the teachers whose needs match its area (once)."""
    rt = current()
    with rt.db.session_scope() as session:
        return service.announce_session(session, rt, session_id, _parse(now_iso))


def send_hub_digests(now_iso: str | None = None) -> int:
    """Daily; each coordinator's digest goes once a month (the first run in a new local month)."""
    rt = current()
    with rt.db.session_scope() as session:
        sent = service.send_hub_digests(session, rt, _parse(now_iso))
    if sent:
        log.info("hub digests sent: %d", sent)
    return sent


# ===================================================================================== planner digest
# The scheduler enqueues send_planner_digest weekly at settings.digest_schedule (workers.scheduler). Each
# opted-in planner's week is claimed with a conditional UPDATE on users.digest_week before the email goes,
# so a second run in the same week (a restart, a second scheduler, a retried job) sends nobody anything twice.

DIGEST_ROLES = ("planner", "admin")


def send_planner_digest(now_iso: str | None = None) -> int:
    """Email this week's digest to every opted-in planner not yet sent it. Returns the emails sent."""
    from analytics import digest, store
    from analytics import service as analytics_service
    from helpdesk import mail
    from helpdesk.models import User
    from helpdesk.programme import suggestion_store

    rt = current()
    settings = rt.settings
    if not mail.configured(settings):
        mail.note_unconfigured()
        return 0
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    today = store.local_day(now, settings.timezone)
    week = store.week_start(today)
    # The four weeks up to yesterday: whole days only, and the dashboard's default span.
    period = analytics_service.default_period(today - timedelta(days=1))
    with rt.db.session_scope() as session:
        recipients = session.execute(
            select(User.id, User.email).where(User.digest_opt_in.is_(True), User.active.is_(True),
                                              User.role.in_(DIGEST_ROLES),
                                              or_(User.digest_week.is_(None), User.digest_week < week))
        ).all()
        if not recipients:
            return 0
        page = analytics_service.build_page(session, period=period, k=settings.report_min_teachers, granularity="week")
        view = suggestion_store.planner_view(session, period=period, k=settings.report_min_teachers)
        since = datetime.combine(period.start, datetime.min.time())
        demand = [digest.DemandRow(label=row["area"], requested=row["booked"], attended=row["attended"])
                  for row in service.demand_by_area(session, settings.report_min_teachers, since=since)]
    report = digest.Digest(page=page, suggestion_clusters=view["clusters"], suggestion_total=view["total"],
                           session_demand=demand,
                           dashboard_url=f"{settings.public_base_url}/planner/" if settings.public_base_url else None)
    sent = 0
    for user_id, email in recipients:
        if not _claim_week(rt, user_id, week):
            continue  # another run took it
        try:
            mail.send(settings, digest.build_message(report, to=email, sender=settings.smtp_from))
        except Exception:
            _release_week(rt, user_id, week)  # the next run (or the job's retry) tries again
            raise
        sent += 1
    log.info("planner digest for the week of %s: %d emails sent", week, sent)
    return sent


def _claim_week(rt, user_id: int, week) -> bool:
    from helpdesk.models import User

    with rt.db.session_scope() as session:
        return session.execute(
            update(User).where(User.id == user_id, or_(User.digest_week.is_(None), User.digest_week < week))
            .values(digest_week=week)
        ).rowcount == 1


def _release_week(rt, user_id: int, week) -> None:
    from helpdesk.models import User

    with rt.db.session_scope() as session:
        session.execute(update(User).where(User.id == user_id, User.digest_week == week)
                        .values(digest_week=week - timedelta(days=7)))
