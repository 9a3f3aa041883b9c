"""Content gaps: questions the knowledge base did not settle (sent to an expert, or rated "did not help"),
grouped into clusters of similar wording. Pure (rapidfuzz and the shared normaliser; no I/O).

Clustering is greedy leader clustering, so the same questions always give the same clusters:
questions are taken oldest first (created_at, then id); each joins the most similar existing leader when the
similarity of their normalised texts (knowledge_base.normalize: Urdu script, Roman Urdu and English folded to
shared concept keys, stopwords dropped) reaches `threshold`, the earliest leader winning a tie; otherwise it
becomes a new leader. Similarities come from rapidfuzz `process.cdist` (token_sort_ratio, all cores), computed
block by block against the leaders found so far, so 10,000 questions never need a 10,000 x 10,000 matrix.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable, Sequence

import numpy as np
from rapidfuzz import fuzz, process

from analytics import redact
from analytics.reports import DEFAULT_K, growth
from knowledge_base.normalize import normalize

DEFAULT_THRESHOLD = 70
BLOCK = 512
EXAMPLES = 3


@dataclass(frozen=True)
class GapQuestion:
    id: int
    created_at: datetime
    teacher_key: str  # only to count distinct teachers; never leaves this module
    area: str
    text: str  # already scrubbed when stored
    current: bool = True  # in the report period (False: the previous period, for growth)
    day: date | None = None  # local calendar day (for the week or month it falls in)


@dataclass(frozen=True)
class Gap:
    rank: int
    size: int  # questions in the report period
    teachers: int
    previous_size: int | None  # None when the previous period's part had fewer than k teachers
    growth: float
    trend: str
    area: str  # the most common coded area in the cluster ("" when none)
    examples: tuple[str, ...]


def cluster(texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD, workers: int = -1) -> list[int]:
    """Leader index for each text (texts must already be in processing order; a leader points at itself)."""
    n = len(texts)
    leaders: list[int] = []
    assignment = [-1] * n
    for start in range(0, n, BLOCK):
        block = list(range(start, min(n, start + BLOCK)))
        block_texts = [texts[i] for i in block]
        known = np.array(leaders, dtype=np.int64)
        # Similarity to every leader chosen before this block, then within the block (later leaders).
        to_known = (process.cdist(block_texts, [texts[j] for j in leaders], scorer=fuzz.token_sort_ratio,
                                  dtype=np.uint8, score_cutoff=threshold, workers=workers)
                    if leaders else np.zeros((len(block), 0), dtype=np.uint8))
        within = process.cdist(block_texts, block_texts, scorer=fuzz.token_sort_ratio, dtype=np.uint8,
                               score_cutoff=threshold, workers=workers)
        block_leaders: list[int] = []  # positions inside the block
        for row, i in enumerate(block):
            best_score, best = 0, -1
            if len(known):
                j = int(np.argmax(to_known[row]))  # argmax takes the first maximum: the earliest leader
                best_score, best = int(to_known[row, j]), int(known[j])
            for pos in block_leaders:
                if int(within[row, pos]) > best_score:
                    best_score, best = int(within[row, pos]), block[pos]
            if best_score >= threshold and best >= 0 and texts[i]:
                assignment[i] = best
            else:
                assignment[i] = i
                block_leaders.append(row)
        leaders.extend(block[pos] for pos in block_leaders)
    return assignment


def find_gaps(questions: Sequence[GapQuestion], *, k: int = DEFAULT_K, threshold: float = DEFAULT_THRESHOLD,
              block_of: Callable[[date], date] | None = None) -> tuple[list[Gap], int]:
    """Clusters ranked by teachers then size; clusters with fewer than k distinct teachers in the period are
    suppressed (their wording would be one teacher's message). With `block_of` (day -> its week or month),
    a cluster whose first or last block holds fewer than k teachers is suppressed too (rule 5 of
    analytics.reports: a report a block shorter would reveal that block's part by subtraction).
    Returns (gaps, number suppressed)."""
    ordered = sorted(questions, key=lambda q: (q.created_at, q.id))
    texts = [normalize(q.text.replace("[name]", " ").replace("[number]", " ")) for q in ordered]
    assignment = cluster(texts, threshold)
    members: dict[int, list[GapQuestion]] = {}
    for q, leader in zip(ordered, assignment):
        members.setdefault(leader, []).append(q)
    gaps: list[Gap] = []
    suppressed = 0
    for leader, group in members.items():
        current = [q for q in group if q.current]
        if not current:
            continue
        teachers = len({q.teacher_key for q in current})
        if teachers < k or not _edges_stable(current, block_of, k):
            suppressed += 1
            continue
        earlier = [q for q in group if not q.current]
        # Rule 4 of analytics.reports: a trend only against a publishable previous period.
        publishable = len({q.teacher_key for q in earlier}) >= k and _edges_stable(earlier, block_of, k)
        previous = len(earlier) if publishable else None
        g = growth(len(current), previous) if previous is not None else 1.0
        label = "new" if previous is None else ("=" if previous == len(current)
                                                 else f"{(len(current) - previous) / previous:+.0%}")
        gaps.append(Gap(rank=0, size=len(current), teachers=teachers, previous_size=previous, growth=g,
                        trend=label, area=_mode([q.area for q in current]), examples=_examples(current)))
    gaps.sort(key=lambda g: (-g.teachers, -g.size, g.examples))
    return [Gap(**{**g.__dict__, "rank": i}) for i, g in enumerate(gaps, start=1)], suppressed


def _edges_stable(group: Sequence[GapQuestion], block_of, k: int) -> bool:
    if block_of is None or not group:
        return True
    if any(q.day is None for q in group):
        return False  # a question that cannot be placed in a block: hide the cluster rather than risk it
    teachers: dict[date, set[str]] = {}
    for q in group:
        teachers.setdefault(block_of(q.day), set()).add(q.teacher_key)
    blocks = sorted(teachers)
    return len(teachers[blocks[0]]) >= k and len(teachers[blocks[-1]]) >= k


def _mode(values: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for v in values:
        if v:
            counts[v] = counts.get(v, 0) + 1
    return min(counts, key=lambda v: (-counts[v], v)) if counts else ""


def _examples(group: Sequence[GapQuestion]) -> tuple[str, ...]:
    # Scrubbed again on the way out: rows stored before a redaction rule existed are caught too.
    seen: list[str] = []
    for q in group:
        text = redact.scrub(q.text).strip()
        if text and text.lower() not in {s.lower() for s in seen}:
            seen.append(text)
        if len(seen) == EXAMPLES:
            break
    return tuple(seen)
