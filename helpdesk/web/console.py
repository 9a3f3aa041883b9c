"""The expert console: ticket lists, the ticket page (answer, pass, close, re-tag, reuse an FAQ, propose an
FAQ), the lead's FAQ review, and the service figures. Server-rendered, usable on a phone browser.

Who sees what: experts and leads see tickets (and teachers' numbers, since they answer them); an expert
sees their own tickets and the unassigned queue, a lead sees all. Planners see only the service figures.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask import (Blueprint, Response, abort, current_app, flash, g, jsonify, make_response, redirect,
                   render_template, request, url_for)
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from helpdesk.experts import canned
from helpdesk.experts import console_format
from helpdesk.experts import faq_review
from helpdesk.experts import service_figures
from helpdesk.experts import ticket_lists
from helpdesk.experts import ticket_media
from helpdesk.experts import tickets
from helpdesk.channels import twilio
from helpdesk.models import utcnow
from helpdesk.models.tickets import ACTIVE_STATUSES, Expert, FaqProposal, Ticket
from helpdesk.web.auth import login_required
from helpdesk.web.security import safe_next

bp = Blueprint("console", __name__, url_prefix="/console")

TICKET_ROLES = ("expert", "lead")
FIGURE_ROLES = ("lead", "planner")
POLL_SECONDS = 15  # how often an open list asks for new tickets (app config CONSOLE_POLL_SECONDS overrides)


def register(app) -> None:
    app.register_blueprint(bp)
    app.config["NAV_LINKS"].extend([
        ("console.my_tickets", "My tickets", TICKET_ROLES),
        ("console.queue", "Queue", TICKET_ROLES),
        ("console.urgent", "Urgent", TICKET_ROLES),
        ("console.all_tickets", "All tickets", TICKET_ROLES),
        ("console.canned_page", "Canned answers", TICKET_ROLES),
        ("console.faq_review_page", "FAQ review", ("lead",)),
        ("console.figures", "Figures", FIGURE_ROLES),
    ])
    app.config["HOME_PAGES"].extend([
        ("console.my_tickets", ("expert", "lead")),
        ("console.figures", ("planner",)),
    ])


def _rt():
    return current_app.extensions["helpdesk"]


def _expert(session) -> Expert | None:
    return session.scalars(select(Expert).where(Expert.user_id == g.user.id)).first()


def _is_lead(expert: Expert | None) -> bool:
    return g.user.role in ("lead", "admin") or (expert is not None and expert.is_lead)


def _may_see(ticket: Ticket, expert: Expert | None) -> bool:
    return _is_lead(expert) or tickets.visible_to_expert(ticket, expert)


def _may_act(ticket: Ticket, expert: Expert | None) -> bool:
    # Only the assignee (or a lead) acts; an unassigned ticket is taken by whoever answers it.
    return _is_lead(expert) or (expert is not None and ticket.assignee_id in (None, expert.id))


def _load_ticket(session, ticket_id: int, act: bool = False) -> tuple[Ticket, Expert | None]:
    ticket = session.get(Ticket, ticket_id) or abort(404)
    expert = _expert(session)
    if not _may_see(ticket, expert) or (act and not _may_act(ticket, expert)):
        # Usually an old link to a ticket that has since moved to another expert: say so, with a way on.
        abort(make_response(render_template("console_not_yours.html", ticket_id=ticket_id), 403))
    return ticket, expert


# --- lists ---------------------------------------------------------------------------------------

def _active(stmt):
    return stmt.where(Ticket.status.in_(ACTIVE_STATUSES)).order_by(Ticket.priority.desc(), Ticket.created_at)


def _render_list(session, expert, title: str, groups, **extra):
    """Every ticket list: the same columns (waiting, deadline in local time) and the live-update notice."""
    latest = session.scalar(select(func.max(Ticket.id))) or 0
    return render_template("console_list.html", title=title, groups=groups, expert=expert,
                           tickets_mod=tickets,
                           fmt=console_format, now=utcnow(), zone=_rt().settings.timezone,
                           latest_id=latest, counts=_counts(session, expert),
                           poll_seconds=current_app.config.get("CONSOLE_POLL_SECONDS", POLL_SECONDS), **extra)


@bp.get("/")
@login_required(*TICKET_ROLES)
def my_tickets():
    with _rt().db.session_scope() as session:
        expert = _expert(session)
        mine = session.scalars(_active(select(Ticket).where(Ticket.assignee_id == expert.id))).all() \
            if expert else []
        answered = session.scalars(
            select(Ticket)
            .where(Ticket.answered_by_id == expert.id, Ticket.status.in_(("answered", "closed")))
            .order_by(Ticket.answered_at.desc()).limit(20)
        ).all() if expert else []
        return _render_list(session, expert, "My tickets", [("Waiting for you", mine),
                                                            ("Recently answered", answered)])


@bp.get("/queue")
@login_required(*TICKET_ROLES)
def queue():
    with _rt().db.session_scope() as session:
        waiting = tickets.tickets_for_queue(session)
        by_subject: dict[str, list[Ticket]] = {}
        for ticket in waiting:
            by_subject.setdefault(tickets.label("subjects", ticket.subject), []).append(ticket)
        return _render_list(session, _expert(session), "Unassigned, by subject", sorted(by_subject.items()))


@bp.get("/urgent")
@login_required(*TICKET_ROLES)
def urgent():
    with _rt().db.session_scope() as session:
        expert = _expert(session)
        rows = session.scalars(_active(select(Ticket).where(Ticket.priority == "urgent"))).all()
        rows = [t for t in rows if _may_see(t, expert)]
        return _render_list(session, expert, "Urgent", [("Urgent, not yet answered", rows)])


def _active_experts(session) -> list[Expert]:
    experts = session.scalars(select(Expert).where(Expert.active.is_(True))
                              .options(selectinload(Expert.user))).all()
    return sorted(experts, key=lambda e: e.name.lower())


@bp.get("/tickets")
@login_required(*TICKET_ROLES)
def all_tickets():
    """Search, filter and sort; a lead sees every ticket ("all open" by default), an expert what they may see.
    Bad parameters are named on the page (status 400) and left out, never an error page."""
    tax = tickets.taxonomy()
    with _rt().db.session_scope() as session:
        expert = _expert(session)
        lead = _is_lead(expert)
        experts = _active_experts(session)
        parsed = ticket_lists.parse(request.args, subjects=tax["subjects"], grade_bands=tax["grade_bands"],
                                    expert_ids={e.id for e in experts})
        query = parsed.query
        rows = session.scalars(ticket_lists.statement(
            query, me=expert.id if expert else None,
            visible_to=None if lead else (expert.id if expert else -1))).all()
        title = "All open tickets" if lead and query == ticket_lists.ListQuery() else "Find tickets"
        heading = "Tickets" + (" (only the first ones: narrow the search)"
                               if len(rows) >= ticket_lists.MAX_ROWS else "")
        page = _render_list(session, expert, title, [(heading, rows)], filters=query,
                            problems=parsed.problems, tax=tax, statuses=ticket_lists.STATUSES,
                            sorts=ticket_lists.SORTS,
                            languages=ticket_lists.LANGUAGES, experts=experts, bulk=lead,
                            back=request.full_path)
    return page, 400 if parsed.problems else 200


@bp.get("/counts.json")
@login_required(*TICKET_ROLES)
def counts():
    """For the polling script: the counts in the header and how many tickets came in since `since`."""
    since_id = ticket_lists.as_id(request.args.get("since")) or 0
    with _rt().db.session_scope() as session:
        expert = _expert(session)
        data = _counts(session, expert)
        stmt = select(func.count(Ticket.id)).where(Ticket.id > since_id, Ticket.status.in_(ACTIVE_STATUSES))
        if not _is_lead(expert):
            mine = expert.id if expert else -1
            stmt = stmt.where(or_(Ticket.assignee_id == mine, Ticket.assignee_id.is_(None)))
        data["new"] = session.scalar(stmt) or 0
    return jsonify(data)


def _counts(session, expert: Expert | None) -> dict[str, int]:
    def count(*conditions) -> int:
        return session.scalar(select(func.count(Ticket.id)).where(Ticket.status.in_(ACTIVE_STATUSES),
                                                                  *conditions)) or 0
    return {"mine": count(Ticket.assignee_id == expert.id) if expert else 0,
            "unassigned": count(Ticket.assignee_id.is_(None)),
            "urgent": count(Ticket.priority == "urgent")}


@bp.post("/tickets/bulk")
@login_required(*TICKET_ROLES)
def bulk():
    """A lead assigns or closes several tickets at once; closing asks to confirm first."""
    form = request.form
    back = _back(form.get("back"))
    ids = sorted({n for n in map(ticket_lists.as_id, form.getlist("ticket_id")) if n is not None})
    action = form.get("action", "")
    rt = _rt()
    with rt.db.session_scope() as session:
        expert = _expert(session)
        if not _is_lead(expert):
            abort(403)
        chosen = session.scalars(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id)).all()
        if not chosen or action not in ("assign", "close"):
            flash("Tick one or more tickets and choose what to do with them.")
            return redirect(back)
        if action == "close" and form.get("confirm") != "yes":
            return render_template("console_bulk_confirm.html", rows=chosen, back=back)
        target = None
        if action == "assign":
            expert_id = ticket_lists.as_id(form.get("expert_id"))
            target = session.get(Expert, expert_id) if expert_id is not None else None
            if target is None or not target.active:
                flash("Choose an active expert to assign the tickets to.")
                return redirect(back)
        done, refused = [], []
        for ticket in chosen:
            try:
                if target is not None:
                    tickets.assign_to_expert(session, rt, ticket, target, g.user.name)
                else:
                    tickets.close_ticket(session, rt, ticket, g.user.name, "closed with others from the list")
                done.append(f"#{ticket.id}")
            except tickets.TicketError as exc:
                refused.append(str(exc))
        verb = f"Assigned to {target.name}" if target is not None else "Closed"
    flash(f"{verb}: {', '.join(done) if done else 'none'}." + (" " + " ".join(refused) if refused else ""))
    return redirect(back)


def _back(target: str | None) -> str:
    """Where a list's form returns to: the same list (with its filters), never another site."""
    target = safe_next(target)
    return target if target and target.startswith("/console/") else url_for("console.all_tickets")


