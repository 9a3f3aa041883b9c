import json

import click
import pytest
from click.testing import CliRunner

from knowledge_base.commands import SHIPPED_FAQ_DIR, calibrate_command, match_command

KB = """faqs:
  - id: noisy-class
    topic: classroom-management
    questions:
      - How do I manage a noisy classroom?
      - Students keep talking during the lesson
    answer:
      en: Agree a silent signal.
      ur: خاموشی کا اشارہ طے کریں۔
  - id: times-tables
    topic: numeracy
    questions:
      - How can students learn multiplication tables?
    answer: Use patterns and short daily games.
"""


@pytest.fixture
def cli():
    group = click.Group("helpdesk")
    group.add_command(match_command)
    group.add_command(calibrate_command)
    return group


@pytest.fixture
def kb(tmp_path):
    d = tmp_path / "kb"
    d.mkdir()
    (d / "a.yaml").write_text(KB, encoding="utf-8")
    return d


def test_match_json_lines_exact_shape(cli, kb):
    res = CliRunner().invoke(cli, ["match", "--kb", str(kb)], input="students making noise in class\nبچوں کا شور\nAoA\n")
    assert res.exit_code == 0, res.output
    lines = [json.loads(l) for l in res.output.splitlines()]
    assert len(lines) == 3
    for obj in lines:
        assert set(obj) == {"query", "decision", "faq_id", "candidates", "score"}
        assert obj["decision"] in {"answer", "clarify", "escalate"} and isinstance(obj["score"], float)
        assert all(isinstance(c, str) for c in obj["candidates"])
        assert (obj["faq_id"] is not None) == (obj["decision"] == "answer")
    assert lines[0]["faq_id"] == "noisy-class" and lines[0]["candidates"][0] == "noisy-class"
    assert lines[1]["query"] == "بچوں کا شور" and "بچوں" in res.output  # ensure_ascii=False
    assert lines[2] == {"query": "AoA", "decision": "escalate", "faq_id": None, "candidates": [], "score": 0.0}


def test_bad_kb_exits_2_with_message(cli, tmp_path):
    (tmp_path / "bad.yaml").write_text("faqs:\n  - id: x\n    topic: t\n    questions: [q]\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["match", "--kb", str(tmp_path)], input="hello\n")
    assert res.exit_code == 2
    assert "bad.yaml: entry 'x' (#1): field 'answer': missing" in res.output


def test_eval_and_calibrate_print_figures(cli, kb, tmp_path):
    q = tmp_path / "q.jsonl"
    rows = [{"query": "noisy class", "expected": "noisy-class", "lang": "en", "kind": "short"},
            {"query": "times tables games", "expected": "times-tables", "lang": "en", "kind": "short"},
            {"query": "biryani recipe", "expected": None, "lang": "roman-ur", "kind": "out-of-scope"}]
    q.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    res = CliRunner().invoke(cli, ["match", "--kb", str(kb), "--eval", str(q)])
    assert res.exit_code == 0 and "accuracy" in res.output and "lang=roman-ur" in res.output
    res = CliRunner().invoke(cli, ["calibrate", "--kb", str(kb), "--queries", str(q), "--folds", "2"])
    assert res.exit_code == 0 and "held-out" in res.output and "fitted thresholds: Thresholds(" in res.output


def test_shipped_dir_is_package_faqs():
    assert SHIPPED_FAQ_DIR.name == "faqs" and SHIPPED_FAQ_DIR.parent.name == "knowledge_base"


def test_calibrate_without_queries_prints_the_self_calibrated_thresholds(cli, kb):
    res = CliRunner().invoke(cli, ["calibrate", "--kb", str(kb)])
    assert res.exit_code == 0, res.output
    assert "self-calibrated  answer" in res.output and "used (mean)" in res.output
    assert "probes from the knowledge base's own phrasings" in res.output


def test_learn_prints_the_decision_before_learning_and_then_answers_the_learned_wording(cli, kb):
    wording = "zorblat quimble frass again today"   # no FAQ word: only learning can place it
    lines = [{"query": wording, "expected": "noisy-class"}, {"query": wording, "expected": "noisy-class"},
             {"query": "biryani recipe please", "expected": None}]
    res = CliRunner().invoke(cli, ["match", "--kb", str(kb), "--learn"],
                             input="\n".join(json.dumps(r) for r in lines) + "\nnot json\n")
    assert res.exit_code == 0, res.output
    out = [json.loads(line) for line in res.output.splitlines() if line.startswith("{")]
    assert len(out) == 3
    assert all(set(o) == {"query", "decision", "faq_id", "candidates", "score"} for o in out)
    assert out[0]["faq_id"] != "noisy-class"          # decided before learning from that line
    assert out[1]["decision"] == "answer" and out[1]["faq_id"] == "noisy-class"
    assert out[2]["decision"] == "escalate"
    assert "line 4: needs a JSON object" in res.output
    assert wording not in (kb / "a.yaml").read_text(encoding="utf-8")   # files untouched
