"""Phone numbers are personal data: pseudonyms for analytics, masks for logs."""
from __future__ import annotations

import hashlib
import hmac


def mask_phone(phone: str | None) -> str:
    """'+923001234567' -> '+92300****567': enough to tell numbers apart in a log, not to dial one."""
    if not phone:
        return "-"
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:6] + "*" * (len(phone) - 9) + phone[-3:]


def mask_address(address: str | None) -> str:
    if address and address.startswith("whatsapp:"):
        return "whatsapp:" + mask_phone(address[len("whatsapp:"):])
    return mask_phone(address)


def pseudonym(phone: str, key: str) -> str:
    """A keyed hash: stable per teacher, not reversible without the key (a plain hash of a phone number is)."""
    return hmac.new(key.encode(), phone.encode(), hashlib.sha256).hexdigest()[:16]
