"""A real SMTP server on a free loopback port (aiosmtpd), collecting what it receives.

    from support.smtp import smtp_server  # noqa: F401   (then ask for `smtp_server` in a test)
"""
from __future__ import annotations

import email
import email.policy
import threading

import pytest

from support.servers import free_port


class Inbox:
    """aiosmtpd handler: every message delivered, parsed, with its envelope recipients."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.original_content or envelope.content,
                                          policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        self.arrived.set()
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    """(host, port, inbox) of a running aiosmtpd; stopped after the test."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.hostname, controller.port, inbox
    finally:
        controller.stop()
