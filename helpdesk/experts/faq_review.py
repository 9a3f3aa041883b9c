"""The FAQ loop: expert answers become proposed FAQ entries; a lead edits and approves them; approved entries
are kept in the database (`FaqRecord`, knowledge-base entry format) and join the live matcher at once.
"""
from __future__ import annotations

import difflib
import re

import yaml
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from helpdesk.experts import tickets
from helpdesk.models import FaqRecord, utcnow
from helpdesk.models.tickets import Expert, FaqProposal, Ticket
from knowledge_base.learning import with_phrasing
from knowledge_base.loader import FaqEntry, KnowledgeBaseError, entries_from_dicts, export_yaml

PROPOSAL_KINDS = ("new", "improve", "phrasing")
SUBJECT_AREA = "subject-content"  # a question tagged with a school subject but no area is about that subject


def default_area(ticket: Ticket, nearest_topic: str | None = None) -> str | None:
    """The area a proposal from this ticket starts with: the ticket's own coding, else its nearest FAQ's
    topic, else subject content for a subject question; None makes the expert choose (never a silent
    "classroom management", the first in the list)."""
    if ticket.area:
        return ticket.area
    if nearest_topic:
        return nearest_topic
    if ticket.subject and ticket.subject != "general":
        return SUBJECT_AREA
    return None


def _same_text(a: str, b: str) -> bool:
    return " ".join((a or "").split()).casefold() == " ".join((b or "").split()).casefold()


def duplicate_of(session: Session, ticket: Ticket | None, data: dict) -> FaqProposal | None:
    """A pending proposal from the same ticket with the same question and answers (a double submit)."""
    if ticket is None:
        return None
    for earlier in session.scalars(select(FaqProposal).where(FaqProposal.ticket_id == ticket.id,
                                                             FaqProposal.status == "pending")):
        # By text, not id: a new FAQ's id is generated afresh each time.
        old = earlier.data or {}
        same_questions = _same_text(" | ".join(old.get("questions", [])), " | ".join(data["questions"]))
        same_answers = all(_same_text((old.get("answer") or {}).get(lang, ""), data["answer"].get(lang, ""))
                           for lang in ("en", "ur"))
        if same_questions and same_answers:
            return earlier
    return None


class ProposalError(ValueError):
    pass


def validate(data: dict) -> FaqEntry:
    """The same validation as a YAML file: a proposal that would break the knowledge base is refused."""
    try:
        return entries_from_dicts([data], source="<proposal>")[0]
    except KnowledgeBaseError as exc:
        raise ProposalError(str(exc)) from None


def entry_data(entry: FaqEntry) -> dict:
    # Through the exporter, so the dict is exactly what a YAML file would hold.
    return yaml.safe_load(export_yaml([entry]))["faqs"][0]


def new_faq_id(session: Session, rt, question: str) -> str:
    words = re.findall(r"[a-z0-9]+", question.lower())[:5] or ["faq"]
    base = "expert-" + "-".join(words)
    taken = {e.id for e in rt.knowledge.entries()} | set(session.scalars(select(FaqRecord.faq_id)))
    taken |= set(session.scalars(select(FaqProposal.faq_id).where(FaqProposal.status == "pending")))
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def propose_entry(session: Session, rt, *, proposed_by: str, question: str, answer_en: str,
                  answer_ur: str = "", area: str, subject: str | None = None,
                  grade_bands: list[str] | None = None,
                  faq_id: str | None = None, ticket: Ticket | None = None) -> FaqProposal:
    """A new FAQ (faq_id None) or an improved version of an existing one (faq_id given)."""
    if not area:
        raise ProposalError("Choose the area this FAQ belongs to.")
    data: dict = {"id": faq_id or new_faq_id(session, rt, question), "topic": area}
    if subject:
        data["subject"] = subject
    if grade_bands:
        data["grades"] = list(grade_bands)
    questions = [question.strip()]
    existing = rt.knowledge.view().entry(faq_id) if faq_id else None
    if faq_id and existing is None:
        raise ProposalError(f"There is no FAQ “{faq_id}” to improve: pick one from the list, or leave "
                              "“Improves FAQ” empty to propose a new FAQ.")
    if existing is not None:
        questions = list(existing.questions) + [q for q in questions if q and q not in existing.questions]
    data["questions"] = [q for q in questions if q]
    answers = (("en", answer_en), ("ur", answer_ur))
    data["answer"] = {lang: text.strip() for lang, text in answers if text.strip()}
    validate(data)
    earlier = duplicate_of(session, ticket, data)
    if earlier is not None:
        return earlier  # the same text twice (a double click, a resubmitted form) stays one proposal
    proposal = FaqProposal(ticket_id=ticket.id if ticket else None, kind="improve" if existing else "new",
                           faq_id=data["id"], data=data, proposed_by=proposed_by)
    session.add(proposal)
    session.flush()
    if ticket is not None:
        tickets.record(session, ticket, proposed_by, "faq proposed", f"{proposal.kind} FAQ {proposal.faq_id}")
    return proposal


