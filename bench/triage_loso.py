"""Leave-one-set-out for the safeguarding triage: how the semantic signal does on a set it never saw.

    python bench/triage_loso.py [--grid] [--l2 X] [--threshold T]

Sets: safeguarding-dev (read from ../shared, never shipped) and our own
bench/triage_heldout{,2,3,4,5,6,7}.jsonl.
For each set held out, the probe (helpdesk.safeguarding.semantic) is fitted on the other OWN sets plus the
always-in exemplars (bench/triage_exemplars_extra.jsonl, bench/triage_exemplars_concepts.jsonl and the FAQ
questions; dev is never an exemplar, as it is never shipped), and the held-out set is scored by the
grammar, the probe and the two combined. Printed: per set, then pooled over the held-out sets per category
and per language.

Read the grammar's column with care: the rules were corrected against dev and the first three sets (they
score 1.000 there), so only the fourth and fifth sets say how the rules do on wording they were not
written for, and even those were looked at while the concept rules of this round were written.

--grid prints the pooled figures of the probe alone and of rules + probe for every L2 and threshold, which is
how L2 and THRESHOLD in helpdesk/safeguarding/semantic.py were chosen: among the settings whose pooled
held-out false alarms (rules + probe) are within FALSE_ALARM_BUDGET (0.03, the service's target), the highest
pooled held-out recall of rules + probe, then the fewest false alarms, in the middle of a plateau (both
neighbouring thresholds keep that recall). Vectors come from bench/triage_vectors.py (cached in instance/).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpdesk.safeguarding import semantic  # noqa: E402
from helpdesk.safeguarding.evaluation import LANGUAGES, Share, evaluate, load_rows  # noqa: E402
from helpdesk.safeguarding.triage import CATEGORIES, combine, triage  # noqa: E402


def dev_path() -> Path:
    for base in (ROOT.parent, ROOT.parent.parent):
        path = base / "shared" / "eval" / "safeguarding-dev" / "messages.jsonl"
        if path.exists():
            return path
    return ROOT.parent / "shared" / "eval" / "safeguarding-dev" / "messages.jsonl"


OWN = [ROOT / "bench" / f"triage_heldout{n}.jsonl" for n in ("", "2", "3", "4", "5", "6", "7")]
ALL_SETS = [("safeguarding-dev", dev_path())] + [(p.stem, p) for p in OWN]
# The service's target for false alarms on calm messages: --grid picks only among settings within it.
FALSE_ALARM_BUDGET = 0.03


def always_in() -> tuple[list[str], list[bool], list]:
    """Exemplars in every fold: bench/triage_exemplars.py decides what they are."""
    from bench.triage_exemplars import fixed_exemplars

    rows = fixed_exemplars()
    return [r["text"] for r in rows], [bool(r["urgent"]) for r in rows], [r.get("category") for r in rows]


def folds():
    """(name, rows, their vectors, exemplar vectors, exemplar urgent, exemplar categories) per held-out set."""
    from bench.triage_vectors import vectors

    sets = [(name, load_rows(path)) for name, path in ALL_SETS if path.exists()]
    fixed_texts, fixed_urgent, fixed_categories = always_in()
    fixed_vectors = vectors(fixed_texts) if fixed_texts else np.zeros((0, 384), np.float32)
    embedded = {name: vectors([r["text"] for r in rows]) for name, rows in sets}
    for name, rows in sets:
        train = [(n, r) for n, r in sets if n != name and n != "safeguarding-dev"]
        train_vectors = np.vstack([fixed_vectors] + [embedded[n] for n, _ in train])
        urgent = np.array(fixed_urgent + [bool(x["urgent"]) for _, r in train for x in r])
        categories = fixed_categories + [x.get("category") for _, r in train for x in r]
        yield name, rows, embedded[name], train_vectors, urgent, categories


def pooled(rows_and_predictions) -> dict:
    """Recall per category and language, false alarms per language, over every held-out set together."""
    tables = {"recall": Share(), "false alarms": Share(), "category right": Share()}
    tables |= {f"recall {c}": Share() for c in CATEGORIES} | {f"recall {lang}": Share() for lang in LANGUAGES}
    tables |= {f"false alarms {lang}": Share() for lang in LANGUAGES}
    for rows, predictions in rows_and_predictions:
        f = evaluate(rows, predictions)
        for key, share in [("recall", f.recall), ("false alarms", f.false_alarms),
                           ("category right", f.category_right)] + \
                [(f"recall {c}", s) for c, s in f.recall_by_category.items()] + \
                [(f"recall {lang}", s) for lang, s in f.recall_by_language.items()] + \
                [(f"false alarms {lang}", s) for lang, s in f.false_alarms_by_language.items()]:
            tables.setdefault(key, Share())
            tables[key].hit += share.hit
            tables[key].total += share.total
    return tables


def cell(share: Share) -> str:
    return "-" if share.rate is None else f"{share.rate:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--l2", type=float, default=semantic.L2)
    ap.add_argument("--threshold", type=float, default=semantic.THRESHOLD)
    args = ap.parse_args()
    data = list(folds())
    if args.grid:
        grid(data)
        return
    columns = {"rules": [], "semantic": [], "rules + semantic": []}
    print(f"probe: L2 {args.l2}, threshold {args.threshold}")
    print("| held-out set | messages | rules recall / false alarms | semantic | rules + semantic |")
    print("|---|---|---|---|---|")
    for name, rows, queries, vectors, urgent, categories in data:
        model = semantic.SemanticTriage.fitted(vectors, urgent, categories, l2=args.l2, threshold=args.threshold)
        lexical = [triage(r["text"]) for r in rows]
        sem = model.assess_vectors(queries)
        both = [combine(a, b) for a, b in zip(lexical, sem)]
        cells = []
        for column, predictions in zip(columns, (lexical, sem, both)):
            columns[column].append((rows, predictions))
            f = evaluate(rows, predictions)
            cells.append(f"{cell(f.recall)} / {cell(f.false_alarms)}")
        print(f"| {name} | {len(rows)} | " + " | ".join(cells) + " |")
    tables = {column: pooled(pairs) for column, pairs in columns.items()}
    print("\npooled over the held-out sets\n")
    print("| | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for key in tables["rules"]:
        if any(t[key].total for t in tables.values()):
            print(f"| {key} | " + " | ".join(f"{cell(t[key])} ({t[key].hit}/{t[key].total})"
                                           for t in tables.values()) + " |")


def grid(data) -> None:
    """The probe's L2 and threshold, chosen by what the service does: rules and probe combined (the probe adds
    flags the rules missed, never where they read make-believe), pooled over the held-out sets."""
    lexical = {name: [triage(r["text"]) for r in rows] for name, rows, *_ in data}
    thresholds = [float(t) for t in np.round(np.arange(0.7, 0.86, 0.025), 3)]
    print("L2   threshold   probe alone            rules + probe   (recall / false alarms, pooled)")
    table = {}
    for l2 in (0.5, 1.0, 2.0, 3.0, 5.0):
        models = [(name, rows, queries, semantic.SemanticTriage.fitted(vectors, urgent, categories, l2=l2))
                  for name, rows, queries, vectors, urgent, categories in data]
        for threshold in thresholds:
            alone, both = np.zeros(4), np.zeros(4)
            for name, rows, queries, model in models:
                flagged = model.scores(queries) >= threshold
                y = np.array([bool(r["urgent"]) for r in rows])
                rules = np.array([t.urgent for t in lexical[name]])
                pretend = np.array([t.pretend for t in lexical[name]])
                combined = rules | (flagged & ~pretend)
                alone += (flagged[y].sum(), y.sum(), flagged[~y].sum(), (~y).sum())
                both += (combined[y].sum(), y.sum(), combined[~y].sum(), (~y).sum())
            table[l2, threshold] = (both[0] / both[1], both[2] / both[3])
            print(f"{l2:<4} {threshold:<10}  {alone[0] / alone[1]:.3f} / {alone[2] / alone[3]:.3f}"
                  f"          {both[0] / both[1]:.3f} / {both[2] / both[3]:.3f}")
    # The highest combined recall, then the fewest false alarms, from the middle of a plateau: both
    # neighbouring thresholds at that L2 keep the recall (an edge would not hold on new wording).
    def plateau(key):
        l2, threshold = key
        i = thresholds.index(threshold)
        return 0 < i < len(thresholds) - 1 and all(table[l2, thresholds[j]][0] >= table[key][0]
                                                   for j in (i - 1, i + 1))
    # Only settings within the false-alarm budget compete (the highest recall alone chose 0.038 false alarms
    # once heldout7 joined, over the service's target); none within it, and every plateau does.
    candidates = [key for key in table if plateau(key) and table[key][1] <= FALSE_ALARM_BUDGET] or \
        [key for key in table if plateau(key)]
    best = max(candidates, key=lambda key: (round(table[key][0], 6), -round(table[key][1], 6), key[0]))
    print(f"best: L2 {best[0]}, threshold {best[1]} (rules + probe: recall {table[best][0]:.3f}, "
          f"false alarms {table[best][1]:.3f})")


if __name__ == "__main__":
    main()
