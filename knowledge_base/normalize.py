"""Text normalisation for teachers' messages in English, Roman Urdu and Urdu script.

Pipeline (``analyze``): character clean-up (case, punctuation, Urdu letter variants,
diacritics, digits) -> SMS abbreviations -> greetings/politeness dropped -> multi-word
lexicon phrases -> per word: spelling list, stopwords, concept lexicon (exact, then after
folding Roman Urdu vowels/doubles/suffixes, then by consonant skeleton) -> else a folded,
lightly stemmed word.  All vocabulary lives in ``lexicon.yaml``; the rules live here so
spellings nobody listed still fold (``bachon``/``bachy``/``bchon`` -> one key).

Urdu NLP packages were considered and rejected: ``urduhack`` pins TensorFlow and click 7
(breaks Flask's click 8) and ``LughaatNLP`` needs torch/transformers (~2 GB); neither
handles Roman Urdu, which is most of the traffic.  The character rules below are ~30 lines.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

LEXICON_PATH = Path(__file__).parent / "lexicon.yaml"

# --------------------------------------------------------------------------- characters

_CHAR_MAP = {
    "\u064a": "\u06cc", "\u0649": "\u06cc", "\u06d0": "\u06cc",   # Arabic/Farsi yeh -> Urdu yeh
    "\u0643": "\u06a9",                                             # Arabic kaf -> keheh
    "\u0629": "\u06c1", "\u06c2": "\u06c1", "\u06c3": "\u06c1",    # teh marbuta, heh+hamza -> heh goal
    "\u06d3": "\u06d2",                                             # yeh barree + hamza -> yeh barree
    "\u0623": "\u0627", "\u0625": "\u0627", "\u0671": "\u0627",    # alef variants (not madda)
}
_DIGITS = {**{chr(0x0660 + i): str(i) for i in range(10)}, **{chr(0x06F0 + i): str(i) for i in range(10)}}
_TRANSLATE = str.maketrans({**_CHAR_MAP, **_DIGITS})
# Harakat, superscript alef, Quranic marks, tatweel, zero-width characters, bidi marks.
_STRIP = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Arabic heh typed after an aspirating consonant inside a word is do-chashmi heh (پهر -> پھر).
_ASPIRATE = re.compile("([بپتٹجچدڈرڑکگ])\u0647(?=\\w)")
# Urdu-script letters only: the block also holds punctuation (، ؛ ؟ ۔ ٪) that must split words.
_TOKEN = re.compile(r"[a-z0-9']+|[\u0620-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff]+")
_URDU_LETTER = re.compile("[\u0600-\u06ff]")
_LATIN_LETTER = re.compile("[a-z]")


def clean(text: str) -> str:
    """Lower-case, unify Urdu letter variants, drop diacritics, ASCII digits."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _STRIP.sub("", text).translate(_TRANSLATE)
    text = _ASPIRATE.sub("\\1\u06be", text)
    return text.replace("\u0647", "\u06c1")  # remaining Arabic heh -> heh goal


def tokenize(text: str) -> list[str]:
    """Words of the cleaned text; apostrophes are dropped so "don't" -> "dont"."""
    return [t.replace("'", "") for t in _TOKEN.findall(clean(text)) if t.strip("'")]


# --------------------------------------------------------------------------- Roman Urdu folding

_VOWEL_RUNS = (("ee", "i"), ("oo", "u"), ("aa", "a"), ("ai", "e"), ("ay", "e"), ("ey", "e"))
_SUFFIXES = ("iyon", "iyan", "ain", "ein", "yan", "on", "en", "e", "y", "a", "i")


def fold(word: str) -> str:
    """Fold spelling variation shared by Roman Urdu and SMS English (vowel runs, doubles)."""
    if not word.isascii():
        return word
    w = word
    for a, b in _VOWEL_RUNS:                    # before de-doubling, so "ee" -> "i"
        w = w.replace(a, b)
    w = re.sub(r"(.)\1+", r"\1", w)           # bachchay -> bachay, classs -> clas
    return w.replace("chch", "ch")


def stem(word: str) -> str:
    """Very light English stemming; applied to both sides, so it only has to be consistent."""
    if not word.isascii() or len(word) <= 3:
        return word
    for suffix, repl, min_len in (("ies", "y", 5), ("ing", "", 6), ("ed", "", 5), ("s", "", 4)):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith(("ss", "us", "is")):
            return word[: len(word) - len(suffix)] + repl
    return word