def propose_phrasing(session: Session, rt, ticket: Ticket, faq_id: str,
                     proposed_by: str) -> FaqProposal | None:
    """The teacher's own wording as a new question of an existing FAQ: how the matcher learns how teachers
    really write."""
    entry = rt.knowledge.view().entry(faq_id)
    if entry is None:
        raise ProposalError(f"There is no FAQ {faq_id}.")
    learned = with_phrasing(entry, ticket.question)
    if learned is None:
        return None
    data = entry_data(entry)
    data["questions"] = list(learned.questions)
    validate(data)
    proposal = FaqProposal(ticket_id=ticket.id, kind="phrasing", faq_id=faq_id, data=data,
                           proposed_by=proposed_by)
    session.add(proposal)
    session.flush()
    tickets.record(session, ticket, proposed_by, "faq proposed",
                   f"teacher's wording as a phrasing of {faq_id}")
    return proposal


def answer_with_faq(session: Session, rt, ticket: Ticket, faq_id: str, *, actor: str,
                    expert: Expert | None = None) -> FaqProposal | None:
    """Answer by linking an existing FAQ: its answer goes to the teacher, and the question's wording is
    proposed as a new phrasing of that FAQ."""
    view = rt.knowledge.view()
    if view.entry(faq_id) is None:
        raise tickets.TicketError(f"There is no FAQ {faq_id}.")
    answer = view.answer(faq_id, ticket.teacher.language, ticket.teacher.channel)
    tickets.relay_answer(session, rt, ticket, answer=answer, actor=actor, expert=expert, faq_id=faq_id)
    return propose_phrasing(session, rt, ticket, faq_id, actor)


def approve(session: Session, rt, proposal: FaqProposal, reviewer: str,
            data: dict | None = None) -> FaqRecord:
    """Approve (optionally with the lead's edits): write the FaqRecord and refresh the live matcher."""
    if proposal.status != "pending":
        raise ProposalError(f"Proposal {proposal.id} is already {proposal.status}.")
    data = dict(data or proposal.data)
    if data.get("id") != proposal.faq_id:
        raise ProposalError("The FAQ id cannot be changed while reviewing.")
    validate(data)
    now = utcnow()
    record = session.scalars(select(FaqRecord).where(FaqRecord.faq_id == proposal.faq_id)).first()
    if record is None:
        record = FaqRecord(faq_id=proposal.faq_id, data=data)
        session.add(record)
    record.data, record.approved_by, record.approved_at, record.updated_at = data, reviewer, now, now
    proposal.data, proposal.status = data, "approved"
    proposal.reviewed_by, proposal.reviewed_at = reviewer, now
    session.flush()
    if proposal.ticket_id:
        ticket = session.get(Ticket, proposal.ticket_id)
        tickets.record(session, ticket, reviewer, "faq approved", f"{proposal.kind} FAQ {proposal.faq_id}")
    _invalidate_after_commit(session, rt)
    return record


def reject(session: Session, proposal: FaqProposal, reviewer: str, note: str = "") -> None:
    if proposal.status != "pending":
        raise ProposalError(f"Proposal {proposal.id} is already {proposal.status}.")
    note = (note or "").strip()[:500]
    proposal.status, proposal.reviewed_by, proposal.reviewed_at = "rejected", reviewer, utcnow()
    proposal.review_note = note or None
    if proposal.ticket_id:
        ticket = session.get(Ticket, proposal.ticket_id)
        if ticket is not None:
            tickets.record(session, ticket, reviewer, "faq rejected",
                           f"{proposal.kind} FAQ {proposal.faq_id}" + (f": {note}" if note else ""))


def text_lines(data: dict) -> list[str]:
    """An FAQ entry as the lines a reviewer compares: its questions, then each answer."""
    lines = [f"Q: {q}" for q in data.get("questions") or []]
    for lang, text in sorted((data.get("answer") or {}).items()):
        lines += [f"{lang}: {line}" for line in str(text).splitlines()]
    return lines


def proposal_diff(current: dict | None, proposed: dict) -> list[tuple[str, str]]:
    """(mark, line) pairs, mark "+" added, "-" removed, " " kept: an "improve" proposal against the FAQ's
    current text. Plain text; the page escapes it."""
    if current is None:
        return []
    diff = difflib.ndiff(text_lines(current), text_lines(proposed))
    return [(line[0], line[2:]) for line in diff if line[:1] in "+- "]


def _invalidate_after_commit(session: Session, rt) -> None:
    # The matcher reloads from its own session: before our commit it would read the old rows.
    rt.knowledge.invalidate()
    event.listen(session, "after_commit", lambda _session: rt.knowledge.invalidate(), once=True)


def export_database_yaml(session: Session) -> str:
    """The approved database FAQs in the knowledge-base YAML format (to merge into the shipped files)."""
    rows = session.scalars(select(FaqRecord).where(FaqRecord.approved_at.is_not(None))
                           .order_by(FaqRecord.faq_id))
    from helpdesk.faq_store import record_data

    return export_yaml(entries_from_dicts([record_data(row) for row in rows], source="<database>"))


def parse_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]
