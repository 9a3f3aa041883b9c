import io
from pathlib import Path

import pytest

from knowledge_base.loader import (FaqEntry, KnowledgeBaseError, entries_from_dicts, export_csv,
                                   export_yaml, import_csv, load_directory)

FAQ_DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "faq-dev" / "kb"
GOOD = """faqs:
  - id: noisy-classroom
    topic: classroom-management
    questions:
      - How do I manage a noisy classroom?
    answer:
      en: Use a silent signal.
      ur: خاموشی کا اشارہ
  - id: late-comers
    topic: classroom-management
    questions: [Students arrive late]
    answer: Keep a starter task on the board.
"""


def write(tmp_path, name, text):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_loads_entries_and_plain_answer_becomes_en(tmp_path):
    entries = load_directory(write(tmp_path, "a.yaml", GOOD))
    assert [e.id for e in entries] == ["noisy-classroom", "late-comers"]
    assert entries[1].answer == {"en": "Keep a starter task on the board."}
    assert entries[0].answer_in("ur") == "خاموشی کا اشارہ"
    assert entries[1].answer_in("ur") == "Keep a starter task on the board."  # falls back to en
    assert entries[0].source.endswith("a.yaml")


@pytest.mark.parametrize("body, entry, field, words", [
    ("- id: x\n  topic: t\n  questions: [q]\n", "'x' (#1)", "answer", "missing"),
    ("- id: x\n  topic: t\n  questions: []\n  answer: a\n", "'x' (#1)", "questions", "empty"),
    ("- topic: t\n  questions: [q]\n  answer: a\n", "#1", "id", "missing"),
    ("- id: x\n  topic: t\n  questions: q\n  answer: {en: '  '}\n", "'x' (#1)", "answer", "empty"),
    ("- id: x\n  topic: t\n  questions: [q]\n  answer: a\n  grades: {a: 1}\n", "'x' (#1)", "grades", "list"),
])
def test_bad_entries_name_file_entry_and_field(tmp_path, body, entry, field, words):
    write(tmp_path, "bad.yaml", "faqs:\n" + "\n".join("  " + l for l in body.splitlines()) + "\n")
    with pytest.raises(KnowledgeBaseError) as err:
        load_directory(tmp_path)
    e = err.value
    assert e.file.endswith("bad.yaml") and e.entry == entry and e.field == field
    assert words in str(e) and "bad.yaml" in str(e) and f"field '{field}'" in str(e)


def test_duplicate_id_names_both_files(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yml", "faqs:\n  - id: late-comers\n    topic: t\n    questions: [q]\n    answer: a\n")
    with pytest.raises(KnowledgeBaseError) as err:
        load_directory(tmp_path)
    assert "b.yml" in str(err.value) and "a.yaml" in str(err.value) and err.value.field == "id"


def test_bad_yaml_reports_line(tmp_path):
    write(tmp_path, "broken.yaml", "faqs:\n  - id: x\n    questions: [unclosed\n    answer: a\n")
    with pytest.raises(KnowledgeBaseError) as err:
        load_directory(tmp_path)
    assert err.value.line is not None and "broken.yaml:" in str(err.value)


def test_missing_or_empty_faqs_list(tmp_path):
    write(tmp_path, "empty.yaml", "faqs: []\n")
    with pytest.raises(KnowledgeBaseError, match="empty.yaml.*faqs"):
        load_directory(tmp_path)


def test_entries_from_dicts_validates_like_yaml():
    with pytest.raises(KnowledgeBaseError, match="<db>: entry 'a' \\(#2\\): field 'topic'"):
        entries_from_dicts([{"id": "b", "topic": "t", "questions": ["q"], "answer": "x"},
                            {"id": "a", "questions": ["q"], "answer": "x"}])


def test_csv_round_trip_keeps_multiline_questions(tmp_path):
    entries = load_directory(write(tmp_path, "a.yaml", GOOD))
    entries = [FaqEntry(**{**e.__dict__, "questions": e.questions + ("second one",), "keywords": ("k1", "k2")})
               for e in entries]
    buf = io.StringIO()
    export_csv(entries, buf)
    back = import_csv(buf.getvalue(), source="sheet.csv")
    assert [b.questions for b in back] == [e.questions for e in entries]
    assert back[0].answer == dict(entries[0].answer) and back[0].keywords == ("k1", "k2")
    assert import_csv("id,topic,questions,answer_en\nx,t,a | b,ans\n")[0].questions == ("a", "b")


def test_export_yaml_reloads(tmp_path):
    entries = load_directory(write(tmp_path, "a.yaml", GOOD))
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.yaml").write_text(export_yaml(entries), encoding="utf-8")
    assert [e.answer for e in load_directory(out)] == [e.answer for e in entries]


@pytest.mark.skipif(not FAQ_DEV.is_dir(), reason="../shared/eval/faq-dev not present")
def test_faq_dev_kb_loads():
    entries = load_directory(FAQ_DEV)
    assert len(entries) == 43 and all(e.answer_in("ur") for e in entries)


# --- Roman Urdu and the review record ---------------------------------------------------------------

SHIPPED_FAQS = Path(__file__).resolve().parents[1] / "knowledge_base" / "faqs"
COMPLETE = """faqs:
  - id: noisy-classroom
    topic: classroom-management
    questions: ["How do I manage a noisy classroom?"]
    answer:
      en: Use a silent signal.
      ur: خاموشی کا اشارہ استعمال کریں۔
      roman-ur: Khamoshi ka ishara istemal karein.
    short:
      en: Silent signal.
      ur: خاموشی کا اشارہ۔
      roman-ur: Khamoshi ka ishara.
    reviewed_by: "Teacher trainer, Lahore cluster"
    reviewed_on: 2026-11-30
"""


def _without(text, line_start):
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith(line_start)) + "\n"


