"""The live knowledge base: the YAML directory (plus approved FAQs kept in the database) behind one Matcher.

It reloads when a file changes or an FAQ is approved, without a restart; a bad file is logged with
its file, entry and field, and the last good knowledge base keeps serving.  On every new version the
knowledge base calibrates its own thresholds (knowledge_base.calibrate.kb_thresholds: a few matcher
builds over its own phrasings, seconds to minutes) and the semantic matcher is built (embedding new
texts).  That runs on a background thread; until it is done the new version answers with the lexical
matcher and general thresholds.  Vectors and thresholds are kept on disk by a hash of the content, so a
restart or another worker reuses them.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from knowledge_base.calibrate import kb_thresholds
from knowledge_base.loader import FaqEntry, KnowledgeBaseError, load_directory
from knowledge_base.matcher import Matcher
from knowledge_base.semantic import MatcherBuilder, load_embedder

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 2.0  # stat() the directory at most this often; cheap next to a match


def shipped_faq_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "knowledge_base" / "faqs"


class KnowledgeHolder:
    def __init__(self, directory: Path | None, db=None, check_every: float = CHECK_EVERY_SECONDS,
                 semantic: bool = True, cache_dir: Path | None = None, calibrate_in_background: bool = True):
        self.directory = Path(directory) if directory else shipped_faq_dir()
        self.db = db
        self.check_every = check_every
        self._semantic = semantic
        self._cache_dir = cache_dir
        self._builder: MatcherBuilder | None = None
        self.calibrate_in_background = calibrate_in_background
        self.calibrated = threading.Event()   # set when the current version has its own thresholds
        self._lock = threading.RLock()   # the synchronous calibration runs inside a reload
        self._matcher: Matcher | None = None
        self._fingerprint: tuple | None = None
        self._checked_at = 0.0
        self.last_error: str | None = None

    def matcher(self) -> Matcher:
        now = time.monotonic()
        if self._matcher is not None and now - self._checked_at < self.check_every:
            return self._matcher
        with self._lock:
            self._checked_at = now
            fingerprint = self._fingerprint_now()
            if self._matcher is None or fingerprint != self._fingerprint:
                self._reload(fingerprint)
        if self._matcher is None:
            raise KnowledgeBaseError(str(self.directory), None, None, self.last_error or "no knowledge base")
        return self._matcher

    def view(self) -> "KnowledgeView":
        return KnowledgeView(self.matcher())

    def entries(self) -> list[FaqEntry]:
        return list(self.matcher().entries_by_id.values())

    def invalidate(self) -> None:
        """Force a re-read on next use (an FAQ was approved in the database)."""
        self._checked_at = 0.0
        self._fingerprint = None

    def _fingerprint_now(self) -> tuple:
        files = sorted(self.directory.glob("*.y*ml")) if self.directory.is_dir() else []
        stamp = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files)
        return stamp + (self._database_version(),)

    def _database_version(self):
        if self.db is None:
            return None
        from helpdesk.faq_store import database_version

        return database_version(self.db)

    def _reload(self, fingerprint: tuple) -> None:
        try:
            entries = load_directory(self.directory)
            entries = self._merge_database_entries(entries)
        except KnowledgeBaseError as exc:
            self.last_error = str(exc)
            log.error("knowledge base not reloaded, keeping the last good one: %s", exc)
            self._fingerprint = fingerprint  # do not retry the same broken files on every message
            return
        # The lexical matcher builds in about a second; the semantic one may first have to embed every
        # text (minutes for a new knowledge base), so it is built with the calibration and swapped in.
        self._matcher = MatcherBuilder(None)(entries)
        self._fingerprint = fingerprint
        self.last_error = None
        log.info("knowledge base loaded: %d FAQs from %s", len(entries), self.directory)
        self.calibrated.clear()
        if self.calibrate_in_background:
            threading.Thread(target=self._calibrate, args=(self._matcher,), daemon=True,
                             name="kb-calibrate").start()
        else:
            self._calibrate(self._matcher)

    def builder(self) -> MatcherBuilder:
        if self._builder is None:
            self._builder = MatcherBuilder(load_embedder() if self._semantic else None, self._cache_dir)
        return self._builder

    def _calibrate(self, first: Matcher) -> None:
        """Build the matcher the service should use (semantic when the model is there) with this version's
        own thresholds, and swap it in unless a newer version replaced ``first`` meanwhile."""
        build = self.builder()
        try:
            thresholds, own, _ = kb_thresholds(first.entries, build)
            final = build(first.entries, thresholds=thresholds)
        except Exception:   # a calibration bug must not take the matcher down: the lexical one stays
            log.exception("knowledge base calibration failed; keeping the lexical matcher and general thresholds")
            return
        with self._lock:
            if self._matcher is first:
                self._matcher = final
                self.calibrated.set()
        log.info("knowledge base calibrated (%s signal): answer >= %.3f, margin %.3f (self-calibrated %.3f)",
                 build.mode, thresholds.answer, thresholds.margin, own.answer)

    def _merge_database_entries(self, entries: list[FaqEntry]) -> list[FaqEntry]:
        if self.db is None:
            return entries
        from helpdesk.faq_store import database_entries

        extra = database_entries(self.db)
        by_id = {e.id: e for e in entries}
        for entry in extra:  # an approved edit in the database replaces the file's version
            by_id[entry.id] = entry
        return list(by_id.values())


class KnowledgeView:
    """What the conversation core needs from the knowledge base: a match and an answer's text."""

    def __init__(self, matcher: Matcher):
        self._matcher = matcher

    def match(self, text: str):
        return self._matcher.match(text)

    def entry(self, faq_id: str) -> FaqEntry | None:
        return self._matcher.entries_by_id.get(faq_id)

    def fully_reviewed(self) -> bool:
        entries = self._matcher.entries_by_id.values()
        return bool(entries) and all(e.review_status == "reviewed" for e in entries)

    def answer(self, faq_id: str, language: str, channel: str) -> str:
        """In the teacher's language; a missing Roman Urdu or Urdu text falls back to English."""
        entry = self._matcher.entries_by_id[faq_id]
        # SMS gets the short form when the FAQ has one: a full Urdu answer is a dozen billed segments.
        if channel == "sms" and entry.short:
            return entry.short.get(language) or entry.short.get("en") or entry.answer_in(language)
        return entry.answer_in(language)
