"""The bot's words, kept as data: messages, keywords, districts and helplines (YAML in this folder; the
safeguarding rules in triage.yaml are read by helpdesk.safeguarding.triage).

Pure: no Flask, database or Twilio. Files are read once per process (`lru_cache`); editing them needs a
restart of the web and worker processes, like any code change.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

from knowledge_base.normalize import clean, fold

HERE = Path(__file__).parent
LANGUAGES = ("en", "ur", "roman-ur")
TYPO_MIN_LENGTH = 5      # a one-letter slip in "stop" would be "shop": short words must match exactly
TYPO_CUTOFF = 88         # fuzz.ratio; 'profle'->'profile' 92, 'unsubscibe'->'unsubscribe' 95, 'delete'->'delta' 73
DISTRICT_CUTOFF = 85     # fuzz.WRatio: 'faisalbad', 'rawalpindy' and 'lahor' reach their districts


class ContentError(ValueError):
    pass


def _load(name: str) -> dict:
    path = HERE / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ContentError(f"{path}: must be a mapping")
    return data


# --------------------------------------------------------------------------- messages

@lru_cache(maxsize=1)
def messages() -> dict:
    data = _load("messages.yaml")
    for key, texts in data.items():
        if key == "choices":
            continue
        missing = [lang for lang in LANGUAGES if not (texts or {}).get(lang)]
        if missing:
            raise ContentError(f"messages.yaml: '{key}' has no text for {', '.join(missing)}")
    return data


def text(key: str, language: str, channel: str = "whatsapp", **params) -> str:
    entry = messages()[key]
    if channel == "sms" and entry.get("sms"):
        entry = entry["sms"]
    template = entry.get(language) or entry["en"]
    return template.format(**params) if params else template


def tap_text(key: str, language: str) -> str:
    """The question of a choice message as shown above WhatsApp buttons or a list (its `tap:` form, without
    "reply with a number"); the key's own text where it has none."""
    entry = messages()[key]
    taps = entry.get("tap") or {}
    return taps.get(language) or taps.get("en") or text(key, language)


def day_name(index: int, language: str) -> str:
    """Monday is 0, as in datetime.weekday(); names live in messages.yaml (`weekdays`)."""
    return _names("weekdays", language)[index]


def clock_text(hour: int, minute: int, language: str) -> str:
    """16:00 in English; 'شام 4 بجے' / 'shaam 4 baje' in Urdu, where a 24-hour clock reads as foreign."""
    if language == "en":
        return f"{hour:02d}:{minute:02d}"
    part = next(name for start, name in reversed(_DAY_PARTS) if hour >= start)
    twelve = hour % 12 or 12
    clock = f"{twelve}:{minute:02d}" if minute else str(twelve)
    return text("clock", language, part=text(f"day_part_{part}", language), clock=clock)


_DAY_PARTS = ((0, "night"), (4, "morning"), (12, "noon"), (16, "evening"), (19, "night"))


def date_time_text(when, language: str) -> str:
    """A local datetime as 'Mon 07 Dec 16:00', or 'پیر 7 دسمبر، شام 4 بجے' in Urdu."""
    if language == "en":
        return when.strftime("%a %d %b %H:%M")
    month = _names("months", language)[when.month - 1]
    comma = "،" if language == "ur" else ","
    return f"{day_name(when.weekday(), language)} {when.day} {month}{comma} {clock_text(when.hour, when.minute, language)}"


def _names(key: str, language: str) -> list[str]:
    names = messages()[key]
    return [name.strip() for name in (names.get(language) or names["en"]).split(",")]


def choice_options(field: str) -> list[str]:
    """The stored values of a profile choice, in menu order."""
    return list(messages()["choices"][field])


def choice_label(field: str, value: str, language: str) -> str:
    labels = messages()["choices"][field].get(value)
    if not labels:
        return value
    return labels.get(language) or labels["en"]


def choice_title(field: str, value: str, language: str) -> str:
    """A profile choice's title on a WhatsApp button or list item: its `short` form if the label is long."""
    labels = messages()["choices"][field].get(value) or {}
    return (labels.get("short") or {}).get(language) or choice_label(field, value, language)


# --------------------------------------------------------------------------- words

def words_of(message: str) -> str:
    """The message as comparable words: cleaned (case, Urdu letter variants), punctuation dropped,
    repeated Latin letters folded so 'stoppp' and 'helppp' read as 'stop' and 'help'."""
    tokens = re.findall(r"[a-z0-9]+|[\u0600-\u06ff]+", clean(message).replace("'", ""))
    return " ".join(re.sub(r"(.)\1{2,}", r"\1", t) if t.isascii() else t for t in tokens)