@bp.get("/shortcuts")
@login_required(*TICKET_ROLES)
def shortcuts():
    """The keyboard shortcuts as a page: where the help link leads without a script."""
    return render_template("console_shortcuts.html")


# --- canned answers -----------------------------------------------------------------------------

@bp.get("/canned")
@login_required(*TICKET_ROLES)
def canned_page():
    with _rt().db.session_scope() as session:
        expert = _expert(session)
        return render_template("console_canned.html", answers=canned.visible(session, expert),
                               expert=expert, is_lead=_is_lead(expert), form=request.args)


@bp.post("/canned")
@login_required(*TICKET_ROLES)
def canned_create():
    try:
        with _rt().db.session_scope() as session:
            expert = _expert(session)
            row = canned.create(session, expert=expert, author=g.user.name,
                                title=request.form.get("title", ""), body=request.form.get("body", ""),
                                shared=request.form.get("shared") == "1", is_lead=_is_lead(expert))
            flash(f"Saved “{row.title}”" + (" for everyone." if row.owner_id is None else " for you."))
    except canned.CannedError as exc:
        flash(str(exc))
    return redirect(url_for("console.canned_page"))


@bp.post("/canned/<int:canned_id>/delete")
@login_required(*TICKET_ROLES)
def canned_delete(canned_id: int):
    try:
        with _rt().db.session_scope() as session:
            expert = _expert(session)
            title = canned.delete(session, expert=expert, canned_id=canned_id, is_lead=_is_lead(expert))
            flash(f"Removed “{title}”.")
    except canned.CannedError as exc:
        flash(str(exc))
    return redirect(url_for("console.canned_page"))


