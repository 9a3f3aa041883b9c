"""GET /dev/outbox: the messages the outbox transport kept for one number, for `helpdesk chat`.

It exists only while some channel runs on the outbox transport (no provider credentials): with a real provider
the messages leave the machine and there is nothing here to show. A request is signed like a webhook
(X-Twilio-Signature with the app's webhook token; DEV_AUTH_TOKEN in `helpdesk demo`), and it answers only about
the number it names, so it never lists other teachers' numbers.

    GET /dev/outbox?to=+923001234567&after=41&limit=100
    -> {"latest_id": 57, "messages": [{"id": 42, "to": "whatsapp:+92...", "body": ..., "choices": ...}, ...]}
"""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, abort, current_app, jsonify, request
from sqlalchemy import func, select

from helpdesk.channels import twilio
from helpdesk.channels.base import all_addresses
from helpdesk.channels.outbox import OutboxTransport
from helpdesk.models import OutboundMessage
from helpdesk.settings import DEV_AUTH_TOKEN

log = logging.getLogger(__name__)

bp = Blueprint("dev_outbox", __name__)
MAX_LIMIT = 500
MAX_ID = 2**31 - 1


def register(app: Flask) -> None:
    if outbox_channels(app.extensions["helpdesk"]):
        app.register_blueprint(bp)


def outbox_channels(rt) -> list[str]:
    return sorted(channel for channel, transport in rt.transports.items() if isinstance(transport, OutboxTransport))


class BadQuery(ValueError):
    pass


@bp.errorhandler(BadQuery)
def bad_query(exc: BadQuery):
    return jsonify(error=str(exc)), 400


@bp.get("/dev/outbox")
def outbox():
    rt = current_app.extensions["helpdesk"]
    if not _signed_with_webhook_token(rt.settings):
        log.warning("rejected /dev/outbox with an invalid signature")
        abort(403)
    try:
        phone = twilio.normalise_phone(request.args.get("to", ""))
    except twilio.InvalidInbound:
        raise BadQuery("'to' must be the phone number (or address) whose messages to show") from None
    after = _whole_number("after", default=0, maximum=MAX_ID)
    limit = _whole_number("limit", default=100, maximum=MAX_LIMIT)
    mine = (OutboundMessage.to_address.in_(all_addresses(phone)),
            OutboundMessage.channel.in_(outbox_channels(rt)))
    with rt.db.session_scope() as session:
        latest = session.scalar(select(func.max(OutboundMessage.id)).where(*mine)) or 0
        rows = session.scalars(select(OutboundMessage).where(*mine, OutboundMessage.id > after)
                               .order_by(OutboundMessage.id).limit(limit)).all()
        messages = [message_json(row) for row in rows]
    return jsonify(latest_id=latest, messages=messages)


def message_json(row: OutboundMessage) -> dict:
    return {"id": row.id, "to": row.to_address, "channel": row.channel, "kind": row.kind, "status": row.status,
            "body": row.body, "content_sid": row.content_sid, "choices": row.choices,
            "created_at": row.created_at.isoformat(timespec="seconds") + "Z"}


def _signed_with_webhook_token(settings) -> bool:
    token = settings.twilio_auth_token
    if not token or (token == DEV_AUTH_TOKEN and not settings.demo):
        return False  # create_app refuses these settings; this guards an app built some other way
    # The signature covers the URL as the client sent it: request.url would decode '%3A' and the like.
    query = request.query_string.decode("latin-1")
    url = twilio.signed_url(request.base_url + (f"?{query}" if query else ""), settings.public_base_url)
    return twilio.signature_is_valid(token, url, {}, request.headers.get("X-Twilio-Signature"))


def _whole_number(name: str, *, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(maximum))) or int(raw) > maximum:
        raise BadQuery(f"'{name}' must be a whole number from 0 to {maximum}")
    return int(raw)
