"""A local fake of the Twilio Messages and Content REST APIs, reached by the real twilio SDK over HTTP.

The production code points the SDK here with `helpdesk.channels.twilio.BaseUrlHttpClient`; the fake answers
like Twilio (201 JSON on create, error JSON `{code, message, status, more_info}`, page-shaped lists) and can
send signed status callbacks back to the app.
"""
from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit, urlunsplit

import requests
from twilio.request_validator import RequestValidator

API = "/2010-04-01/Accounts/"
CONTENT = "/v1/Content"  # the SDK's content.twilio.com, rewritten to this server like api.twilio.com
CONTENT_BASE = "https://content.twilio.com"
WHATSAPP_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
# What WhatsApp reviews; list pickers (and the other session-only types) cannot be submitted.
APPROVABLE_TYPES = {"twilio/text", "twilio/media", "twilio/quick-reply", "twilio/call-to-action",
                    "twilio/card"}
_GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
            "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM7_EXT = set("^{}\\[~]|€\f")  # these cost two GSM-7 septets


def num_segments(body: str, to: str) -> int:
    if to.startswith("whatsapp:") or not body:
        return 1
    if all(c in _GSM7 or c in _GSM7_EXT for c in body):
        units, single, multi = sum(2 if c in _GSM7_EXT else 1 for c in body), 160, 153
    else:  # one non-GSM character makes the whole message UCS-2; astral characters take two UTF-16 units
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else -(-units // multi)


class FakeTwilio:
    def __init__(self, auth_token: str = "test-auth-token", account_sid: str = "AC" + "0" * 32):
        self.auth_token = auth_token
        self.account_sid = account_sid
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._stopping = threading.Event()
        self.reset()

    # --- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> "FakeTwilio":
        fake = self

        class Handler(_Handler):
            twilio = fake

        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # e.g. a client that timed out and left
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # cuts hang_next() sleeps short
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reset(self) -> None:
        with self._cond:
            self.messages: list[dict] = []
            self.arrivals: list[float] = []  # time.monotonic() at each accepted create, in step with messages
            self.requests: list[dict] = []
            self.callbacks: list[dict] = []  # every status callback sent: url, params, status (None on error)
            self._failures: list[tuple[int, int, str]] = []
            self._failing_until: tuple[float, tuple[int, int, str]] | None = None
            self._hangs: list[float] = []
            self._opted_out: set[str] = set()
            self._closed_windows: set[str] = set()
            self.contents: dict[str, dict] = {}  # Content API resources by SID, in creation order
            self.media: dict[str, tuple[str, bytes]] = {}  # media path -> (content type, bytes)
            self.auto_callbacks = False  # True: send "sent" then "delivered" after each accepted create
            # A callable(url, params, headers) -> HTTP status delivers callbacks without HTTP (e.g. through a
            # Flask test client); None posts them with requests.
            self.callback_transport = None

    def add_media(self, message_sid: str, media_sid: str, content: bytes, content_type: str) -> str:
        """Serve a media file as Twilio does (Basic auth); returns the URL an inbound webhook would carry."""
        path = f"{API}{self.account_sid}/Messages/{message_sid}/Media/{media_sid}"
        with self._cond:
            self.media[path] = (content_type, content)
        return "https://api.twilio.com" + path

    # --- behaviour switches -----------------------------------------------------------------------------
    def fail_next(self, http_status=429, code=20429, message="Too Many Requests", times=1) -> None:
        with self._cond:
            self._failures += [(http_status, code, message)] * times

    def fail_for(self, seconds: float, http_status=500, code=20500, message="Internal Server Error") -> None:
        """Every create fails like this for the next `seconds` (a Twilio outage), then succeeds again."""
        with self._cond:
            self._failing_until = (time.monotonic() + seconds, (http_status, code, message))

    def opt_out(self, address: str) -> None:
        """Creates whose `To` equals `address` (e.g. "whatsapp:+92300..." or "+92300...") fail with 21610."""
        with self._cond:
            self._opted_out.add(address)

    def close_window(self, address: str) -> None:
        """Free-form WhatsApp creates to `address` (with or without "whatsapp:") fail with 63016."""
        with self._cond:
            self._closed_windows.add(address.removeprefix("whatsapp:"))

    def hang_next(self, seconds: float, times: int = 1) -> None:
        """The next create(s) are processed (and recorded) as usual, but the response waits `seconds`."""
        with self._cond:
            self._hangs += [seconds] * times

    def set_approval(self, sid: str, status: str = "approved", rejection_reason: str = "") -> None:
        """WhatsApp's verdict on a submitted template arrives (approved, rejected, paused...)."""
        with self._cond:
            approval = self.contents[sid]["approval"]
            if approval is None:
                raise ValueError(f"content {sid} was never submitted for WhatsApp approval")
            approval.update(status=status, rejection_reason=rejection_reason)

    # --- inspection ---------------------------------------------------------------------------------------
    def wait_for_messages(self, n: int, timeout: float = 10) -> list[dict]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= n, timeout):
                raise AssertionError(f"expected {n} message(s) within {timeout}s, got {len(self.messages)}: "
                                     f"{self.messages}; requests: {self.requests}")
            return list(self.messages)

    def message(self, sid: str) -> dict:
        with self._cond:
            for m in self.messages:
                if m["sid"] == sid:
                    return m
        raise KeyError(f"no accepted message {sid}")

    # --- status callbacks ---------------------------------------------------------------------------------
    def send_status_callbacks(self, sid: str, statuses=("sent", "delivered"), error_code: int | None = None
                              ) -> list[int | None]:
        """POST signed callbacks to the message's StatusCallback; ErrorCode goes with failed/undelivered."""
        msg = self.message(sid)
        if not msg.get("StatusCallback"):
            raise ValueError(f"message {sid} was created without a StatusCallback")
        # Twilio signs and calls the URL without its #fragment (connection overrides are not signed).
        url = urlunsplit(urlsplit(msg["StatusCallback"])._replace(fragment=""))
        codes = []
        for status in statuses:
            params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
                      "AccountSid": self.account_sid, "From": msg.get("From", ""), "To": msg["To"],
                      "ApiVersion": "2010-04-01"}
            if msg.get("MessagingServiceSid"):
                params["MessagingServiceSid"] = msg["MessagingServiceSid"]
            if status in ("failed", "undelivered"):
                params["ErrorCode"] = str(error_code or 30003)
            headers = {"X-Twilio-Signature": RequestValidator(self.auth_token).compute_signature(url, params),
                       "User-Agent": "TwilioProxy/1.1"}
            with self._cond:
                msg["status"] = status
            try:
                if self.callback_transport is not None:
                    code = self.callback_transport(url, params, headers)
                else:
                    code = requests.post(url, data=params, headers=headers, timeout=10).status_code
            except requests.RequestException as exc:
                code, params = None, {**params, "error": repr(exc)}
            with self._cond:
                self.callbacks.append({"url": url, "params": params, "status": code})
            codes.append(code)
        return codes

    def _auto_callbacks(self, sid: str) -> None:
        try:
            self.send_status_callbacks(sid)
        except Exception as exc:  # never let a background thread fail a test with an unrelated warning
            with self._cond:
                self.callbacks.append({"url": None, "params": {"MessageSid": sid}, "status": None,
                                       "error": repr(exc)})

    # --- request handling (called from server threads) ---------------------------------------------------
    def _error(self, http_status: int, code: int, message: str) -> tuple[int, dict]:
        return http_status, {"code": code, "message": message, "status": http_status,
                             "more_info": f"https://www.twilio.com/docs/errors/{code}"}

    def _create(self, form: dict) -> tuple[int, dict]:
        with self._cond:
            if self._failures:
                return self._error(*self._failures.pop(0))
            if self._failing_until and time.monotonic() < self._failing_until[0]:
                return self._error(*self._failing_until[1])
            to = form.get("To", "")
            if not to:
                return self._error(400, 21604, "A 'To' phone number is required.")
            if not (form.get("From") or form.get("MessagingServiceSid")):
                return self._error(400, 21603, "A 'From' phone number is required.")
            if not (form.get("Body") or form.get("ContentSid") or form.get("MediaUrl")):
                return self._error(400, 21602, "Message body is required.")
            if form.get("ContentVariables") and not form.get("ContentSid"):
                return self._error(400, 21654, "ContentSid Required")
            if form.get("ContentVariables") and not _valid_content_variables(form["ContentVariables"]):
                return self._error(400, 21656, "The ContentVariables Parameter is invalid")
            if to in self._opted_out:
                return self._error(400, 21610, "Attempt to send to unsubscribed recipient")
            if (to.startswith("whatsapp:") and to.removeprefix("whatsapp:") in self._closed_windows
                    and not form.get("ContentSid")):
                return self._error(400, 63016, "Failed to send freeform message because you are outside the "
                                               "allowed window. Please use a Template.")
            sid = "SM" + uuid.uuid4().hex
            status = "accepted" if form.get("MessagingServiceSid") else "queued"
            created = formatdate(usegmt=True)
            self.messages.append({**form, "sid": sid, "status": status, "date_created": created})
            self.arrivals.append(time.monotonic())
            self._cond.notify_all()
            return 201, self._resource(self.messages[-1])

    def _resource(self, msg: dict) -> dict:
        uri = f"{API}{self.account_sid}/Messages/{msg['sid']}.json"
        return {
            "sid": msg["sid"], "account_sid": self.account_sid, "api_version": "2010-04-01",
            "to": msg["To"], "from": msg.get("From"), "messaging_service_sid": msg.get("MessagingServiceSid"),
            "body": msg.get("Body", ""), "status": msg["status"], "direction": "outbound-api",
            "num_segments": str(num_segments(msg.get("Body", ""), msg["To"])),
            "num_media": str(len(msg.get("MediaUrl", []))), "error_code": None, "error_message": None,
            "price": None, "price_unit": "USD", "date_created": msg["date_created"],
            "date_updated": msg["date_created"], "date_sent": None, "uri": uri,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        }

    def _list(self, query: dict) -> dict:
        with self._cond:
            found = [self._resource(m) for m in reversed(self.messages)  # newest first, like Twilio
                     if all(m.get(k) == query[k] for k in ("To", "From") if k in query)]
        size = int(query.get("PageSize", 50))
        uri = f"{API}{self.account_sid}/Messages.json"
        # Only Twilio's page keys plus "messages": the SDK finds the records as the one non-meta key.
        return {"messages": found[:size], "first_page_uri": f"{uri}?PageSize={size}&Page=0",
                "next_page_uri": None, "previous_page_uri": None, "page": 0, "page_size": size, "start": 0,
                "end": max(len(found[:size]) - 1, 0), "uri": uri}

    # --- Content API ----------------------------------------------------------------------------------
    def _content(self, method: str, path: str, query: dict, body: dict) -> tuple[int, dict | None]:
        rest = path[len(CONTENT):].strip("/")
        parts = rest.split("/") if rest else []
        with self._cond:
            if not parts:
                if method == "POST":
                    return self._create_content(body)
                if method == "GET":
                    return 200, self._list_contents(query)
            elif parts[0] not in self.contents:
                return self._error(404, 20404, f"The requested resource {path} was not found")
            elif len(parts) == 1 and method == "GET":
                return 200, self._content_resource(self.contents[parts[0]])
            elif len(parts) == 1 and method == "DELETE":
                del self.contents[parts[0]]
                return 204, None
            elif parts[1:] == ["ApprovalRequests"] and method == "GET":
                return 200, self._approval_fetch(self.contents[parts[0]])
            elif parts[1:] == ["ApprovalRequests", "whatsapp"] and method == "POST":
                return self._submit_approval(self.contents[parts[0]], body)
        return self._error(405, 20004, "Method not allowed")

    def _create_content(self, body: dict) -> tuple[int, dict]:
        body = _without_nulls(body)
        types = body.get("types") or {}
        if not body.get("friendly_name") or not body.get("language") or not types:
            return self._error(400, 20001, "friendly_name, language and types are required")
        problem = _content_problem(types)
        if problem:
            return self._error(400, 20001, problem)
        sid = "HX" + uuid.uuid4().hex
        created = _iso_now()
        self.contents[sid] = {"sid": sid, "friendly_name": body["friendly_name"],
                              "language": body["language"], "variables": body.get("variables") or {},
                              "types": types, "date_created": created, "date_updated": created,
                              "approval": None}
        return 201, self._content_resource(self.contents[sid])

    def _content_resource(self, content: dict) -> dict:
        url = f"{CONTENT_BASE}{CONTENT}/{content['sid']}"
        return {key: content[key] for key in ("sid", "friendly_name", "language", "variables", "types",
                                              "date_created", "date_updated")} | {
            "account_sid": self.account_sid, "url": url,
            "links": {"approval_create": f"{url}/ApprovalRequests/whatsapp",
                      "approval_fetch": f"{url}/ApprovalRequests"}}

    def _list_contents(self, query: dict) -> dict:
        size = min(int(query.get("PageSize") or 50), 1000)
        page = int(query.get("Page") or 0)
        found = [self._content_resource(c) for c in self.contents.values()]
        chunk = found[page * size:(page + 1) * size]
        base = f"{CONTENT_BASE}{CONTENT}?PageSize={size}"
        more = len(found) > (page + 1) * size
        return {"contents": chunk, "meta": {
            "page": page, "page_size": size, "first_page_url": f"{base}&Page=0", "url": f"{base}&Page={page}",
            "previous_page_url": f"{base}&Page={page - 1}" if page else None, "key": "contents",
            "next_page_url": f"{base}&Page={page + 1}&PageToken=PT{page + 1}" if more else None}}

    def _submit_approval(self, content: dict, body: dict) -> tuple[int, dict]:
        name, category = body.get("name") or "", body.get("category") or ""
        if content["approval"] is not None:
            return self._error(400, 92009, "The template associated with this SID has already been submitted "
                                           "for approval.")
        if not WHATSAPP_TEMPLATE_NAME.match(name):
            return self._error(400, 20001, "Template name can only have lowercase alphanumeric characters "
                                           "and underscores")
        if category not in ("UTILITY", "MARKETING", "AUTHENTICATION"):
            return self._error(400, 20001, f"Invalid category {category!r}")
        if not set(content["types"]) <= APPROVABLE_TYPES:
            return self._error(400, 20001, "This content type cannot be submitted for WhatsApp approval")
        content_type = next(iter(content["types"]))
        content["approval"] = {"name": name, "category": category, "content_type": content_type,
                               "status": "received", "rejection_reason": "", "allow_category_change": True}
        return 201, dict(content["approval"])

    def _approval_fetch(self, content: dict) -> dict:
        whatsapp = ({"type": "whatsapp", **content["approval"]} if content["approval"] is not None
                    else {"type": "whatsapp", "status": "unsubmitted"})
        return {"sid": content["sid"], "account_sid": self.account_sid, "whatsapp": whatsapp,
                "url": f"{CONTENT_BASE}{CONTENT}/{content['sid']}/ApprovalRequests"}


