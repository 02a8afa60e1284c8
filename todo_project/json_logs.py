"""LOG_FORMAT=json: one JSON object per line for every log record (settings.LOGGING).

Written here rather than taken from python-json-logger: the whole job is a dict of a record's
standard fields plus its `extra` fields, serialised with orjson (already a dependency); a library
would add a dependency and its own naming of those keys, for about thirty lines.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import orjson

# Attributes every LogRecord has; anything else on a record came from `extra=` and is a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id", ...extra fields, "exc_info"?}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if entry["request_id"] == "-":
            entry["request_id"] = None
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        # default=str: an `extra` value orjson cannot encode (a Decimal, a model) still logs, as text.
        return orjson.dumps(entry, default=str).decode()
