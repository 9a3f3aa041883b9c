"""Teacher Helpdesk: a WhatsApp and SMS helpdesk for school teachers."""
from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """The only way to get an app (gunicorn: 'helpdesk:create_app()'). Reads the environment once."""
    from helpdesk import runtime
    from helpdesk.logs import configure_logging
    from helpdesk.settings import Settings
    from helpdesk.web import register_blueprints, security

    settings = Settings.from_env().with_overrides(**(overrides or {}))
    if settings.demo:
        settings = settings.for_demo()
    settings.check_webhook_token()  # before anything starts: a web app without it would accept forgeries
    configure_logging(settings.log_level)
    rt = runtime.install(runtime.build(settings))

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key or _instance_secret(settings),
        # Twilio never sends more than a few kB; a larger body is refused before it is parsed.
        MAX_CONTENT_LENGTH=settings.max_webhook_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_webhook_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,  # never sent over plain http once served on https
    )
    if settings.trusted_proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.extensions["helpdesk"] = rt
    register_blueprints(app)
    security.init_app(app, settings)
    return app


def _instance_secret(settings) -> str:
    """No SECRET_KEY configured: make one and keep it in the data directory, so sessions survive restarts."""
    import secrets

    path = settings.data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