def _valid_content_variables(raw: str) -> bool:
    """A JSON object whose values are all set: Twilio refuses null or empty values (error 21656)."""
    try:
        variables = json.loads(raw)
    except ValueError:
        return False
    return isinstance(variables, dict) and all(isinstance(v, str) and v != "" for v in variables.values())


def _without_nulls(value):
    # The SDK sends every field of its request models, unset ones as null; Twilio ignores those.
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _content_problem(types: dict) -> str | None:
    """What Twilio would refuse in a content definition: WhatsApp's button and list limits."""
    quick = types.get("twilio/quick-reply")
    if quick is not None:
        actions = quick.get("actions") or []
        if not quick.get("body") or not 1 <= len(actions) <= 10:
            return "twilio/quick-reply needs a body and 1 to 10 actions"
        if any(not a.get("title") or len(a["title"]) > 20 or not a.get("id") for a in actions):
            return "a quick-reply action needs an id and a title of at most 20 characters"
    picker = types.get("twilio/list-picker")
    if picker is not None:
        items = picker.get("items") or []
        if not picker.get("body") or not picker.get("button") or not 1 <= len(items) <= 10:
            return "twilio/list-picker needs a body, a button and 1 to 10 items"
        if any(not i.get("item") or len(i["item"]) > 24 or not i.get("id") for i in items):
            return "a list-picker item needs an id and an item of at most 24 characters"
    text = types.get("twilio/text")
    if text is not None and not text.get("body"):
        return "twilio/text needs a body"
    return None


