"""Finding tickets: the console's search, filters and sort, read from GET parameters (so a view can be
bookmarked) and checked here, so a bad value gets a sentence back instead of an error page.

`parse` is pure (mapping in, ListQuery and problems out); `statement` turns a ListQuery into one SELECT.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import false, or_, select

from helpdesk.models.tickets import ACTIVE_STATUSES, TICKET_STATUSES, Ticket

MAX_ROWS = 200  # one page; a search narrows it further
STATUSES = ("active", *TICKET_STATUSES, "all")  # "active": waiting for an expert (open, assigned, reopened)
LANGUAGES = ("en", "ur", "roman-ur")
SORTS = {
    "priority": "urgent first, then oldest",
    "oldest": "oldest first",
    "newest": "newest first",
    "deadline": "nearest deadline first",
}
_TICKET_NUMBER = re.compile(r"^#?\s*([0-9]{1,9})$")
_ID = re.compile(r"^[0-9]{1,9}$")  # ASCII digits only ("²".isdigit() is true), and within an integer column


def as_id(text: str | None) -> int | None:
    """A row id from a form or a URL, or None: never a value the database would refuse."""
    text = (text or "").strip()
    return int(text) if _ID.match(text) else None


@dataclass(frozen=True)
class ListQuery:
    q: str = ""
    status: str = "active"
    subject: str = ""
    grade_band: str = ""
    language: str = ""
    urgent: bool = False
    assignee: str = ""   # "" any, "me", "none", or an expert id
    sort: str = "priority"

    def params(self) -> dict:
        """The non-default values, for links that keep this view."""
        defaults = ListQuery()
        return {name: ("1" if value is True else value) for name, value in vars(self).items()
                if value != getattr(defaults, name)}


@dataclass
class Parsed:
    query: ListQuery
    problems: list[str] = field(default_factory=list)


def parse(args, *, subjects, grade_bands, expert_ids) -> Parsed:
    """Read the filters from request args; an unknown value is dropped with a sentence saying so."""
    problems: list[str] = []

    def pick(name: str, allowed, what: str) -> str:
        value = (args.get(name) or "").strip()
        if value and value not in allowed:
            problems.append(f"There is no {what} called “{value[:40]}”; that filter was left out.")
            return ""
        return value

    status = pick("status", STATUSES, "status") or "active"
    sort = pick("sort", SORTS, "sort order") or "priority"
    assignee = (args.get("assignee") or "").strip()
    known = assignee in ("me", "none") or as_id(assignee) in expert_ids
    if assignee and not known:
        problems.append(f"There is no expert “{assignee[:40]}” to filter by; that filter was left out.")
        assignee = ""
    urgent_raw = (args.get("urgent") or "").strip()
    if urgent_raw not in ("", "0", "1", "on"):
        problems.append("“urgent” is either on or off; that filter was left out.")
    q = (args.get("q") or "").strip()
    if len(q) > 200:
        problems.append("The search was cut to its first 200 characters.")
        q = q[:200]
    query = ListQuery(q=q, status=status, subject=pick("subject", subjects, "subject"),
                      grade_band=pick("grade_band", grade_bands, "grade band"),
                      language=pick("language", LANGUAGES, "language"),
                      urgent=urgent_raw in ("1", "on"), assignee=assignee, sort=sort)
    return Parsed(query, problems)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def statement(query: ListQuery, *, me: int | None, visible_to: int | None):
    """The SELECT for the list. `visible_to`: an expert's id limits it to what they may see (their own, the
    unassigned queue, what they answered); None (a lead) sees every ticket."""
    stmt = select(Ticket)
    if visible_to is not None:
        stmt = stmt.where(or_(Ticket.assignee_id == visible_to, Ticket.assignee_id.is_(None),
                              Ticket.answered_by_id == visible_to))
    if query.status == "active":
        stmt = stmt.where(Ticket.status.in_(ACTIVE_STATUSES))
    elif query.status != "all":
        stmt = stmt.where(Ticket.status == query.status)
    if query.q:
        # SQLAlchemy renders ilike as ILIKE on PostgreSQL and lower() LIKE lower() on SQLite.
        text = Ticket.question.ilike(f"%{_escape_like(query.q)}%", escape="\\")
        number = _TICKET_NUMBER.match(query.q)
        stmt = stmt.where(or_(text, Ticket.id == int(number.group(1))) if number else text)
    for column, value in ((Ticket.subject, query.subject), (Ticket.grade_band, query.grade_band)):
        if value:
            stmt = stmt.where(column == value)
    if query.language:
        stmt = stmt.where(Ticket.language == query.language)
    if query.urgent:
        stmt = stmt.where(Ticket.priority == "urgent")
    if query.assignee == "none":
        stmt = stmt.where(Ticket.assignee_id.is_(None))
    elif query.assignee == "me":
        stmt = stmt.where(Ticket.assignee_id == me) if me is not None else stmt.where(false())
    elif query.assignee:
        stmt = stmt.where(Ticket.assignee_id == int(query.assignee))
    return stmt.order_by(*_order(query.sort)).limit(MAX_ROWS)


def _order(sort: str):
    if sort == "oldest":
        return (Ticket.created_at, Ticket.id)
    if sort == "newest":
        return (Ticket.created_at.desc(), Ticket.id.desc())
    if sort == "deadline":
        # No deadline (unassigned, answered) after every running one, on both databases.
        return (Ticket.due_at.is_(None), Ticket.due_at, Ticket.id)
    return (Ticket.priority.desc(), Ticket.created_at, Ticket.id)  # "urgent" > "normal"
