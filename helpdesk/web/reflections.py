"""The console's reflections page: teachers' classroom try-outs, read and answered by mentors and experts
(helpdesk.cpd.reflections holds the data functions)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for

from helpdesk.cpd import reflections as cpd_reflections
from helpdesk.web.auth import login_required

bp = Blueprint("reflections", __name__, url_prefix="/console/reflections")

# Mentors use console accounts with the expert role; leads see and answer too (admins pass every check).
ROLES = ("expert", "lead")


def register(app) -> None:
    app.register_blueprint(bp)
    app.config["NAV_LINKS"].append(("reflections.index", "Reflections", ROLES))


@bp.get("")
@login_required(*ROLES)
def index():
    rt = current_app.extensions["helpdesk"]
    show_all = request.args.get("show") == "all"
    with rt.db.session_scope() as session:
        rows = cpd_reflections.list_reflections(session, rt, unanswered_only=not show_all)
    return render_template("console_reflections.html", rows=rows, show_all=show_all,
                           max_chars=cpd_reflections.MAX_REPLY_CHARS)


@bp.post("/<int:delivery_id>/reply")
@login_required(*ROLES)
def reply(delivery_id: int):
    rt = current_app.extensions["helpdesk"]
    try:
        with rt.db.session_scope() as session:
            cpd_reflections.reply_to_reflection(session, rt, delivery_id, g.user, request.form.get("reply", ""))
        flash("Your reply was sent to the teacher.")
    except LookupError:
        abort(404)
    except cpd_reflections.ReflectionError as exc:
        flash(str(exc))
    return redirect(url_for("reflections.index", show=request.args.get("show") or None))