def skeleton(word: str) -> str:
    """Consonant skeleton after suffix folding: bachay/bachon/bachy/bchon -> 'bch'."""
    if not word.isascii() or word.isdigit():
        return ""
    w = fold(word)
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    w = w.replace("q", "k").replace("v", "w")
    head, rest = w[:1], re.sub("[aeiouy]", "", w[1:])
    return re.sub(r"(.)\1+", r"\1", head + rest)


# --------------------------------------------------------------------------- lexicon

@dataclass
class Lexicon:
    concepts: dict[str, str]            # exact variant (single word) -> concept token
    folded: dict[str, str]              # fold+stem(variant) -> concept token
    skeletons: dict[str, tuple[str, list[str]]]  # unambiguous skeleton -> (concept, folded variants)
    phrases: dict[tuple[str, ...], str]  # multi-word variant -> concept ("" = greeting, drop)
    stopwords: frozenset[str]
    greetings: frozenset[str]
    abbreviations: dict[str, list[str]]
    spelling: dict[str, str]
    admin_hr: frozenset[str]
    roman_cues: frozenset[str]          # words that mark a message as Roman Urdu
    max_phrase: int
    stop_skeletons: frozenset[str] = frozenset()  # karty/krty/kerte -> like "karte"
    latin_keys: tuple[str, ...] = ()    # Latin variants for typo look-up (studnts -> student)
    cues: dict[tuple[str, ...], str] = None  # escalation cue (one or more words) -> category
    context_cues: frozenset[tuple[str, ...]] = frozenset()   # self-introduction / school context
    question_cues: frozenset[tuple[str, ...]] = frozenset()  # words that mark the asking sentence
    admin_status_cues: frozenset[tuple[str, ...]] = frozenset()  # "when will / still not": a teacher's own case


def _add_variant(lex: Lexicon, variant: str, concept: str, skel_votes: dict) -> None:
    words = tokenize(variant)
    if len(words) > 1:
        lex.phrases[tuple(words)] = concept
        lex.max_phrase = max(lex.max_phrase, len(words))
        return
    if not words:
        return
    w = words[0]
    lex.concepts.setdefault(w, concept)
    lex.folded.setdefault(fold(stem(w)), concept)
    sk = skeleton(w)
    if len(sk) >= 3 and len(w) >= 5:   # short words ("stem", "mark") collide too easily
        skel_votes.setdefault(sk, {}).setdefault(concept, []).append(fold(w))


@lru_cache(maxsize=4)
def load_lexicon(path: str | None = None) -> Lexicon:
    data = yaml.safe_load(Path(path or LEXICON_PATH).read_text(encoding="utf-8"))
    stop = data.get("stopwords", {})
    lex = Lexicon({}, {}, {}, {}, frozenset(), frozenset(), {}, {}, frozenset(), frozenset(), 1)
    lex.spelling = {k: str(v) for k, v in (data.get("spelling") or {}).items()}
    lex.abbreviations = {str(k): tokenize(str(v)) for k, v in (data.get("abbreviations") or {}).items()}
    all_stop = {w for lang in stop.values() for v in lang for w in tokenize(str(v))}
    lex.stopwords = frozenset(all_stop | {fold(w) for w in all_stop if w.isascii()})
    greet_single = set()
    for g in data.get("greetings", []):
        words = tokenize(str(g))
        if len(words) == 1:
            greet_single.add(words[0])
        elif words:
            lex.phrases[tuple(words)] = ""
            lex.max_phrase = max(lex.max_phrase, len(words))
    lex.greetings = frozenset(greet_single)
    skel_votes: dict[str, set] = {}
    for concept, variants in (data.get("concepts") or {}).items():
        for variant in [concept, *variants]:
            _add_variant(lex, str(variant), str(concept), skel_votes)
    # A skeleton shared by two concepts is ambiguous; only exact/folded lookups may use it.
    lex.skeletons = {sk: next(iter(c.items())) for sk, c in skel_votes.items() if len(c) == 1}
    lex.admin_hr = frozenset(data.get("admin_hr", []))
    lex.cues = {}
    for category, variants in (data.get("null_cues") or {}).items():
        for v in variants:
            words = tuple(lex.spelling.get(w, w) for w in tokenize(str(v)))
            if words:
                lex.cues.setdefault(words, str(category))
    lex.context_cues = frozenset(tuple(lex.spelling.get(w, w) for w in tokenize(str(v)))
                                 for v in data.get("context_cues") or [] if tokenize(str(v)))
    lex.question_cues = frozenset(tuple(lex.spelling.get(w, w) for w in tokenize(str(v)))
                                  for v in data.get("question_cues") or [] if tokenize(str(v)))
    lex.admin_status_cues = frozenset(tuple(lex.spelling.get(w, w) for w in tokenize(str(v)))
                                      for v in data.get("admin_status_cues") or [] if tokenize(str(v)))
    roman_stop = {w for w in stop.get("roman_ur", []) if w not in set(stop.get("en", []))}
    stop_sk = {skeleton(w) for w in roman_stop} - set(skel_votes)
    lex.stop_skeletons = frozenset(sk for sk in stop_sk if len(sk) >= 3)
    lex.latin_keys = tuple(sorted(k for k in lex.concepts if k.isascii() and len(k) >= 5))
    english = {w for w in stop.get("en", [])}
    roman = {w for w in stop.get("roman_ur", [])} | set(lex.spelling)
    lex.roman_cues = frozenset(roman - english)
    return lex


