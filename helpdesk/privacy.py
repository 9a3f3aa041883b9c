"""Phone numbers are personal data: pseudonyms for analytics, masks for logs."""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets

from helpdesk.channels.base import phone_of

# A run of 7 or more digits (with an optional '+') standing on its own: what a phone number looks like in a
# log line. Ids, counts and dates ('2026-12-01') are shorter runs or joined by '-', so they stay readable.
_PHONE_LIKE = re.compile(r"(?<![\w+-])\+?[0-9]{7,15}(?![\w-])")


def mask_phone(phone: str | None) -> str:
    """'+923001234567' -> '+92300****567': enough to tell numbers apart in a log, not to dial one.

    At least half of the characters are always hidden: the old 6 + 3 rule showed a 9-character number whole.
    """
    if not phone:
        return "-"
    if len(phone) >= 12:  # full international numbers: country and operator code, last three digits
        return phone[:6] + "*" * (len(phone) - 9) + phone[-3:]
    if len(phone) <= 4:
        return "*" * len(phone)
    return "*" * (len(phone) - 2) + phone[-2:]


def mask_numbers_in(text: str) -> str:
    """Mask every phone-like number in free text (log lines built elsewhere, e.g. by a library)."""
    return _PHONE_LIKE.sub(lambda found: mask_phone(found.group(0)), text)


def mask_address(address: str | None) -> str:
    """'whatsapp:+923001234567' -> 'whatsapp:+92300****567': the channel stays readable, the number masked."""
    if not address:
        return mask_phone(address)
    phone = phone_of(address)
    return address[:len(address) - len(phone)] + mask_phone(phone)


def pseudonym(phone: str, key: str) -> str:
    """A keyed hash: stable per teacher, not reversible without the key (a plain hash of a phone number is)."""
    return hmac.new(key.encode(), phone.encode(), hashlib.sha256).hexdigest()[:16]


_derived_keys: dict[str, str] = {}


def pseudonym_key(settings) -> str:
    """settings.pseudonym_key, or one generated once and kept in the data directory (like the secret key).

    Losing it only splits each teacher into an old and a new pseudonym in analytics; it never exposes numbers.
    """
    if settings.pseudonym_key:
        return settings.pseudonym_key
    path = settings.data_dir / "pseudonym_key"
    cached = _derived_keys.get(str(path))
    if cached:
        return cached
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: when the web process and a worker start together, exactly one key is written
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
    else:
        key = secrets.token_hex(32)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
    _derived_keys[str(path)] = key
    return key
