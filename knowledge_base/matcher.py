"""Match a teacher's message to an FAQ, or decide to ask back / hand off to a person.

Two stages (pure Python + numpy + rapidfuzz; indexes built once in ``Matcher.__init__``):

1. **Ranking score** per FAQ (unchanged idea, cheap): a weighted sum of

   * ``lex``   - IDF-weighted share of the query's words found in the FAQ (questions/keywords
     count fully, answer text in any language counts ANSWER_CREDIT).  Words match exactly or
     by ``fuzz.ratio`` >= FUZZY_CUTOFF against the KB vocabulary (typos).
   * ``qcov``  - IDF-weighted share of the FAQ's best question that the query covers.
   * ``char``  - TF-IDF cosine over character 3-5-grams of the normalised questions.
   * ``fuzzy`` - ``fuzz.token_set_ratio`` against the normalised questions (top candidates).
   * ``pair``  - phrase evidence: IDF of word pairs (at most PAIR_WINDOW apart, either order)
     that the query and the FAQ both use together ("lesson plan", "exit ticket"), answer-text
     pairs at ANSWER_CREDIT, so two shared words together count more than apart.

   A query word the KB lacks may still meet a KB word with the same consonant skeleton
   (``SKELETON_SIM``).  Escalation cues (lexicon ``null_cues``: where to buy, who approves,
   deadlines, fees, account trouble...) that the best FAQ's questions do not share send the
   message to a person (reason ``escalation-cue``).  Admin/HR words (lexicon ``admin_hr``) do
   too (reason ``admin-hr``) unless the best FAQ is about them, and always when the message asks
   about the state of a case (``admin_status_cues``: "when will my transfer", "salary abhi tak").

   An inverted index (CSR arrays) scores every FAQ with numpy in one pass; the expensive
   per-question scorers run only on the TOP_K best, plus the best FAQs of each sentence.

2. **Confidence** for the POOL best candidates: a small logistic model over length-robust
   features (``FEATURES``), so a long message is judged by what it asks, not diluted by its
   greetings and context:

   * ``score``: the ranking score of the whole message;
   * ``cscore``: the message is split into sentences and each sentence and each pair of
     adjacent sentences gets its own ranking score; the best one counts;
   * ``core``: the message scored without its context sentences (self-introduction, where
     and what I teach, greetings; lexicon ``context_cues``, three languages), so "I teach
     class 4 in a government school" does not dilute the problem the teacher describes;
   * ``nclause``: log of the number of sentences - a length term that lets a long message
     reach a confident probability at a lower whole-message score;

   The candidate probabilities order the candidates and drive answer / clarify / escalate.
   ``CONFIDENCE_WEIGHTS`` are fitted by ``knowledge_base.calibrate`` (see there).
"""
from __future__ import annotations

import copy
import math
import re
from array import array
from collections import Counter
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal, Sequence

import numpy as np
from rapidfuzz import fuzz, process

from .loader import FaqEntry
from .normalize import analyze, asks_case_status, clause_role, cue_categories, detect_language, load_lexicon, skeleton

ANSWER_CREDIT = 0.6      # a word found only in the answer text is weaker evidence
FUZZY_CUTOFF = 82        # fuzz.ratio for two words to count as the same word (typos)
TOP_K = 25               # candidates that get the expensive scorers
CLAUSE_TOP = 3           # best FAQs of each sentence added to those candidates
POOL = 5                 # candidates that get confidence features
NGRAMS = (3, 4, 5)
WEIGHTS = {"lex": 0.45, "qcov": 0.2, "char": 0.2, "fuzzy": 0.15, "pair": 0.2}
CLARIFY_MAX = 3
UNKNOWN_WEIGHT = 0.5
SKELETON_SIM = 0.8       # credit of a word matched only by its consonant skeleton (krwa ~ karwa)
PAIR_WINDOW = 2          # words apart that still count as used together
MAX_CLAUSES = 8          # sentences scored separately (a longer message keeps its last ones)

SEM_POOL = 3             # best FAQs by the semantic signal added to the candidates