# --------------------------------------------------------------------------- analysis

def _expand(words: list[str], lex: Lexicon) -> list[str]:
    out: list[str] = []
    for w in words:
        out.extend(lex.abbreviations.get(w, [w]))
    return out


def _phrases(words: list[str], lex: Lexicon) -> list[str]:
    """Replace the longest known multi-word variants (greeting phrases become nothing)."""
    out, i = [], 0
    while i < len(words):
        for n in range(min(lex.max_phrase, len(words) - i), 1, -1):
            key = tuple(words[i:i + n])
            if key in lex.phrases:
                if lex.phrases[key]:
                    out.append("=" + lex.phrases[key])   # '=' marks an already-resolved concept
                i += n
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _word(w: str, lex: Lexicon) -> str | None:
    """Concept token, folded word, or None when the word carries no content."""
    if w.startswith("="):
        return w[1:]
    w = lex.spelling.get(w, w)
    if w in lex.greetings or w in lex.stopwords:
        return None
    if w in lex.concepts:
        return lex.concepts[w]
    if stem(w) in lex.concepts:
        return lex.concepts[stem(w)]
    f = fold(w)
    if f in lex.stopwords or _LIGHT_VERB.match(w) or _LIGHT_VERB.match(f):
        return None
    s = fold(stem(w))   # stem first: "unless"/"class" keep their double s from the stemmer
    if s in lex.folded:
        return lex.folded[s]
    sk = skeleton(w)
    if len(sk) >= 3 and len(w) >= 4:
        concept, variants = lex.skeletons.get(sk, ("", []))
        # The skeleton proposes, the letters confirm: "hours" must not become "harass".
        if concept and (len(w) <= 4 or max(fuzz.ratio(f, v) for v in variants) >= 75):
            return concept
        if sk in lex.stop_skeletons:
            return None
    if len(s) < 2 and not s.isdigit():
        return None
    return _inflected(w, lex) or _typo(s, lex) or s


# Roman Urdu light verbs (do, be, give, take, go, stay, say, can, find) in any inflection,
# causative or not (karwaun, krwati, hote, lete, kehta, sakein): they carry no topic.
_LIGHT_VERB = re.compile(
    r"^(?:k[ae]?r|ho|d[ei]|l[ei]|ja|r[ae]?h|k[ae]?h|s[ae]?k|pa)"
    r"(?:w|wa|v|va)?"
    r"(?:na|ne|ni|ta|te|ti|ty|tay|ya|ye|yi|aun|un|on|ein|en|ain|ega|egi|enge|ga|gi|ge|a|e|i|y|o)$")

# Inflection endings: Roman Urdu verbs/plurals and their Urdu-script equivalents.
_ROMAN_ENDINGS = ("wana", "wane", "wani", "wate", "wati", "wata", "waun", "wain", "wa",
                  "ate", "ati", "ata", "ane", "ana", "aun", "te", "ti", "ta", "ne", "na", "ni", "en",
                  "in", "un", "on", "o", "e", "i", "y", "a")
_URDU_ENDINGS = ("یاں", "یوں", "اتے", "اتی", "انا", "تے", "تی", "تا", "نا", "نے", "یں", "وں", "ے", "ی", "ا", "ہ")


def _inflected(w: str, lex: Lexicon) -> str | None:
    """marte/maarti -> maar(na), مارتے -> مار(نا): strip one ending, retry bare and infinitive."""
    if w.isascii():
        f, endings, table, infinitive = fold(w), _ROMAN_ENDINGS, lex.folded, ("", "na", "a")
    else:
        f, endings, table, infinitive = w, _URDU_ENDINGS, lex.concepts, ("", "نا", "ا", "ہ", "ے")
    for end in endings:
        base = f[: -len(end)]
        if f.endswith(end) and len(base) >= 3 - (not w.isascii()):
            for tail in infinitive:
                if base + tail in table:
                    return table[base + tail]
    return None


