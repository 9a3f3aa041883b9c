"""Click commands the main ``helpdesk`` CLI adds: ``match`` and ``calibrate``.

    helpdesk match [--kb DIR]                       stdin questions -> JSON lines
    helpdesk match --kb DIR --eval QUERIES.jsonl    accuracy figures for a labelled file
    helpdesk calibrate --kb DIR --queries FILE      cross-validated trade-off + fitted thresholds
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .loader import KnowledgeBaseError, load_directory
from .matcher import Matcher, MatchResult

SHIPPED_FAQ_DIR = Path(__file__).parent / "faqs"


def _load_matcher(kb: str | None) -> Matcher:
    try:
        return Matcher(load_directory(kb or SHIPPED_FAQ_DIR))
    except KnowledgeBaseError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def result_json(r: MatchResult) -> dict:
    return {"query": r.query, "decision": r.decision,
            "faq_id": r.faq_id if r.decision == "answer" else None,
            "candidates": [c.faq_id for c in r.candidates], "score": round(float(r.score), 4)}


def _print_eval(matcher: Matcher, path: str) -> None:
    from .calibrate import COLS, breakdown, format_row, header, load_queries, metrics
    rows = load_queries(path)
    results = [matcher.match(r["query"]) for r in rows]
    click.echo(header("thresholds " + "/".join(f"{v:.2f}" for v in
                                                 (matcher.thresholds.answer, matcher.thresholds.margin,
                                                  matcher.thresholds.clarify))))
    click.echo(format_row(f"all (n={len(rows)})", metrics(rows, results)))
    for key in ("lang", "kind"):
        for group in breakdown(rows, results, key):
            sub = [(row, r) for row, r in zip(rows, results) if str(row.get(key)) == group]
            m = metrics([s[0] for s in sub], [s[1] for s in sub])
            click.echo(format_row(f"{key}={group} (n={len(sub)})", m))
    click.echo(f"columns: {', '.join(COLS)} (clarify counts as not correct; rescued = clarify listing the right FAQ)")


@click.command("match")
@click.option("--kb", type=click.Path(file_okay=False), default=None,
              help="Knowledge-base directory (default: the shipped knowledge_base/faqs).")
@click.option("--eval", "eval_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Labelled JSONL (query, expected, lang, kind): print accuracy figures instead.")
def match_command(kb: str | None, eval_path: str | None) -> None:
    """Match questions (one per line on stdin) to FAQs; one JSON object per line out."""
    matcher = _load_matcher(kb)
    if eval_path:
        _print_eval(matcher, eval_path)
        return
    for line in sys.stdin:
        text = line.rstrip("\n")
        click.echo(json.dumps(result_json(matcher.match(text)), ensure_ascii=False))
        sys.stdout.flush()


@click.command("calibrate")
@click.option("--kb", type=click.Path(file_okay=False), default=None,
              help="Knowledge-base directory (default: the shipped knowledge_base/faqs).")
@click.option("--queries", type=click.Path(exists=True, dir_okay=False), required=True,
              help="Labelled JSONL (query, expected, lang, kind).")
@click.option("--folds", default=5, show_default=True, help="Folds over FAQ ids for held-out figures.")
def calibrate_command(kb: str | None, queries: str, folds: int) -> None:
    """Fit answer/margin/clarify thresholds; print the held-out trade-off."""
    from .calibrate import load_queries, report
    matcher = _load_matcher(kb)
    text, _ = report(matcher, load_queries(queries), folds)
    click.echo(text)
