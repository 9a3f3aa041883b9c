"""Admin pages: console users (experts, leads, planners, admins)."""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from helpdesk.models import ROLES, User
from helpdesk.models.users import MIN_PASSWORD_LENGTH
from helpdesk.web.auth import login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


def register(app) -> None:
    app.register_blueprint(bp)
    app.config["NAV_LINKS"].append(("admin.users", "Users", ("admin",)))
    app.config["HOME_PAGES"].append(("admin.users", ("admin",)))


def create_user(session, *, email: str, name: str, role: str, password: str | None = None) -> tuple[User, str]:
    """Create a console user; returns the user and the password (generated when none is given)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    email = email.strip().lower()
    if "@" not in email or session.scalars(select(User).where(User.email == email)).first():
        raise ValueError("a valid, unused email is required")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    password = password or secrets.token_urlsafe(12)  # 16 characters, 96 random bits
    user = User(email=email, name=name.strip() or email, role=role, password_hash="")
    user.set_password(password)
    session.add(user)
    session.flush()
    return user, password


@bp.get("/users")
@login_required("admin")
def users():
    return _users_page()


def _users_page(created: tuple[str, str | None] | None = None, status: int = 200):
    rt = current_app.extensions["helpdesk"]
    with rt.db.session_scope() as session:
        rows = session.scalars(select(User).order_by(User.role, User.name)).all()
        return render_template("admin_users.html", users=rows, roles=ROLES, created=created,
                               min_length=MIN_PASSWORD_LENGTH), status


@bp.post("/users")
@login_required("admin")
def add_user():
    """A password the admin typed is never shown back; a generated one is shown once, in this response only
    (a flash message would keep it in the session cookie, which is signed but readable)."""
    rt = current_app.extensions["helpdesk"]
    typed = request.form.get("password") or None
    try:
        with rt.db.session_scope() as session:
            user, password = create_user(session, email=request.form.get("email", ""),
                                         name=request.form.get("name", ""), role=request.form.get("role", ""),
                                         password=typed)
            created = (f"{user.email} ({user.role})", None if typed else password)
    except ValueError as exc:
        flash(f"Not created: {exc}")
        return redirect(url_for("admin.users"))
    response = _users_page(created=created, status=201)
    return response[0], 201, {"Cache-Control": "no-store"}


@bp.post("/users/<int:user_id>/active")
@login_required("admin")
def toggle_active(user_id: int):
    rt = current_app.extensions["helpdesk"]
    with rt.db.session_scope() as session:
        user = session.get(User, user_id) or abort(404)
        user.active = not user.active
        user.revoke_sessions()  # a re-enabled user signs in afresh; no old cookie comes back to life
        flash(f"{user.email} is now {'active' if user.active else 'disabled'}.")
    return redirect(url_for("admin.users"))
