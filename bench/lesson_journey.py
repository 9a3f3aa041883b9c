"""What the lesson checks cost on SMS, how the catalogue's journey is shaped, and what a lesson choice costs.

    python bench/lesson_journey.py

Prints, per reply language, the length and SMS segments (GSM-7 or UCS-2, as helpdesk.channels.base counts
them) of one check question as it is sent ("Question 1 of 2: ..." with its numbered choices), median and
maximum over every question of the shipped lessons; then lessons and hours per teaching area and level; then
the median time of one helpdesk.cpd.lesson_choice.choose_lesson call over the shipped catalogue (the push makes one
per teacher), for a teacher early in the journey and one far along. Reads only the shipped knowledge_base/lessons.
"""
from __future__ import annotations

import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpdesk.channels.base import sms_segments  # noqa: E402
from helpdesk.cpd import lesson_check, lesson_choice  # noqa: E402
from knowledge_base.lessons import CHECK_LANGS, LEVELS, load_lessons  # noqa: E402


def main() -> None:
    lessons = load_lessons()
    print("| language | median chars | max chars | median SMS segments | max SMS segments |")
    print("|---|---|---|---|---|")
    for lang in CHECK_LANGS:
        texts = [f"Question {number} of {len(lesson.check)}: "
                 + lesson_check.numbered(item.text(lang), item.option_texts(lang))
                 for lesson in lessons for number, item in enumerate(lesson.check, start=1)]
        lengths = [len(text) for text in texts]
        segments = [sms_segments(text) for text in texts]
        print(f"| {lang} | {statistics.median(lengths):.0f} | {max(lengths)} | {statistics.median(segments):.0f} "
              f"| {max(segments)} |")
    print()
    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for lesson in lessons:
        table[lesson.area][lesson.level].append(lesson.minutes)
    print("| area | " + " | ".join(LEVELS) + " |")
    print("|---|" + "---|" * len(LEVELS))
    for area in sorted(table):
        cells = [f"{len(table[area][level])} ({sum(table[area][level]) / 60:.1f} h)" for level in LEVELS]
        print(f"| {area} | " + " | ".join(cells) + " |")
    questions = sum(len(lesson.check) for lesson in lessons)
    print(f"\n{len(lessons)} lessons, {sum(lesson.minutes for lesson in lessons) / 60:.1f} hours, "
          f"{questions} check questions\n")
    facts = [lesson_choice.LessonFacts(lesson.id, lesson.area, lesson.subjects, lesson.grades, lesson.level,
                                       lesson.requires) for lesson in lessons]
    done_early = frozenset(lesson.id for lesson in lessons[:3])
    done_late = frozenset(lesson.id for lesson in lessons[:30])
    for label, done in (("3 lessons done", done_early), ("30 lessons done", done_late)):
        teacher = lesson_choice.TeacherFacts(sent=done, completed=done, recent_topics=(("literacy", 2),),
                                             district_needs=("numeracy", "assessment"), subjects=("maths",),
                                             grade_bands=("primary",))
        runs = []
        for _ in range(9):
            start = time.perf_counter()
            for _ in range(2000):
                lesson_choice.choose_lesson(facts, teacher)
            runs.append((time.perf_counter() - start) / 2000 * 1e6)
        print(f"lesson choice, {label}: median {statistics.median(runs):.0f} us per teacher (9 runs of 2,000)")


if __name__ == "__main__":
    main()
