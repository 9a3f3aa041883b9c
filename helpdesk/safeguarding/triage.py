"""Safeguarding triage: does a human need to see this teacher's message now, and why?

Pure (no Flask, database or I/O after the rules file is read once). It runs on every teacher message, on
the whole text, before anything else looks at it: a disclosure often sits in the middle of an ordinary
question.

The rules are a small grammar kept as data in helpdesk/content/triage.yaml:

  concepts   named word classes, in every script and spelling teachers use: who (a child, a student, an
             adult with power over a child, the teacher herself), what was done (beats, maarta, مارتا,
             touches, locked in, not fed...), how (a weapon, an injury), and the cues around it.
  rules      a category, the concepts that must all appear within a few words of each other, and a
             weight. The first concept is the anchor (the act); the others are who it was done to or by.
             "a child" alone or "beats" alone is nothing; "her uncle beats her" is child abuse.
  idioms     phrases removed before matching: "kill time", "dying to know", "emergency leave", "in touch".
  cues       boosters (told me, every day, right now, please help) that raise a match, and dampers
             (a lesson, a chapter, is it legal, what if) that lower it when they sit in the anchor's
             own sentence: "how do I teach good touch and bad touch" is a lesson question.

score = best rule weight + boosters (capped) - dampers in the anchor's sentence (capped); urgent when the
score reaches THRESHOLD. The weights are set by hand from the category definitions, not fitted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge_base.normalize import clean, fold

RULES_PATH = Path(__file__).parents[1] / "content" / "triage.yaml"
CATEGORIES = ("child_abuse", "self_harm", "violence_threat", "harassment", "emergency")
THRESHOLD = 0.5
MEMO_WORDS = 50_000   # distinct words kept folded (a few MB); cleared when full
BOOSTER_REACH = 15   # tokens either side of the act; a long message's "today" elsewhere says nothing of it
# A one-word prefix folding to fewer letters reaches too much: "chhoo*" (touch) folds to "chu*", which also
# reaches "chuti" (a holiday). After other words ("aag lag*") a short prefix is safe.
MIN_PREFIX = 4
# Sentences end at these; a damper only speaks for the sentence it is in ("lesson plan chahiye. ek bachi
# ne bataya..." is a disclosure after a lesson question).
_SENTENCE_END = re.compile(r"[.!?؟۔\n]+|\s[-–]\s")
_WORD = re.compile(r"[a-z0-9]+|[\u0620-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff]+")
BLANK = "_"
# combine(): a rule flag scoring below WEAK_RULE_BELOW is dropped when the semantic probe puts the message
# below CALM_MEANING_BELOW. Chosen by leave-one-set-out (bench/triage_loso.py --grid): the strongest veto that
# loses no urgent message pooled over the held-out sets even at twice CALM_MEANING_BELOW. Rules of 0.9 and
# more (self-harm, stalking in so many words) are out of its reach: the probe is near 0 on some short ones.
WEAK_RULE_BELOW = 0.85
CALM_MEANING_BELOW = 0.05


@dataclass(frozen=True)
class Triage:
    urgent: bool
    category: str | None   # one of CATEGORIES when urgent, else None
    score: float
    rule: str = ""         # which rule decided, for the lead reading the ticket and for tuning
    # The rules saw an act, and a make-believe cue in its sentence (a game, a school play, a figure of speech)
    # put it below the threshold: the semantic signal, which reads "shooting" in a game as shooting, may not
    # overrule that (see combine).
    pretend: bool = False


NOT_URGENT = Triage(False, None, 0.0)


# --------------------------------------------------------------------------- words

def _token(word: str, spelling: dict[str, str]) -> str:
    if not word.isascii():
        return spelling.get(word, word)
    word = spelling.get(word, word)
    return spelling.get(fold(word), fold(word))


def tokens_of(text: str, spelling: dict[str, str], memo: dict[str, str] | None = None
              ) -> tuple[list[str], list[int]]:
    """Comparable tokens of the message and, for each, the number of the sentence it is in. `memo` keeps
    words already folded: folding is regex work, and on a 70-word message it was most of the 7 ms."""
    memo = {} if memo is None else memo
    tokens, sentences = [], []
    for number, sentence in enumerate(_SENTENCE_END.split(clean(text).replace("'", ""))):
        for word in _WORD.findall(sentence):
            token = memo.get(word)
            if token is None:
                token = memo[word] = _token(word, spelling)
            tokens.append(token)
            sentences.append(number)
    return tokens, sentences


# --------------------------------------------------------------------------- patterns

@dataclass(frozen=True)
class Pattern:
    words: tuple[str, ...]   # "beat*" is a prefix, "#" any number
    gap: int | None = None   # words allowed between two of its words; None: the file's max_gap

    def matches_at(self, tokens: list[str], start: int, max_gap: int) -> int | None:
        """The index of the last token matched when the phrase starts at `start`, else None."""
        if not _word_matches(self.words[0], tokens[start]):
            return None
        max_gap = max_gap if self.gap is None else self.gap
        position = start
        for word in self.words[1:]:
            window = tokens[position + 1: position + 2 + max_gap]
            hit = next((i for i, t in enumerate(window) if _word_matches(word, t)), None)
            if hit is None:
                return None
            position += 1 + hit
        return position


def _word_matches(pattern: str, token: str) -> bool:
    if token == BLANK:
        return False
    if pattern == "#":
        return token.isdigit()
    if pattern.endswith("*"):
        return token.startswith(pattern[:-1])
    return token == pattern


def _pattern(phrase: str, spelling: dict[str, str], gap: int | None = None) -> Pattern:
    words = []
    for raw in str(phrase).split():
        star = raw.endswith("*")
        found = _WORD.findall(clean(raw.rstrip("*")).replace("'", ""))
        if raw == "#":
            words.append("#")
            continue
        for n, word in enumerate(found):
            # A prefix is folded as a word would be, so "bachch*" still reaches "bachon".
            token = _token(word, spelling)
            if star and n == len(found) - 1:
                alone = len(found) == len(str(phrase).split()) == 1
                if alone and token.isascii() and len(token) < MIN_PREFIX:
                    raise ValueError(f"triage.yaml: prefix {raw!r} folds to {token!r}, too short to be safe")
                if not alone and token.isascii():
                    # Folding is not prefix-stable: "daba*" must reach "dabaya", which folds to "dabea"
                    # ("ay" -> "e"). After other words, a prefix without its final vowels is safe.
                    token = re.sub("(?<=...)[aeiouy]+$", "", token)
                token += "*"
            words.append(token)
    if not words:
        raise ValueError(f"triage.yaml: empty phrase {phrase!r}")
    return Pattern(tuple(words), gap)


# --------------------------------------------------------------------------- rules

@dataclass(frozen=True)
class Rule:
    name: str
    category: str
    need: tuple[str, ...]    # concepts; need[0] is the anchor
    weight: float
    window: int              # every other concept within this many tokens of the anchor
    over: frozenset[str] = frozenset()   # categories this rule overrides when both flag the message


class PatternIndex:
    """Phrases grouped by name, looked up by their first word: one pass over the message finds every group
    (a scan of all ~1,500 phrases at every word cost 8 ms a message; the index brings it under 1 ms)."""

    def __init__(self, groups: dict[str, tuple[Pattern, ...]], max_gap: int):
        self.max_gap = max_gap
        self.exact: dict[str, list[tuple[str, Pattern]]] = {}
        self.prefixed: dict[str, list[tuple[str, str, Pattern]]] = {}  # first two letters -> (prefix, group, pattern)
        self.numbered: list[tuple[str, Pattern]] = []
        for name, patterns in groups.items():
            for pattern in patterns:
                first = pattern.words[0]
                if first == "#":
                    self.numbered.append((name, pattern))
                elif first.endswith("*"):
                    self.prefixed.setdefault(first[:2], []).append((first[:-1], name, pattern))
                else:
                    self.exact.setdefault(first, []).append((name, pattern))

    def find(self, tokens: list[str]) -> dict[str, list[tuple[int, int]]]:
        found: dict[str, list[tuple[int, int]]] = {}
        for start, token in enumerate(tokens):
            if token == BLANK:
                continue
            candidates = list(self.exact.get(token, ()))
            candidates += [(name, pattern) for prefix, name, pattern in self.prefixed.get(token[:2], ())
                           if token.startswith(prefix)]
            if token.isdigit():
                candidates += self.numbered
            for name, pattern in candidates:
                end = pattern.matches_at(tokens, start, self.max_gap)
                if end is not None:
                    found.setdefault(name, []).append((start, end))
        return found


@dataclass(frozen=True)
class Rules:
    spelling: dict[str, str]
    idioms: PatternIndex
    words: PatternIndex       # concepts, negators ("_not"), boosters ("+name") and dampers ("-name")
    negated: frozenset[str]   # concepts a negator just before them switches off ("without beating")
    boosters: dict[str, float]
    dampers: dict[str, float]
    rules: tuple[Rule, ...]
    booster_cap: float
    damper_cap: float
    pretend_cues: frozenset[str] = frozenset()   # dampers marked `pretend: true` in triage.yaml
    folded: dict[str, str] = field(default_factory=dict, compare=False, repr=False)  # word -> token memo

    def assess(self, text: str) -> Triage:
        if len(self.folded) > MEMO_WORDS:
            self.folded.clear()
        tokens, sentences = tokens_of(text or "", self.spelling, self.folded)
        if not tokens:
            return NOT_URGENT
        tokens = self._blank_idioms(tokens)
        found = self.words.find(tokens)
        self._drop_negated(found)
        scored: list[tuple[float, Rule]] = []
        pretend = False
        for rule in self.rules:
            anchor = self._anchor(rule, found)
            if anchor is None:
                continue
            # A booster speaks for the act it is near ("told me ... beats her every day"); a damper only for
            # the act's own sentence ("is it legal to hit students?" next to "a father told me...").
            boost = min(self.booster_cap, sum(w for name, w in self.boosters.items()
                                              if any(abs(s - anchor) <= BOOSTER_REACH
                                                     for s, _ in found.get(f"+{name}", ()))))
            damp = min(self.damper_cap, sum(w for name, w in self.dampers.items()
                                            if any(sentences[s] == sentences[anchor]
                                                   for s, _ in found.get(f"-{name}", ()))))
            scored.append((round(rule.weight + boost - damp, 3), rule))
            pretend = pretend or (rule.weight + boost >= THRESHOLD and any(
                sentences[s] == sentences[anchor]
                for name in self.pretend_cues for s, _ in found.get(f"-{name}", ())))
        if not scored:
            return NOT_URGENT
        score, rule = max(scored, key=lambda item: item[0])
        if score < THRESHOLD:
            return Triage(False, None, score, rule.name, pretend)
        # Where two categories fit, the definitions say which wins: sexual contact with a child is child
        # abuse, not harassment; a teacher slapped is violence even when a student's father did it.
        overriding = [(s, r) for s, r in scored if s >= THRESHOLD and rule.category in r.over]
        if overriding:
            _, rule = max(overriding, key=lambda item: item[0])
        return Triage(True, rule.category, score, rule.name)

    def _blank_idioms(self, tokens: list[str]) -> list[str]:
        tokens = list(tokens)
        for spans in self.idioms.find(tokens).values():
            for start, end in spans:
                for i in range(start, end + 1):
                    tokens[i] = BLANK
        return tokens

    def _drop_negated(self, found: dict[str, list[tuple[int, int]]]) -> None:
        # "without beating", "bina maare": the act is named only to say it is not done.
        negations = [end for _, end in found.get("_not", ())]
        for name in self.negated:
            if name in found:
                kept = [(s, e) for s, e in found[name] if not any(0 < s - n <= 2 for n in negations)]
                if kept:
                    found[name] = kept
                else:
                    del found[name]

    def _anchor(self, rule: Rule, found: dict) -> int | None:
        """Where the rule's first concept sits with every other concept near it, else None."""
        if any(name not in found for name in rule.need):
            return None
        for start, end in found[rule.need[0]]:
            if all(any(abs(s - start) <= rule.window or abs(e - end) <= rule.window
                       for s, e in found[name]) for name in rule.need[1:]):
                return start
        return None


