"""The review trail for lessons: every shipped lesson records who reviewed it and when, the loader names a bad
record's file, lesson and field, and `helpdesk kb check` lists lessons awaiting review."""
from __future__ import annotations

import datetime as dt

import pytest
import yaml
from click.testing import CliRunner

from helpdesk.cli import main
from knowledge_base.lessons import LessonError, load_lessons
from tests.cpd.test_lessons import lesson

DRAFT = "Helpdesk content team (draft review)"


def write(tmp_path, *entries, name="own.yaml"):
    # Dates written unquoted, as an editor types them: safe_dump would quote '2026-12-02' and hide the case
    # where YAML itself reads the value as a date.
    text = yaml.safe_dump({"lessons": list(entries)}, allow_unicode=True, sort_keys=False)
    for date in ("2026-12-02", "2026-13-01"):
        text = text.replace(f"'{date}'", date)
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_every_shipped_lesson_has_a_review_record():
    lessons = load_lessons(strict=True)
    assert len(lessons) >= 48
    missing = [lesson.id for lesson in lessons if not lesson.reviewed_by or lesson.reviewed_on is None]
    assert missing == []
    assert {lesson.review_status for lesson in lessons} <= {"draft", "reviewed"}


def test_a_full_and_a_draft_review_and_none(tmp_path):
    write(tmp_path,
          lesson(id="full", reviewed_by="Maths teacher trainer, Lahore", reviewed_on="2026-12-02"),
          lesson(id="draft", reviewed_by=DRAFT, reviewed_on="2026-12-02"),
          lesson(id="none"))
    full, draft, none = load_lessons(tmp_path)
    assert (full.reviewed_by, full.reviewed_on, full.review_status) == (
        "Maths teacher trainer, Lahore", dt.date(2026, 12, 2), "reviewed")
    assert draft.review_status == "draft"
    assert (none.reviewed_by, none.reviewed_on, none.review_status) == (None, None, "unreviewed")


def test_strict_loading_requires_the_record_and_names_file_lesson_and_field(tmp_path):
    write(tmp_path, lesson(id="none"))
    with pytest.raises(LessonError) as err:
        load_lessons(tmp_path, strict=True)
    assert (err.value.file.endswith("own.yaml"), err.value.entry, err.value.field) == (True, "none", "reviewed_by")
    assert "own.yaml: lesson 'none' (#1): field 'reviewed_by': missing" in str(err.value)


@pytest.mark.parametrize("review, field, words", [
    ({"reviewed_by": DRAFT, "reviewed_on": "2026-13-01"}, "reviewed_on", "not an ISO date"),
    ({"reviewed_by": DRAFT, "reviewed_on": "02/12/2026"}, "reviewed_on", "not an ISO date"),
    ({"reviewed_by": DRAFT, "reviewed_on": 20261202}, "reviewed_on", "must be an ISO date"),
    ({"reviewed_by": DRAFT}, "reviewed_on", "missing"),
    ({"reviewed_by": "  ", "reviewed_on": "2026-12-02"}, "reviewed_by", "must be text"),
    ({"reviewed_by": 7, "reviewed_on": "2026-12-02"}, "reviewed_by", "must be text"),
    ({"reviewed_on": "2026-12-02"}, "reviewed_by", "missing"),
])
def test_a_bad_review_record_names_file_lesson_and_field(tmp_path, review, field, words):
    write(tmp_path, lesson(id="first", reviewed_by=DRAFT, reviewed_on="2026-12-02"), lesson(id="bad", **review))
    with pytest.raises(LessonError) as err:
        load_lessons(tmp_path)  # a programme's own lessons may leave the record out, but not get it wrong
    assert (err.value.entry, err.value.number, err.value.field) == ("bad", 2, field)
    assert f"own.yaml: lesson 'bad' (#2): field '{field}'" in str(err.value)
    assert words in str(err.value)


def test_kb_check_lists_unreviewed_and_draft_lessons_from_a_directory(tmp_path):
    write(tmp_path,
          lesson(id="full", reviewed_by="Maths teacher trainer, Lahore", reviewed_on="2026-12-02"),
          lesson(id="draft", reviewed_by=DRAFT, reviewed_on="2026-12-02"),
          lesson(id="none"))
    result = CliRunner().invoke(main, ["kb", "check", "tests/fixtures/kb", "--lessons", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    report = lines[lines.index("3 lessons OK"):]
    assert report == ["3 lessons OK", "1 lessons with no review record:", "  none (own.yaml)",
                      "1 lessons with a draft review only:", "  draft (own.yaml)"]
    strict = CliRunner().invoke(main, ["kb", "check", "--strict", "--lessons", str(tmp_path)])
    assert strict.exit_code == 2 and "lesson 'none' (#3): field 'reviewed_by': missing" in strict.output


def test_kb_check_reports_every_shipped_lesson_as_draft_reviewed():
    result = CliRunner().invoke(main, ["kb", "check", "--strict"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    count = len(load_lessons())
    assert f"{count} lessons OK" in lines and "lessons with no review record:" not in result.output
    assert f"{count} lessons with a draft review only:" in lines
