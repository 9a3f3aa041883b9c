"""The `helpdesk` command: knowledge-base spreadsheet round trip, outbox listing, users, db upgrade."""
from __future__ import annotations

import json

from click.testing import CliRunner

from helpdesk.cli import main
from knowledge_base.loader import load_directory

TEST_KB = "tests/fixtures/kb"


def test_a_knowledge_base_survives_a_spreadsheet_round_trip(tmp_path):
    runner = CliRunner()
    exported = runner.invoke(main, ["kb", "export", TEST_KB, "--format", "csv"])
    assert exported.exit_code == 0, exported.output
    sheet = tmp_path / "faqs.csv"
    sheet.write_text(exported.output, encoding="utf-8")
    out_dir = tmp_path / "kb"
    out_dir.mkdir()
    imported = runner.invoke(main, ["kb", "import-csv", str(sheet), "--out", str(out_dir / "faqs.yaml")])
    assert imported.exit_code == 0, imported.output
    before, after = load_directory(TEST_KB), load_directory(out_dir)
    assert [(e.id, e.questions, dict(e.answer)) for e in before] == [(e.id, e.questions, dict(e.answer)) for e in after]


def test_a_bad_spreadsheet_row_is_named_and_nothing_is_written(tmp_path):
    sheet = tmp_path / "bad.csv"
    sheet.write_text("id,topic,questions,answer_en\nok-one,numeracy,How?,Like this.\nbroken,numeracy,,\n")
    result = CliRunner().invoke(main, ["kb", "import-csv", str(sheet), "--out", str(tmp_path / "out.yaml")])
    assert result.exit_code == 2
    assert "bad.csv" in result.output and "broken" in result.output
    assert not (tmp_path / "out.yaml").exists()


def test_kb_check_lists_unreviewed_entries_and_strict_names_what_is_missing(tmp_path):
    entry = "  - id: {}\n    topic: numeracy\n    questions: ['{}']\n    answer: Like this.\n"
    review = "    reviewed_by: {}\n    reviewed_on: 2026-11-30\n"
    (tmp_path / "own.yaml").write_text(
        "faqs:\n" + entry.format("reviewed-one", "How?") + review.format("Maths teacher trainer")
        + entry.format("draft-one", "Why?") + review.format("Content team (draft review)")
        + entry.format("new-one", "When?"), encoding="utf-8")
    result = CliRunner().invoke(main, ["kb", "check", str(tmp_path)])
    assert result.exit_code == 0
    # The FAQ report comes first; the shipped lessons' report follows it (tested in test_lesson_review.py).
    assert result.output.splitlines()[:5] == ["3 FAQs OK", "1 no review record:", "  new-one (own.yaml)",
                                          "1 draft review only:", "  draft-one (own.yaml)"]
    strict = CliRunner().invoke(main, ["kb", "check", "--strict", str(tmp_path)])
    assert strict.exit_code == 2 and "entry 'reviewed-one' (#1): field 'answer.ur': missing" in strict.output


def test_kb_check_reports_the_shipped_knowledge_base():
    result = CliRunner().invoke(main, ["kb", "check"])
    assert result.exit_code == 0 and result.output.splitlines()[0].endswith("FAQs OK")


def test_db_upgrade_users_and_outbox_work_on_a_fresh_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    created = runner.invoke(main, ["users", "create", "--email", "Lead@Example.org", "--role", "lead"])
    assert created.exit_code == 0 and "lead@example.org" in created.output
    again = runner.invoke(main, ["users", "create", "--email", "lead@example.org", "--role", "lead"])
    assert again.exit_code != 0

    from helpdesk.db import Database
    from helpdesk.models import OutboundMessage
    from helpdesk.settings import Settings

    database = Database(Settings.from_env().database_url)
    with database.session_scope() as session:
        session.add(OutboundMessage(to_address="+923001234567", channel="sms", body="سلام", kind="notice",
                                    status="sent"))
    lines = runner.invoke(main, ["outbox", "--json"]).output.strip().splitlines()
    row = json.loads(lines[-1])
    assert (row["to"], row["body"], row["status"]) == ("+923001234567", "سلام", "sent")
    assert set(row) >= {"to", "body", "status", "created_at"}