def _iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class _Handler(BaseHTTPRequestHandler):
    twilio: FakeTwilio

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_DELETE(self):
        self._handle()

    def _handle(self):
        fake = self.twilio
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        is_json = (self.headers.get("Content-Type") or "").startswith("application/json")
        try:  # the Content API takes JSON bodies; the Messages API form fields
            body = json.loads(raw) if is_json and raw else {}
        except ValueError:
            body = None
        multi = {} if is_json else parse_qs(raw, keep_blank_values=True)
        form = {k: v if k == "MediaUrl" else v[0] for k, v in multi.items()}
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        auth_ok = self._basic_auth() == (fake.account_sid, fake.auth_token)
        record = {"method": self.command, "path": url.path, "query": query, "form": form, "auth_ok": auth_ok,
                  "json": body}
        with fake._cond:
            fake.requests.append(record)

        prefix = f"{API}{fake.account_sid}/Messages"
        hang = 0.0
        if not auth_ok:
            status, body = fake._error(401, 20003, "Authenticate")
        elif url.path == CONTENT or url.path.startswith(CONTENT + "/"):
            status, body = (fake._content(self.command, url.path, query, body) if isinstance(body, dict)
                            else fake._error(400, 20001, "The request body is not valid JSON"))
        elif self.command == "POST" and url.path == prefix + ".json":
            with fake._cond:
                hang = fake._hangs.pop(0) if fake._hangs else 0.0
            status, body = fake._create(form)
        elif self.command == "GET" and url.path == prefix + ".json":
            status, body = 200, fake._list(query)
        elif self.command == "GET" and url.path in fake.media:
            content_type, payload = fake.media[url.path]
            record["status"] = 200
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        elif self.command == "GET" and url.path.startswith(prefix + "/") and url.path.endswith(".json"):
            sid = url.path[len(prefix) + 1:-len(".json")]
            try:
                status, body = 200, fake._resource(fake.message(sid))
            except KeyError:
                status, body = fake._error(404, 20404, f"The requested resource {url.path} was not found")
        else:
            status, body = fake._error(404, 20404, f"The requested resource {url.path} was not found")
        record["status"] = status

        if hang:
            fake._stopping.wait(hang)
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        if status == 201 and fake.auto_callbacks and body.get("sid", "").startswith("SM") \
                and form.get("StatusCallback"):
            threading.Thread(target=fake._auto_callbacks, args=(body["sid"],), daemon=True).start()

    def _basic_auth(self) -> tuple[str, str] | None:
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        return (user, password) if scheme.lower() == "basic" else None