def _typo(word: str, lex: Lexicon) -> str | None:
    """A misspelt lexicon word (one or two edits on a long word) still reaches its concept."""
    if len(word) < 5 or not word.isascii() or word.isdigit():
        return None
    # Typos rarely change the first letter; without this "right" -> "bright", "other" -> "mother".
    for key, _, _ in process.extract(word, lex.latin_keys, scorer=fuzz.ratio, score_cutoff=86, limit=5):
        if key[0] == word[0]:
            return lex.concepts[key]
    return None


@lru_cache(maxsize=4096)
def _analyze_cached(text: str, path: str | None) -> tuple[str, ...]:
    lex = load_lexicon(path)
    words = [lex.spelling.get(w, w) for w in _expand(tokenize(text), lex)]
    words = [w for w in words if w not in lex.greetings]
    out = []
    for w in _phrases(words, lex):
        t = _word(w, lex)
        if t:
            out.append(t)
    return tuple(out)


def analyze(text: str, lexicon_path: str | None = None) -> list[str]:
    """Content tokens of ``text``: concept tokens and folded words, in order."""
    return list(_analyze_cached(text, lexicon_path))


def normalize(text: str) -> str:
    return " ".join(analyze(text))


def strip_greetings(text: str) -> str:
    """The message without greetings/politeness words (case and script already cleaned)."""
    lex = load_lexicon()
    words = [w for w in _phrases(_expand(tokenize(text), lex), lex) if w not in lex.greetings]
    return " ".join(w.lstrip("=") for w in words)


def is_greeting_only(text: str) -> bool:
    return not analyze(text)


@lru_cache(maxsize=4096)
def cue_categories(text: str) -> frozenset[str]:
    """Escalation-cue categories (``null_cues`` in the lexicon) the message contains."""
    lex = load_lexicon()
    words = [lex.spelling.get(w, w) for w in _expand(tokenize(text), lex)]
    longest = max((len(k) for k in lex.cues), default=0)
    found, i = set(), 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            cat = lex.cues.get(tuple(words[i:i + n]))
            if cat:
                if cat != "none":
                    found.add(cat)
                i += n
                break
        else:
            i += 1
    return frozenset(found)


def _has_phrase(words: list[str], phrases: frozenset[tuple[str, ...]]) -> bool:
    lengths = {len(p) for p in phrases}
    return any(tuple(words[i:i + n]) in phrases for n in lengths for i in range(len(words) - n + 1))


@lru_cache(maxsize=4096)
def clause_role(text: str) -> str:
    """Role of one sentence of a message: 'question' (asks: '?'/'؟' or a question word in
    English, Roman Urdu or Urdu), 'context' (self-introduction / where I teach, lexicon
    ``context_cues``, or greetings only) or 'other'.  A question wins over context."""
    lex = load_lexicon()
    words = [lex.spelling.get(w, w) for w in _expand(tokenize(text), lex)]
    if "?" in (text or "") or "\u061f" in (text or "") or _has_phrase(words, lex.question_cues):
        return "question"
    if not analyze(text) or _has_phrase(words, lex.context_cues):
        return "context"
    return "other"


@lru_cache(maxsize=4096)
def asks_case_status(text: str) -> bool:
    """The message asks about the state of one case ("when will", "still not", "kab", "abhi tak"),
    lexicon ``admin_status_cues``.  Only read beside admin/HR words: there it marks a teacher's own
    transfer or salary, which only a person can look into."""
    lex = load_lexicon()
    words = [lex.spelling.get(w, w) for w in _expand(tokenize(text), lex)]
    return _has_phrase(words, lex.admin_status_cues)


def admin_concepts(tokens) -> set[str]:
    return set(tokens) & load_lexicon().admin_hr


def detect_language(text: str) -> str:
    """'ur' for Urdu script, 'roman-ur' when enough Roman Urdu cue words, else 'en'."""
    cleaned = clean(text)
    urdu = len(_URDU_LETTER.findall(cleaned))
    latin = len(_LATIN_LETTER.findall(cleaned))
    if urdu and urdu >= latin:
        return "ur"
    lex = load_lexicon()
    words = [lex.spelling.get(w, w) for w in tokenize(cleaned) if not w.isdigit()]
    if not words:
        return "en"
    cues = sum(1 for w in words if w in lex.roman_cues or fold(w) in lex.roman_cues)
    return "roman-ur" if cues / len(words) >= 0.2 else "en"