# Confidence features, all free of one knowledge base's scale (so one set of weights serves any KB):
#   lex, cscore, core  the lexical ranking score of the whole message / its best sentence / its
#                      non-context sentences, as (score - floor) / spread, where floor is the median
#                      score a KB question reaches on the best OTHER FAQ and spread the median score it
#                      reaches on its own FAQ minus floor (``KbReference``): 0 ~ "as close as two
#                      different FAQs of this KB", 1 ~ "as close as its own listed phrasing";
#   lex_margin         the lexical score minus the best other candidate's, over the same spread;
#   sem, sem_margin    the same two for the semantic similarity (0 without the model);
#   agree              1 when this candidate is first by both signals (independent evidence);
#   nclause            log(number of sentences): a long message is diluted by its context;
#   roman              1 for a Roman Urdu message (both signals are weaker there).
FEATURES = ("lex", "cscore", "core", "lex_margin", "sem", "sem_margin", "agree", "nclause", "roman")
SEMANTIC_FEATURES = ("sem", "sem_margin", "agree")
# Logistic weights (bias, then one per FEATURES entry) for P(candidate is the FAQ that answers the
# message), one set with the semantic signal and one for the lexical signal alone.  Fitted by
# `python bench/matcher.py --fit-on faq-dev` (calibrate.fit_weights: L2-regularised logistic
# regression on the candidates of every faq-dev query, label = candidate is the expected FAQ); the
# cross-set figures apply them unchanged to faq-dev2 (and the reverse fit to faq-dev).
CONFIDENCE_WEIGHTS: dict[str, tuple[float, ...]] = {
    "semantic": (-1.1858, 1.6578, -0.4497, 3.449, 4.6474, 1.7844, 4.1405, -0.4603, 0.7532, 0.3445),
    "lexical": (-1.9603, 1.2875, 0.1871, 4.2226, 6.0457, 0.0, 0.0, 0.0, 1.0935, 0.0361),
}


@dataclass(frozen=True)
class Thresholds:
    # Thresholds on the confidence (a probability): answer when the best candidate reaches ``answer``
    # and leads the runner-up by ``margin``; clarify when two or three candidates within ``margin`` of
    # each other reach ``clarify``.  The service does not use one fixed set: it blends the general
    # thresholds below with the knowledge base's own self-calibration (calibrate.kb_thresholds).
    answer: float = 0.36
    margin: float = 0.0
    clarify: float = 0.36
    # Below the answer threshold, candidates within ``clarify_gap`` of the best (and the best at least
    # ``clarify``) are offered as a choice: the ranking is often right when the confidence is not, and a
    # teacher's tap costs less than an expert's answer.  0 = clarify only inside the answer margin.
    clarify_gap: float = 0.0


# General thresholds per mode, fitted on faq-dev with the weights above (calibrate.fit: maximise
# decision accuracy s.t. answered precision >= 0.92, false answers on null queries <= 0.10, clarify
# rate <= 0.10, a clarify listing the right FAQ counted as half an answer: calibrate.utility).
GENERAL_THRESHOLDS = {"semantic": Thresholds(0.36, 0.0, 0.16, 0.15), "lexical": Thresholds(0.42, 0.0, 0.22, 0.15)}


@dataclass(frozen=True)
class Candidate:
    faq_id: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    query: str
    decision: Literal["answer", "clarify", "escalate"]
    faq_id: str | None
    candidates: tuple[Candidate, ...]
    score: float
    reason: str
    # For a clarify: one short title per candidate (<= TITLE_MAX characters, a WhatsApp list row), in the
    # candidates' order; the channel adds "none of these: ask an expert" as the last choice.
    titles: tuple[str, ...] = ()


TITLE_MAX = 24   # WhatsApp list-row titles are cut at 24 characters
_TITLE_LEAD = re.compile(r"^(how (do|can|should) (i|we)|what (should|can) (i|we) do (when|if|about)|"
                         r"what is the best way to|how to|can i|should i)\s+", re.I)


def _shorten(text: str) -> str:
    title = _TITLE_LEAD.sub("", text.strip()).rstrip("?. ")
    title = title[:1].upper() + title[1:]
    if len(title) <= TITLE_MAX:
        return title
    cut = title[:TITLE_MAX - 1].rsplit(" ", 1)[0].rstrip(",;:-")
    return (cut or title[:TITLE_MAX - 1]) + "…"


def short_title(entry: FaqEntry, taken: frozenset[str] = frozenset()) -> str:
    """A list title for the FAQ: its ``title`` field when the content has one, else its first question
    without the leading "How do I ..." and cut at a word boundary; the next phrasing when that title is
    already ``taken`` by another option (near-duplicate FAQs)."""
    own = (getattr(entry, "title", None) or "").strip()
    choices = ([own] if own else []) + list(entry.questions or (entry.id,))
    for text in choices:
        title = _shorten(text) if text is not own else own[:TITLE_MAX]
        if title not in taken:
            return title
    base = _shorten(choices[0])[:TITLE_MAX - 4]
    return next(f"{base} ({n})" for n in range(2, 10) if f"{base} ({n})" not in taken)


def clarify_titles(entries: Sequence[FaqEntry]) -> tuple[str, ...]:
    titles: list[str] = []
    for entry in entries:
        titles.append(short_title(entry, frozenset(titles)))
    return tuple(titles)


@dataclass(frozen=True)
class PoolEntry:
    """A candidate's confidence features, kept so calibration can re-fit the weights."""
    faq_id: str
    features: tuple[float, ...]
    admin_blocked: bool
    cue_blocked: bool = False   # the message has an escalation cue this FAQ's questions lack


