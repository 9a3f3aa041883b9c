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
