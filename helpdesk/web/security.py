"""Web hardening that applies to every page: response headers, safe redirect targets, login throttling.

One place for these so a new console area gets them without doing anything.
"""
from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

from flask import Flask, render_template, request

# The console's scripts are our own static files (console.js, shortcuts.js, faq_picker.js, the planner's
# charts; no inline script, no third-party resources); inline style attributes draw the planner's bars,
# hence 'unsafe-inline' for styles only (a style cannot run code or send data off-site under these rules).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Console URLs carry ticket ids and planner filters: never hand them to another site.
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000"


def init_app(app: Flask, settings) -> None:
    headers = dict(SECURITY_HEADERS)
    if settings.secure_cookies:
        headers["Strict-Transport-Security"] = HSTS

    @app.after_request
    def add_security_headers(response):
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    init_limiter(app, settings)


# --- redirect targets ------------------------------------------------------------------------------

def safe_next(target: str | None) -> str | None:
    """A local path to go to after login, or None. An open redirect after login is a phishing aid.

    Browsers drop tabs and newlines inside URLs and read '\\' as '/', so '/\\t/evil.example' and '/\\evil.example'
    both lead off-site; the target is decoded until it stops changing (double encoding) and refused if it
    has a scheme, a host, a control character, whitespace or a backslash anywhere.
    """
    if not target:
        return None
    decoded = target
    for _ in range(5):
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
    else:
        return None  # still changing after five rounds: nobody writes a link like that by accident
    if "\\" in decoded or any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in decoded):
        return None
    if not decoded.startswith("/") or decoded.startswith("//"):
        return None
    parts = urlsplit(decoded)
    if parts.scheme or parts.netloc:
        return None
    return target.rstrip("?")


# --- login throttling ------------------------------------------------------------------------------

def init_limiter(app: Flask, settings) -> None:
    """Flask-Limiter on the login form: per account and per client address, failed attempts only.

    Counts live in Redis when REDIS_URL is set (shared by every web process), else in this process's memory.
    """
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    limiter = Limiter(get_remote_address, app=app, storage_uri=settings.redis_url or "memory://",
                      headers_enabled=True, strategy="fixed-window", key_prefix="helpdesk-login",
                      # Redis down: count in memory meanwhile rather than answer every login with a 500.
                      swallow_errors=True, in_memory_fallback_enabled=True)
    only_failures = {"deduct_when": lambda response: response.status_code == 401, "methods": ["POST"]}
    login_view = app.view_functions["auth.login"]
    limited = limiter.limit(settings.login_limit_per_account, key_func=_login_account,
                            scope="login-account", **only_failures)(login_view)
    limited = limiter.limit(settings.login_limit_per_address, scope="login-address", **only_failures)(limited)
    app.view_functions["auth.login"] = limited
    app.extensions["login_limiter"] = limiter

    @app.errorhandler(429)
    def too_many_attempts(exc):
        if request.endpoint != "auth.login":
            return exc  # only the login form is throttled here; anything else keeps the plain 429
        # Retry-After is added by Flask-Limiter (headers_enabled); the page says it in words too.
        message = "Too many failed attempts. Wait a few minutes, then try again."
        return render_template("login.html", error=message), 429


def _login_account(form=None) -> str:
    form = request.form if form is None else form
    return "account:" + (form.get("email") or "").strip().lower()
