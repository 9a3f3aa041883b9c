"""Scrub personal details from a teacher's question before it is stored for analytics. Pure.

What goes: email addresses, web links, numbers of four or more digits (phone numbers in any of the ways
teachers type them, CNICs, EMIS school codes, roll numbers; ASCII, Urdu and Arabic-Indic digits alike), and
names: the teacher's own profile name and any names passed in, and names introduced by a cue in English,
Roman Urdu or Urdu ("my name is ...", "mera naam ... hai", "میرا نام ... ہے", "Mr/Sir/Madam/Miss ...",
"... sahib", "... صاحب"). Short numbers stay: "grade 5", "1/4" and "305 as 3005" are the substance of a
teaching question, and on their own identify nobody.

Hand-written rather than a PyPI package, after trying the candidates (details in analytics/README.md):
`decima-pii` (decima-ai 2.4) is the one that knows Urdu, but it is an NER model: it pulls transformers,
onnxruntime and huggingface-hub and downloads a 148 MB ONNX model from the Hugging Face hub on first use,
which a closed-network deployment cannot do, and it has no Roman Urdu; `pii-core` 0.1 is light but its
detectors are Polish identifiers plus email/IBAN/card; Presidio and scrubadub need a spaCy model and have no
Urdu. What we must catch (numbers, emails, cue-introduced names) is ~40 lines of patterns below.
"""
from __future__ import annotations

import re
from typing import Iterable

EMAIL = "[email]"
LINK = "[link]"
NUMBER = "[number]"
NAME = "[name]"

_DIGIT = r"[0-9\u0660-\u0669\u06f0-\u06f9]"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_LINK = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
# Four or more digits, allowing the separators people type inside phone numbers and CNICs: +92 300-123 4567.
_LONG_NUMBER = re.compile(rf"\+?{_DIGIT}(?:[\s\-./()]{{0,2}}{_DIGIT}){{3,}}")

_LATIN_NAME = r"[A-Za-z][a-z']+(?:\s+[A-Z][a-z']+){0,2}"
_URDU_WORD = r"[\u0620-\u064a\u0660-\u06d3\u06d5\u06fa-\u06ff]+"
_NAME_CUES = [
    # English: "my name is Ayesha Khan", "I am Ayesha", "this is Ayesha"
    re.compile(rf"(?i:\b(?:my name is|my name's|i am|i'm|this is)\s+)(?P<name>[A-Z][a-z']+(?:\s+[A-Z][a-z']+){{0,2}})"),
    # Titles: "Mr Aslam", "Sir Tariq", "Madam Nasreen", "Miss Sana", "Dr. Ali", "Ms. Khan"
    re.compile(rf"(?i:\b(?:mr|mrs|ms|miss|sir|madam|madame|dr|prof|ustad|ustaad|baji|apa)\.?\s+)(?P<name>{_LATIN_NAME})"),
    # Roman Urdu: "mera naam Ayesha hai", "main Ayesha hun"
    re.compile(rf"(?i:\b(?:mera|meri|my)\s+(?:naam|name|nam)\s+)(?P<name>[A-Za-z']+(?:\s+[A-Za-z']+){{0,2}}?)(?=\s+(?:hai|he|h|hy)\b|[.,!?]|$)"),
    # Honorific after the name: "Aslam sahib", "Nasreen ji", "Ahmed sahab"
    re.compile(r"(?P<name>\b[A-Za-z][a-z']+)(?=\s+(?:sahib|sahab|saab|sb|ji|bhai|baji)\b)"),
    # Urdu script: "میرا نام عائشہ خان ہے", "محترمہ نسرین", "اسلم صاحب"
    re.compile(rf"(?:میرا|میری)\s+نام\s+(?P<name>{_URDU_WORD}(?:\s+{_URDU_WORD}){{0,2}}?)(?=\s+(?:ہے|ہیں)|[۔،.!?؟]|$)"),
    re.compile(rf"(?:محترم|محترمہ|جناب|مس|سر|میڈم|استاد)\s+(?P<name>{_URDU_WORD})"),
    re.compile(rf"(?P<name>{_URDU_WORD})(?=\s+(?:صاحب|صاحبہ|جی|باجی))"),
]
# Words a cue can precede that are not names ("I am teaching", "I am a teacher", "sir please").
_NOT_NAMES = {"a", "an", "the", "teaching", "teacher", "not", "very", "so", "new", "please", "plz", "kindly",
              "confused", "worried", "stuck", "unable", "trying", "from", "in", "at", "head", "ap", "aap",
              "mera", "meri", "is", "ke", "ki", "ka", "hum", "main", "mai", "bacha", "bachay"}


def scrub(text: str | None, names: Iterable[str | None] = ()) -> str:
    """The text with emails, links, long numbers and names replaced by [email], [link], [number], [name]."""
    if not text:
        return ""
    text = _EMAIL.sub(EMAIL, text)
    text = _LINK.sub(LINK, text)
    text = _LONG_NUMBER.sub(NUMBER, text)
    for name in names:
        for part in _name_parts(name):
            text = re.sub(rf"(?<!\w){re.escape(part)}(?!\w)", NAME, text, flags=re.IGNORECASE)
    for cue in _NAME_CUES:
        text = cue.sub(_replace_name, text)
    return text


def _name_parts(name: str | None) -> list[str]:
    # Each word of a known name on its own ("Ayesha" alone still identifies Ayesha Khan); very short words
    # ("Ali" stays, "M" goes) are skipped so an initial does not blank every "m" in the text.
    return [p for p in (name or "").replace(".", " ").split() if len(p) >= 3 and p.lower() not in _NOT_NAMES]


def _replace_name(match: re.Match) -> str:
    name = match.group("name")
    words = name.split()
    if not words or words[0].lower() in _NOT_NAMES:
        return match.group(0)
    start, end = match.span("name")
    offset = match.start()
    whole = match.group(0)
    return whole[: start - offset] + NAME + whole[end - offset:]
