"""The transport used when no Twilio credentials are configured: the stored outbound row is the message.

`helpdesk outbox` and `helpdesk chat` read those rows; nothing leaves the machine.
"""
from __future__ import annotations

import logging
import uuid

from helpdesk.channels.base import OutgoingMessage, SendResult
from helpdesk.privacy import mask_address

log = logging.getLogger(__name__)


class OutboxTransport:
    def sender_for(self, to: str) -> str:
        return "outbox-whatsapp" if to.startswith("whatsapp:") else "outbox-sms"

    def find_sent(self, message: OutgoingMessage, since) -> SendResult | None:
        return None  # the outbox never leaves a send in doubt

    def send(self, message: OutgoingMessage) -> SendResult:
        sid = "OB" + uuid.uuid4().hex
        log.info("outbox message to %s (%d chars)", mask_address(message.to), len(message.body or ""))
        return SendResult(sid=sid, status="sent")
