"""Build helpdesk/content/triage_exemplars.npz: the message vectors the semantic triage signal compares with.

    python bench/triage_exemplars.py

Exemplars, all written for this project (never an evaluation set: the vectors ship with the package):
  - our labelled sets bench/triage_heldout{,2,...,11}.jsonl (urgent messages and hard negatives; each was
    measured once, unseen, before it became an exemplar);
  - bench/triage_exemplars_extra.jsonl and bench/triage_exemplars_concepts.jsonl, more of our own wordings
    of both kinds (the second one message per concept: an actor and a harm, a sign, a second-hand frame,
    and lessons, past cases and idioms that share their words);
  - every FAQ question outside the safeguarding topic (knowledge_base/faqs): ordinary, calm teacher
    questions in all four ways of writing, so a plain question has calm neighbours. The safeguarding FAQs
    are left out: several are worded as disclosures ("a student told me life is not worth living").
The two-step probe (helpdesk.safeguarding.semantic.Probe) is fitted here on all of them, with each message's
parts (sentences and clauses), and its weights ship in the same file.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpdesk.safeguarding.evaluation import load_rows  # noqa: E402

# Our labelled sets, each measured once unseen before it joined (bench/triage_loso.py holds each out in turn).
OWN_SETS = [ROOT / "bench" / f"triage_heldout{n}.jsonl" for n in ("", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11")]
# Written for the exemplars only (never measured): more wordings of both kinds, and one message per concept
# (an actor and a harm, a sign, a frame; lessons, past cases, idioms) so the model learns meanings, not sets.
EXTRAS = [ROOT / "bench" / "triage_exemplars_extra.jsonl", ROOT / "bench" / "triage_exemplars_concepts.jsonl"]
OUT = ROOT / "helpdesk" / "content" / "triage_exemplars.npz"
CALM_TOPICS_LEFT_OUT = {"safeguarding"}


def faq_questions() -> list[dict]:
    from helpdesk.knowledge import shipped_faq_dir
    from knowledge_base.loader import load_directory

    return [{"text": q, "urgent": False, "category": None} for entry in load_directory(shipped_faq_dir())
            if entry.topic not in CALM_TOPICS_LEFT_OUT for q in entry.questions]


def fixed_exemplars() -> list[dict]:
    """The exemplars that are in every leave-one-set-out fold (bench/triage_loso.py)."""
    return [row for path in EXTRAS if path.exists() for row in load_rows(path)] + faq_questions()


def all_exemplars() -> list[dict]:
    return fixed_exemplars() + [row for path in OWN_SETS for row in load_rows(path)]


def main() -> None:
    from bench.triage_vectors import part_vectors, vectors
    from helpdesk.safeguarding.semantic import L2, Probe
    from knowledge_base.semantic import load_embedder

    rows = all_exemplars()
    texts = [r["text"] for r in rows]
    matrix = vectors(texts)
    urgent = np.array([bool(r["urgent"]) for r in rows])
    probe = Probe.fit(matrix, part_vectors(texts), urgent, L2)
    np.savez_compressed(OUT, vectors=matrix.astype(np.float16), model=np.asarray(load_embedder().name),
                        urgent=urgent, categories=np.array([r.get("category") or "" for r in rows]),
                        pick_weights=probe.pick_weights, pick_bias=np.float32(probe.pick_bias),
                        probe_weights=probe.weights, probe_bias=np.float32(probe.bias), probe_l2=np.float32(L2))
    print(f"{OUT}: {len(rows)} messages ({int(urgent.sum())} urgent), dimension {matrix.shape[1]}, "
          f"probe fitted with L2 {L2}", file=sys.stderr)


if __name__ == "__main__":
    main()