# --- the ticket page -----------------------------------------------------------------------------

@bp.get("/tickets/<int:ticket_id>")
@login_required(*TICKET_ROLES)
def ticket_page(ticket_id: int):
    rt = _rt()
    query = (request.args.get("q") or "").strip()
    use = (request.args.get("use") or "").strip()
    canned_id = request.args.get("canned", type=int)
    zone = rt.settings.timezone
    with rt.db.session_scope() as session:
        ticket, expert = _load_ticket(session, ticket_id)
        view = rt.knowledge.view()
        results = _kb_search(view, query or ticket.question)
        proposals = session.scalars(select(FaqProposal).where(FaqProposal.ticket_id == ticket.id)
                                    .order_by(FaqProposal.id)).all()
        chosen_faq = view.entry(use) if use else None
        answers_kept = canned.visible(session, expert)
        chosen_canned = canned.find(session, expert, canned_id) if canned_id is not None else None
        answers = [(e.at, e.actor, e.detail) for e in ticket.events if e.kind == "answered"]
        return render_template(
            "console_ticket.html", ticket=ticket, expert=expert, may_act=_may_act(ticket, expert),
            may_mark_false_alarm=_is_lead(expert), is_lead=_is_lead(expert),
            query=query, results=results, good_match=_has_good_match(results), tax=tickets.taxonomy(),
            label=tickets.label,
            proposals=proposals, nearest=view.entry(ticket.nearest_faq_id) if ticket.nearest_faq_id else None,
            proposal_area=_proposal_area(view, ticket),
            chosen_faq=chosen_faq, unknown_faq=use if use and chosen_faq is None else None,
            bubbles=console_format.conversation(ticket.conversation, answers, zone),
            notes=[e for e in ticket.events if e.kind == tickets.NOTE],
            matcher=console_format.matcher_note(ticket.match_info,
                                                lambda faq_id: _first_question(view, faq_id)),
            experts=_active_experts(session) if _is_lead(expert) else [],
            media=ticket_media.ticket_media(session, ticket),
            canned_answers=answers_kept, chosen_canned=chosen_canned,
            unknown_canned=canned_id is not None and chosen_canned is None,
            question=ticket_media.without_media_lines(ticket.question),
            strip_media=ticket_media.without_media_lines,
            fmt=console_format, now=utcnow(), zone=zone,
        )


