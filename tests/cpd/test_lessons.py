import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from knowledge_base.lessons import (
    LESSONS_DIR,
    TAXONOMY_PATH,
    Lesson,
    LessonError,
    load_lessons,
    taxonomy_slugs,
)

# The taxonomy contract (TAXONOMY.txt). Hard-coded so the shipped lessons are checked even before
# knowledge_base/taxonomy.yaml exists, and so a slug renamed there fails here instead of silently.
AREAS = {
    "classroom-management", "lesson-planning", "assessment", "inclusive-education", "multigrade",
    "steam-activities", "literacy", "numeracy", "subject-content", "digital-tools", "wellbeing", "career-admin",
}
SUBJECTS = {
    "general", "maths", "science", "english", "urdu", "social-studies", "islamiyat", "computer-science", "art",
}
GRADES = {"ece", "primary", "middle", "secondary", "higher-secondary"}
COMMON_NEEDS = {
    "classroom-management", "assessment", "literacy", "numeracy", "steam-activities", "inclusive-education",
    "multigrade",
}

# GSM 03.38 basic set. Extension characters (| ^ { } [ ] ~ \ €) cost two each; anything else turns the whole
# English SMS into UCS-2 at 70 characters a segment.
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@pytest.fixture(scope="module")
def shipped():
    return load_lessons(areas=AREAS, subjects=SUBJECTS, grades=GRADES, strict=True)  # shipped: review record too


def test_shipped_lessons_validate_against_the_taxonomy_contract(shipped):
    assert len(shipped) >= 26
    assert all(isinstance(lesson, Lesson) for lesson in shipped)


def test_shipped_lessons_validate_against_taxonomy_yaml():
    assert TAXONOMY_PATH.exists()
    areas, subjects, grades = taxonomy_slugs()
    # The file may add slugs later; it must not drop or rename the ones the lessons are coded with.
    assert (AREAS - areas, SUBJECTS - subjects, GRADES - grades) == (set(), set(), set())
    assert len(load_lessons(areas=areas, subjects=subjects, grades=grades)) >= 26


def test_every_area_has_two_lessons_and_common_needs_have_three(shipped):
    per_area = Counter(lesson.area for lesson in shipped)
    assert {area: per_area[area] for area in AREAS if per_area[area] < 2} == {}
    assert {area: per_area[area] for area in COMMON_NEEDS if per_area[area] < 3} == {}


def test_shipped_lessons_keep_the_authoring_limits(shipped):
    # Stricter than the loader's hard limits: a part reads as one screenful, and the SMS form leaves room for
    # the "reply to get credit" footer.
    too_long = [
        (lesson.id, f"parts[{number}].{lang}", len(text))
        for lesson in shipped
        for number, part in enumerate(lesson.parts, start=1)
        for lang, text in part.items()
        if len(text) > 900
    ]
    too_long += [(lesson.id, "sms.en", len(lesson.sms["en"])) for lesson in shipped if len(lesson.sms["en"]) > 300]
    assert too_long == []


def test_shipped_english_sms_stays_in_the_gsm7_alphabet(shipped):
    assert {lesson.id: sorted(set(lesson.sms["en"]) - GSM7) for lesson in shipped if set(lesson.sms["en"]) - GSM7} == {}


def every_text(lesson):
    """(field, {lang: text}) for each text a teacher reads, parts numbered as in loader errors."""
    fields = ("title", "activity", "materials", "reflection", "sms")
    return [(field, getattr(lesson, field)) for field in fields] + [
        (f"parts[{number}]", part) for number, part in enumerate(lesson.parts, start=1)
    ]


def test_every_shipped_lesson_text_has_roman_urdu_in_latin_letters(shipped):
    missing = [(lesson.id, field) for lesson in shipped for field, texts in every_text(lesson)
               if not texts.get("roman-ur")]
    assert missing == []
    # Written for Roman Urdu readers: Latin letters (digits and 'CPD' aside), never the Urdu script.
    urdu_script = [(lesson.id, field) for lesson in shipped for field, texts in every_text(lesson)
                   if any("\u0600" <= ch <= "\u06ff" for ch in texts["roman-ur"])]
    assert urdu_script == []


def test_roman_urdu_is_written_not_copied_from_english(shipped):
    # A text left in English would pass the presence check; a Roman Urdu sentence has Urdu function words.
    urdu_words = {"ke", "ki", "ka", "mein", "se", "aur", "karein", "par", "hai", "ko", "na", "nahi"}
    copied = [(lesson.id, field) for lesson in shipped for field, texts in every_text(lesson)
              if texts["roman-ur"] == texts["en"]]
    sentences_without_urdu = [
        (lesson.id, field) for lesson in shipped for field, texts in every_text(lesson)
        if field not in ("title", "materials")
        and not urdu_words & set(re.findall(r"[a-z-]+", texts["roman-ur"].lower()))
    ]
    assert (copied, sentences_without_urdu) == ([], [])


