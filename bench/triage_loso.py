"""Leave-one-set-out for the safeguarding triage: how the semantic signal does on a set it never saw.

    python bench/triage_loso.py [--grid] [--l2 X] [--threshold T]

Sets: safeguarding-dev (read from ../shared, never shipped) and our own
bench/triage_heldout{,2,...,11}.jsonl.
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
held-out false alarms of the probe alone are within FALSE_ALARM_BUDGET (0.03, the service's target), the highest
pooled held-out recall of rules + probe (counting the worst of the setting and its two neighbouring
thresholds), then the fewest false alarms, then the stronger L2. It then prints the veto grid, which is how WEAK_RULE_BELOW and
CALM_MEANING_BELOW in helpdesk/safeguarding/triage.py were chosen (a weak rule flag dropped where the probe
finds the message calm): the fewest pooled false alarms that lose no urgent message, even at twice the
probe level. Vectors come from bench/triage_vectors.py (cached in instance/).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpdesk.safeguarding import semantic  # noqa: E402
from helpdesk.safeguarding.evaluation import LANGUAGES, Share, evaluate, load_rows  # noqa: E402
from bench.triage_exemplars import OWN_SETS  # noqa: E402
from helpdesk.safeguarding.triage import (CALM_MEANING_BELOW, CATEGORIES, WEAK_RULE_BELOW, combine,  # noqa: E402
                                          triage)


def dev_path() -> Path:
    for base in (ROOT.parent, ROOT.parent.parent):
        path = base / "shared" / "eval" / "safeguarding-dev" / "messages.jsonl"
        if path.exists():
            return path
    return ROOT.parent / "shared" / "eval" / "safeguarding-dev" / "messages.jsonl"


ALL_SETS = [("safeguarding-dev", dev_path())] + [(p.stem, p) for p in OWN_SETS]
# The service's target for false alarms on calm messages: --grid picks only among settings within it.
FALSE_ALARM_BUDGET = 0.03


def always_in() -> tuple[list[str], list[bool], list]:
    """Exemplars in every fold: bench/triage_exemplars.py decides what they are."""
    from bench.triage_exemplars import fixed_exemplars

    rows = fixed_exemplars()
    return [r["text"] for r in rows], [bool(r["urgent"]) for r in rows], [r.get("category") for r in rows]


@dataclass
class Fold:
    """One held-out set, and what the probe is fitted on without it."""
    name: str
    rows: list[dict]
    queries: np.ndarray        # the held-out messages' vectors
    query_parts: list          # and their parts' (bench/triage_vectors.part_vectors)
    vectors: np.ndarray        # the exemplars': every other own set and the always-in exemplars
    parts: list
    urgent: np.ndarray
    categories: list

    def fitted(self, **kwargs) -> semantic.SemanticTriage:
        return semantic.SemanticTriage.fitted(self.vectors, self.parts, self.urgent, self.categories, **kwargs)


def folds():
    """One Fold per held-out set."""
    from bench.triage_vectors import part_vectors, vectors

    sets = [(name, load_rows(path)) for name, path in ALL_SETS if path.exists()]
    fixed_texts, fixed_urgent, fixed_categories = always_in()
    fixed_vectors, fixed_parts = vectors(fixed_texts), part_vectors(fixed_texts)
    embedded = {name: vectors([r["text"] for r in rows]) for name, rows in sets}
    split = {name: part_vectors([r["text"] for r in rows]) for name, rows in sets}
    for name, rows in sets:
        train = [n for n, _ in sets if n != name and n != "safeguarding-dev"]
        yield Fold(name, rows, embedded[name], split[name],
                   np.vstack([fixed_vectors] + [embedded[n] for n in train]),
                   fixed_parts + [part for n in train for part in split[n]],
                   np.array(fixed_urgent + [bool(x["urgent"]) for n, r in sets if n in train for x in r]),
                   fixed_categories + [x.get("category") for n, r in sets if n in train for x in r])


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
    for fold in data:
        name, rows = fold.name, fold.rows
        model = fold.fitted(l2=args.l2, threshold=args.threshold)
        lexical = [triage(r["text"]) for r in rows]
        sem = model.assess_vectors(fold.queries, fold.query_parts)
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


def service_flags(lexical, scores, threshold, weak=WEAK_RULE_BELOW, calm=CALM_MEANING_BELOW) -> np.ndarray:
    """What helpdesk.safeguarding.triage.combine decides, on arrays: a rule flag stands unless it is weak and
    the probe finds the message calm; the probe adds flags where the rules read no make-believe."""
    rules = np.array([t.urgent for t in lexical])
    weak_rule = np.array([t.score < weak for t in lexical])
    pretend = np.array([t.pretend for t in lexical])
    return (rules & ~(weak_rule & (scores < calm))) | ((scores >= threshold) & ~pretend)


def veto_grid(data, lexical) -> None:
    """WEAK_RULE_BELOW and CALM_MEANING_BELOW at the module's L2 and THRESHOLD: the strongest veto of weak rule
    flags (fewest pooled false alarms) that loses no urgent message pooled even at twice its probe level (a
    disclosure the probe scores at 0.2 must not be one step from being dropped)."""
    scored = [(fold.name, np.array([bool(r["urgent"]) for r in fold.rows]),
               fold.fitted().scores(fold.queries, fold.query_parts)) for fold in data]
    # Weak stops below 0.9: the rules of weight 0.9 say it all by themselves (self-harm, stalking), and the
    # probe is near 0 on some short, blunt disclosures of that kind ("mera roz peecha hota hai" 0.02, "dil
    # karta hai zeher kha lun" 0.10): a veto reaching them would lose no message here only by luck. The
    # probe's low scores are not reliable on their own either: a child sent to work, told in the middle of
    # a question about results, scored 0.22.
    weaks = (0.0, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85)
    calms = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
    table = {}

    def figures(weak, calm):
        totals = np.zeros(4)
        for name, y, scores in scored:
            flags = service_flags(lexical[name], scores, semantic.THRESHOLD, weak, calm)
            totals += (flags[y].sum(), y.sum(), flags[~y].sum(), (~y).sum())
        return totals[0] / totals[1], totals[2] / totals[3]

    print("\nweak rule below   probe calm below   rules + probe (recall / false alarms, pooled)")
    for weak in weaks:
        for calm in calms:
            table[weak, calm] = figures(weak, calm)
            print(f"{weak:<17} {calm:<18} {table[weak, calm][0]:.3f} / {table[weak, calm][1]:.3f}")
    recall = table[0.0, calms[0]][0]   # weak below 0: no veto at all
    candidates = [(w, c) for w in weaks for c in calms
                  if table[w, c][0] >= recall and figures(w, 2 * c)[0] >= recall]
    best = min(candidates, key=lambda key: (round(table[key][1], 6), -key[0], -key[1]))
    print(f"best veto: weak rule below {best[0]}, probe calm below {best[1]} (recall {table[best][0]:.3f}, "
          f"false alarms {table[best][1]:.3f}; no veto {recall:.3f} / {table[0.0, calms[0]][1]:.3f})")


def grid(data) -> None:
    """The probe's L2 and threshold, chosen by what the service does: rules and probe combined (the probe adds
    flags the rules missed, never where they read make-believe), pooled over the held-out sets."""
    lexical = {fold.name: [triage(r["text"]) for r in fold.rows] for fold in data}
    thresholds = [float(t) for t in np.round(np.arange(0.7, 0.91, 0.025), 3)]
    print("L2   threshold   probe alone            rules + probe   (recall / false alarms, pooled)")
    table, probe_false = {}, {}
    for l2 in (0.5, 1.0, 2.0, 3.0, 5.0):
        models = [(fold, fold.fitted(l2=l2).scores(fold.queries, fold.query_parts)) for fold in data]
        for threshold in thresholds:
            alone, both = np.zeros(4), np.zeros(4)
            for fold, scores in models:
                flagged = scores >= threshold
                y = np.array([bool(r["urgent"]) for r in fold.rows])
                combined = service_flags(lexical[fold.name], scores, threshold)
                alone += (flagged[y].sum(), y.sum(), flagged[~y].sum(), (~y).sum())
                both += (combined[y].sum(), y.sum(), combined[~y].sum(), (~y).sum())
            table[l2, threshold] = (both[0] / both[1], both[2] / both[3])
            probe_false[l2, threshold] = alone[2] / alone[3]
            print(f"{l2:<4} {threshold:<10}  {alone[0] / alone[1]:.3f} / {alone[2] / alone[3]:.3f}"
                  f"          {both[0] / both[1]:.3f} / {both[2] / both[3]:.3f}")
    # A setting counts for the worst recall of itself and its two neighbouring thresholds at that L2: a
    # choice at the edge of a cliff would not hold on new wording. (Asking for an exact plateau instead, a
    # single message in two thousand decided it once heldout8 joined.)
    def robust_recall(key):
        l2, threshold = key
        i = thresholds.index(threshold)
        if not 0 < i < len(thresholds) - 1:
            return -1.0
        return min(table[l2, thresholds[j]][0] for j in (i - 1, i, i + 1))
    # Only settings whose probe, alone, stays within the false-alarm budget compete: the threshold decides
    # the probe's false alarms, not the rules' (most of the pooled false alarms once heldout9 joined). Held to
    # the combined figure, the budget pushed the threshold to 0.85, where "I gave away all my things and wrote
    # goodbye letters to my family" scored 0.53, and cut pooled recall without removing one rule flag.
    candidates = [key for key in table if probe_false[key] <= FALSE_ALARM_BUDGET] or list(table)
    best = max(candidates, key=lambda key: (round(robust_recall(key), 6), -round(table[key][1], 6), key[0]))
    print(f"best: L2 {best[0]}, threshold {best[1]} (rules + probe: recall {table[best][0]:.3f}, "
          f"false alarms {table[best][1]:.3f})")
    veto_grid(data, lexical)


if __name__ == "__main__":
    main()
