"""Benchmark the FAQ matcher.

Headline: CROSS-SET figures.  The confidence weights and the general thresholds are fitted on one
development set; the other set's knowledge base then calibrates its own thresholds (self-calibration,
no labelled queries) and its queries are decided once.  Both directions: faq-dev -> faq-dev2 and
faq-dev2 -> faq-dev.  Then learning from expert answers on a shuffled stream (second half, with and
without learning), held-out folds within one set (secondary), latency and memory at 1,000 / 10,000 FAQs.

    python bench/matcher.py [--eval-root ../shared/eval] [--sizes 1000,10000] [--lexical] [--skip-held-out] [--learning-seeds 0,1,2]

Reads ../shared/eval/faq-dev and faq-dev2 when present (they are not shipped).
"""
from __future__ import annotations

import argparse
import math
import random
import resource
import statistics
import sys
import time
import tempfile
from collections import Counter
from typing import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process  # noqa: E402

from knowledge_base.calibrate import (COLS, blend, breakdown, cross_validate, fit, fit_weights,  # noqa: E402
                                      format_row, header, load_queries, metrics, rescore_all, self_calibrate)
from knowledge_base.loader import FaqEntry, load_directory  # noqa: E402
from knowledge_base.matcher import Candidate, Ranking, decide, rescore  # noqa: E402


def _timed(fn, items) -> tuple[list, list[float]]:
    out, ms = [], []
    for x in items:
        t = time.perf_counter()
        out.append(fn(x))
        ms.append((time.perf_counter() - t) * 1000)
    return out, ms


def _pct(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=20)
    return f"p50 {statistics.median(ms):.2f} ms, p95 {q[18]:.2f} ms"


# --------------------------------------------------------------------------- baselines

def wratio_ranker(entries: list[FaqEntry]):
    """Plain rapidfuzz WRatio over the listed questions (best question per FAQ)."""
    choices = [(e.id, q) for e in entries for q in e.questions]
    texts = [q for _, q in choices]

    def rank(text: str) -> Ranking:
        best: dict[str, float] = {}
        for _, s, i in process.extract(text, texts, scorer=fuzz.WRatio, limit=20):
            best.setdefault(choices[i][0], s / 100)
        cands = tuple(Candidate(k, v) for k, v in sorted(best.items(), key=lambda x: -x[1])[:3])
        return Ranking(text, bool(text.strip()), cands, False)
    return rank


