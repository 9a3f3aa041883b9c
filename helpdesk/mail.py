"""Email out (the planner digest): one SMTP connection per send, settings from helpdesk.settings.

Email is not a teacher channel, so it does not go through helpdesk.outbound (which sends WhatsApp and SMS to
teachers and experts). With SMTP_HOST or SMTP_FROM unset nothing is sent, and that is logged once per
process rather than every week for every planner.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

log = logging.getLogger(__name__)
_told_unconfigured = False


def configured(settings) -> bool:
    return bool(settings.smtp_host and settings.smtp_from)


def note_unconfigured() -> None:
    global _told_unconfigured
    if not _told_unconfigured:
        _told_unconfigured = True
        log.info("email is not configured (SMTP_HOST and SMTP_FROM): the planner digest is not sent")


def send(settings, message: EmailMessage) -> bool:
    """Send one message; False (and nothing sent) when SMTP is not configured. SMTP errors propagate, so the
    job that sends can give its claim back and be retried."""
    if not configured(settings):
        note_unconfigured()
        return False
    if "From" not in message:
        message["From"] = settings.smtp_from
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)
    return True
