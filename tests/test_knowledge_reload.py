"""The live knowledge base reloads edited files without a restart and keeps serving the last good one."""
from __future__ import annotations

import os
import shutil
import time

import pytest

from helpdesk.knowledge import KnowledgeHolder

TEST_KB = os.path.join(os.path.dirname(__file__), "fixtures", "kb")

NEW_FAQ = """
faqs:
  - id: chalk-dust
    topic: wellbeing
    questions:
      - How do I protect my throat from chalk dust?
    answer: {en: "Wet the duster, write low on the board and keep water nearby.", ur: "ڈسٹر گیلا کریں۔"}
"""


@pytest.fixture
def kb_dir(tmp_path):
    directory = tmp_path / "kb"
    shutil.copytree(TEST_KB, directory)
    return directory


def touch_later(path):
    # A new mtime even on filesystems with coarse timestamps.
    stamp = time.time() + 5
    os.utime(path, (stamp, stamp))


def test_a_new_file_is_picked_up_without_a_restart(kb_dir):
    holder = KnowledgeHolder(kb_dir, check_every=0.0)
    assert holder.matcher().match("chalk dust hurts my throat").faq_id != "chalk-dust"
    (kb_dir / "wellbeing.yaml").write_text(NEW_FAQ, encoding="utf-8")
    touch_later(kb_dir / "wellbeing.yaml")
    assert "chalk-dust" in holder.matcher().entries_by_id
    assert holder.matcher().match("How do I protect my throat from chalk dust?").faq_id == "chalk-dust"


def test_a_broken_file_is_reported_and_the_last_good_knowledge_base_keeps_serving(kb_dir):
    holder = KnowledgeHolder(kb_dir, check_every=0.0)
    before = set(holder.matcher().entries_by_id)
    (kb_dir / "broken.yaml").write_text("faqs:\n  - id: broken\n    topic: numeracy\n    questions: []\n")
    touch_later(kb_dir / "broken.yaml")
    assert set(holder.matcher().entries_by_id) == before
    assert "broken.yaml" in holder.last_error and "broken" in holder.last_error and "questions" in holder.last_error
    (kb_dir / "broken.yaml").unlink()
    (kb_dir / "wellbeing.yaml").write_text(NEW_FAQ, encoding="utf-8")
    touch_later(kb_dir / "wellbeing.yaml")
    assert "chalk-dust" in holder.matcher().entries_by_id and holder.last_error is None
