"""The transport used when no provider credentials are configured: the stored outbound row is the message.

It stands in for the provider that would carry its channels (their limits and message kinds), so the demo
splits and renders as production would. `helpdesk chat` reads the rows through the running service
(GET /dev/outbox, helpdesk/web/dev_outbox.py); nothing leaves the machine.
"""
from __future__ import annotations

import logging
import uuid
from typing import Mapping

from helpdesk.channels.base import ChannelSpec, OutgoingMessage, SendResult, channel_of
from helpdesk.privacy import mask_address

log = logging.getLogger(__name__)


class OutboxTransport:
    def __init__(self, channels: Mapping[str, ChannelSpec]):
        self.channels = dict(channels)

    def sender_for(self, to: str) -> str:
        return f"outbox-{channel_of(to)}"

    def status_callback(self, outbound_id: int) -> str | None:
        return None  # nothing will call back: the row is final once stored

    def find_sent(self, message: OutgoingMessage, since) -> SendResult | None:
        return None  # the outbox never leaves a send in doubt

    def send(self, message: OutgoingMessage) -> SendResult:
        sid = "OB" + uuid.uuid4().hex
        log.info("outbox message to %s (%d chars)", mask_address(message.to), len(message.body or ""))
        return SendResult(sid=sid, status="sent")