def _phrase_set(variants) -> frozenset[str]:
    bad = [v for v in variants if not isinstance(v, (str, int))]
    if bad:
        raise ContentError(f"keywords.yaml: {bad!r} is not text (quote yes/no/on/off in YAML)")
    return frozenset(words_of(str(v)) for v in variants if words_of(str(v)))


@dataclass(frozen=True)
class KeywordBook:
    keywords: dict[str, frozenset[str]]
    with_argument: frozenset[str]
    answers: dict[str, frozenset[str]]
    languages: dict[str, frozenset[str]]

    def keyword(self, message: str) -> tuple[str, str] | None:
        """(keyword, argument) when the whole message is a keyword, else None."""
        words = words_of(message)
        if not words:
            return None
        found = _lookup(words, self.keywords)
        if found:
            if found == "stop" and " " in words:
                return None  # only a single word opts out
            return found, ""
        first, _, rest = words.partition(" ")
        head = _lookup(first, {k: v for k, v in self.keywords.items() if k in self.with_argument})
        if head and rest:
            return head, rest
        return None

    def is_answer(self, message: str, kind: str) -> bool:
        words = words_of(message)
        return bool(words) and _lookup(words, {kind: self.answers[kind]}) == kind

    def contains_answer(self, message: str, kind: str) -> bool:
        """The phrase appears somewhere in the message ('sorry, samajh nahi aya')."""
        words = f" {words_of(message)} "
        return any(f" {phrase} " in words for phrase in self.answers[kind])

    def language(self, argument: str) -> str | None:
        return _lookup(words_of(argument), self.languages)


def _lookup(words: str, table: dict[str, frozenset[str]]) -> str | None:
    for name, variants in table.items():
        if words in variants:
            return name
    if len(words) < TYPO_MIN_LENGTH or not words.isascii():
        return None
    best, best_score = None, 0.0
    for name, variants in table.items():
        for variant in variants:
            if len(variant) >= TYPO_MIN_LENGTH and variant.count(" ") == words.count(" "):
                score = fuzz.ratio(words, variant)
                if score > best_score:
                    best, best_score = name, score
    return best if best_score >= TYPO_CUTOFF else None


@lru_cache(maxsize=1)
def keyword_book() -> KeywordBook:
    data = _load("keywords.yaml")
    return KeywordBook(
        keywords={k: _phrase_set(v) for k, v in data["keywords"].items()},
        with_argument=frozenset(data.get("with_argument", [])),
        answers={k: _phrase_set(v) for k, v in data["answers"].items()},
        languages={k: _phrase_set(v) for k, v in data["languages"].items()},
    )


# --------------------------------------------------------------------------- districts

@lru_cache(maxsize=1)
def _district_names() -> dict[str, str]:
    """Every spelling (as comparable words) -> the district's stored name."""
    names: dict[str, str] = {}
    for province, districts in _load("districts.yaml").items():
        for spellings in districts:
            for spelling in spellings:
                names.setdefault(words_of(str(spelling)), str(spellings[0]))
    return names


def find_district(message: str) -> str | None:
    words = words_of(message)
    for prefix in ("district ", "zila ", "zilla ", "ضلع "):
        words = words.removeprefix(prefix)
    if not words:
        return None
    names = _district_names()
    if words in names:
        return names[words]
    hit = process.extractOne(words, list(names), scorer=fuzz.WRatio, score_cutoff=DISTRICT_CUTOFF)
    return names[hit[0]] if hit else None


def district_count() -> int:
    return len(set(_district_names().values()))


def province_of(district: str | None) -> str | None:
    """The province (a key of districts.yaml) of a stored district name, else None."""
    if not district:
        return None
    for province, districts in _load("districts.yaml").items():
        if any(str(spellings[0]) == district for spellings in districts):
            return province
    return None


# --------------------------------------------------------------------------- helplines

@lru_cache(maxsize=4)
def _helplines(path: str | None) -> dict:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) if path else _load("helplines.yaml")
    for kind in data["labels"].values():
        missing = [lang for lang in LANGUAGES if not kind.get(lang)]
        if missing:
            raise ContentError(f"helplines: a label has no text for {', '.join(missing)}")
    return data


def helplines(province: str | None, category: str | None, language: str, path: str | None = None) -> list[str]:
    """'Label number' for each kind of help the category needs, with the province's own number where it has
    one; kinds with no checked number are left out (see helplines.yaml)."""
    data = _helplines(str(path) if path else None)
    kinds = data["by_category"].get(category or "unknown") or data["by_category"]["unknown"]
    local = (data.get("provinces") or {}).get(province or "", {}) or {}
    lines = []
    for kind in kinds:
        entry = local.get(kind) or data["national"].get(kind) or {}
        number = str(entry.get("number") or "").strip()
        if number:
            label = data["labels"][kind]
            lines.append(f"{label.get(language) or label['en']} {number}")
    return lines
