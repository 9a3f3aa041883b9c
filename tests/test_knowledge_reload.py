"""The live knowledge base reloads edited files without a restart and keeps serving the last good one."""
from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from helpdesk.knowledge import KnowledgeHolder
from knowledge_base.calibrate import blend
from knowledge_base.matcher import GENERAL_THRESHOLDS, Thresholds

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


def test_each_version_calibrates_its_own_thresholds_and_keeps_them_on_disk(kb_dir, tmp_path):
    cache = tmp_path / "cache"
    holder = KnowledgeHolder(kb_dir, check_every=0, semantic=False, cache_dir=cache, calibrate_in_background=False)
    matcher = holder.matcher()
    assert holder.calibrated.is_set() and matcher.mode == "lexical"
    saved = list(cache.glob("thresholds-*.json"))
    assert len(saved) == 1
    own = json.loads(saved[0].read_text(encoding="utf-8"))["own"]
    assert matcher.thresholds == blend(GENERAL_THRESHOLDS["lexical"], Thresholds(**own))
    (kb_dir / "new.yaml").write_text(NEW_FAQ, encoding="utf-8")
    time.sleep(0.01)
    assert "chalk-dust" in holder.matcher().entries_by_id
    assert len(list(cache.glob("thresholds-*.json"))) == 2     # the new version calibrated itself
