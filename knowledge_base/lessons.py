"""CPD micro-lessons: load `knowledge_base/lessons/*.yaml` into frozen `Lesson` records and validate them.

Pure: no Flask, database or network. The valid taxonomy slugs are arguments, so this module does not depend on
`taxonomy.yaml`; `taxonomy_slugs()` reads them from that file for callers that want the shipped taxonomy.

Review record: `reviewed_by` and `reviewed_on` (ISO date), together or not at all, by the same rule as the FAQ
loader. `strict=True` (`helpdesk kb check --strict` and the shipped-lesson tests) requires one; a programme's own
lessons may leave it out and are then listed as unreviewed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import yaml

# One review rule for FAQs and lessons, so `kb check` and content editors meet the same messages for both.
from knowledge_base.loader import DRAFT_REVIEW_MARK
from knowledge_base.loader import _review as _review_record

KB_DIR = Path(__file__).parent
LESSONS_DIR = KB_DIR / "lessons"
TAXONOMY_PATH = KB_DIR / "taxonomy.yaml"

DEFAULT_LANG = "en"
# The teacher's reply languages (helpdesk/content LANGUAGES): a Roman Urdu teacher reads Latin-letter Urdu,
# which is neither the English nor the Urdu-script text, so every shipped lesson text carries all three.
REQUIRED_LANGS = ("en", "ur", "roman-ur")

MIN_MINUTES, MAX_MINUTES = 30, 45
MIN_PARTS, MAX_PARTS = 3, 5
# WhatsApp rejects a session message body longer than 1600 characters; each part is sent as one message.
MAX_PART_CHARS = 1600
# Three SMS segments either way: GSM-7 English fits 3 x 153 = 459 but we cap at 320 so a lesson costs at most
# 3 segments even after the "reply 1 when done" footer; Urdu goes as UCS-2 at 67 characters a segment, so 200
# characters is already 3 segments. Roman Urdu is GSM-7 like English but runs longer for the same advice; 300
# plus its footer (about 50) still fits 3 x 153.
MAX_SMS_CHARS = {"en": 320, "ur": 200, "roman-ur": 300}

TEXT_FIELDS = ("title", "activity", "materials", "reflection", "sms")
REQUIRED_FIELDS = ("id", "title", "area", "subjects", "grades", "minutes", "level", "parts", *TEXT_FIELDS[1:],
                   "check")
OPTIONAL_FIELDS = ("requires", "reviewed_by", "reviewed_on")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# The journey through a teaching area, in order: foundation lessons need nothing, a practice lesson builds on
# a foundation one, a mentor lesson (coaching a colleague, leading a cluster session) on a practice one.
LEVELS = ("foundation", "practice", "mentor")
# The check that ends each lesson: every question and option in all three reply languages, because it is
# asked in the teacher's own language as numbered choices.
CHECK_LANGS = ("en", "ur", "roman-ur")
MIN_CHECK_QUESTIONS, MAX_CHECK_QUESTIONS = 2, 3
MIN_OPTIONS, MAX_OPTIONS = 2, 4
# One question and its numbered options go out as one SMS of at most 3 segments in English.
MAX_CHECK_TEXT_CHARS = 160


@dataclass(frozen=True)
class CheckQuestion:
    question: Mapping[str, str]
    options: tuple[Mapping[str, str], ...]
    answer: int  # 0-based index into options

    def text(self, lang: str = DEFAULT_LANG) -> str:
        return self.question.get(lang) or self.question[DEFAULT_LANG]

    def option_texts(self, lang: str = DEFAULT_LANG) -> tuple[str, ...]:
        return tuple(option.get(lang) or option[DEFAULT_LANG] for option in self.options)


@dataclass(frozen=True)
class Lesson:
    id: str
    title: Mapping[str, str]
    area: str
    subjects: tuple[str, ...]
    grades: tuple[str, ...]
    minutes: int
    parts: tuple[Mapping[str, str], ...]
    activity: Mapping[str, str]
    materials: Mapping[str, str]
    reflection: Mapping[str, str]
    sms: Mapping[str, str]
    source: str
    level: str = LEVELS[0]
    requires: tuple[str, ...] = ()
    check: tuple[CheckQuestion, ...] = ()
    reviewed_by: str | None = None
    reviewed_on: dt.date | None = None

    @property
    def review_status(self) -> str:
        """'unreviewed', 'draft' (a first pass recorded as such) or 'reviewed', as for an FAQ."""
        if not self.reviewed_by:
            return "unreviewed"
        return "draft" if DRAFT_REVIEW_MARK in self.reviewed_by.lower() else "reviewed"

    def text(self, field: str, lang: str = DEFAULT_LANG) -> str | tuple[str, ...]:
        """The field in `lang`, falling back to English; `parts` gives one string per message."""
        if field == "parts":
            return tuple(part.get(lang) or part[DEFAULT_LANG] for part in self.parts)
        if field not in TEXT_FIELDS:
            raise KeyError(f"{field!r} is not a text field; use one of parts, {', '.join(TEXT_FIELDS)}")
        texts = getattr(self, field)
        return texts.get(lang) or texts[DEFAULT_LANG]


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file, the lesson and the field."""

    def __init__(
        self,
        file: str,
        entry: str | None,
        field: str | None,
        message: str,
        *,
        number: int | None = None,
    ):
        self.file = file
        self.entry = entry
        self.number = number
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [self.file]
        if self.entry is not None:
            where.append(f"lesson {self.entry!r} (#{self.number})")
        elif self.number is not None:
            where.append(f"lesson #{self.number}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return ": ".join([*where, self.message])


def load_lessons(
    path: str | Path = LESSONS_DIR,
    *,
    areas: Iterable[str] | None = None,
    subjects: Iterable[str] | None = None,
    grades: Iterable[str] | None = None,
    strict: bool = False,
) -> list[Lesson]:
    """Every lesson in `path` (a directory of *.yaml, read in name order, or one file).

    Slugs are checked against `areas`, `subjects` and `grades` only when those sets are given; `strict` (shipped
    lessons) also requires every lesson's review record.
    """
    path = Path(path)
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    valid = {
        "area": None if areas is None else frozenset(areas),
        "subjects": None if subjects is None else frozenset(subjects),
        "grades": None if grades is None else frozenset(grades),
    }
    lessons: list[Lesson] = []
    seen: dict[str, tuple[str, int]] = {}
    for file in files:
        source = _display(file)
        for number, raw in enumerate(_read_entries(file, source), start=1):
            lesson = _parse(raw, source, number, valid, strict)
            if lesson.id in seen:
                first_file, first_number = seen[lesson.id]
                raise LessonError(
                    source,
                    lesson.id,
                    "id",
                    f"duplicate id {lesson.id!r}, already defined in {first_file} (lesson #{first_number})",
                    number=number,
                )
            seen[lesson.id] = (source, number)
            lessons.append(lesson)
    check_journey(lessons, {lesson.id: seen[lesson.id][1] for lesson in lessons})
    return lessons


def check_journey(lessons: list[Lesson], numbers: Mapping[str, int] | None = None) -> None:
    """The rules across lessons: every prerequisite exists and is not above the lesson's level, no cycles,
    a practice lesson builds on a foundation lesson of its area and a mentor lesson on a practice one."""
    by_id = {lesson.id: lesson for lesson in lessons}
    numbers = numbers or {}

    def fail(lesson: Lesson, field: str, message: str) -> LessonError:
        return LessonError(lesson.source, lesson.id, field, message, number=numbers.get(lesson.id))

    for lesson in lessons:
        for required in lesson.requires:
            if required not in by_id:
                raise fail(lesson, "requires", f"unknown lesson id {required!r}")
            if LEVELS.index(by_id[required].level) > LEVELS.index(lesson.level):
                raise fail(lesson, "requires", f"{required!r} is a {by_id[required].level} lesson, above this "
                                               f"{lesson.level} lesson")
        if lesson.level == "foundation":
            continue
        below = LEVELS[LEVELS.index(lesson.level) - 1]
        if not any(lesson2.area == lesson.area and lesson2.level == below for lesson2 in lessons):
            raise fail(lesson, "level", f"a {lesson.level} lesson needs a {below} lesson in {lesson.area!r}, "
                                        f"and there is none")
        if not any(by_id[required].area == lesson.area and by_id[required].level == below
                   for required in lesson.requires):
            raise fail(lesson, "requires", f"a {lesson.level} lesson must require a {below} lesson of "
                                           f"{lesson.area!r}")
    _refuse_cycles(lessons, by_id, fail)


def _refuse_cycles(lessons: list[Lesson], by_id: Mapping[str, Lesson], fail) -> None:
    state: dict[str, str] = {}  # "open" while on the current path, "done" once every prerequisite is checked

    def visit(lesson: Lesson, path: tuple[str, ...]) -> None:
        state[lesson.id] = "open"
        for required in lesson.requires:
            if state.get(required) == "open":
                cycle = " -> ".join([*path[path.index(required):], required])
                raise fail(lesson, "requires", f"prerequisites form a cycle: {cycle}")
            if required not in state:
                visit(by_id[required], (*path, required))
        state[lesson.id] = "done"

    for lesson in lessons:
        if lesson.id not in state:
            visit(lesson, (lesson.id,))


def taxonomy_slugs(path: str | Path = TAXONOMY_PATH) -> tuple[set[str], set[str], set[str]]:
    """(areas, subjects, grade bands) from taxonomy.yaml.

    Each section may be a list of slugs, a list of mappings with a `slug` (or `id`) key, or a mapping keyed by
    slug, so the file's author can add names and descriptions without breaking this reader.
    """
    path = Path(path)
    source = _display(path)
    try:
        data = _load_yaml(path)
    except OSError as exc:
        raise LessonError(source, None, None, f"cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise LessonError(source, None, None, _yaml_problem(exc)) from exc
    if not isinstance(data, Mapping):
        raise LessonError(source, None, None, "expected a mapping with areas, subjects and grade bands")
    sections = (
        ("areas", "teaching_areas", "topics"),
        ("subjects",),
        ("grade_bands", "grades", "grade-bands"),
    )
    result = []
    for names in sections:
        key = next((name for name in names if name in data), None)
        if key is None:
            raise LessonError(source, None, None, f"missing section {names[0]!r}")
        result.append(_slugs(data[key], source, key))
    return result[0], result[1], result[2]


def _slugs(section: object, source: str, key: str) -> set[str]:
    if isinstance(section, Mapping):
        return {str(slug) for slug in section}
    if isinstance(section, list):
        slugs = set()
        for item in section:
            if isinstance(item, Mapping):
                item = item.get("slug", item.get("id"))
            if not isinstance(item, str):
                raise LessonError(source, None, None, f"section {key!r}: each item needs a slug, got {item!r}")
            slugs.add(item)
        return slugs
    raise LessonError(source, None, None, f"section {key!r}: expected a list or mapping, got {type(section).__name__}")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a repeated key: PyYAML keeps the last one silently, and a copied part whose
    second `ur:` was not renamed would otherwise lose a translation without a word.

    Dates stay text: PyYAML raises a bare ValueError on `reviewed_on: 2026-13-01`, which could not name the
    lesson; the review rule parses the text and names file, lesson and field."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"repeated key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


def _load_yaml(file: Path):
    return yaml.load(file.read_text(encoding="utf-8"), Loader=_StrictLoader)


def _display(file: Path) -> str:
    try:
        return file.resolve().relative_to(KB_DIR.resolve()).as_posix()
    except ValueError:
        return str(file)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"invalid YAML: {problem}"
    return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _read_entries(file: Path, source: str) -> list[object]:
    try:
        data = _load_yaml(file)
    except OSError as exc:
        raise LessonError(source, None, None, f"cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise LessonError(source, None, None, _yaml_problem(exc)) from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("lessons"), list):
        raise LessonError(source, None, None, "expected a top-level 'lessons:' list")
    return data["lessons"]


def _parse(raw: object, source: str, number: int, valid: Mapping[str, frozenset[str] | None],
           strict: bool = False) -> Lesson:
    entry = raw.get("id") if isinstance(raw, Mapping) and isinstance(raw.get("id"), str) else None

    def fail(field: str | None, message: str) -> LessonError:
        return LessonError(source, entry, field, message, number=number)

    if not isinstance(raw, Mapping):
        raise fail(None, f"expected a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS), key=str)
    if unknown:
        raise fail(str(unknown[0]), f"unknown field; expected only {', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)}")
    for field in REQUIRED_FIELDS:
        if raw.get(field) in (None, "", [], {}):
            raise fail(field, "missing")

    if not isinstance(raw["id"], str) or not SLUG.match(raw["id"]):
        raise fail("id", f"must be a lowercase slug like 'attention-signals', got {raw['id']!r}")

    area = raw["area"]
    if not isinstance(area, str):
        raise fail("area", f"must be one slug, got {area!r}")
    _check_slugs([area], valid["area"], fail, "area")

    lists = {}
    for field in ("subjects", "grades"):
        values = raw[field]
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise fail(field, f"must be a list of slugs, got {values!r}")
        if len(set(values)) != len(values):
            raise fail(field, f"repeats a slug: {values!r}")
        _check_slugs(values, valid[field], fail, field)
        lists[field] = tuple(values)

    minutes = raw["minutes"]
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        raise fail("minutes", f"must be a whole number, got {minutes!r}")
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise fail("minutes", f"must be between {MIN_MINUTES} and {MAX_MINUTES}, got {minutes}")

    raw_parts = raw["parts"]
    if not isinstance(raw_parts, list):
        raise fail("parts", f"must be a list of messages, got {type(raw_parts).__name__}")
    if not MIN_PARTS <= len(raw_parts) <= MAX_PARTS:
        raise fail("parts", f"must have {MIN_PARTS} to {MAX_PARTS} parts, got {len(raw_parts)}")
    parts = tuple(
        _texts(part, f"parts[{index}]", fail, limits={lang: MAX_PART_CHARS for lang in REQUIRED_LANGS})
        for index, part in enumerate(raw_parts, start=1)
    )

    texts = {field: _texts(raw[field], field, fail) for field in TEXT_FIELDS if field != "sms"}
    sms = _texts(raw["sms"], "sms", fail, limits=MAX_SMS_CHARS)

    level = raw["level"]
    if level not in LEVELS:
        raise fail("level", f"must be one of {', '.join(LEVELS)}, got {level!r}")
    requires = raw.get("requires") or []
    if not isinstance(requires, list) or not all(isinstance(value, str) and SLUG.match(value) for value in requires):
        raise fail("requires", f"must be a list of lesson ids, got {requires!r}")
    if raw["id"] in requires:
        raise fail("requires", "a lesson cannot require itself")
    if len(set(requires)) != len(requires):
        raise fail("requires", f"repeats a lesson id: {requires!r}")
    check = _check(raw["check"], fail)
    reviewed_by, reviewed_on = _review_record(raw, fail, strict)

    return Lesson(
        id=raw["id"],
        title=texts["title"],
        area=area,
        subjects=lists["subjects"],
        grades=lists["grades"],
        minutes=minutes,
        parts=parts,
        activity=texts["activity"],
        materials=texts["materials"],
        reflection=texts["reflection"],
        sms=sms,
        source=source,
        level=level,
        requires=tuple(requires),
        check=check,
        reviewed_by=reviewed_by,
        reviewed_on=reviewed_on,
    )


def _check(value: object, fail) -> tuple[CheckQuestion, ...]:
    if not isinstance(value, list) or not MIN_CHECK_QUESTIONS <= len(value) <= MAX_CHECK_QUESTIONS:
        raise fail("check", f"must be a list of {MIN_CHECK_QUESTIONS} or {MAX_CHECK_QUESTIONS} questions, "
                            f"got {value!r:.80}")
    questions = []
    for number, raw in enumerate(value, start=1):
        where = f"check[{number}]"
        if not isinstance(raw, Mapping) or set(raw) != {"q", "options", "answer"}:
            raise fail(where, "must have exactly q, options and answer")
        limits = {lang: MAX_CHECK_TEXT_CHARS for lang in CHECK_LANGS}
        question = _texts(raw["q"], f"{where}.q", fail, limits=limits, langs=CHECK_LANGS)
        options = raw["options"]
        if not isinstance(options, list) or not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise fail(f"{where}.options", f"must be a list of {MIN_OPTIONS} to {MAX_OPTIONS} choices")
        options = tuple(_texts(option, f"{where}.options[{index}]", fail, limits=limits, langs=CHECK_LANGS)
                        for index, option in enumerate(options, start=1))
        for lang in CHECK_LANGS:
            texts = [option[lang].casefold() for option in options]
            if len(set(texts)) != len(texts):
                raise fail(f"{where}.options", f"two choices read the same in {lang!r}")
        answer = raw["answer"]
        if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(options):
            raise fail(f"{where}.answer", f"must be the 0-based index of the right choice (0 to "
                                          f"{len(options) - 1}), got {answer!r}")
        questions.append(CheckQuestion(question, options, answer))
    return tuple(questions)


def _check_slugs(values, allowed, fail, field) -> None:
    if allowed is None:
        return
    for value in values:
        if value not in allowed:
            raise fail(field, f"unknown slug {value!r}; expected one of {', '.join(sorted(allowed))}")


def _texts(value: object, field: str, fail, limits: Mapping[str, int] | None = None,
           langs: tuple[str, ...] = REQUIRED_LANGS) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise fail(field, f"must map languages to text ({', '.join(langs)}), got {value!r}")
    for lang in langs:
        if lang not in value or value[lang] is None or (isinstance(value[lang], str) and not value[lang].strip()):
            raise fail(field, f"missing the {lang!r} text")
    texts = {}
    for lang, text in value.items():
        if not isinstance(text, str):
            raise fail(field, f"the {lang!r} text must be a string, got {type(text).__name__}")
        text = text.strip()
        limit = (limits or {}).get(lang)
        if limit is not None and len(text) > limit:
            raise fail(field, f"the {lang!r} text is {len(text)} characters, over the limit of {limit}")
        texts[str(lang)] = text
    return MappingProxyType(texts)
