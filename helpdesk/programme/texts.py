"""The programme's words (helpdesk/content/programme.yaml), read like helpdesk.content's messages."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import yaml

from helpdesk import content

PATH = content.HERE / "programme.yaml"


@lru_cache(maxsize=1)
def _texts() -> dict:
    data = yaml.safe_load(PATH.read_text(encoding="utf-8"))
    for key, texts in data.items():
        missing = [lang for lang in content.LANGUAGES if not (texts or {}).get(lang)]
        if missing:
            raise content.ContentError(f"programme.yaml: '{key}' has no text for {', '.join(missing)}")
    return data


def text(key: str, language: str, **params) -> str:
    entry = _texts()[key]
    template = entry.get(language) or entry["en"]
    return template.format(**params) if params else template


def local(when_utc: datetime, tz: str) -> datetime:
    """A stored naive-UTC time in the helpdesk's time zone (naive again, for forms and texts)."""
    return when_utc.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def to_utc(local_time: datetime, tz: str) -> datetime:
    """A time typed in the helpdesk's time zone, stored as naive UTC."""
    return local_time.replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc).replace(tzinfo=None)


def when_text(when_utc: datetime, tz: str, language: str) -> str:
    return content.date_time_text(local(when_utc, tz), language)
