"""RFC 5545 recurrence rules: parsing user input and computing occurrences.

Pure functions, no database: what a rule means is decided here only.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo

from dateutil.rrule import rrule, rrulestr

SHORTHANDS = {
    "daily": "FREQ=DAILY",
    "weekly": "FREQ=WEEKLY",
    "monthly": "FREQ=MONTHLY",
    "yearly": "FREQ=YEARLY",
    "annually": "FREQ=YEARLY",
    "weekdays": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
}

MAX_RULE_LENGTH = 500


class InvalidRecurrence(ValueError):
    pass


def normalize_rrule(text: str | None) -> str | None:
    """The canonical RRULE body for `text`, or None for "no recurrence".

    Accepts the shorthands above, a bare RRULE body (`FREQ=WEEKLY;BYDAY=MO`) or a
    line with the `RRULE:` prefix.  Raises InvalidRecurrence naming the problem.
    """
    if text is None:
        return None
    cleaned = text.strip()
    if not cleaned or cleaned.lower() in {"none", "never"}:
        return None
    if cleaned.lower() in SHORTHANDS:
        return SHORTHANDS[cleaned.lower()]
    if cleaned.upper().startswith("RRULE:"):
        cleaned = cleaned[len("RRULE:"):]
    if "\n" in cleaned or "DTSTART" in cleaned.upper():
        raise InvalidRecurrence("give a single RRULE (e.g. FREQ=WEEKLY;BYDAY=MO); the start is the task's due date")
    if len(cleaned) > MAX_RULE_LENGTH:
        raise InvalidRecurrence(f"at most {MAX_RULE_LENGTH} characters")
    parts = [part for part in cleaned.split(";") if part]
    normalized_parts = []
    for part in parts:
        if "=" not in part:
            raise InvalidRecurrence(f"{part!r} is not NAME=VALUE")
        name, value = (piece.strip().upper() for piece in part.split("=", 1))
        if name == "UNTIL":
            value = _until_in_utc(value)
        normalized_parts.append(f"{name}={value}")
    names = [part.split("=", 1)[0] for part in normalized_parts]
    if "FREQ" not in names:
        raise InvalidRecurrence("FREQ is required (e.g. FREQ=DAILY, or one of: " + ", ".join(SHORTHANDS) + ")")
    if len(set(names)) != len(names):
        raise InvalidRecurrence("a rule part is given twice")
    rule = ";".join(normalized_parts)
    try:
        parse_rrule(rule, datetime(2000, 1, 1, tzinfo=timezone.utc))
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidRecurrence(str(exc) or "not a valid RRULE") from None
    return rule


def _until_in_utc(value: str) -> str:
    # Occurrences are computed from a timezone-aware start, for which RFC 5545
    # wants UNTIL in UTC: a bare date means "through the end of that day".
    if len(value) == 8 and value.isdigit():
        return f"{value}T235959Z"
    if len(value) == 15 and value[8] == "T":
        return f"{value}Z"
    return value


def parse_rrule(rule: str, dtstart: datetime) -> rrule:
    return rrulestr(rule, dtstart=dtstart)


def next_occurrence(rule: str, *, start: datetime, now: datetime, zone: tzinfo) -> datetime | None:
    """The first occurrence of `rule` after both `start` and `now`, in UTC; None once the rule has ended.

    The rule is laid out from `start` in `zone` (the user's), so that a 09:00 meeting stays
    at 09:00 across daylight-saving changes; occurrences already past are skipped.
    """
    start = start.astimezone(zone)
    following = parse_rrule(rule, start).after(max(start, now.astimezone(zone)), inc=False)
    return following.astimezone(timezone.utc) if following else None
