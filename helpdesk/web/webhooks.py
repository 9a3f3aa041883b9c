"""Twilio webhooks: inbound messages and delivery-status callbacks.

The inbound view stores the message and acknowledges at once; every reply goes out later through the
REST API from a worker. It never answers 429 (Twilio webhooks do not support rate limiting).
"""
from __future__ import annotations

import functools
import logging

from flask import Blueprint, abort, current_app, request

from helpdesk.channels import twilio
from helpdesk.inbox import apply_status, store_inbound
from helpdesk.settings import DEV_AUTH_TOKEN

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)
TWIML = {"Content-Type": "text/xml; charset=utf-8"}


def require_twilio_signature(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        rt = current_app.extensions["helpdesk"]
        token = rt.settings.twilio_auth_token
        if not token or (token == DEV_AUTH_TOKEN and not rt.settings.demo):
            abort(403)  # create_app refuses these settings; this guards an app built some other way
        url = twilio.signed_url(request.url, rt.settings.public_base_url)
        signature = request.headers.get("X-Twilio-Signature", "")
        if not twilio.signature_is_valid(token, url, request.form, signature):
            log.warning("rejected %s with an invalid Twilio signature", request.path)
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.errorhandler(twilio.InvalidInbound)
def malformed(exc: twilio.InvalidInbound):
    return f"Bad request: {exc}", 400, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/twilio/inbound")
@require_twilio_signature
def inbound():
    rt = current_app.extensions["helpdesk"]
    message = twilio.parse_inbound(request.form)
    with rt.db.session_scope() as session:
        inbound_id = store_inbound(session, message)
    if inbound_id is not None:
        rt.enqueue("workers.jobs.process_inbound", inbound_id, job_id=f"in-{message.sid}", queue="high")
    return twilio.EMPTY_TWIML, 200, TWIML


@bp.post("/twilio/status")
@require_twilio_signature
def status():
    rt = current_app.extensions["helpdesk"]
    update = twilio.parse_status(request.form)
    outbound_id = request.args.get("oid", type=int)
    if outbound_id is not None and not 0 < outbound_id < 2**31:
        outbound_id = None  # not one of ours: the URL was not built by us
    with rt.db.session_scope() as session:
        apply_status(session, update, outbound_id)
    return "", 204