def test_a_complete_entry_carries_roman_urdu_and_its_review_record(tmp_path):
    (entry,) = load_directory(write(tmp_path, "a.yaml", COMPLETE), strict=True)
    assert entry.answer_in("roman-ur") == "Khamoshi ka ishara istemal karein."
    assert entry.short_in("roman-ur") == "Khamoshi ka ishara."
    assert entry.reviewed_by == "Teacher trainer, Lahore cluster" and entry.reviewed_on.isoformat() == "2026-11-30"
    assert entry.review_status == "reviewed"


@pytest.mark.parametrize("drop, field", [
    ("roman-ur: Khamoshi ka ishara istemal", "answer.roman-ur"),
    ("roman-ur: Khamoshi ka ishara.", "short.roman-ur"),
    ("ur: خاموشی کا اشارہ۔", "short.ur"),
    ("reviewed_by", "reviewed_by"),
])
def test_strict_loading_names_the_missing_language_or_review_field(tmp_path, drop, field):
    write(tmp_path, "bad.yaml", _without(COMPLETE, drop))
    with pytest.raises(KnowledgeBaseError) as err:
        load_directory(tmp_path, strict=True)
    e = err.value
    assert e.file.endswith("bad.yaml") and e.entry == "'noisy-classroom' (#1)" and e.field == field
    assert f"bad.yaml: entry 'noisy-classroom' (#1): field '{field}'" in str(e)


def test_a_programmes_own_kb_may_omit_roman_urdu_and_readers_get_english(tmp_path):
    text = _without(_without(COMPLETE, "roman-ur"), "reviewed_")
    (entry,) = load_directory(write(tmp_path, "own.yaml", text))
    assert entry.answer_in("roman-ur") == "Use a silent signal." and entry.short_in("roman-ur") == "Silent signal."
    assert entry.review_status == "unreviewed"


@pytest.mark.parametrize("change, field, words", [
    (("reviewed_on: 2026-11-30", "reviewed_on: 30/11/2026"), "reviewed_on", "ISO date"),
    (("reviewed_on: 2026-11-30", "reviewed_on: 2026-13-01"), "reviewed_on", "ISO date"),
    (('reviewed_by: "Teacher trainer, Lahore cluster"', "reviewed_by: ''"), "reviewed_by", "must be text"),
    (("    reviewed_on: 2026-11-30\n", ""), "reviewed_on", "missing"),
    (("      roman-ur: Khamoshi ka ishara.", "      roman_ur: Khamoshi ka ishara."), "short.roman_ur",
     "unknown language"),
    (("      roman-ur: Khamoshi ka ishara.", "      roman-ur: " + "Khamoshi ka ishara. " * 20), "short.roman-ur",
     "at most 300"),
])
def test_bad_review_records_and_language_keys_name_the_field(tmp_path, change, field, words):
    write(tmp_path, "bad.yaml", COMPLETE.replace(*change))
    with pytest.raises(KnowledgeBaseError) as err:
        load_directory(tmp_path, strict=True)
    assert err.value.field == field and err.value.entry == "'noisy-classroom' (#1)" and words in str(err.value)


def test_a_draft_review_is_a_record_but_not_a_full_review(tmp_path):
    text = COMPLETE.replace("Teacher trainer, Lahore cluster", "Helpdesk content team (draft review)")
    (entry,) = load_directory(write(tmp_path, "a.yaml", text), strict=True)
    assert entry.review_status == "draft"


def test_csv_round_trip_keeps_roman_urdu_and_the_review_record(tmp_path):
    entries = load_directory(write(tmp_path, "a.yaml", COMPLETE), strict=True)
    buf = io.StringIO()
    export_csv(entries, buf)
    header = buf.getvalue().splitlines()[0].split(",")
    assert {"answer_roman_ur", "short_roman_ur", "reviewed_by", "reviewed_on"} <= set(header)
    (back,) = import_csv(buf.getvalue(), source="sheet.csv")
    assert back.answer == dict(entries[0].answer) and back.short == dict(entries[0].short)
    assert (back.reviewed_by, back.reviewed_on) == (entries[0].reviewed_by, entries[0].reviewed_on)
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.yaml").write_text(export_yaml([back]), encoding="utf-8")
    assert load_directory(out, strict=True)[0].reviewed_on == entries[0].reviewed_on


def test_the_shipped_knowledge_base_passes_the_strict_rules():
    entries = load_directory(SHIPPED_FAQS, strict=True)
    assert entries and all(e.review_status in ("draft", "reviewed") for e in entries)
