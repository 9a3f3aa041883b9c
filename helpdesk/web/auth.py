"""Console login: hashed passwords, server-side session cookie, CSRF token on every form, role checks."""
from __future__ import annotations

import functools
import hmac
import secrets

from flask import (Blueprint, abort, current_app, g, redirect, render_template, request, session,
                   url_for)
from sqlalchemy import select

from helpdesk.models import User

bp = Blueprint("auth", __name__)


def load_user() -> None:
    g.user = None
    if request.blueprint == "webhooks":
        return  # Twilio has no console session; skip the cookie work on the hot path
    user_id = session.get("user_id")
    if user_id is None:
        return
    rt = current_app.extensions["helpdesk"]
    with rt.db.session_scope() as db_session:
        user = db_session.get(User, user_id)
        if user is not None and user.active:
            db_session.expunge(user)
            g.user = user


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """Every console POST carries the session's token (forms: hidden field; fetch: X-CSRF-Token header)."""
    if request.method != "POST" or request.blueprint == "webhooks":
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not hmac.compare_digest(sent, session.get("csrf", "")) or not sent:
        abort(400, "missing or invalid CSRF token")


def login_required(*roles: str):
    """Require a signed-in user; with roles, one of them (admins pass every check)."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if g.get("user") is None:
                return redirect(url_for("auth.login", next=request.full_path))
            if roles and not g.user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        rt = current_app.extensions["helpdesk"]
        email = (request.form.get("email") or "").strip().lower()
        password = request.form.get("password") or ""
        with rt.db.session_scope() as db_session:
            user = db_session.scalars(select(User).where(User.email == email)).first()
            if user is not None and user.active and user.check_password(password):
                session.clear()
                session["user_id"] = user.id
                csrf_token()
                return redirect(_safe_next(request.args.get("next")) or url_for("auth.home"))
        error = "Wrong email or password."
    return render_template("login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/")
def home():
    """Each role lands on its own start page."""
    user = g.get("user")
    if user is None:
        return redirect(url_for("auth.login"))
    for endpoint, roles in current_app.config.get("HOME_PAGES", []):
        if user.has_role(*roles) and endpoint in current_app.view_functions:
            return redirect(url_for(endpoint))
    return render_template("home.html")


def _safe_next(target: str | None) -> str | None:
    # Only local paths: an open redirect after login is a phishing aid.
    if target and target.startswith("/") and not target.startswith("//"):
        return target.rstrip("?")
    return None


def nav_links() -> dict:
    user = g.get("user")
    links = [(endpoint, label) for endpoint, label, roles in current_app.config.get("NAV_LINKS", [])
             if user is not None and user.has_role(*roles) and endpoint in current_app.view_functions]
    return {"nav_links": links}


def init_app(app) -> None:
    app.before_request(load_user)
    app.before_request(check_csrf)
    app.context_processor(nav_links)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.register_blueprint(bp)
