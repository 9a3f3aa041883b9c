"""The check that ends a CPD lesson, as pure rules: reading a teacher's answer and deciding a pass.

A question goes out with numbered choices. The teacher answers with the number ("2", "۲", "jawab 2") or with
the words of a choice in any of the three languages ("write the goal first", "pehle maqsad"); an answer that
names no choice, or more than one, is not an answer (the caller asks again or treats it as a question).

Passing: a two-question check needs both right; a three-question check needs two of the three. One slip on
a longer check is forgiven because the check is a reminder of the lesson, not an exam; two questions leave no
room for a slip without making the check a coin toss (one right of two is what guessing gives half the time).
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz

from helpdesk.content import words_of
from knowledge_base.normalize import fold

# A reply of a number and at most this many other words reads as a number ("jawab 2", "option 2 hai").
NUMBER_REPLY_WORDS = 3
# Score of the reply against a choice (the better of token_set_ratio and WRatio, on folded words): a choice's
# own words or a shortened or respelled copy reach 85+, an unrelated question stays under 50.
WORDS_CUTOFF = 80
# A reply with a number that reads this close to a choice's words is that choice, not the number.
SAME_WORDS = 95
# A word reply this short could match any choice by accident ("ok", "haan").
MIN_WORD_REPLY_CHARS = 4


def pick_option(text: str, options: Sequence[Sequence[str]]) -> int | None:
    """The 0-based choice the reply names, or None. `options[i]` holds choice i in every language."""
    words = words_of(text)
    if not words or not options:
        return None
    exact = [index for index, texts in enumerate(options) if any(words == words_of(choice) for choice in texts if choice)]
    if len(exact) == 1 and not _choice_number(words, len(options)):
        return exact[0]  # "43" or "1/8" is the choice that reads so, unless it is a choice's number
    by_words = _by_words(words, options) if len(words) >= MIN_WORD_REPLY_CHARS else None
    numbers = re.findall(r"\d+", words)
    if len(numbers) == 1 and len(words.split()) <= NUMBER_REPLY_WORDS + 1:
        if by_words is not None and by_words[1] >= SAME_WORDS:
            return by_words[0]  # "At least 5 seconds" is a choice's own words, not choice 5
        index = int(numbers[0]) - 1
        return index if 0 <= index < len(options) else None
    return by_words[0] if by_words is not None else None


def _choice_number(words: str, count: int) -> bool:
    return words.isdigit() and 1 <= int(words) <= count


def _by_words(words: str, options: Sequence[Sequence[str]]) -> tuple[int, float] | None:
    """(choice, score) of the one choice the words name, or None when none or several reach the cutoff."""
    scores = [max((_words_score(words, words_of(choice)) for choice in texts if choice), default=0)
              for texts in options]
    best = max(scores)
    if best < WORDS_CUTOFF or scores.count(best) > 1:
        return None
    return scores.index(best), best


def _words_score(reply: str, choice: str) -> float:
    """token_set_ratio scores 100 whenever the reply's words are all inside the choice, so one common word
    ("class") would pick a long choice: a one-word reply only counts against a one-word choice."""
    if len(reply.split()) < min(2, len(choice.split())):
        return 0
    reply, choice = _folded(reply), _folded(choice)
    # WRatio forgives Roman Urdu spellings that folding leaves apart ("bagair parhay" / "baghair parhe": 86).
    return max(fuzz.token_set_ratio(reply, choice), fuzz.WRatio(reply, choice))


def _folded(words: str) -> str:
    return " ".join(fold(word) for word in words.split())


def is_number_reply(text: str) -> bool:
    """Only a number (perhaps out of range): a reply to the numbered choices, never a question."""
    return bool(re.fullmatch(r"\d+", words_of(text).replace(" ", "")))


def passed(correct: int, total: int) -> bool:
    """All right on a two-question check, at least two of three on a three-question check."""
    if total <= 0:
        return False
    return correct >= (total - 1 if total >= 3 else total)


def numbered(question: str, options: Sequence[str]) -> str:
    """A question with its choices numbered from 1, one per line (SMS and WhatsApp alike)."""
    return "\n".join([question, *(f"{number}) {option}" for number, option in enumerate(options, start=1))])
