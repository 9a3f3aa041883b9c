"""Checks on the shipped knowledge-base content (taxonomy + FAQ files).

Deliberately independent of knowledge_base/loader.py: everything is read with
yaml.safe_load so that content problems are caught even if the loader changes.
"""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT / "knowledge_base"
FAQ_DIR = KB / "faqs"
TAXONOMY = KB / "taxonomy.yaml"

URDU_SCRIPT = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

EXPECTED_AREAS = {
    "classroom-management", "lesson-planning", "assessment", "inclusive-education",
    "multigrade", "steam-activities", "literacy", "numeracy", "subject-content",
    "digital-tools", "wellbeing", "career-admin",
    "curriculum-exams", "safeguarding", "school-community",
}
EXPECTED_SUBJECTS = {
    "general", "maths", "science", "english", "urdu", "social-studies",
    "islamiyat", "computer-science", "art",
}
EXPECTED_GRADE_BANDS = {
    "ece": [0], "primary": [1, 2, 3, 4, 5], "middle": [6, 7, 8],
    "secondary": [9, 10], "higher-secondary": [11, 12],
}

MIN_TOTAL = 132
MIN_PER_AREA = 11
SHORT_EN_MAX = 300
SHORT_UR_MAX = 140
ANSWER_EN_MAX = 1000


def _load(path):
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def taxonomy():
    return _load(TAXONOMY)


def _faq_files():
    return sorted(FAQ_DIR.glob("*.yaml"))


@pytest.fixture(scope="module")
def entries():
    out = []
    for path in _faq_files():
        data = _load(path)
        assert isinstance(data, dict) and isinstance(data.get("faqs"), list), (
            f"{path.name}: top level must be a mapping with a 'faqs' list")
        for entry in data["faqs"]:
            out.append((path.name, entry))
    return out


def _slugs(taxonomy, key):
    return {item["slug"] for item in taxonomy[key]}


# --- taxonomy -------------------------------------------------------------

def test_taxonomy_slugs(taxonomy):
    assert _slugs(taxonomy, "areas") == EXPECTED_AREAS
    assert _slugs(taxonomy, "subjects") == EXPECTED_SUBJECTS
    bands = {b["slug"]: b["grades"] for b in taxonomy["grade_bands"]}
    assert bands == EXPECTED_GRADE_BANDS


@pytest.mark.parametrize("key", ["areas", "subjects", "grade_bands"])
def test_taxonomy_labels(taxonomy, key):
    seen = set()
    for item in taxonomy[key]:
        assert SLUG.match(item["slug"]), item
        assert item["slug"] not in seen, f"duplicate slug {item['slug']}"
        seen.add(item["slug"])
        assert isinstance(item.get("en"), str) and item["en"].strip(), item
        assert isinstance(item.get("ur"), str) and URDU_SCRIPT.search(item["ur"]), item


def test_taxonomy_lesson_tracks(taxonomy):
    for area in taxonomy["areas"]:
        track = area.get("lesson_track")
        assert isinstance(track, str) and SLUG.match(track), area


# --- FAQ files ------------------------------------------------------------

def test_every_faq_file_parses():
    files = _faq_files()
    assert files, "no FAQ files found"
    for path in files:
        _load(path)


def test_one_file_per_area():
    # Every area has its own file; further files group one theme across areas (early-years.yaml).
    assert EXPECTED_AREAS <= {p.stem for p in _faq_files()}


def test_ids_unique_and_slugs(entries):
    ids = [e.get("id") for _, e in entries]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes, f"duplicate ids: {dupes}"
    for fname, e in entries:
        assert isinstance(e.get("id"), str) and SLUG.match(e["id"]), (fname, e.get("id"))


def test_total_count(entries):
    assert len(entries) >= MIN_TOTAL, len(entries)


def test_per_area_count(entries):
    counts = Counter(e.get("topic") for _, e in entries)
    short = {a: counts.get(a, 0) for a in EXPECTED_AREAS if counts.get(a, 0) < MIN_PER_AREA}
    assert not short, f"areas below {MIN_PER_AREA}: {short}"


def test_entry_in_file_of_its_topic(entries):
    for fname, e in entries:
        if fname[:-len(".yaml")] in EXPECTED_AREAS:
            assert fname == f"{e['topic']}.yaml", (fname, e["id"], e["topic"])


def _nonempty_str(value):
    return isinstance(value, str) and value.strip() != ""


def test_required_fields(entries):
    problems = []
    for fname, e in entries:
        eid = e.get("id")
        for field in ("id", "topic", "subject"):
            if not _nonempty_str(e.get(field)):
                problems.append((eid, field))
        for field in ("grades", "keywords"):
            value = e.get(field)
            if not (isinstance(value, list) and value and all(_nonempty_str(v) for v in value)):
                problems.append((eid, field))
        qs = e.get("questions")
        if not (isinstance(qs, list) and 3 <= len(qs) <= 5 and all(_nonempty_str(q) for q in qs)):
            problems.append((eid, "questions"))
        for block in ("answer", "short"):
            value = e.get(block)
            if not isinstance(value, dict):
                problems.append((eid, block))
                continue
            for lang in ("en", "ur"):
                if not _nonempty_str(value.get(lang)):
                    problems.append((eid, f"{block}.{lang}"))
    assert not problems, problems