@pytest.mark.parametrize("lang", ["en", "ur", "roman-ur"])
def test_every_shipped_lesson_reaches_whatsapp_in_whole_blocks(shipped, lang):
    # Over 1600 characters the send path splits a lesson; each message must hold whole blocks (heading, parts,
    # activity...), not sentences run together, so nothing is cut and the layout survives.
    from helpdesk.channels.base import split_message
    from helpdesk.channels.twilio import WHATSAPP_MAX_CHARS
    from helpdesk.cpd.subscriptions import whatsapp_text

    broken = [lesson.id for lesson in shipped
              if "\n\n".join(split_message(whatsapp_text(lesson, lang), WHATSAPP_MAX_CHARS))
              != whatsapp_text(lesson, lang)]
    assert broken == []


def test_shipped_roman_urdu_sms_fits_300_gsm7_characters(shipped):
    too_long = {lesson.id: len(lesson.sms["roman-ur"]) for lesson in shipped
                if len(lesson.sms["roman-ur"]) > 300}
    assert too_long == {}
    # One character outside GSM-7 sends the whole SMS as UCS-2: 300 characters then cost 5 segments, not 2.
    assert {lesson.id: sorted(set(lesson.sms["roman-ur"]) - GSM7) for lesson in shipped
            if set(lesson.sms["roman-ur"]) - GSM7} == {}


def test_shipped_urdu_is_written_in_urdu_script(shipped):
    def arabic_script(text):
        letters = [c for c in text if c.isalpha()]
        return sum("\u0600" <= c <= "\u06ff" for c in letters) / len(letters)

    mostly_latin = [
        (lesson.id, field)
        for lesson in shipped
        for field, text in [("title", lesson.title["ur"]), ("sms", lesson.sms["ur"]), ("activity", lesson.activity["ur"])]
        + [(f"parts[{n}]", part["ur"]) for n, part in enumerate(lesson.parts, start=1)]
        if arabic_script(text) < 0.8
    ]
    assert mostly_latin == []


def test_source_names_the_file_relative_to_the_knowledge_base(shipped):
    assert {lesson.source.split("/")[0] for lesson in shipped} == {"lessons"}
    assert all((LESSONS_DIR.parent / lesson.source).is_file() for lesson in shipped)


def test_text_falls_back_to_english(shipped):
    lesson = shipped[0]
    assert lesson.text("title", "ur") == lesson.title["ur"]
    assert lesson.text("sms", "roman-ur") == lesson.sms["roman-ur"] != lesson.sms["en"]
    assert lesson.text("title", "sd") == lesson.title["en"]
    assert lesson.text("parts", "ur") == tuple(part["ur"] for part in lesson.parts)
    assert lesson.text("parts", "ps") == tuple(part["en"] for part in lesson.parts)


def test_lessons_are_immutable(shipped):
    with pytest.raises(AttributeError):
        shipped[0].minutes = 10
    with pytest.raises(TypeError):
        shipped[0].title["en"] = "changed"


# --- error cases ------------------------------------------------------------------------------------------------

TEXT = {"en": "Some text.", "ur": "کچھ متن۔", "roman-ur": "Kuch text."}
CHECK_TEXT = {"en": "Which?", "ur": "کون سا؟", "roman-ur": "Kaun sa?"}
CHECK = [{"q": CHECK_TEXT, "options": [{"en": f"Choice {n}", "ur": f"انتخاب {n}", "roman-ur": f"Intekhab {n}"}
                                       for n in (1, 2, 3)], "answer": 1}] * 2


def lesson(**overrides):
    entry = {
        "id": "attention-signals",
        "title": dict(TEXT),
        "area": "classroom-management",
        "subjects": ["general"],
        "grades": ["primary", "middle"],
        "minutes": 30,
        "level": "foundation",
        "check": CHECK,
        "parts": [dict(TEXT), dict(TEXT), dict(TEXT)],
        "activity": dict(TEXT),
        "materials": dict(TEXT),
        "reflection": dict(TEXT),
        "sms": dict(TEXT),
    }
    entry.update(overrides)
    return {key: value for key, value in entry.items() if value is not ...}


def write(directory: Path, name: str, *entries) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump({"lessons": list(entries)}, allow_unicode=True), encoding="utf-8")
    return path


