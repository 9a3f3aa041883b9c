"""Console login: hashed passwords, revocable signed session cookies, CSRF token on every form, role checks.

The cookie carries the user's id, their session generation and the time of their last request. A cookie is
honoured only while its generation equals the user's (logout, a password change and deactivation raise it, so
every copy of an older cookie stops working) and while it has been used in the last SESSION_IDLE_MINUTES.
"""
from __future__ import annotations

import functools
import hmac
import secrets
import time

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request, session,
                   url_for)
from sqlalchemy import select

from helpdesk.models import User
from helpdesk.models.users import MIN_PASSWORD_LENGTH, check_dummy_password
from helpdesk.web.security import safe_next

bp = Blueprint("auth", __name__)
# The last-seen time in the cookie is refreshed at most this often, so a busy console does not rewrite its
# cookie on every request (idle expiry is then exact to within a minute).
SEEN_REFRESH_SECONDS = 60


def load_user() -> None:
    g.user = None
    if request.blueprint == "webhooks":
        return  # Twilio has no console session; skip the cookie work on the hot path
    user_id = session.get("user_id")
    if user_id is None:
        return
    rt = current_app.extensions["helpdesk"]
    now = int(time.time())
    if now - int(session.get("seen") or 0) > rt.settings.session_idle_minutes * 60:
        session.clear()  # idle too long
        return
    with rt.db.session_scope() as db_session:
        user = db_session.get(User, user_id)
        if user is None or not user.active or session.get("gen") != user.session_generation:
            session.clear()  # revoked: logged out, password changed or deactivated since this cookie was made
            return
        db_session.expunge(user)
        g.user = user
    if now - session["seen"] >= SEEN_REFRESH_SECONDS:
        session["seen"] = now


def start_session(user: User) -> None:
    session.clear()
    session["user_id"] = user.id
    session["gen"] = user.session_generation
    session["seen"] = int(time.time())
    csrf_token()


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
            if user is None:
                check_dummy_password(password)  # the same scrypt work: timing does not tell which emails exist
            elif user.check_password(password) and user.active:
                start_session(user)
                return redirect(safe_next(request.args.get("next")) or url_for("auth.home"))
        error = "Wrong email or password."
    return render_template("login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    """End this session and every other copy of its cookie (the user's other sessions end too)."""
    user = g.get("user")
    if user is not None:
        rt = current_app.extensions["helpdesk"]
        with rt.db.session_scope() as db_session:
            db_session.get(User, user.id).revoke_sessions()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required()
def change_password():
    """Change one's own password; every other session of this user ends, this one goes on."""
    error = None
    if request.method == "POST":
        rt = current_app.extensions["helpdesk"]
        new = request.form.get("new_password") or ""
        with rt.db.session_scope() as db_session:
            user = db_session.get(User, g.user.id)
            if not user.check_password(request.form.get("current_password") or ""):
                error = "The current password is wrong."
            elif len(new) < MIN_PASSWORD_LENGTH:
                error = f"The new password needs at least {MIN_PASSWORD_LENGTH} characters."
            elif new != (request.form.get("confirm_password") or ""):
                error = "The two new passwords differ."
            else:
                user.set_password(new)
                db_session.flush()
                start_session(user)
                flash("Password changed. Your other sessions have ended.")
                return redirect(url_for("auth.home"))
    return (render_template("account_password.html", error=error, min_length=MIN_PASSWORD_LENGTH),
            400 if error else 200)


@bp.post("/account/digest")
@login_required("planner")
def digest_opt_in():
    """A planner's choice of the weekly digest by email (workers.programme_jobs.send_planner_digest)."""
    rt = current_app.extensions["helpdesk"]
    wanted = request.form.get("digest") == "on"
    with rt.db.session_scope() as db_session:
        db_session.get(User, g.user.id).digest_opt_in = wanted
    flash("You will get the weekly digest by email." if wanted else "The weekly digest email is off.")
    return redirect(url_for("auth.change_password"))


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
