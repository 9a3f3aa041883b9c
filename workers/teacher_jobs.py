"""Jobs about one teacher: answering a flood of held messages, finishing a DELETE MY DATA.

The work itself lives with its concern (helpdesk.dialogue, helpdesk.erasure) and takes the session and
runtime it is given; these wrappers are what the queue runs.
"""
from __future__ import annotations

from helpdesk import dialogue, erasure
from helpdesk.runtime import current


def answer_deferred(teacher_id: int) -> None:
    rt = current()
    with rt.db.session_scope() as session:
        dialogue.answer_deferred(session, rt, teacher_id)


def finish_erasure(teacher_id: int) -> None:
    """The deletion confirmation has gone: scrub the number from it; again later while sends are in flight."""
    rt = current()
    with rt.db.session_scope() as session:
        still_sending = erasure.scrub_sent_messages(session, teacher_id)
    if still_sending:
        rt.enqueue(erasure.FINISH_ERASURE_JOB, teacher_id, delay=erasure.FINISH_ERASURE_AFTER)