def _runs(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions start, start+1, ... of every run (start, length), concatenated: how a handful of
    posting lists or question slices are gathered in one numpy indexing step."""
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)


class _Index:
    """Inverted index in CSR form: key -> (FAQ indices, values), built without dict-of-dicts."""

    def __init__(self) -> None:
        self.keys: dict[str, int] = {}
        self._k, self._d, self._v = array("i"), array("i"), array("f")

    def add(self, key: str, doc: int, val: float) -> None:
        self._k.append(self.keys.setdefault(key, len(self.keys)))
        self._d.append(doc)
        self._v.append(val)

    def freeze(self) -> None:
        k = np.frombuffer(self._k, np.int32) if len(self._k) else np.zeros(0, np.int32)
        order = np.argsort(k, kind="stable")
        self.idx = (np.frombuffer(self._d, np.int32)[order] if len(self._d) else np.zeros(0, np.int32)).copy()
        self.val = (np.frombuffer(self._v, np.float32)[order] if len(self._v) else np.zeros(0, np.float32)).copy()
        counts = np.bincount(k, minlength=len(self.keys)) if len(k) else np.zeros(len(self.keys), np.int64)
        self.ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        del self._k, self._d, self._v, order

    def __contains__(self, key: str) -> bool:
        return key in self.keys

    def get(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        j = self.keys[key]
        a, b = self.ptr[j], self.ptr[j + 1]
        return self.idx[a:b], self.val[a:b]

    def df(self, key: str) -> int:
        j = self.keys[key]
        return int(self.ptr[j + 1] - self.ptr[j])

    def weighted_sum(self, key_ids: Sequence[int], weights: Sequence[float], n: int) -> np.ndarray:
        """Per document: sum over the keys of weight * posting value, in one numpy pass (one bincount over
        the keys' concatenated postings instead of one scatter per key)."""
        if not len(key_ids):
            return np.zeros(n, np.float32)
        ks = np.asarray(key_ids, np.int64)
        starts, lengths = self.ptr[ks], self.ptr[ks + 1] - self.ptr[ks]
        pos = _runs(starts, lengths)
        vals = self.val[pos] * np.repeat(np.asarray(weights, np.float32), lengths)
        return np.bincount(self.idx[pos], weights=vals, minlength=n).astype(np.float32)

    def by_document(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The same postings document-major (ptr, keys, values): one document's vector is one slice."""
        keys = np.repeat(np.arange(len(self.keys), dtype=np.int32), np.diff(self.ptr))
        order = np.argsort(self.idx, kind="stable")
        ptr = np.concatenate([[0], np.cumsum(np.bincount(self.idx, minlength=n))]).astype(np.int64)
        return ptr, keys[order], self.val[order]


def _char_ngrams(text: str) -> Counter:
    padded = f" {text} "
    return Counter([padded[i:i + n] for n in NGRAMS for i in range(len(padded) - n + 1)])


_SENTENCE = re.compile(r"[.!?;\n\u061f\u06d4\u061b]+")


def split_clauses(text: str) -> list[str]:
    """Sentences of a message (sentence punctuation in both scripts; not decimal points)."""
    text = re.sub(r"(\d)\.(\d)", r"\1\2", text or "")
    parts = [p.strip() for p in _SENTENCE.split(text) if p.strip()]
    return parts[-MAX_CLAUSES:]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


def confidence(features: Sequence[float], weights: Sequence[float]) -> float:
    return _sigmoid(weights[0] + sum(w * f for w, f in zip(weights[1:], features)))


@dataclass(frozen=True)
class KbReference:
    """How this knowledge base's own phrasings score against it: the scale every feature is read on."""
    lex_floor: float = 0.2
    lex_spread: float = 0.5
    sem_floor: float = 0.9
    sem_spread: float = 0.3


def _word_pairs(seq: Sequence[str]) -> set[str]:
    """Unordered pairs of different words at most PAIR_WINDOW apart ("lesson plan", "plan ... lesson")."""
    out = set()
    for i, a in enumerate(seq):
        for b in seq[i + 1:i + 1 + PAIR_WINDOW]:
            if a != b:
                out.add(a + "|" + b if a < b else b + "|" + a)
    return out


@dataclass(frozen=True)
class _EntryWords:
    """One FAQ's analysed text: what every index is built from."""
    questions: tuple[tuple[str, ...], ...]
    qset: frozenset[str]           # words of its questions, keywords, tags, topic, subject
    aset: frozenset[str]           # words of its answers
    answer_pairs: frozenset[str]   # word pairs within its answers' sentences


ENTRY_MEMO = 4096   # FAQs whose analysed text is kept between builds


def _entry_words(e: FaqEntry) -> _EntryWords:
    extra = " ".join([*e.keywords, *e.tags, e.topic.replace("-", " "), e.subject or ""])
    return _analyse_entry(tuple(e.questions), extra, (*e.answer.values(), *e.short.values()))


@lru_cache(maxsize=ENTRY_MEMO)
def _analyse_entry(questions: tuple[str, ...], extra: str, answers: tuple[str, ...]) -> _EntryWords:
    """Memoised by the FAQ's text: the self-calibration builds a matcher per fold and learning one per
    learned phrasing, and analysing the answers (thousands of sentences) was most of every build."""
    qs = tuple(tuple(analyze(q)) for q in questions)
    pairs: set[str] = set()
    for text in answers:
        for sent in _SENTENCE.split(text):
            pairs |= _word_pairs(analyze(sent))
    return _EntryWords(qs, frozenset({t for q in qs for t in q} | set(analyze(extra))),
                       frozenset(analyze(" ".join(answers))), frozenset(pairs))


class Matcher:
    def __init__(self, entries: Sequence[FaqEntry], thresholds: Thresholds | None = None,
                 weights: Sequence[float] | None = None, semantic=None, reference: "KbReference | None" = None):
        """``semantic``: a knowledge_base.semantic.SemanticIndex over the same entries, or None.
        ``reference``: keep this scale instead of measuring it (learning: see knowledge_base.learning)."""
        self.entries = list(entries)
        self.entries_by_id = {e.id: e for e in self.entries}
        self.semantic = semantic
        self.mode = "semantic" if semantic is not None else "lexical"
        self.thresholds = thresholds or GENERAL_THRESHOLDS[self.mode]
        self.weights = tuple(weights or CONFIDENCE_WEIGHTS[self.mode])
        self._admin = load_lexicon().admin_hr
        self._build_words()
        self._build_chars()
        self.reference = reference or self._kb_reference()

    def with_thresholds(self, thresholds: Thresholds) -> "Matcher":
        """The same indexes deciding with other thresholds (a shallow copy: nothing is rebuilt)."""
        other = copy.copy(self)
        other.thresholds = thresholds
        return other

    def _kb_reference(self) -> KbReference:
        """Score every listed question against the KB: the median best score on another FAQ is the
        floor, the median score on its own FAQ the ceiling (one pass, ~2 ms per question)."""
        if len(self.entries) < 2:
            return KbReference()
        own, other, sem_own, sem_other = [], [], [], []
        for i, qs in enumerate(self._questions):
            for q in qs:
                tokens = list(dict.fromkeys(q))
                if not tokens:
                    continue
                ranked = dict(self._combined(tokens, self._token_credits(tokens), [i])[0])
                own.append(ranked.get(i, 0.0))
                other.append(max((v for k, v in ranked.items() if k != i), default=0.0))
        if self.semantic is not None:
            sims = self.semantic.question_scores()
            for i, row in sims:
                sem_own.append(float(row[i]))
                sem_other.append(float(np.max(np.delete(row, i))))
        lex_floor = float(np.median(other)) if other else 0.2
        lex_spread = max(float(np.median(own)) - lex_floor, 0.05) if own else 0.5
        if sem_own:
            sem_floor = float(np.median(sem_other))
            return KbReference(lex_floor, lex_spread, sem_floor, max(float(np.median(sem_own)) - sem_floor, 0.02))
        return KbReference(lex_floor, lex_spread)

    # ------------------------------------------------------------------ index building

    def _fields(self, e: FaqEntry) -> tuple[list[tuple[str, ...]], set[str], set[str]]:
        words = _entry_words(e)
        return list(words.questions), set(words.qset), set(words.aset)

    def _build_words(self) -> None:
        n = len(self.entries)
        index = _Index()
        self._questions: list[list[tuple[str, ...]]] = []
        self._qsets: list[frozenset[str]] = []
        self._cues: list[frozenset[str]] = []
        for i, e in enumerate(self.entries):
            questions, qset, aset = self._fields(e)
            self._questions.append(questions)
            self._qsets.append(frozenset(qset))
            self._cues.append(cue_categories(" ".join([*e.questions, *e.keywords])))
            for t in sorted(aset - qset):
                index.add(t, i, ANSWER_CREDIT)
            for t in sorted(qset):
                index.add(t, i, 1.0)
        index.freeze()
        self._words = index
        # Smoothed IDF over FAQ documents: rare words decide, words in every FAQ barely count.
        self._idf = {t: math.log(1 + n / index.df(t)) for t in index.keys}
        # A word the KB never uses weighs like a fairly rare word in the ranking score (so
        # off-topic messages rank low); the confidence features ignore such words instead.
        self._unknown_idf = math.log(1 + n) * UNKNOWN_WEIGHT
        self._vocab = [t for t in index.keys if len(t) >= 4]
        # Consonant skeletons of the KB's Latin words, for vowel-dropping SMS spellings the
        # lexicon does not list (an ambiguous skeleton, shared by two words, is not used).
        skel: dict[str, set[str]] = {}
        for t in index.keys:
            sk = skeleton(t) if t.isascii() and len(t) >= 4 else ""
            if len(sk) >= 3:
                skel.setdefault(sk, set()).add(t)
        self._skel = {k: next(iter(v)) for k, v in skel.items() if len(v) == 1}
        self._norm_questions = [[" ".join(q) for q in qs] for qs in self._questions]
        self._build_question_arrays()
        self._build_pairs()

    _pairs = staticmethod(_word_pairs)

    def _build_pairs(self) -> None:
        """Phrase evidence: two words the query uses together that an FAQ also uses together."""
        n = len(self.entries)
        index = _Index()
        for i, e in enumerate(self.entries):
            qp = set()
            for q in self._questions[i]:
                qp |= _word_pairs(q)
            ap = _entry_words(e).answer_pairs
            for k in sorted(ap - qp):
                index.add(k, i, ANSWER_CREDIT)
            for k in sorted(qp):
                index.add(k, i, 1.0)
        index.freeze()
        self._pair_index = index
        self._pair_idf = {k: math.log(1 + n / index.df(k)) for k in index.keys}

    def _pair_scores(self, tokens: Sequence[str], w_all: float) -> np.ndarray:
        keys = self._pair_index.keys
        known = [k for k in _word_pairs(list(tokens)) if k in keys]
        out = self._pair_index.weighted_sum([keys[k] for k in known], [self._pair_idf[k] for k in known],
                                            len(self.entries))
        return out / max(w_all, 1e-9)

    def _build_chars(self) -> None:
        n = len(self.entries)
        # Two passes over the questions instead of holding every document's n-gram Counter:
        # the peak memory stays near the size of the finished index.
        df: Counter = Counter()
        for qs in self._norm_questions:
            df.update(_char_ngrams(" | ".join(qs)).keys())
        char_idf = {g: math.log(1 + n / c) for g, c in df.items()}
        del df
        index = _Index()
        for i, qs in enumerate(self._norm_questions):
            d = _char_ngrams(" | ".join(qs))
            vec = {g: (1 + math.log(c)) * char_idf[g] for g, c in d.items()}
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            for g, v in vec.items():
                index.add(g, i, v / norm)
        index.freeze()
        self._chars = index
        # The IDF by key number, so a message's n-grams are looked up once (in index.keys).
        self._char_key_idf = np.zeros(len(index.keys), np.float64)
        for g, j in index.keys.items():
            self._char_key_idf[j] = char_idf[g]
        # Document-major too: the sentence-level scores need a handful of FAQs, not all of them.
        self._char_docs = index.by_document(n)

    # ------------------------------------------------------------------ scoring

    def _expand(self, token: str) -> list[tuple[str, float]]:
        """Vocabulary words this query word counts as, with a similarity in 0..1."""
        out = [(token, 1.0)] if token in self._words else []
        if len(token) >= 4 and not token.isdigit() and not out:
            for term, sim, _ in process.extract(token, self._vocab, scorer=fuzz.ratio,
                                                score_cutoff=FUZZY_CUTOFF, limit=3):
                out.append((term, sim / 100.0))
        if not out and SKELETON_SIM and len(token) >= 3 and token.isascii():
            term = self._skel.get(skeleton(token))
            if term:
                out.append((term, SKELETON_SIM))
        return out

    def _token_credits(self, tokens: list[str]) -> dict[str, tuple[float, np.ndarray | None, list]]:
        """Per query word: IDF weight, credit per FAQ (None for unknown words), expansions."""
        n = len(self.entries)
        out = {}
        for tok in tokens:
            exp = self._expand(tok)
            if not exp:
                out[tok] = (self._unknown_idf, None, exp)
                continue
            w = max(self._idf[t] for t, _ in exp)
            cred = np.zeros(n, np.float32)
            for term, sim in exp:
                idx, val = self._words.get(term)
                if len(exp) == 1 and sim == 1.0:
                    cred[idx] = val
                else:
                    cred[idx] = np.maximum(cred[idx], val * sim)
            out[tok] = (w, cred, exp)
        return out

    @staticmethod
    def _lex(tokens: Sequence[str], credits: dict, n: int) -> tuple[np.ndarray, float, float]:
        """Weighted credit sum per FAQ, total weight of all words, total weight of known words."""
        total, w_all, w_known = np.zeros(n, np.float32), 0.0, 0.0
        for tok in tokens:
            w, cred, _ = credits[tok]
            w_all += w
            if cred is not None:
                w_known += w
                total += w * cred
        return total, w_all, w_known

    @staticmethod
    def _reached(tokens: Sequence[str], credits: dict) -> dict[str, float]:
        reached: dict[str, float] = {}
        for tok in tokens:
            for term, sim in credits[tok][2]:
                reached[term] = max(reached.get(term, 0.0), sim)
        return reached

    def _lex_scores(self, tokens: list[str]) -> tuple[np.ndarray, dict[str, float]]:
        credits = self._token_credits(tokens)
        total, w_all, _ = self._lex(tokens, credits, len(self.entries))
        return total / max(w_all, 1e-9), self._reached(tokens, credits)

    def _char_scores(self, tokens: list[str], ids: Sequence[int] | None = None) -> np.ndarray:
        """TF-IDF cosine of the query's character n-grams with every FAQ's questions (or with ``ids``)."""
        keys, weights = self._char_query(tokens)
        if ids is None:
            return self._chars.weighted_sum(keys, weights, len(self.entries))
        ptr, doc_keys, doc_vals = self._char_docs
        ids = np.asarray(ids, np.int64)
        query = np.zeros(len(self._chars.keys), np.float32)
        query[keys] = weights
        lengths = ptr[ids + 1] - ptr[ids]
        pos = _runs(ptr[ids], lengths)
        products = doc_vals[pos] * query[doc_keys[pos]]
        return np.bincount(np.repeat(np.arange(len(ids)), lengths), weights=products,
                           minlength=len(ids)).astype(np.float32)

    def _char_query(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The query's n-grams known to the index (key numbers) and their TF-IDF weights over the norm."""
        grams = _char_ngrams(" ".join(tokens))
        if not grams:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        get = self._chars.keys.get
        keys = np.fromiter((get(g, -1) for g in grams), np.int64, len(grams))
        tf = 1.0 + np.log(np.fromiter(grams.values(), np.float64, len(grams)))
        known = keys >= 0
        # Unknown n-grams still count in the query norm (at the IDF of a one-FAQ n-gram), so off-topic
        # text scores low.
        weights = tf * np.where(known, self._char_key_idf[keys], math.log(1 + len(self.entries)))
        norm = math.sqrt(float(weights @ weights)) or 1.0
        return keys[known], weights[known] / norm

    def _build_question_arrays(self) -> None:
        """The listed questions as flat arrays (word number, IDF weight), so ``qcov`` of the candidates is a
        few numpy steps instead of a Python loop per candidate and question."""
        keys = self._words.keys
        terms, weights, starts, lengths, wsums, faq_lo, faq_hi = [], [], [], [], [], [], []
        for qs in self._questions:
            faq_lo.append(len(starts))
            for q in qs:
                if not q:   # a question of stopwords only has no weight: it covers nothing
                    continue
                ws = [self._idf[t] for t in q]
                starts.append(len(terms))
                lengths.append(len(q))
                terms += [keys[t] for t in q]
                weights += ws
                wsums.append(sum(ws))
            faq_hi.append(len(starts))
        self._q_terms = np.asarray(terms, np.int64)
        self._q_weights = np.asarray(weights, np.float64)
        self._q_starts = np.asarray(starts, np.int64)
        self._q_lengths = np.asarray(lengths, np.int64)
        self._q_wsums = np.asarray(wsums, np.float64)
        self._faq_q_lo = np.asarray(faq_lo, np.int64)   # each FAQ's questions: [lo, hi) in the arrays
        self._faq_q_hi = np.asarray(faq_hi, np.int64)

    def _qcov(self, reached: dict[str, float], ids: Sequence[int]) -> np.ndarray:
        """Per FAQ in ``ids``: the IDF-weighted share of its best-covered question that the query reaches."""
        ids = np.asarray(ids, np.int64)
        out = np.zeros(len(ids), np.float64)
        if not reached or not len(ids):
            return out
        sims = np.zeros(len(self._words.keys), np.float64)
        sims[[self._words.keys[t] for t in reached]] = list(reached.values())
        counts = self._faq_q_hi[ids] - self._faq_q_lo[ids]
        questions = _runs(self._faq_q_lo[ids], counts)
        lengths = self._q_lengths[questions]
        pos = _runs(self._q_starts[questions], lengths)
        covered = np.bincount(np.repeat(np.arange(len(questions)), lengths),
                              weights=sims[self._q_terms[pos]] * self._q_weights[pos], minlength=len(questions))
        np.maximum.at(out, np.repeat(np.arange(len(ids)), counts), covered / self._q_wsums[questions])
        return out

    def _fuzzy(self, query: str, ids: Sequence[int]) -> np.ndarray:
        """Per candidate: the best ``fuzz.token_set_ratio`` over its normalised questions, in 0..1
        (one rapidfuzz call for all candidates: the query is processed once)."""
        texts = [q for i in ids for q in self._norm_questions[i]]
        counts = np.asarray([len(self._norm_questions[i]) for i in ids], np.int64)
        out = np.zeros(len(ids), np.float64)
        if not texts:
            return out
        ratios = process.cdist([query], texts, scorer=fuzz.token_set_ratio, dtype=np.float64, workers=1)[0]
        nonempty = counts > 0
        out[nonempty] = np.maximum.reduceat(ratios, (np.cumsum(counts) - counts)[nonempty])
        return out / 100.0

    def _combined(self, tokens: list[str], credits: dict, extra: Sequence[int] = (),
                  only: bool = False) -> tuple[list[tuple[int, float]], dict]:
        """Ranking score for the TOP_K FAQs (plus ``extra`` indices), best first."""
        n = len(self.entries)
        total, w_all, w_known = self._lex(tokens, credits, n)
        lex = total / max(w_all, 1e-9)
        reached = self._reached(tokens, credits)
        if only:
            # Only these FAQs are scored (a sentence of the message, against the pool): every array below
            # is indexed like ``top``.
            top = sorted(set(extra))
            pre = WEIGHTS["lex"] * lex[top] + WEIGHTS["char"] * self._char_scores(tokens, top)
            if WEIGHTS.get("pair"):
                pre = pre + WEIGHTS["pair"] * self._pair_scores(tokens, w_all)[top]
            at = range(len(top))
        else:
            pre = WEIGHTS["lex"] * lex + WEIGHTS["char"] * self._char_scores(tokens)
            if WEIGHTS.get("pair"):
                pre = pre + WEIGHTS["pair"] * self._pair_scores(tokens, w_all)
            k = min(TOP_K, n)
            top = sorted(set(np.argpartition(-pre, k - 1)[:k].tolist()) | set(extra))
            at = top
        qcov = self._qcov(reached, top).tolist()
        fuzzy = self._fuzzy(" ".join(tokens), top).tolist()
        # float() first: the sum stays in pre's float32, as the scores were calibrated.
        out = [(i, float(pre[j] + WEIGHTS["qcov"] * qc + WEIGHTS["fuzzy"] * fz))
               for i, j, qc, fz in zip(top, at, qcov, fuzzy)]
        out.sort(key=lambda x: (-x[1], x[0]))
        return out, {"reached": reached, "known": w_known}

    def scores(self, tokens: list[str]) -> list[tuple[int, float]]:
        """(entry index, ranking score) for the TOP_K candidates, best first."""
        if not self.entries or not tokens:
            return []
        return self._combined(tokens, self._token_credits(tokens))[0]

    # ------------------------------------------------------------------ confidence

    def _pool(self, text: str, tokens: list[str]) -> list[PoolEntry]:
        n = len(self.entries)
        credits = self._token_credits(tokens)
        clauses, roles = [], []
        for part in split_clauses(text):
            ct = [t for t in dict.fromkeys(analyze(part)) if t in credits]
            if ct:
                clauses.append(ct)
                roles.append(clause_role(part))
        if len(clauses) < 2:
            clauses, roles = [tokens], ["other"]
        # Each sentence nominates its own best FAQs, so a question buried in a long message
        # still reaches the expensive scorers.
        extra: set[int] = set()
        for ct in clauses if len(clauses) > 1 else ():
            total, _, w_known = self._lex(ct, credits, n)
            if w_known > 0:
                m = min(CLAUSE_TOP, n)
                extra.update(np.argpartition(-total, m - 1)[:m].tolist())
        sem = self.semantic.scores(text) if self.semantic is not None else None
        if sem is not None:
            m = min(SEM_POOL, n)
            extra.update(np.argpartition(-sem, m - 1)[:m].tolist())
        ranked, _ = self._combined(tokens, credits, sorted(extra))
        pool = ranked[:POOL]
        if sem is not None:
            pool_ids = {i for i, _ in pool}
            sem_top = sorted(np.argpartition(-sem, min(SEM_POOL, n) - 1)[:min(SEM_POOL, n)].tolist(),
                             key=lambda i: -sem[i])
            pool += [(i, sc) for i, sc in ranked if i in set(sem_top) - pool_ids]
        if not pool:
            return []
        ids = [i for i, _ in pool]

        def best(windows: list[list[str]]) -> dict[int, float]:
            out = {i: 0.0 for i in ids}
            for ct in windows:
                for i, sc in self._combined(ct, credits, ids, only=True)[0]:
                    out[i] = max(out[i], sc)
            return out

        base = {i: sc for i, sc in pool}
        cscore, core = dict(base), dict(base)
        if len(clauses) > 1:
            # Best-sentence score: the full ranking score of every sentence and every pair of
            # adjacent sentences (the question often leans on the sentence before it).
            pairs = [list(dict.fromkeys(a + b)) for a, b in zip(clauses, clauses[1:])]
            for d in (best(clauses), best(pairs)):
                cscore = {i: max(cscore[i], d[i]) for i in ids}
            # The message without its context sentences (self-introduction, where/what I
            # teach, greetings; an asking sentence is never context): its ranking score.
            kept = [t for ct, r in zip(clauses, roles) if r != "context" for t in ct]
            if kept and len(kept) < sum(map(len, clauses)):
                core = best([list(dict.fromkeys(kept))])
        ref = self.reference
        lex_top = max(ids, key=lambda i: (base[i], -i))
        roman = 1.0 if detect_language(text) == "roman-ur" else 0.0
        nclause = math.log(len(clauses))
        if sem is not None:
            sem_order = np.argsort(-sem)
            sem_first, sem_second = int(sem_order[0]), (int(sem_order[1]) if n > 1 else int(sem_order[0]))
        admin = set(tokens) & self._admin
        cues = cue_categories(text)
        # An FAQ about transfers answers "how do I apply"; "when will my transfer come" asks
        # about one teacher's case, which only a person can look up, whatever FAQ ranks first.
        own_case = bool(admin) and asks_case_status(text)
        out = []
        for i in ids:
            runner_up = max((base[j] for j in ids if j != i), default=ref.lex_floor)
            feats = {"lex": (base[i] - ref.lex_floor) / ref.lex_spread,
                     "cscore": (cscore[i] - ref.lex_floor) / ref.lex_spread,
                     "core": (core[i] - ref.lex_floor) / ref.lex_spread,
                     "lex_margin": (base[i] - runner_up) / ref.lex_spread,
                     "sem": 0.0, "sem_margin": 0.0, "agree": 0.0,
                     "nclause": nclause, "roman": roman}
            if sem is not None:
                other = sem[sem_second] if i == sem_first else sem[sem_first]
                feats["sem"] = (float(sem[i]) - ref.sem_floor) / ref.sem_spread
                feats["sem_margin"] = (float(sem[i]) - float(other)) / ref.sem_spread
                feats["agree"] = 1.0 if i == lex_top == sem_first else 0.0
            out.append(PoolEntry(self.entries[i].id, tuple(round(feats[f], 5) for f in FEATURES),
                                 bool(admin) and (own_case or not admin <= self._qsets[i]),
                                 bool(cues - self._cues[i])))
        return out

    # ------------------------------------------------------------------ decision

    def rank(self, text: str) -> "Ranking":
        """Everything the decision needs, so calibration can sweep thresholds cheaply."""
        tokens = list(dict.fromkeys(analyze(text)))
        pool = tuple(self._pool(text, tokens)) if tokens and self.entries else ()
        return rescore(Ranking(text, bool(tokens), (), False, pool), self.weights)

    def match(self, text: str) -> MatchResult:
        result = decide(self.rank(text), self.thresholds)
        if result.decision == "clarify":
            result = replace(result, titles=clarify_titles([self.entries_by_id[c.faq_id] for c in result.candidates]))
        return result


@dataclass(frozen=True)
class Ranking:
    query: str
    has_content: bool
    candidates: tuple[Candidate, ...]   # best first, at most CLARIFY_MAX
    admin_hr: bool
    pool: tuple[PoolEntry, ...] = ()    # confidence features (empty for plain scorers)
    cue_blocked: bool = False           # escalation cue (where to buy, who approves...) not in the best FAQ


def rescore(r: Ranking, weights: Sequence[float]) -> Ranking:
    """Candidates ordered and scored by the confidence model with ``weights``."""
    if not r.pool:
        return r
    scored = sorted(((confidence(p.features, weights), k, p) for k, p in enumerate(r.pool)),
                    key=lambda x: (-x[0], x[1]))
    cands = tuple(Candidate(p.faq_id, round(c, 4)) for c, _, p in scored[:CLARIFY_MAX])
    # Pay/posting/leave questions go to a person unless the FAQ itself is about that word.
    # Likewise "where do I buy / who approves / when is the deadline" cues (lexicon null_cues).
    return replace(r, candidates=cands, admin_hr=scored[0][2].admin_blocked,
                   cue_blocked=scored[0][2].cue_blocked)


def decide(r: Ranking, th: Thresholds) -> MatchResult:
    """answer if confident and clear of the runner-up; clarify if 2-3 close and good; else escalate."""
    if not r.has_content:
        return MatchResult(r.query, "escalate", None, (), 0.0, "empty")
    if not r.candidates:
        return MatchResult(r.query, "escalate", None, (), 0.0, "low-score")
    best = r.candidates[0].score
    second = r.candidates[1].score if len(r.candidates) > 1 else 0.0
    if r.admin_hr:
        return MatchResult(r.query, "escalate", None, r.candidates, best, "admin-hr")
    if r.cue_blocked:
        return MatchResult(r.query, "escalate", None, r.candidates, best, "escalation-cue")
    if best >= th.answer and best - second >= th.margin:
        return MatchResult(r.query, "answer", r.candidates[0].faq_id, r.candidates, best, "confident")
    close = tuple(c for c in r.candidates if best - c.score < max(th.margin, th.clarify_gap, 1e-9))
    if best >= th.clarify and len(close) >= 2:
        return MatchResult(r.query, "clarify", None, close, best, "close-candidates")
    return MatchResult(r.query, "escalate", None, r.candidates, best, "low-score")
