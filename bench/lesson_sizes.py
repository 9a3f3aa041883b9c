"""What one CPD lesson costs to send, per reply language, over the shipped lessons.

    python bench/lesson_sizes.py

For each language: the SMS short form (characters, and billed segments once the footer is added), and the
WhatsApp form (characters, and how many messages the send path splits it into; one is the aim, because a split
lesson loses its paragraphs). Medians and maxima over knowledge_base/lessons/*.yaml. Reads nothing else.
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpdesk.channels.base import sms_segments, split_message  # noqa: E402
from helpdesk.channels.twilio import WHATSAPP_MAX_CHARS  # noqa: E402
from helpdesk.cpd.subscriptions import sms_text, whatsapp_text  # noqa: E402
from knowledge_base.lessons import REQUIRED_LANGS, load_lessons  # noqa: E402


def figures(values: list[int]) -> str:
    return f"median {statistics.median(values):g} max {max(values)}"


def main() -> None:
    lessons = load_lessons()
    print(f"{len(lessons)} lessons")
    for lang in REQUIRED_LANGS:
        sms_chars = [len(lesson.text("sms", lang)) for lesson in lessons]
        segments = [sms_segments(sms_text(lesson, lang)) for lesson in lessons]
        whatsapp = [whatsapp_text(lesson, lang) for lesson in lessons]
        messages = [len(split_message(body, WHATSAPP_MAX_CHARS)) for body in whatsapp]
        print(f"{lang:9} SMS chars {figures(sms_chars)}; segments with footer {figures(segments)}; "
              f"WhatsApp chars {figures([len(body) for body in whatsapp])}; messages {figures(messages)}")


if __name__ == "__main__":
    main()