def load_error(path, **slugs) -> LessonError:
    with pytest.raises(LessonError) as caught:
        load_lessons(path, **slugs)
    return caught.value


def test_a_valid_file_loads(tmp_path):
    write(tmp_path, "x.yaml", lesson())
    [loaded] = load_lessons(tmp_path, areas=AREAS, subjects=SUBJECTS, grades=GRADES)
    assert (loaded.id, loaded.grades, loaded.minutes) == ("attention-signals", ("primary", "middle"), 30)
    assert loaded.source == str(tmp_path / "x.yaml")


def test_it_accepts_a_single_file(tmp_path):
    path = write(tmp_path, "x.yaml", lesson(), lesson(id="second"))
    assert [loaded.id for loaded in load_lessons(path)] == ["attention-signals", "second"]


def test_rejects_minutes_out_of_range_naming_file_lesson_and_field(tmp_path):
    path = write(tmp_path, "x.yaml", lesson(minutes=20))
    error = load_error(path)
    assert str(error) == (
        f"{path}: lesson 'attention-signals' (#1): field 'minutes': must be between 30 and 45, got 20"
    )
    assert (error.file, error.entry, error.field) == (str(path), "attention-signals", "minutes")


def test_rejects_minutes_that_are_not_a_number(tmp_path):
    error = load_error(write(tmp_path, "x.yaml", lesson(minutes="30 min")))
    assert error.field == "minutes" and "whole number" in error.message


