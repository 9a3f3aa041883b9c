"""Click commands the main ``helpdesk`` CLI adds: ``match`` and ``calibrate``.

    helpdesk match [--kb DIR]                       stdin questions -> JSON lines
    helpdesk match --kb DIR --eval QUERIES.jsonl    accuracy figures for a labelled file
    helpdesk match --kb DIR --learn                 JSON lines {query, expected} -> decision, then learn
    helpdesk calibrate --kb DIR                     self-calibration on the knowledge base alone
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


def _builder():
    from helpdesk.settings import Settings

    from .semantic import MatcherBuilder, load_embedder
    # The same on-disk cache as the service, so a CLI run after the first embeds nothing it has seen.
    settings = Settings.from_env()
    return MatcherBuilder(load_embedder() if settings.semantic_matching else None, settings.matcher_cache_dir)


def _load_entries(kb: str | None):
    try:
        return load_directory(kb or SHIPPED_FAQ_DIR)
    except KnowledgeBaseError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _load_matcher(kb: str | None, build=None) -> Matcher:
    """The matcher with this knowledge base's own thresholds (general prior + self-calibration)."""
    from .calibrate import kb_thresholds
    build = build or _builder()
    entries = _load_entries(kb)
    thresholds, _, _ = kb_thresholds(entries, build)
    return build(entries, thresholds=thresholds)


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
@click.option("--learn", is_flag=True,
              help="stdin: JSON lines {query, expected}; print each decision, then learn the query as a "
                   "phrasing of 'expected' when it was answerable and not answered right (in memory).")
def match_command(kb: str | None, eval_path: str | None, learn: bool) -> None:
    """Match questions (one per line on stdin) to FAQs; one JSON object per line out."""
    build = _builder()
    matcher = _load_matcher(kb, build)
    if eval_path:
        _print_eval(matcher, eval_path)
        return
    if learn:
        _learn_stream(matcher, build)
        return
    for line in sys.stdin:
        text = line.rstrip("\n")
        click.echo(json.dumps(result_json(matcher.match(text)), ensure_ascii=False))
        sys.stdout.flush()


def _learn_stream(matcher: Matcher, build) -> None:
    from .learning import learn
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            query, expected = row["query"], row.get("expected")
            if not isinstance(query, str) or not (expected is None or isinstance(expected, str)):
                raise ValueError("query must be text and expected an FAQ id or null")
        except (ValueError, KeyError, TypeError) as exc:
            click.echo(f"line {n}: needs a JSON object with 'query' and 'expected' ({exc})", err=True)
            continue
        result = matcher.match(query)
        click.echo(json.dumps(result_json(result), ensure_ascii=False))
        sys.stdout.flush()
        answered_right = result.decision == "answer" and result.faq_id == expected
        if expected is not None and not answered_right:
            if expected not in matcher.entries_by_id:
                click.echo(f"line {n}: no FAQ {expected!r} in this knowledge base; not learned", err=True)
                continue
            matcher = learn(matcher, expected, query, build)


@click.command("calibrate")
@click.option("--kb", type=click.Path(file_okay=False), default=None,
              help="Knowledge-base directory (default: the shipped knowledge_base/faqs).")
@click.option("--queries", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Labelled JSONL (query, expected, lang, kind); without it the knowledge base "
                   "calibrates itself from its own phrasings.")
@click.option("--folds", default=5, show_default=True, help="Folds over FAQ ids for held-out figures.")
def calibrate_command(kb: str | None, queries: str | None, folds: int) -> None:
    """Fit answer/margin/clarify thresholds; print them (and, with --queries, the held-out trade-off)."""
    from .calibrate import GENERAL_THRESHOLDS, kb_thresholds, load_queries, report
    build = _builder()
    entries = _load_entries(kb)
    if queries:
        text, _ = report(build(entries), load_queries(queries), folds)
        click.echo(text)
        return
    used, own, m = kb_thresholds(entries, build)
    general = GENERAL_THRESHOLDS[build.mode]
    click.echo(f"signal: {build.mode}; {len(entries)} FAQs; {m['n']} probes from the knowledge base's own "
               "phrasings (one left out per FAQ and fold, and every phrasing of the FAQs left out; each also "
               "in a teacher-like variant)")
    for label, th in (("self-calibrated", own), ("general prior", general), ("used (mean)", used)):
        click.echo(f"{label:<16} answer {th.answer:.3f}  margin {th.margin:.3f}  clarify {th.clarify:.3f}"
                   f" within {th.clarify_gap:.3f}")
    click.echo(f"on the probes: accuracy {m['accuracy']:.3f}, answered precision {m['precision']:.3f}, "
               f"false answers on left-out FAQs {m['false_answer']:.3f}")
