"""The service's templates as Twilio Content resources, and the sync behind `helpdesk templates sync`.

What the service needs is `helpdesk.channels.templates.CATALOGUE` (provider-neutral); this module says how
each becomes a Content resource and keeps the account in step with it through the real SDK:

- a template is identified by a hash of its definition, which is also part of its friendly name, so a
  changed definition is a new resource (Content resources cannot be changed once submitted to WhatsApp,
  and WhatsApp does not let a deleted template's name be reused for weeks) and an interrupted run finds what
  it created last time instead of creating it twice;
- a changed template is created anew, recorded, and only then is the old one deleted;
- the two templates sent outside the 24-hour window (answer-ready, lesson-invite) are submitted for WhatsApp
  approval as UTILITY; the choices are session-only (list pickers cannot be submitted at all).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList
from twilio.rest.content.v1.content.approval_create import ApprovalCreateList

from helpdesk.channels import templates
from helpdesk.channels.templates import TemplateSpec
from helpdesk.channels.twilio import BaseUrlHttpClient
from helpdesk.models import ContentTemplate, utcnow

WHATSAPP_CATEGORY = "UTILITY"
SESSION_ONLY = "session only"
UNSUBMITTED = "unsubmitted"
CONTENT_TYPES = {"buttons": "twilio/quick-reply", "list": "twilio/list-picker", "text": "twilio/text"}
# Twilio takes ISO 639-1 codes. Roman Urdu is Urdu in Latin letters: WhatsApp has no code of its own for it.
PROVIDER_LANGUAGE = {"en": "en", "ur": "ur", "roman-ur": "ur"}


# --- definitions ---------------------------------------------------------------------------------

def _var(n: int) -> str:
    return "{{%d}}" % n


def content_types(spec: TemplateSpec) -> dict:
    """The Content `types` for a template. Choices carry a twilio/text numbered menu too, which Twilio sends
    to channels that cannot show buttons or lists."""
    if spec.kind == "buttons":
        numbers = range(1, spec.options + 1)
        return {"twilio/quick-reply": {"body": spec.body,
                                       "actions": [{"title": _var(i + 1), "id": str(i)} for i in numbers]},
                "twilio/text": {"body": "\n".join([spec.body, *(f"{i}. {_var(i + 1)}" for i in numbers)])}}
    if spec.kind == "list":
        numbers = range(1, spec.options + 1)
        return {"twilio/list-picker": {"body": spec.body, "button": _var(2),
                                       "items": [{"item": _var(i + 2), "id": str(i)} for i in numbers]},
                "twilio/text": {"body": "\n".join([spec.body, *(f"{i}. {_var(i + 2)}" for i in numbers)])}}
    return {"twilio/text": {"body": spec.body}}


def definition(spec: TemplateSpec) -> dict:
    """Everything that makes the template what it is: when any of it changes, the template is replaced."""
    category = WHATSAPP_CATEGORY if spec.outside_window else None
    return {"language": PROVIDER_LANGUAGE[spec.language], "variables": dict(spec.samples),
            "types": content_types(spec), "whatsapp_category": category}


def definition_hash(spec: TemplateSpec) -> str:
    canonical = json.dumps(definition(spec), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def friendly_name(spec: TemplateSpec, digest: str) -> str:
    # Also the WhatsApp template name, which allows only lower-case letters, digits and underscores.
    return f"helpdesk_{spec.name}_{spec.language}_{digest[:8]}".replace("-", "_")


# --- the sync ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TemplateReport:
    name: str
    language: str
    sid: str | None
    content_type: str
    approval: str      # the WhatsApp approval status, or "session only"
    action: str        # unchanged | created | replaced | recorded | would create | would replace
    note: str = ""


def make_client(settings) -> Client:
    timeout = settings.twilio_http_timeout
    http = (BaseUrlHttpClient(settings.twilio_api_base_url, timeout=timeout) if settings.twilio_api_base_url
            else TwilioHttpClient(timeout=timeout))
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http)


def sync(client: Client, db, specs=None, dry_run: bool = False) -> list[TemplateReport]:
    """Bring the account's Content templates and the content_templates table in step with `specs` (default:
    the service's catalogue).

    Raises TwilioRestException when Twilio refuses a request; what was done before it stays recorded.
    """
    specs = templates.CATALOGUE if specs is None else specs
    remote = {content.sid: content for content in client.content.v1.contents.list()}
    by_friendly_name = {content.friendly_name: content.sid for content in remote.values()}
    with db.session_scope() as session:
        records = {(row.name, row.language): (row.sid, row.definition_hash)
                   for row in session.scalars(select(ContentTemplate))}
    return [_sync_one(client, db, spec, records.get((spec.name, spec.language)), remote, by_friendly_name,
                      dry_run) for spec in specs]


def _sync_one(client, db, spec: TemplateSpec, record, remote: dict, by_friendly_name: dict,
              dry_run: bool) -> TemplateReport:
    digest = definition_hash(spec)
    name = friendly_name(spec, digest)
    old_sid = record[0] if record else None
    if record and record[1] == digest and old_sid in remote:
        sid, action = old_sid, "unchanged"
    elif name in by_friendly_name:  # made by an earlier run that did not get to record it
        sid, action = by_friendly_name[name], "recorded"
    elif dry_run:
        sid, action = None, "would replace" if record else "would create"
    else:
        sid, action = _create(client, spec, name), "replaced" if record else "created"
    approval = _approval(client, spec, sid, name, dry_run)
    note = ""
    if not dry_run:
        _record(db, spec, sid, digest, approval)
        if old_sid and old_sid != sid and old_sid in remote:
            note = _delete(client, old_sid)
    return TemplateReport(spec.name, spec.language, sid, CONTENT_TYPES[spec.kind], approval, action, note)


def _create(client, spec: TemplateSpec, name: str) -> str:
    body = definition(spec)
    request = ContentList.ContentCreateRequest({"friendly_name": name, "language": body["language"],
                                                "variables": body["variables"], "types": body["types"]})
    return client.content.v1.contents.create(request).sid


def _approval(client, spec: TemplateSpec, sid: str | None, name: str, dry_run: bool) -> str:
    """The WhatsApp approval status, after submitting the template if it never was."""
    if not spec.outside_window:
        return SESSION_ONLY
    if sid is None:
        return "would submit"
    status = _approval_status(client, sid)
    if status != UNSUBMITTED:
        return status
    if dry_run:
        return "would submit"
    request = ApprovalCreateList.ContentApprovalRequest({"name": name, "category": WHATSAPP_CATEGORY})
    return client.content.v1.contents(sid).approval_create.create(request).status or "received"


def _approval_status(client, sid: str) -> str:
    try:
        found = client.content.v1.contents(sid).approval_fetch().fetch()
    except TwilioRestException as exc:
        if exc.status == 404:
            return UNSUBMITTED
        raise
    return ((found.whatsapp or {}).get("status") or UNSUBMITTED).lower()


def _record(db, spec: TemplateSpec, sid: str, digest: str, approval: str) -> None:
    status = None if approval == SESSION_ONLY else approval
    with db.session_scope() as session:
        row = session.scalars(select(ContentTemplate).where(
            ContentTemplate.name == spec.name, ContentTemplate.language == spec.language)).first()
        if row is None:
            row = ContentTemplate(name=spec.name, language=spec.language)
            session.add(row)
        elif (row.sid, row.definition_hash, row.approval_status) == (sid, digest, status):
            return  # synced_at says when the row last changed
        row.sid, row.definition_hash, row.approval_status = sid, digest, status
        row.content_type, row.synced_at = CONTENT_TYPES[spec.kind], utcnow()


def _delete(client, sid: str) -> str:
    try:
        client.content.v1.contents(sid).delete()
    except TwilioRestException as exc:
        # The new template is recorded and in use; the old one is only clutter in the account.
        return f"old {sid} not deleted: {exc.msg}"
    return f"old {sid} deleted"