def test_slugs_exist_in_taxonomy(entries, taxonomy):
    areas = _slugs(taxonomy, "areas")
    subjects = _slugs(taxonomy, "subjects")
    bands = _slugs(taxonomy, "grade_bands")
    bad = []
    for _, e in entries:
        if e["topic"] not in areas:
            bad.append((e["id"], "topic", e["topic"]))
        if e["subject"] not in subjects:
            bad.append((e["id"], "subject", e["subject"]))
        for g in e["grades"]:
            if g not in bands:
                bad.append((e["id"], "grade", g))
    assert not bad, bad


def test_length_limits(entries):
    bad = []
    for _, e in entries:
        if len(e["short"]["en"]) > SHORT_EN_MAX:
            bad.append((e["id"], "short.en", len(e["short"]["en"])))
        if len(e["short"]["ur"]) > SHORT_UR_MAX:
            bad.append((e["id"], "short.ur", len(e["short"]["ur"])))
        if len(e["answer"]["en"]) > ANSWER_EN_MAX:
            bad.append((e["id"], "answer.en", len(e["answer"]["en"])))
    assert not bad, bad


def test_languages(entries):
    bad = []
    for _, e in entries:
        qs = e["questions"]
        if not any(URDU_SCRIPT.search(q) for q in qs):
            bad.append((e["id"], "no Urdu-script question"))
        if not any(not URDU_SCRIPT.search(q) for q in qs):
            bad.append((e["id"], "no Latin-script question"))
        if URDU_SCRIPT.search(qs[0]):
            bad.append((e["id"], "canonical (first) question should be English"))
        if not URDU_SCRIPT.search(e["answer"]["ur"]) or not URDU_SCRIPT.search(e["short"]["ur"]):
            bad.append((e["id"], "ur text not in Urdu script"))
        # English text may quote a few Urdu letters/words as examples (e.g. "ب"),
        # but must be predominantly Latin script.
        for field in ("answer", "short"):
            text = e[field]["en"]
            if len(URDU_SCRIPT.findall(text)) > 0.1 * len(text):
                bad.append((e["id"], f"{field}.en is mostly Urdu script"))
            ur = e[field]["ur"]
            if len(URDU_SCRIPT.findall(ur)) < 0.5 * len(re.sub(r"[\s\d\W]", "", ur)):
                bad.append((e["id"], f"{field}.ur is mostly non-Urdu script"))
    assert not bad, bad


def test_questions_unique_across_entries(entries):
    seen = {}
    dupes = []
    for _, e in entries:
        for q in e["questions"]:
            key = " ".join(q.lower().split())
            if key in seen and seen[key] != e["id"]:
                dupes.append((q, seen[key], e["id"]))
            seen[key] = e["id"]
    assert not dupes, dupes


ADMIN_KEYWORDS = {"salary", "transfer", "leave", "fee", "fees", "tankhwah", "tabadla", "chutti"}


def test_admin_hr_entries_route_to_a_person(entries):
    """Salary / transfer / leave entries say what to prepare and who decides; the teacher's own case
    goes to a person, so such an entry is tagged routed-to-person and tells how to reach one."""
    for _, e in entries:
        if not {k.lower() for k in e["keywords"]} & ADMIN_KEYWORDS:
            continue
        assert "routed-to-person" in e.get("tags", []), e["id"]
        for lang in ("en", "ur"):
            assert "EXPERT" in e["answer"][lang] and "EXPERT" in e["short"][lang], (e["id"], lang)


# --- Roman Urdu and the review trail ----------------------------------------------------------------

LANGUAGES = ("en", "ur", "roman-ur")
SHORT_ROMAN_MAX = 300  # an SMS of two GSM-7 segments


def test_every_entry_has_all_three_languages_and_a_taxonomy_coding(entries, taxonomy):
    areas, subjects, bands = (_slugs(taxonomy, k) for k in ("areas", "subjects", "grade_bands"))
    missing = []
    for fname, e in entries:
        for block in ("answer", "short"):
            for lang in LANGUAGES:
                if not _nonempty_str((e.get(block) or {}).get(lang)):
                    missing.append((fname, e.get("id"), f"{block}.{lang}"))
        if e.get("topic") not in areas or e.get("subject") not in subjects or not e.get("grades") \
                or not set(e["grades"]) <= bands:
            missing.append((fname, e.get("id"), "taxonomy coding"))
    assert not missing, missing


def test_roman_urdu_is_latin_script_and_the_sms_form_fits_two_segments(entries):
    bad = []
    for _, e in entries:
        for block in ("answer", "short"):
            text = e[block]["roman-ur"]
            if URDU_SCRIPT.search(text) or not text.isascii():  # GSM-7: one Urdu letter makes it UCS-2
                bad.append((e["id"], f"{block}.roman-ur", "not plain Latin"))
            if text == e[block]["en"]:
                bad.append((e["id"], f"{block}.roman-ur", "a copy of the English"))
        if len(e["short"]["roman-ur"]) > SHORT_ROMAN_MAX:
            bad.append((e["id"], "short.roman-ur", len(e["short"]["roman-ur"])))
    assert not bad, bad


def test_every_entry_has_a_review_record_with_a_reviewer_and_a_past_iso_date(entries):
    import datetime as dt

    bad = []
    for _, e in entries:
        by, on = e.get("reviewed_by"), e.get("reviewed_on")
        if not _nonempty_str(by):
            bad.append((e.get("id"), "reviewed_by"))
        if not isinstance(on, dt.date) or on > dt.date.today():  # yaml.safe_load reads 2026-11-30 as a date
            bad.append((e.get("id"), "reviewed_on", on))
    assert not bad, bad
