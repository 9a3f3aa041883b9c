"""Structured logs: one JSON object per line, so a log shipper can index them. Never log a whole number."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from helpdesk.privacy import mask_numbers_in


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            # Our own code masks numbers with mask_phone; this catches any that reach a message another way
            # (a library's log line, an exception text quoting a request).
            "msg": mask_numbers_in(record.getMessage()),
        }
        if record.exc_info:
            entry["exc"] = mask_numbers_in(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(getattr(h, "_helpdesk", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._helpdesk = True
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The twilio SDK logs every request at INFO; ours say what matters, with numbers masked.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
