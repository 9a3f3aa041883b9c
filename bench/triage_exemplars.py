"""Build helpdesk/content/triage_exemplars.npz: the message vectors the semantic triage signal compares with.

    python bench/triage_exemplars.py

Exemplars, all written for this project (never an evaluation set: the vectors ship with the package):
  - our labelled sets bench/triage_heldout{,2,3,4}.jsonl (urgent messages and hard negatives);
  - bench/triage_exemplars_extra.jsonl, more of our own wordings of both kinds;
  - every FAQ question outside the safeguarding topic (knowledge_base/faqs): ordinary, calm teacher
    questions in all four ways of writing, so a plain question has calm neighbours. The safeguarding FAQs
    are left out: several are worded as disclosures ("a student told me life is not worth living").
bench/triage_heldout5.jsonl is deliberately not an exemplar: it measures the result once.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpdesk.safeguarding.evaluation import load_rows  # noqa: E402

OWN_SETS = [ROOT / "bench" / f"triage_heldout{n}.jsonl" for n in ("", "2", "3", "4")]
EXTRA = ROOT / "bench" / "triage_exemplars_extra.jsonl"
OUT = ROOT / "helpdesk" / "content" / "triage_exemplars.npz"
CALM_TOPICS_LEFT_OUT = {"safeguarding"}


def faq_questions() -> list[dict]:
    from helpdesk.knowledge import shipped_faq_dir
    from knowledge_base.loader import load_directory

    return [{"text": q, "urgent": False, "category": None} for entry in load_directory(shipped_faq_dir())
            if entry.topic not in CALM_TOPICS_LEFT_OUT for q in entry.questions]


def fixed_exemplars() -> list[dict]:
    """The exemplars that are in every leave-one-set-out fold (bench/triage_loso.py)."""
    return (load_rows(EXTRA) if EXTRA.exists() else []) + faq_questions()


def all_exemplars() -> list[dict]:
    return fixed_exemplars() + [row for path in OWN_SETS for row in load_rows(path)]


def main() -> None:
    from bench.triage_vectors import vectors
    from knowledge_base.semantic import load_embedder

    rows = all_exemplars()
    matrix = vectors([r["text"] for r in rows])
    np.savez_compressed(OUT, vectors=matrix.astype(np.float16), model=np.asarray(load_embedder().name),
                        urgent=np.array([bool(r["urgent"]) for r in rows]),
                        categories=np.array([r.get("category") or "" for r in rows]))
    print(f"{OUT}: {len(rows)} messages ({sum(bool(r['urgent']) for r in rows)} urgent), "
          f"dimension {matrix.shape[1]}", file=sys.stderr)


if __name__ == "__main__":
    main()
