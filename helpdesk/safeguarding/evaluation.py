"""Figures for a labelled safeguarding set (pure): recall on urgent messages per category and per language,
false alarms on the rest per language, and which category the flags got. Used by `helpdesk triage --eval`
and bench/triage.py, so both print the same numbers.

A row is {"text", "urgent", "category", "lang"} (the safeguarding-dev format).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

LANGUAGES = ("en", "roman-ur", "mixed", "ur")


def load_rows(path: Path | str) -> list[dict]:
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or "text" not in row or "urgent" not in row:
            raise ValueError(f"{path}:{number}: needs at least 'text' and 'urgent'")
        rows.append(row)
    return rows


@dataclass
class Share:
    hit: int = 0
    total: int = 0

    def add(self, hit: bool) -> None:
        self.hit += bool(hit)
        self.total += 1

    @property
    def rate(self) -> float | None:
        return self.hit / self.total if self.total else None

    def __str__(self) -> str:
        return "-" if self.rate is None else f"{self.rate:.3f} ({self.hit}/{self.total})"


@dataclass
class Figures:
    recall: Share = field(default_factory=Share)
    false_alarms: Share = field(default_factory=Share)
    category_right: Share = field(default_factory=Share)   # flagged urgent messages given their own category
    recall_by_category: dict[str, Share] = field(default_factory=dict)
    recall_by_language: dict[str, Share] = field(default_factory=dict)
    false_alarms_by_language: dict[str, Share] = field(default_factory=dict)
    missed: list[dict] = field(default_factory=list)
    false: list[dict] = field(default_factory=list)


def evaluate(rows: list[dict], predictions: list) -> Figures:
    """`predictions` are Triage results (or anything with .urgent and .category), one per row, in order."""
    figures = Figures()
    for row, prediction in zip(rows, predictions, strict=True):
        language = row.get("lang") or "?"
        if row["urgent"]:
            figures.recall.add(prediction.urgent)
            figures.recall_by_category.setdefault(row.get("category") or "?", Share()).add(prediction.urgent)
            figures.recall_by_language.setdefault(language, Share()).add(prediction.urgent)
            if prediction.urgent:
                figures.category_right.add(prediction.category == row.get("category"))
            else:
                figures.missed.append(row)
        else:
            figures.false_alarms.add(prediction.urgent)
            figures.false_alarms_by_language.setdefault(language, Share()).add(prediction.urgent)
            if prediction.urgent:
                figures.false.append(row)
    return figures


def report(figures: Figures, title: str = "") -> str:
    def ordered(table: dict[str, Share]) -> list[str]:
        return sorted(table, key=lambda k: (LANGUAGES.index(k) if k in LANGUAGES else 9, k))

    lines = [title] if title else []
    lines.append(f"recall on urgent messages: {figures.recall}")
    lines.append(f"false alarms on the others: {figures.false_alarms}")
    lines.append(f"category right when flagged: {figures.category_right}")
    lines.append("recall by category:")
    lines += [f"  {name:16} {figures.recall_by_category[name]}" for name in sorted(figures.recall_by_category)]
    lines.append("recall by language:")
    lines += [f"  {name:16} {figures.recall_by_language[name]}" for name in ordered(figures.recall_by_language)]
    lines.append("false alarms by language:")
    lines += [f"  {name:16} {figures.false_alarms_by_language[name]}"
              for name in ordered(figures.false_alarms_by_language)]
    return "\n".join(lines)