def tfidf_ranker(entries: list[FaqEntry]):
    """TF-IDF cosine over character 3-5-grams of the questions (plain Python)."""
    def grams(t: str) -> Counter:
        t = f" {' '.join(t.lower().split())} "
        return Counter(t[i:i + n] for n in (3, 4, 5) for i in range(len(t) - n + 1))
    docs = [grams(" ".join(e.questions)) for e in entries]
    df = Counter(g for d in docs for g in d)
    idf = {g: math.log((1 + len(docs)) / (1 + c)) + 1 for g, c in df.items()}

    def vec(c: Counter) -> dict:
        v = {g: (1 + math.log(n)) * idf.get(g, 0.0) for g, n in c.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {g: x / norm for g, x in v.items()}
    vecs = [vec(d) for d in docs]

    def rank(text: str) -> Ranking:
        q = vec(grams(text))
        scores = sorted(((sum(w * v.get(g, 0.0) for g, w in q.items()), e.id) for v, e in zip(vecs, entries)), reverse=True)
        return Ranking(text, bool(text.strip()), tuple(Candidate(i, s) for s, i in scores[:3]), False)
    return rank


# --------------------------------------------------------------------------- accuracy

def _build(lexical: bool):
    from knowledge_base.semantic import MatcherBuilder, load_embedder
    cache = Path(tempfile.gettempdir()) / "teacher-helpdesk-bench-cache"
    return MatcherBuilder(None if lexical else load_embedder(), cache)


def _near_miss(rows, results) -> float:
    pairs = [(row, r) for row, r in zip(rows, results) if row.get("kind") == "near-miss"]
    return sum(r.decision != "answer" for _, r in pairs) / max(len(pairs), 1)


def _line(label: str, rows, results) -> str:
    m = metrics(rows, results)
    return format_row(label, m) + f"{_near_miss(rows, results):>10.3f}"


def cross_set_section(sets: dict, build) -> None:
    print(f"CROSS-SET ({build.mode} signal): weights + general thresholds fitted on the first set, "
          "thresholds self-calibrated on the second set's knowledge base, measured on its queries\n")
    print(header("fit -> measured (thresholds)") + f"{'near-miss':>10}")
    for a, b in ((names[0], names[1]), (names[1], names[0])) if len(names := list(sets)) == 2 else ():
        (_, rows_a, rank_a), (entries_b, rows_b, rank_b) = sets[a][:3], sets[b][:3]
        weights = fit_weights(rank_a, rows_a)
        general, _ = fit(rescore_all(rank_a, weights), rows_a)
        own, _, _, _ = self_calibrate(entries_b, build, weights)
        scored = rescore_all(rank_b, weights)
        used = blend(general, own)
        for label, th in (("general", general), ("self-calibrated", own), ("mean (service)", used)):
            results = [decide(r, th) for r in scored]
            print(_line(f"{a}->{b} {label} {th.answer:.2f}/{th.margin:.2f}", rows_b, results))
        results = [decide(r, used) for r in scored]
        for key in ("lang", "kind"):
            print(f"    {a}->{b} accuracy by {key}: " +
                  ", ".join(f"{g} {v:.2f}" for g, v in breakdown(rows_b, results, key).items()))
        sets[b] = (entries_b, rows_b, rank_b, weights, used)
    print(f"\ncolumns: {', '.join(COLS)}, near-miss (share of near-miss questions not answered); "
          "rescued = resolved by the teacher's pick (a clarify listing the right FAQ), apart from direct answers\n")


def learning_section(sets: dict, build, seeds: Sequence[int] = (0,)) -> None:
    """A shuffled stream; after each line an expert 'links' the right FAQ when the matcher got it wrong.
    Several ``seeds``: one stream each, and the mean change (one stream's figure moves by ~0.02)."""
    from knowledge_base.learning import learn
    print(f"LEARNING from expert answers (shuffled stream, seed {', '.join(map(str, seeds))}; "
          "weights/thresholds as cross-set above)")
    for name, value in sets.items():
        if len(value) < 5:
            continue
        entries, rows, _, weights, th = value
        deltas, false_deltas = [], []
        for seed in seeds:
            order = list(range(len(rows)))
            random.Random(seed).shuffle(order)
            stream = [rows[i] for i in order]
            half = len(stream) // 2
            learning = build(entries, thresholds=th)
            learning.weights = weights
            # Without learning the matcher never changes: its decisions are the cross-set rankings'.
            static_all = [decide(rescore(value[2][i], weights), th) for i in order]
            got_static, got_learn = static_all[half:], []
            t = time.perf_counter()
            for k, row in enumerate(stream):
                r_learn = learning.match(row["query"])
                if k >= half:
                    got_learn.append(r_learn)
                if row["expected"] is not None and not (r_learn.decision == "answer" and r_learn.faq_id == row["expected"]):
                    learning = learn(learning, row["expected"], row["query"], build)
                    learning.weights = weights
            second = stream[half:]
            ms, ml = metrics(second, got_static), metrics(second, got_learn)
            deltas.append(ml["accuracy"] - ms["accuracy"])
            false_deltas.append(ml["false_answer"] - ms["false_answer"])
            print(f"  {name}{f' seed {seed}' if len(seeds) > 1 else ''}: second half accuracy static "
                  f"{ms['accuracy']:.3f} -> learning {ml['accuracy']:.3f} "
                  f"({ml['accuracy'] - ms['accuracy']:+.3f}); false answers on must-escalate "
                  f"{ms['false_answer']:.3f} -> {ml['false_answer']:.3f}; answered precision "
                  f"{ms['precision']:.3f} -> {ml['precision']:.3f}  ({time.perf_counter() - t:.0f} s)")
        if len(seeds) > 1:
            print(f"  {name} mean over {len(seeds)} streams: accuracy {statistics.mean(deltas):+.3f} "
                  f"(min {min(deltas):+.3f}), false answers on must-escalate {statistics.mean(false_deltas):+.3f}")
    print()


def held_out_section(name: str, entries, rows, rankings) -> None:
    """Secondary: 5 folds by FAQ within one set (weights and thresholds refitted inside every fold)."""
    cv = cross_validate(rankings, rows)
    print(_line(f"{name} held-out (5 folds by FAQ)", rows, cv.results))
    for key in ("lang", "kind"):
        print(f"    {name} held-out accuracy by {key}: " +
              ", ".join(f"{g} {v:.2f}" for g, v in breakdown(rows, cv.results, key).items()))


def accuracy_section(eval_root: Path, build, held_out: bool = True, seeds: Sequence[int] = (0,)) -> list[str]:
    sets, latencies = {}, []
    for name in ("faq-dev", "faq-dev2"):
        d = eval_root / name
        if not (d / "queries.jsonl").exists():
            print(f"{d} not found: skipped")
            continue
        entries, rows = load_directory(d / "kb"), load_queries(d / "queries.jsonl")
        matcher = build(entries)
        rankings, ms = _timed(matcher.rank, [r["query"] for r in rows])
        latencies += ms
        sets[name] = (entries, rows, rankings)
        print(f"{name}: {len(entries)} FAQs, {len(rows)} queries, ranked one at a time: {_pct(ms)}")
    print()
    if len(sets) == 2:
        cross_set_section(sets, build)
        learning_section(sets, build, seeds)
    if held_out:
        print("HELD OUT within one set (secondary)\n" + header("set") + f"{'near-miss':>10}")
        for name, value in sets.items():
            held_out_section(name, *value[:3])
        print()
    return [r["query"] for v in sets.values() for r in v[1]][:200]


# --------------------------------------------------------------------------- scale

SUBJECTS = ["maths", "science", "english", "urdu", "social studies", "computer", "islamiyat", "art"]
TOPICS = ["noisy students", "late arrival", "homework not done", "reading speed", "group work", "exam cheating",
          "lesson plan", "learning objectives", "parents meeting", "weak students", "bullying", "mobile phones",
          "online class", "low-cost models", "experiments", "times tables", "spoken English", "feedback on notebooks",
          "teacher stress", "voice care", "multigrade class", "peer tutoring", "rubrics", "classroom rules"]
VERBS = ["manage", "improve", "plan", "assess", "organise", "explain", "teach", "support", "check", "start"]
EXTRA = ["in a village school", "with no lab", "for grade {g}", "in a large class", "with few resources",
         "during exams", "at the start of the year", "in a girls school", "with WhatsApp", "without internet"]
ROMAN = ["bachay", "sabaq", "imtihan", "kaise karun", "kitab", "shor", "parhana", "likhna", "tareeqa", "jamaat"]
UR = ["بچوں", "سبق", "امتحان", "کتاب", "طریقہ", "استاد", "والدین", "کلاس", "شور", "سوال"]


def synthetic_kb(n: int, seed: int = 7) -> list[FaqEntry]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        s, t, v = rnd.choice(SUBJECTS), rnd.choice(TOPICS), rnd.choice(VERBS)
        x = rnd.choice(EXTRA).format(g=rnd.randint(1, 10))
        qs = (f"How do I {v} {t} in {s} {x}?", f"{t} {s} tips {rnd.randint(1, 9999)}",
              f"{rnd.choice(ROMAN)} {t} {rnd.choice(ROMAN)} kaise")
        en = " ".join(f"{rnd.choice(VERBS)} the {rnd.choice(TOPICS)} {rnd.choice(EXTRA).format(g=3)}." for _ in range(4))
        ur = " ".join(rnd.choice(UR) for _ in range(25))
        out.append(FaqEntry(id=f"syn-{i}", topic="synthetic", questions=qs, answer={"en": en, "ur": ur},
                            keywords=(s, t.split()[0])))
    return out


def scale_section(sizes: list[int], queries: list[str], build) -> None:
    print(f"Scale (synthetic knowledge bases, one thread; {build.mode} signal)")
    for n in sizes:
        entries = synthetic_kb(n)
        t = time.perf_counter()
        matcher = build(entries)
        took = time.perf_counter() - t
        _, ms = _timed(matcher.match, queries)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  {n:>6} FAQs: build {took:.1f} s (embeddings cached on disk after the first), "
              f"{_pct(ms)} over {len(queries)} queries, RSS now {_rss_now():.0f} MB, process peak so far {rss:.0f} MB")