# Types a browser may play or show from our origin; anything else downloads (never HTML or script from here).
INLINE_MEDIA = ("audio/", "image/", "video/")


@bp.get("/tickets/<int:ticket_id>/media/<int:inbound_id>/<int:index>")
@login_required(*TICKET_ROLES)
def ticket_media_file(ticket_id: int, inbound_id: int, index: int):
    """A voice note or picture of the ticket, fetched from Twilio with the account's credentials."""
    rt = _rt()
    settings = rt.settings
    with rt.db.session_scope() as session:
        ticket, _ = _load_ticket(session, ticket_id)
        item = ticket_media.find(ticket_media.ticket_media(session, ticket), inbound_id, index)
    if item is None:
        abort(404)
    if not settings.twilio_account_sid:
        return _media_problem("Media can only be fetched when the helpdesk runs on Twilio.", 404)
    try:
        content_type, body = twilio.fetch_media(
            item.url, account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token,
            api_base_url=settings.twilio_api_base_url, timeout=settings.twilio_http_timeout)
    except twilio.MediaError as exc:
        current_app.logger.warning("media %s/%s of ticket %s: %s", inbound_id, index, ticket_id, exc)
        return _media_problem("This file could not be fetched from Twilio." if exc.status == 502
                              else "This file cannot be shown here.", exc.status)
    response = Response(body, content_type=content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, max-age=3600"
    if not content_type.startswith(INLINE_MEDIA):
        response.headers["Content-Disposition"] = "attachment"
    return response


def _media_problem(text: str, status: int) -> Response:
    return Response(text, status=status, content_type="text/plain; charset=utf-8")


def _proposal_area(view, ticket: Ticket) -> str | None:
    nearest = view.entry(ticket.nearest_faq_id) if ticket.nearest_faq_id else None
    return faq_review.default_area(ticket, nearest.topic if nearest is not None else None)


def _first_question(view, faq_id: str) -> str | None:
    entry = view.entry(faq_id)
    return entry.questions[0] if entry is not None and entry.questions else None


@dataclass(frozen=True)
class SearchHit:
    entry: object       # the FaqEntry
    relevance: str      # "good match" | "fair match" | "weak match" (console_format.relevance)


def _kb_search(view, text: str) -> list[SearchHit]:
    """Up to five FAQs nearest to the text, to reuse an answer (the matcher's own candidates), each with how
    well it fits. Typing an FAQ's id finds that FAQ first."""
    result = view.match(text)
    scores = {c.faq_id: c.score for c in result.candidates}
    ids = list(scores)[:5]
    if result.faq_id and result.faq_id not in ids:
        ids.insert(0, result.faq_id)
    hits = [SearchHit(entry, console_format.relevance(scores.get(entry.id, 0.0),
                                                      chosen=entry.id == result.faq_id))
            for entry in (view.entry(faq_id) for faq_id in ids) if entry is not None]
    exact = view.entry(text.strip())
    if exact is not None:
        hits = [SearchHit(exact, "this FAQ's id")] + [h for h in hits if h.entry.id != exact.id]
    return hits


def _has_good_match(hits: list[SearchHit]) -> bool:
    return any(console_format.is_good(h.relevance) or h.relevance == "this FAQ's id" for h in hits)


SEARCH_MAX_CHARS = 300  # a search box, not a document: longer text is cut, never refused


@bp.get("/faq/search.json")
@login_required(*TICKET_ROLES)
def faq_search():
    """For the FAQ picker on the ticket page: the same knowledge-base search as the page's own card."""
    query = (request.args.get("q") or "").strip()[:SEARCH_MAX_CHARS]
    hits = _kb_search(_rt().knowledge.view(), query) if query else []
    return jsonify(query=query, good_match=_has_good_match(hits),
                   results=[{"id": h.entry.id, "relevance": h.relevance,
                             "title": h.entry.questions[0] if h.entry.questions else h.entry.id} for h in hits])


def _act(ticket_id: int, action, then: str | None = None) -> Response:
    """Run an action on a ticket in one transaction; a refused action is flashed, not a 500."""
    rt = _rt()
    try:
        with rt.db.session_scope() as session:
            ticket, expert = _load_ticket(session, ticket_id, act=True)
            message = action(session, rt, ticket, expert)
    except (tickets.TicketError, faq_review.ProposalError) as exc:
        flash(str(exc))
        return redirect(url_for("console.ticket_page", ticket_id=ticket_id))
    if message:
        flash(message)
    return redirect(url_for(then) if then else url_for("console.ticket_page", ticket_id=ticket_id))


def _take_if_unassigned(session, rt, ticket: Ticket, expert: Expert | None) -> None:
    if ticket.assignee_id is None and expert is not None and ticket.status in ACTIVE_STATUSES:
        tickets.assign_ticket(session, rt, ticket, expert, g.user.name)


@bp.post("/tickets/<int:ticket_id>/reply")
@login_required(*TICKET_ROLES)
def reply(ticket_id: int):
    """Send the reply box. With `faq_id` the text began as that FAQ's answer (perhaps edited): the answer is
    credited to the FAQ and the teacher's wording is proposed as a new phrasing of it."""
    answer = request.form.get("answer", "")
    faq_id = (request.form.get("faq_id") or "").strip() or None

    def action(session, rt, ticket, expert):
        if faq_id and rt.knowledge.view().entry(faq_id) is None:
            raise tickets.TicketError(f"There is no FAQ {faq_id}; nothing was sent.")
        _take_if_unassigned(session, rt, ticket, expert)
        tickets.relay_answer(session, rt, ticket, answer=answer, actor=g.user.name, expert=expert,
                             faq_id=faq_id)
        proposal = faq_review.propose_phrasing(session, rt, ticket, faq_id, g.user.name) if faq_id else None
        extra = " The teacher's wording was proposed as a new phrasing." if proposal else ""
        return f"#{ticket.id}: your answer was sent to the teacher.{extra}"
    return _act(ticket_id, action)


@bp.post("/tickets/<int:ticket_id>/take")
@login_required(*TICKET_ROLES)
def take(ticket_id: int):
    def action(session, rt, ticket, expert):
        if expert is None:
            raise tickets.TicketError("You have no expert profile, so tickets cannot be assigned to you.")
        tickets.take_ticket(session, rt, ticket, expert)
        return f"#{ticket.id} is assigned to you."
    return _act(ticket_id, action)


@bp.post("/tickets/<int:ticket_id>/pass")
@login_required(*TICKET_ROLES)
def pass_(ticket_id: int):
    def action(session, rt, ticket, expert):
        tickets.pass_ticket(session, rt, ticket, g.user.name, expert=expert)
        return f"#{ticket.id} is back in the queue."
    # Passed on, it may now be another expert's: back to the list rather than a page they may not see.
    return _act(ticket_id, action, then="console.my_tickets")


@bp.post("/tickets/<int:ticket_id>/assign")
@login_required(*TICKET_ROLES)
def assign(ticket_id: int):
    expert_id = ticket_lists.as_id(request.form.get("expert_id"))

    def action(session, rt, ticket, expert):
        if not _is_lead(expert):
            raise tickets.TicketError("Only a lead can assign a ticket to a named expert.")
        target = session.get(Expert, expert_id) if expert_id is not None else None
        if target is None:
            raise tickets.TicketError("Choose an expert from the list.")
        tickets.assign_to_expert(session, rt, ticket, target, g.user.name)
        return f"#{ticket.id} is assigned to {target.name}, who has been told."
    return _act(ticket_id, action)


@bp.post("/tickets/<int:ticket_id>/close")
@login_required(*TICKET_ROLES)
def close(ticket_id: int):
    def action(session, rt, ticket, expert):
        tickets.close_ticket(session, rt, ticket, g.user.name, request.form.get("note", ""))
        return f"#{ticket.id} is closed. You can reopen it from this page."
    return _act(ticket_id, action)


@bp.post("/tickets/<int:ticket_id>/reopen")
@login_required(*TICKET_ROLES)
def reopen(ticket_id: int):
    def action(session, rt, ticket, expert):
        assignee = tickets.reopen_ticket(session, rt, ticket, g.user.name, request.form.get("note", ""))
        where = f"assigned to {assignee.name}" if assignee else "waiting in the queue"
        return f"#{ticket.id} is reopened and {where}."
    return _act(ticket_id, action)


@bp.post("/tickets/<int:ticket_id>/note")
@login_required(*TICKET_ROLES)
def note(ticket_id: int):
    """An internal note: anyone who may see the ticket may leave one; it is never sent to the teacher."""
    rt = _rt()
    try:
        with rt.db.session_scope() as session:
            ticket, _ = _load_ticket(session, ticket_id)
            tickets.add_note(session, ticket, g.user.name, request.form.get("note", ""))
        flash(f"#{ticket_id}: note added (experts only; the teacher does not see it).")
    except tickets.TicketError as exc:
        flash(str(exc))
    return redirect(url_for("console.ticket_page", ticket_id=ticket_id) + "#notes")


@bp.post("/tickets/<int:ticket_id>/false-alarm")
@login_required(*TICKET_ROLES)
def false_alarm(ticket_id: int):
    def action(session, rt, ticket, expert):
        if not _is_lead(expert):
            raise tickets.TicketError("Only a lead can mark a flag as a false alarm.")
        tickets.mark_false_alarm(session, ticket, g.user.name, request.form.get("note", ""))
        return f"#{ticket.id} is marked as a false alarm and is now an ordinary question."
    return _act(ticket_id, action)


@bp.post("/tickets/<int:ticket_id>/retag")
@login_required(*TICKET_ROLES)
def retag(ticket_id: int):
    form = request.form

    def action(session, rt, ticket, expert):
        tickets.retag_ticket(session, ticket, g.user.name, area=form.get("area") or None,
                             subject=form.get("subject") or None, grade_band=form.get("grade_band") or None)
        return f"#{ticket.id} re-tagged."
    return _act(ticket_id, action)


@bp.post("/tickets/<int:ticket_id>/propose")
@login_required(*TICKET_ROLES)
def propose(ticket_id: int):
    form = request.form

    def action(session, rt, ticket, expert):
        earlier = set(session.scalars(select(FaqProposal.id).where(FaqProposal.ticket_id == ticket.id)))
        proposal = faq_review.propose_entry(
            session, rt, proposed_by=g.user.name, question=form.get("question", ""),
            answer_en=form.get("answer_en", ""), answer_ur=form.get("answer_ur", ""),
            area=form.get("area", ""), subject=form.get("subject") or None,
            grade_bands=[form["grade_band"]] if form.get("grade_band") else None,
            faq_id=(form.get("improve_faq_id") or "").strip() or None, ticket=ticket)
        if proposal.id in earlier:
            return f"FAQ proposal {proposal.faq_id} was already sent with this text; nothing new was made."
        return f"FAQ proposal {proposal.faq_id} sent to a lead for review."
    return _act(ticket_id, action)


# --- FAQ review (leads) --------------------------------------------------------------------------

@bp.get("/faq")
@login_required("lead")
def faq_review_page():
    with _rt().db.session_scope() as session:
        pending = session.scalars(select(FaqProposal).where(FaqProposal.status == "pending")
                                  .order_by(FaqProposal.id)).all()
        reviewed = session.scalars(select(FaqProposal).where(FaqProposal.status != "pending")
                                   .order_by(FaqProposal.reviewed_at.desc()).limit(50)).all()
        view = _rt().knowledge.view()
        diffs = {p.id: faq_review.proposal_diff(_current_data(view, p.faq_id), p.data)
                 for p in pending if p.kind == "improve"}
        return render_template("console_faq.html", pending=pending, reviewed=reviewed, tax=tickets.taxonomy(),
                               diffs=diffs)


def _current_data(view, faq_id: str) -> dict | None:
    entry = view.entry(faq_id)
    return faq_review.entry_data(entry) if entry is not None else None


@bp.post("/faq/<int:proposal_id>/approve")
@login_required("lead")
def approve(proposal_id: int):
    rt = _rt()
    form = request.form
    try:
        with rt.db.session_scope() as session:
            proposal = session.get(FaqProposal, proposal_id) or abort(404)
            data = dict(proposal.data)
            data["questions"] = faq_review.parse_lines(form.get("questions", "")) or data["questions"]
            answer = {lang: (form.get(f"answer_{lang}") or "").strip() for lang in ("en", "ur")}
            data["answer"] = {lang: text for lang, text in answer.items() if text} or data["answer"]
            data["topic"] = form.get("topic") or data["topic"]
            faq_review.approve(session, rt, proposal, g.user.name, data)
            flash(f"Approved {proposal.faq_id}: the matcher uses it now.")
    except faq_review.ProposalError as exc:
        flash(f"Not approved: {exc}")
    return redirect(url_for("console.faq_review_page"))


@bp.post("/faq/<int:proposal_id>/reject")
@login_required("lead")
def reject(proposal_id: int):
    rt = _rt()
    try:
        with rt.db.session_scope() as session:
            proposal = session.get(FaqProposal, proposal_id) or abort(404)
            faq_review.reject(session, proposal, g.user.name, request.form.get("note", ""))
            flash(f"Rejected the proposal for {proposal.faq_id}.")
    except faq_review.ProposalError as exc:
        flash(str(exc))
    return redirect(url_for("console.faq_review_page"))


@bp.get("/faq/export.yaml")
@login_required("lead")
def faq_export():
    with _rt().db.session_scope() as session:
        text = faq_review.export_database_yaml(session)
    return Response(text, mimetype="application/x-yaml",
                    headers={"Content-Disposition": "attachment; filename=approved-faqs.yaml"})


# --- service figures (leads, planners) -----------------------------------------------------------

def _facts(session) -> list[service_figures.TicketFacts]:
    rows = session.scalars(
        select(Ticket).options(selectinload(Ticket.assignee).selectinload(Expert.user))
    ).all()
    settings = _rt().settings
    return [service_figures.TicketFacts(
        subject=tickets.label("subjects", t.subject) or t.subject,
        expert=t.answered_by_name or (t.assignee.name if t.assignee else None),
        created_at=t.created_at, first_response_at=t.first_response_at,
        resolved_at=t.answered_at if t.status in ("answered", "closed") else None,
        reassignments=t.reassignments, recorded_breaches=t.sla_breaches, rating=t.rating,
        target_minutes=tickets.target_minutes(settings, t.priority),
    ) for t in rows]


def _flag_facts(session) -> list[service_figures.FlagFacts]:
    flagged = session.scalars(select(Ticket).where(Ticket.reason.like("urgent:%"))
                              .options(selectinload(Ticket.events))).all()
    return [service_figures.FlagFacts(category=t.reason.removeprefix("urgent:"),
                                      false_alarm=any(e.kind == tickets.FALSE_ALARM for e in t.events))
            for t in flagged]


def _tables():
    with _rt().db.session_scope() as session:
        facts = _facts(session)
        flags = _flag_facts(session)
    now = utcnow()
    return {"By subject": service_figures.figures_by(facts, "subject", now),
            "By expert": service_figures.figures_by(facts, "expert", now),
            "Safeguarding flags": service_figures.flag_figures(flags)}


def _columns_and_values(title: str):
    if title == "Safeguarding flags":
        return service_figures.FLAG_COLUMNS, service_figures.flag_values
    return service_figures.COLUMNS, service_figures.row_values


@bp.get("/figures")
@login_required(*FIGURE_ROLES)
def figures():
    return render_template("console_figures.html", tables=_tables(), layout=_columns_and_values)


@bp.get("/figures.csv")
@login_required(*FIGURE_ROLES)
def figures_csv():
    out = io.StringIO()
    writer = csv.writer(out)
    for title, rows in _tables().items():
        columns, values = _columns_and_values(title)
        writer.writerow(("by",) + columns)
        for row in rows:
            writer.writerow([title.removeprefix("By ")] + values(row))
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=service-figures.csv"})