def load_rules(path: Path | str = RULES_PATH) -> Rules:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    spelling = {str(variant): str(target)
                for target, variants in (data.get("spelling") or {}).items() for variant in variants}

    def patterns(phrases, gap: int | None = None) -> tuple[Pattern, ...]:
        return tuple(_pattern(p, spelling, gap) for p in phrases or ())

    groups = {name: patterns(phrases) for name, phrases in data["concepts"].items()}
    groups["_not"] = patterns(data.get("negators"))
    # A cue may set its own `gap`: "if a" must be those two words, or "slaps him if he breaks a cup" reads
    # as a hypothetical.
    groups |= {f"+{name}": patterns(entry["phrases"], entry.get("gap"))
               for name, entry in (data.get("boosters") or {}).items()}
    groups |= {f"-{name}": patterns(entry["phrases"], entry.get("gap"))
               for name, entry in (data.get("dampers") or {}).items()}
    rules = []
    for entry in data["rules"]:
        need = tuple(entry["need"])
        unknown = [name for name in need if name not in data["concepts"]]
        if unknown or entry["category"] not in CATEGORIES:
            raise ValueError(f"triage.yaml: rule {entry.get('name')!r} names {unknown or entry['category']}")
        rules.append(Rule(entry.get("name") or "+".join(need), entry["category"], need, float(entry["weight"]),
                          int(entry.get("window", data.get("window", 12))), frozenset(entry.get("over", ()))))
    max_gap = int(data.get("max_gap", 2))
    return Rules(
        spelling=spelling,
        idioms=PatternIndex({"idiom": patterns(data.get("idioms"))}, max_gap),
        words=PatternIndex(groups, max_gap),
        negated=frozenset(data.get("negated", [])),
        boosters={name: float(entry["weight"]) for name, entry in (data.get("boosters") or {}).items()},
        dampers={name: float(entry["weight"]) for name, entry in (data.get("dampers") or {}).items()},
        rules=tuple(rules),
        booster_cap=float(data.get("booster_cap", 0.3)), damper_cap=float(data.get("damper_cap", 0.6)),
        pretend_cues=frozenset(name for name, entry in (data.get("dampers") or {}).items()
                               if entry.get("pretend")),
    )


@lru_cache(maxsize=1)
def shipped_rules() -> Rules:
    return load_rules()


def triage(text: str) -> Triage:
    """The lexical triage of one whole message with the shipped rules."""
    return shipped_rules().assess(text)


def combine(lexical: Triage, semantic: Triage | None) -> Triage:
    """The rules and the optional semantic signal (helpdesk.safeguarding.semantic) together.

    - The semantic signal adds a flag the rules did not raise, but not where the rules read the act as
      make-believe (Triage.pretend).
    - A weak rule flag (score below WEAK_RULE_BELOW) stands unless the meaning of the whole message is
      plainly calm (probe below CALM_MEANING_BELOW): then it was a word match in an ordinary message ("the
      gas cylinder of the lab is empty, which fund buys one"). A strong rule flag always stands.
    """
    if semantic is None:
        return lexical
    if lexical.urgent:
        if lexical.score < WEAK_RULE_BELOW and semantic.score < CALM_MEANING_BELOW:
            return Triage(False, None, lexical.score, f"{lexical.rule}, calm by meaning ({semantic.score})")
        return lexical
    if lexical.pretend or not semantic.urgent:
        return lexical
    return semantic
