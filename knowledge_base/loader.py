"""Load and validate the FAQ knowledge base (YAML files, database rows, spreadsheets).

Pure Python: no Flask/SQLAlchemy, so the matcher, the CLI and the web app can share it.

Languages: ``en`` (English), ``ur`` (Urdu script) and ``roman-ur`` (Roman Urdu, for teachers who write
Urdu in Latin letters). By default an answer in any one of them loads, so a programme's own knowledge base
and the expert-approved FAQs in the database may leave languages out (readers then get English);
``strict=True`` (``helpdesk kb check --strict`` and the shipped-content tests) requires all three in both
``answer`` and ``short`` plus a review record.

Review record: ``reviewed_by`` (who reviewed, by name or role) and ``reviewed_on`` (ISO date), together or
not at all. A ``reviewed_by`` that says "(draft review)" records a first pass by the content team: it is a
record, but the bot does not claim reviewed answers until every live FAQ has a full review.

Spreadsheet format (CSV, UTF-8): columns ``id, topic, subject, grades, questions,
answer_en, answer_ur, answer_roman_ur, short_en, short_ur, short_roman_ur, keywords, tags,
reviewed_by, reviewed_on``.  List cells use ``;``
(grades, keywords, tags).  ``questions`` holds one question per line inside the cell
(spreadsheet editors type Alt+Enter); ``|`` is accepted too because some editors
cannot type a newline in a cell.  A question therefore cannot contain ``|``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, Iterable, Mapping, Sequence

import yaml

CSV_COLUMNS = ("id", "topic", "subject", "grades", "questions", "answer_en", "answer_ur", "answer_roman_ur",
               "short_en", "short_ur", "short_roman_ur", "keywords", "tags", "reviewed_by", "reviewed_on")
LANGUAGES = ("en", "ur", "roman-ur")
SHORT_MAX = 300  # an SMS short form: two GSM-7 segments of Latin text; Urdu script needs fewer letters
DRAFT_REVIEW_MARK = "(draft review)"


class KnowledgeBaseError(ValueError):
    """A content error, phrased so a content editor can find and fix it."""

    def __init__(self, file: str, message: str, entry: str | None = None,
                 field: str | None = None, line: int | None = None):
        self.file, self.entry, self.field, self.message, self.line = file, entry, field, message, line
        super().__init__(self._text())

    def _text(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        parts = [where]
        if self.entry:
            parts.append(f"entry {self.entry}")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ": ".join(parts) + f": {self.message}"


@dataclass(frozen=True)
class FaqEntry:
    id: str
    topic: str
    questions: tuple[str, ...]
    answer: Mapping[str, str]
    subject: str | None = None
    grades: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    short: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    reviewed_by: str | None = None
    reviewed_on: dt.date | None = None
    source: str = "<memory>"

    @property
    def review_status(self) -> str:
        """'unreviewed', 'draft' (a first pass recorded as such) or 'reviewed'."""
        if not self.reviewed_by:
            return "unreviewed"
        return "draft" if DRAFT_REVIEW_MARK in self.reviewed_by.lower() else "reviewed"

    def answer_in(self, lang: str) -> str:
        """Answer in ``lang``; English is the fallback because every editor can write it."""
        return _pick_lang(self.answer, lang)

    def short_in(self, lang: str) -> str:
        """SMS short form, falling back to the full answer when none was written."""
        return _pick_lang(self.short, lang) if self.short else self.answer_in(lang)


def _pick_lang(texts: Mapping[str, str], lang: str) -> str:
    # "roman-ur" readers read Latin script, so they fall back to English, not Urdu script.
    for key in (lang, "en"):
        if texts.get(key):
            return texts[key]
    return next(iter(texts.values()), "")


# --------------------------------------------------------------------------- validation

def _label(raw: Any, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"].strip():
        return f"'{raw['id']}' (#{index + 1})"
    return f"#{index + 1}"


def _str_list(value: Any, name: str, err) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise err(name, "must be a list of strings")
    return tuple(str(v).strip() for v in value if str(v).strip())


def _lang_map(value: Any, name: str, err, required: bool, languages: Sequence[str]) -> Mapping[str, str]:
    """``languages`` must each have text when the map is given (all three when strict)."""
    if value is None or value == "" or value == {}:
        if required:
            raise err(name, "missing")
        return MappingProxyType({})
    if isinstance(value, str):
        value = {"en": value}
    if not isinstance(value, dict):
        raise err(name, "must be a string or a map of language code to text")
    out = {}
    for lang, text in value.items():
        if str(lang) not in LANGUAGES:  # "roman_ur" or "urdu" would be silently ignored by every reader
            raise err(f"{name}.{lang}", f"unknown language (use {', '.join(LANGUAGES)})")
        if not isinstance(text, str):
            raise err(f"{name}.{lang}", "must be text")
        if text.strip():
            out[str(lang)] = text.strip()
    if required and not out:
        raise err(name, "empty")
    if out or required:
        for lang in languages:
            if lang not in out:
                raise err(f"{name}.{lang}", "missing" if lang not in value else "empty")
    return MappingProxyType(out)


def _review(raw: dict, err, strict: bool) -> tuple[str | None, dt.date | None]:
    by, on = raw.get("reviewed_by"), raw.get("reviewed_on")
    if by is not None and (not isinstance(by, str) or not by.strip()):
        raise err("reviewed_by", "must be text naming the reviewer or their role")
    if isinstance(on, str):
        try:
            on = dt.date.fromisoformat(on.strip())
        except ValueError:
            raise err("reviewed_on", f"'{on}' is not an ISO date (YYYY-MM-DD)") from None
    elif isinstance(on, dt.datetime):
        on = on.date()
    elif on is not None and not isinstance(on, dt.date):
        raise err("reviewed_on", "must be an ISO date (YYYY-MM-DD)")
    if by and on is None:
        raise err("reviewed_on", "missing (a review record needs reviewed_by and reviewed_on)")
    if on is not None and not by:
        raise err("reviewed_by", "missing (a review record needs reviewed_by and reviewed_on)")
    if strict and not by:
        raise err("reviewed_by", "missing: shipped content needs a review record (reviewed_by, reviewed_on)")
    return (by.strip() if by else None), on


def _entry(raw: Any, index: int, source: str, strict: bool = False) -> FaqEntry:
    label = _label(raw, index)

    def err(name: str | None, message: str) -> KnowledgeBaseError:
        return KnowledgeBaseError(source, message, entry=label, field=name)

    if not isinstance(raw, dict):
        raise err(None, "must be a mapping with id, topic, questions, answer")
    for name in ("id", "topic"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise err(name, "missing" if raw.get(name) in (None, "") else "must be text")
    questions = _str_list(raw.get("questions"), "questions", err)
    if not questions:
        raise err("questions", "missing or empty (list at least one question)")
    subject = raw.get("subject")
    if subject is not None and not isinstance(subject, str):
        raise err("subject", "must be text")
    languages = LANGUAGES if strict else ()
    answer = _lang_map(raw.get("answer"), "answer", err, required=True, languages=languages)
    short = _lang_map(raw.get("short"), "short", err, required=strict, languages=languages)
    if strict:
        for lang, text in short.items():
            if len(text) > SHORT_MAX:
                raise err(f"short.{lang}", f"{len(text)} characters, at most {SHORT_MAX} for SMS")
    reviewed_by, reviewed_on = _review(raw, err, strict)
    return FaqEntry(
        id=raw["id"].strip(), topic=raw["topic"].strip(), questions=questions,
        answer=answer,
        subject=subject.strip() if subject else None,
        grades=_str_list(raw.get("grades"), "grades", err),
        tags=_str_list(raw.get("tags"), "tags", err),
        keywords=_str_list(raw.get("keywords"), "keywords", err),
        short=short, reviewed_by=reviewed_by, reviewed_on=reviewed_on,
        source=source,
    )


def entries_from_dicts(dicts: Iterable[Any], source: str = "<db>", strict: bool = False) -> list[FaqEntry]:
    """Validate plain dicts (e.g. rows from the database) exactly like YAML entries."""
    entries = [_entry(raw, i, source, strict) for i, raw in enumerate(dicts)]
    _check_unique(entries)
    return entries


def _check_unique(entries: Sequence[FaqEntry]) -> None:
    seen: dict[str, FaqEntry] = {}
    for i, e in enumerate(entries):
        if e.id in seen:
            first = seen[e.id]
            raise KnowledgeBaseError(
                e.source, f"duplicate id, already used in {first.source}",
                entry=f"'{e.id}' (#{i + 1})", field="id")
        seen[e.id] = e


# --------------------------------------------------------------------------- YAML

class _ContentLoader(yaml.SafeLoader):
    """safe_load, but dates stay text: PyYAML raises a bare ValueError on `reviewed_on: 2026-13-01`, which
    could not name the entry; _review parses the text and names file, entry and field."""


_ContentLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


def _read_yaml(path: Path) -> list[Any]:
    name = str(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_ContentLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise KnowledgeBaseError(name, f"invalid YAML: {problem}", line=line) from exc
    except UnicodeDecodeError as exc:
        raise KnowledgeBaseError(name, "file is not UTF-8 text") from exc
    if not isinstance(data, dict) or "faqs" not in data:
        raise KnowledgeBaseError(name, "missing top-level 'faqs:' list", field="faqs")
    if not isinstance(data["faqs"], list) or not data["faqs"]:
        raise KnowledgeBaseError(name, "'faqs' must be a non-empty list", field="faqs")
    return data["faqs"]


def yaml_files(path: str | Path) -> list[Path]:
    root = Path(path)
    if not root.is_dir():
        raise KnowledgeBaseError(str(root), "knowledge base directory not found")
    return sorted(p for p in root.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_directory(path: str | Path, strict: bool = False) -> list[FaqEntry]:
    """Load every ``*.yaml``/``*.yml`` file in ``path`` (sorted, not recursive); ``strict`` for shipped
    content: all three languages in answer and short, and a review record."""
    entries: list[FaqEntry] = []
    for file in yaml_files(path):
        entries.extend(_entry(raw, i, str(file), strict) for i, raw in enumerate(_read_yaml(file)))
    _check_unique(entries)
    return entries


def _entry_dict(e: FaqEntry) -> dict[str, Any]:
    d: dict[str, Any] = {"id": e.id, "topic": e.topic}
    if e.subject:
        d["subject"] = e.subject
    if e.grades:
        d["grades"] = list(e.grades)
    d["questions"] = list(e.questions)
    d["answer"] = dict(e.answer)
    for name in ("short",):
        if getattr(e, name):
            d[name] = dict(getattr(e, name))
    for name in ("keywords", "tags"):
        if getattr(e, name):
            d[name] = list(getattr(e, name))
    if e.reviewed_by:
        d["reviewed_by"] = e.reviewed_by
        d["reviewed_on"] = e.reviewed_on.isoformat() if e.reviewed_on else None
    return d


def export_yaml(entries: Iterable[FaqEntry]) -> str:
    return yaml.safe_dump({"faqs": [_entry_dict(e) for e in entries]},
                          allow_unicode=True, sort_keys=False, width=100)


# --------------------------------------------------------------------------- CSV

def export_csv(entries: Iterable[FaqEntry], fp: IO[str]) -> None:
    writer = csv.DictWriter(fp, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for e in entries:
        writer.writerow({
            "id": e.id, "topic": e.topic, "subject": e.subject or "",
            "grades": ";".join(e.grades), "questions": "\n".join(e.questions),
            **{f"answer_{_column(lang)}": e.answer.get(lang, "") for lang in LANGUAGES},
            **{f"short_{_column(lang)}": e.short.get(lang, "") for lang in LANGUAGES},
            "keywords": ";".join(e.keywords), "tags": ";".join(e.tags),
            "reviewed_by": e.reviewed_by or "",
            "reviewed_on": e.reviewed_on.isoformat() if e.reviewed_on else "",
        })


def _column(lang: str) -> str:
    return lang.replace("-", "_")  # "roman-ur" -> answer_roman_ur: spreadsheet formulas dislike hyphens


def _split(cell: str | None, seps: str) -> list[str]:
    text = cell or ""
    for sep in seps[1:]:
        text = text.replace(sep, seps[0])
    return [part.strip() for part in text.split(seps[0]) if part.strip()]


def _row_dict(row: Mapping[str, str | None]) -> dict[str, Any]:
    get = lambda k: (row.get(k) or "").strip()  # noqa: E731 - tiny accessor
    return {
        "id": get("id"), "topic": get("topic"), "subject": get("subject") or None,
        "grades": _split(row.get("grades"), ";"),
        "questions": _split(row.get("questions"), "\n|"),
        "answer": {lang: get(f"answer_{_column(lang)}") for lang in LANGUAGES if get(f"answer_{_column(lang)}")},
        "short": {lang: get(f"short_{_column(lang)}") for lang in LANGUAGES if get(f"short_{_column(lang)}")},
        "keywords": _split(row.get("keywords"), ";"), "tags": _split(row.get("tags"), ";"),
        "reviewed_by": get("reviewed_by") or None, "reviewed_on": get("reviewed_on") or None,
    }


def import_csv(fp: IO[str] | str, source: str = "<csv>") -> list[FaqEntry]:
    """Read a spreadsheet export back; validation errors name the CSV row as '#n'."""
    if isinstance(fp, str):
        fp = io.StringIO(fp)
    reader = csv.DictReader(fp)
    missing = [c for c in ("id", "topic", "questions", "answer_en") if c not in (reader.fieldnames or [])]
    if missing:
        raise KnowledgeBaseError(source, f"missing column(s): {', '.join(missing)}")
    return entries_from_dicts([_row_dict(r) for r in reader], source=source)