def _rss_now() -> float:
    """Resident memory now (MB): what a worker holds after the build, not the embedding peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _timing_queries(eval_root: Path, limit: int = 200) -> list[str]:
    """Real teacher wording for the latency runs (the first queries of the development sets), if present."""
    out = []
    for name in ("faq-dev", "faq-dev2"):
        path = eval_root / name / "queries.jsonl"
        if path.exists():
            out += [r["query"] for r in load_queries(path)]
    return out[:limit]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-root", default=str(ROOT.parent / "shared" / "eval"))
    ap.add_argument("--sizes", default="1000")
    ap.add_argument("--lexical", action="store_true", help="the lexical signal alone (no embedding model)")
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--learning-seeds", default="0", help="streams of the learning section (comma-separated seeds)")
    ap.add_argument("--skip-held-out", action="store_true", help="leave out the held-out folds (secondary, slow)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)   # progress shows while the long sections run
    build = _build(args.lexical)
    queries = ["bachay class mein bohat shor karte hain", "how do I teach fractions with no lab", "plz hw 2 check copies fast",
               "سبق کی منصوبہ بندی کیسے کریں", "weather tomorrow", "online class without internet for grade 5"]
    if not args.skip_accuracy:
        queries = accuracy_section(Path(args.eval_root), build, not args.skip_held_out,
                                   [int(x) for x in args.learning_seeds.split(",") if x]) or queries
    else:
        queries = _timing_queries(Path(args.eval_root)) or queries
    scale_section([int(s) for s in args.sizes.split(",") if s], queries, build)


if __name__ == "__main__":
    main()