def test_rejects_invalid_yaml_with_its_line(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("lessons:\n  - id: a\n    title: {en: 'x'\n    area: literacy\n", encoding="utf-8")
    error = load_error(path)
    assert str(error).startswith(f"{path}: invalid YAML at line 4, column")
    assert (error.entry, error.field) == (None, None)


def test_rejects_a_repeated_key_that_yaml_would_drop(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("lessons:\n  - id: a\n    title: {en: x, ur: y, ur: z}\n", encoding="utf-8")
    assert "repeated key 'ur'" in str(load_error(path)) and "line 3" in str(load_error(path))


def test_rejects_a_file_without_a_lessons_list(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("- id: a\n", encoding="utf-8")
    assert str(load_error(path)) == f"{path}: expected a top-level 'lessons:' list"


def test_rejects_a_duplicate_id_naming_both_files(tmp_path):
    write(tmp_path, "a.yaml", lesson())
    write(tmp_path, "b.yaml", lesson(id="other"), lesson())
    error = load_error(tmp_path)
    assert str(error) == (
        f"{tmp_path / 'b.yaml'}: lesson 'attention-signals' (#2): field 'id': "
        f"duplicate id 'attention-signals', already defined in {tmp_path / 'a.yaml'} (lesson #1)"
    )


@pytest.mark.parametrize("field", ["id", "title", "area", "subjects", "grades", "minutes", "level", "parts",
                                   "activity", "materials", "reflection", "sms", "check"])
def test_rejects_a_missing_field(tmp_path, field):
    error = load_error(write(tmp_path, "x.yaml", lesson(id="second"), lesson(**{field: ...})))
    lesson_label = "lesson #2" if field == "id" else "lesson 'attention-signals' (#2)"
    assert str(error) == f"{tmp_path / 'x.yaml'}: {lesson_label}: field {field!r}: missing"
    assert (error.field, error.number) == (field, 2)


def test_rejects_an_unknown_field(tmp_path):
    error = load_error(write(tmp_path, "x.yaml", lesson(sms_ur="typo")))
    assert (error.entry, error.field) == ("attention-signals", "sms_ur")
    assert "unknown field" in error.message


@pytest.mark.parametrize("field", ["title", "activity", "materials", "reflection", "sms"])
@pytest.mark.parametrize("lang", ["en", "ur", "roman-ur"])
def test_rejects_a_text_field_missing_a_language(tmp_path, field, lang):
    only = {"en": "text", "ur": "متن", "roman-ur": "matn"}
    del only[lang]
    error = load_error(write(tmp_path, "x.yaml", lesson(**{field: only})))
    assert str(error) == f"{tmp_path / 'x.yaml'}: lesson 'attention-signals' (#1): field {field!r}: missing the {lang!r} text"


def test_rejects_a_part_missing_urdu_naming_the_part(tmp_path):
    parts = [dict(TEXT), {"en": "English only"}, dict(TEXT)]
    error = load_error(write(tmp_path, "x.yaml", lesson(parts=parts)))
    assert (error.field, error.message) == ("parts[2]", "missing the 'ur' text")


def test_rejects_a_part_missing_roman_urdu_naming_file_lesson_and_part(tmp_path):
    parts = [dict(TEXT), dict(TEXT), {"en": "Text.", "ur": "متن۔"}]
    path = write(tmp_path, "x.yaml", lesson(parts=parts))
    assert str(load_error(path)) == (
        f"{path}: lesson 'attention-signals' (#1): field 'parts[3]': missing the 'roman-ur' text"
    )


def test_rejects_blank_text(tmp_path):
    error = load_error(write(tmp_path, "x.yaml", lesson(reflection={"en": "  ", "ur": "سوال"})))
    assert (error.field, error.message) == ("reflection", "missing the 'en' text")


def test_rejects_a_part_over_the_whatsapp_limit(tmp_path):
    parts = [dict(TEXT), dict(TEXT), dict(TEXT, en="x" * 1601)]
    error = load_error(write(tmp_path, "x.yaml", lesson(parts=parts)))
    assert str(error) == (
        f"{tmp_path / 'x.yaml'}: lesson 'attention-signals' (#1): field 'parts[3]': "
        "the 'en' text is 1601 characters, over the limit of 1600"
    )


def test_a_part_at_the_whatsapp_limit_loads(tmp_path):
    parts = [dict(TEXT), dict(TEXT), dict(TEXT, en="x" * 1600)]
    assert load_lessons(write(tmp_path, "x.yaml", lesson(parts=parts)))[0].parts[2]["en"] == "x" * 1600


@pytest.mark.parametrize("count", [2, 6])
def test_rejects_too_few_or_too_many_parts(tmp_path, count):
    error = load_error(write(tmp_path, "x.yaml", lesson(parts=[dict(TEXT)] * count)))
    assert (error.field, error.message) == ("parts", f"must have 3 to 5 parts, got {count}")


@pytest.mark.parametrize(("lang", "limit"), [("en", 320), ("ur", 200), ("roman-ur", 300)])
def test_rejects_an_sms_over_three_segments(tmp_path, lang, limit):
    sms = dict(TEXT, **{lang: "س" * (limit + 1)})
    error = load_error(write(tmp_path, "x.yaml", lesson(sms=sms)))
    assert (error.field, error.message) == (
        "sms", f"the {lang!r} text is {limit + 1} characters, over the limit of {limit}"
    )


def test_a_roman_urdu_sms_at_its_limit_loads(tmp_path):
    sms = dict(TEXT, **{"roman-ur": "x" * 300})
    assert load_lessons(write(tmp_path, "x.yaml", lesson(sms=sms)))[0].text("sms", "roman-ur") == "x" * 300


@pytest.mark.parametrize(
    ("field", "value", "bad"),
    [("area", "classroom_management", "classroom_management"), ("subjects", ["general", "physics"], "physics"),
     ("grades", ["primary", "grade-6"], "grade-6")],
)
def test_rejects_an_unknown_slug_when_the_sets_are_given(tmp_path, field, value, bad):
    path = write(tmp_path, "x.yaml", lesson(**{field: value}))
    error = load_error(path, areas=AREAS, subjects=SUBJECTS, grades=GRADES)
    assert str(error).startswith(
        f"{path}: lesson 'attention-signals' (#1): field {field!r}: unknown slug {bad!r}; expected one of "
    )
    assert load_lessons(path)[0].id == "attention-signals"  # without the sets, any slug is accepted


def test_rejects_an_id_that_is_not_a_slug(tmp_path):
    error = load_error(write(tmp_path, "x.yaml", lesson(id="Attention Signals")))
    assert (error.entry, error.field) == ("Attention Signals", "id")


def test_rejects_a_lesson_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("lessons:\n  - just a string\n", encoding="utf-8")
    assert str(load_error(path)) == f"{path}: lesson #1: expected a mapping, got str"


# --- taxonomy.yaml ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "document",
    [
        {"areas": sorted(AREAS), "subjects": sorted(SUBJECTS), "grade_bands": sorted(GRADES)},
        {
            "areas": [{"slug": slug, "name": {"en": slug}} for slug in AREAS],
            "subjects": {slug: {"en": slug} for slug in SUBJECTS},
            "grades": [{"id": slug} for slug in GRADES],
        },
    ],
    ids=["lists", "mappings"],
)
def test_taxonomy_slugs_reads_lists_or_mappings(tmp_path, document):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert taxonomy_slugs(path) == (AREAS, SUBJECTS, GRADES)


def test_taxonomy_slugs_names_a_missing_section(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump({"areas": ["literacy"], "subjects": ["urdu"]}), encoding="utf-8")
    with pytest.raises(LessonError) as caught:
        taxonomy_slugs(path)
    assert str(caught.value) == f"{path}: missing section 'grade_bands'"
