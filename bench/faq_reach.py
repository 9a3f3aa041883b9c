"""How well the shipped matcher reaches the round-2 FAQs from Roman Urdu and Urdu-script questions, and
whether adding them cost the older FAQs their matches.

    python bench/faq_reach.py [--queries tests/fixtures/faq_round2_queries.tsv] [--without FILE ...]

Part 1 reads the question list of tests/fixtures/faq_round2_queries.tsv (every row, the known misses too)
and prints, per set and per script: answered with the right FAQ, right FAQ ranked first, answered with
another FAQ (a false answer).  Set 1 was tuned on once, set 2 was not.

Part 2 ("steal check", leave one question out): for the FAQs of the knowledge base WITHOUT the files
named by --without (default: the round-2 files), each question slot in turn is taken out of every FAQ
and matched against the rest; it runs once without and once with the round-2 files, so the drop in
accuracy is what the new FAQs took from the old ones.  Needs no evaluation data.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base.loader import load_directory  # noqa: E402
from knowledge_base.matcher import Matcher  # noqa: E402

ROUND2_FILES = ("curriculum-exams.yaml", "safeguarding.yaml", "school-community.yaml", "career-pay.yaml",
                "islamiyat-social-studies.yaml", "science-practicals.yaml", "early-years.yaml")
FAQ_DIR = ROOT / "knowledge_base" / "faqs"


def _rows(path: Path):
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            expected, query, set_no, _ = line.split("\t")
            yield expected, query, set_no


def reach(matcher: Matcher, path: Path) -> None:
    tally = defaultdict(lambda: [0, 0, 0, 0])  # n, answered right, ranked first, false answer
    for expected, query, set_no in _rows(path):
        r = matcher.match(query)
        script = "ur" if any("\u0600" <= ch <= "\u06ff" for ch in query) else "roman-ur"
        for key in (f"set {set_no}", f"set {set_no} {script}", "all"):
            t = tally[key]
            t[0] += 1
            t[1] += r.faq_id == expected
            t[2] += bool(r.candidates) and r.candidates[0].faq_id == expected
            t[3] += r.decision == "answer" and r.faq_id != expected
    print(f"{'questions':22}{'n':>5}{'answered':>10}{'ranked 1st':>12}{'false ans':>11}")
    for key in sorted(tally):
        n, ok, first, wrong = tally[key]
        print(f"{key:22}{n:>5}{ok / n:>10.3f}{first / n:>12.3f}{wrong / n:>11.3f}")


def leave_one_out(old, extra) -> tuple[int, int, int]:
    """(questions, answered with their own FAQ, answered with one of `extra`).  Question slot j of every
    older FAQ is taken out at once and matched against the rest: one matcher per slot instead of one
    per question (a build over ~190 FAQs takes seconds, ~600 of them would take an hour)."""
    n = ok = stolen = 0
    extra_ids = {e.id for e in extra}
    for j in range(max(len(e.questions) for e in old)):
        held = {e.id: e.questions[j] for e in old if len(e.questions) > max(j, 1)}
        kept = [replace(e, questions=e.questions[:j] + e.questions[j + 1:]) if e.id in held else e for e in old]
        matcher = Matcher([*kept, *extra])
        for faq_id, question in held.items():
            r = matcher.match(question)
            n += 1
            ok += r.faq_id == faq_id
            stolen += r.faq_id in extra_ids
    return n, ok, stolen


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", default=str(ROOT / "tests" / "fixtures" / "faq_round2_queries.tsv"))
    ap.add_argument("--without", nargs="*", default=list(ROUND2_FILES))
    ap.add_argument("--skip-steal", action="store_true", help="part 1 only (part 2 builds ~10 matchers)")
    args = ap.parse_args()
    entries = load_directory(FAQ_DIR)
    print(f"Part 1: round-2 questions against the shipped KB ({len(entries)} FAQs)")
    reach(Matcher(entries), Path(args.queries))
    if args.skip_steal:
        return
    new = [e for e in entries if Path(e.source).name in set(args.without)]
    old = [e for e in entries if Path(e.source).name not in set(args.without)]
    print(f"\nPart 2: leave one question out over the {len(old)} older FAQs, without / with {len(new)} new ones")
    for label, extra in (("without", []), ("with", new)):
        n, ok, stolen = leave_one_out(old, extra)
        print(f"  {label:8} {n} questions: answered with own FAQ {ok / n:.3f}, with a new FAQ {stolen / n:.3f}")


if __name__ == "__main__":
    main()
