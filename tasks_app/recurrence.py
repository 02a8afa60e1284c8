"""RFC 5545 recurrence rules: parsing user input and computing occurrences.

Pure functions, no database: what a rule means is decided here only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone, tzinfo

from dateutil.rrule import rrule, rrulestr

SHORTHANDS = {
    "daily": "FREQ=DAILY",
    "weekly": "FREQ=WEEKLY",
    "monthly": "FREQ=MONTHLY",
    "yearly": "FREQ=YEARLY",
    "annually": "FREQ=YEARLY",
    "hourly": "FREQ=HOURLY",
    "fortnightly": "FREQ=WEEKLY;INTERVAL=2",
    "biweekly": "FREQ=WEEKLY;INTERVAL=2",
    "bi-weekly": "FREQ=WEEKLY;INTERVAL=2",
    "weekdays": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "weekends": "FREQ=WEEKLY;BYDAY=SA,SU",
}
# RFC 5545 day codes, Monday first like datetime.weekday().
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_UNITS = {"HOURLY": "hour", "DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}

MAX_RULE_LENGTH = 500


class InvalidRecurrence(ValueError):
    pass


def compose(freq: str, *, interval: int = 1, weekdays: Iterable[int] = ()) -> str:
    """The RRULE body for a frequency ("WEEKLY"), every `interval` of them, on these weekdays (0 = Monday)."""
    parts = [f"FREQ={freq}"]
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    days = sorted(set(weekdays))
    if days:
        parts.append("BYDAY=" + ",".join(DAYS[day] for day in days))
    return ";".join(parts)


def rule_parts(rule: str) -> dict[str, str]:
    """NAME -> VALUE of an RRULE body (names upper-cased); parts that are not NAME=VALUE are skipped."""
    body = rule.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:"):]
    pairs = (part.split("=", 1) for part in body.split(";") if "=" in part)
    return {name.strip().upper(): value.strip() for name, value in pairs}


def weekdays_of(rule: str) -> list[int]:
    """The plain weekdays (0 = Monday) a rule's BYDAY names; "1MO"-style positions are left out."""
    days = rule_parts(rule).get("BYDAY", "").upper().split(",")
    return [DAYS.index(day) for day in days if day in DAYS]


def describe(rule: str | None) -> str:
    """A rule in words, for people: "weekly", "every 2 weeks", "every Tuesday and Thursday", "every weekday"."""
    if not rule:
        return ""
    parts = rule_parts(rule)
    freq = parts.get("FREQ", "").upper()
    interval = int(parts.get("INTERVAL", "1") or 1)
    days = weekdays_of(rule)
    if freq == "WEEKLY" and days:
        if days == weekdays_of(SHORTHANDS["weekdays"]):
            return "every weekday"
        if days == weekdays_of(SHORTHANDS["weekends"]):
            return "every weekend"
        names = [_DAY_NAMES[day] for day in days]
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return ("every " if interval == 1 else f"every {interval} weeks on ") + joined
    unit = _UNITS.get(freq)
    if unit is None:
        return f"repeats ({rule})"
    if interval == 1:
        return "daily" if unit == "day" else f"{unit}ly"
    return f"every {interval} {unit}s"


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
