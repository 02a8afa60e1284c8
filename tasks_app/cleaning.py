"""What a caller's raw value means: one cleaner per rule, shared by writes and reads.

Services (writes) and selectors (reads) both take values from people and programs:
titles, priorities, tag names, date-times, numbers, flags.  Each rule is written here
once, so "#Work" names the same tag when tagging and when filtering, and a time
without an offset is read in the user's zone everywhere.  Cleaners return the clean
value or raise django.core.exceptions.ValidationError naming the field; callers that
read the same rule under another parameter name pass that name as `field`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from datetime import timezone as dt_timezone
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from .models import (
    MAX_REMINDER_MINUTES,
    MAX_TAGS_PER_TASK,
    TAG_MAX_LENGTH,
    TIMEZONE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Priority,
    Profile,
    WeekStart,
)
from .recurrence import InvalidRecurrence, normalize_rrule

# A tag filter longer than any tag can be is not an error: it simply matches nothing.
# The slack keeps absurd input (a pasted paragraph) out of the query all the same.
TAG_FILTER_MAX_LENGTH = TAG_MAX_LENGTH + 100
# A tag name as written ("  #Work ") before it is trimmed: the same slack.
TAG_INPUT_MAX_LENGTH = TAG_FILTER_MAX_LENGTH
# Items in any list a caller sends (tags to set, tags and priorities to filter by), repeats
# included: the rule on distinct tags (MAX_TAGS_PER_TASK) is checked after this bound.
MAX_LIST_ITEMS = 50
# A recurrence rule as written, before it is parsed (the column holds 500 characters).
RECURRENCE_INPUT_MAX_LENGTH = 500
# A task typed as one line for quick add (chat_app.quick_add): a title (at most 200 characters)
# and the phrases around it, with room to spare.
QUICK_ADD_MAX_LENGTH = 1000


def user_timezone(user) -> tzinfo:
    """The zone in which a user's naive times and recurrences are read: their profile's, or the
    server's TIME_ZONE for a user without a profile (or anonymous).  `user.profile` is cached on
    the user object once read; tasks_app.services.profiles keeps that cache current."""
    if user is None or not getattr(user, "is_authenticated", False):
        return timezone.get_default_timezone()
    try:
        name = user.profile.timezone
    except Profile.DoesNotExist:
        return timezone.get_default_timezone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # a zone the installed tz database no longer has
        return timezone.get_default_timezone()


# --------------------------------------------------------------------------- time zones


@cache
def timezone_names() -> dict[str, str]:
    """Every IANA zone name the tz database knows, by its casefolded spelling."""
    return {name.casefold(): name for name in available_timezones()}


def find_timezone(written: str) -> str | None:
    """The IANA name `written` means ("europe/berlin", "Europe/Berlin ", "utc"), or None."""
    if not isinstance(written, str) or len(written) > TIMEZONE_MAX_LENGTH + 20:
        return None
    return timezone_names().get(written.strip().replace(" ", "_").casefold())


def clean_timezone(value: Any, *, field: str = "timezone") -> str:
    """An IANA zone name known to zoneinfo, spelled as the tz database spells it."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({field: ["must be an IANA time zone name such as Europe/Berlin"]})
    clean_text(field, value, max_length=TIMEZONE_MAX_LENGTH)
    name = find_timezone(value)
    if name is None:
        raise ValidationError({field: [f"unknown time zone {value.strip()!r}; use an IANA name such as "
                                       "Europe/Berlin, America/New_York or UTC"]})
    return name


def clean_time_of_day(field: str, value: Any) -> time | None:
    """A local time of day ("22:00", "07:30:00" or a time), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        clean_text(field, value, max_length=20)
        try:
            value = time.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError({field: ["must be a time of day such as 22:00"]}) from None
    if not isinstance(value, time) or value.tzinfo is not None:
        raise ValidationError({field: ["must be a time of day such as 22:00, without an offset"]})
    return value.replace(microsecond=0)


def clean_week_start(value: Any) -> int:
    """1 (Monday), 6 (Saturday) or 7 (Sunday); the day's English name is accepted too."""
    names = {label.casefold(): number for number, label in WeekStart.choices}
    if isinstance(value, str) and value.strip().casefold() in names:
        return names[value.strip().casefold()]
    if isinstance(value, bool) or value not in WeekStart.values:
        raise ValidationError({"week_start": [f"must be one of {', '.join(WeekStart.labels)} "
                                              f"(or {', '.join(map(str, WeekStart.values))})"]})
    return value


# --------------------------------------------------------------------------- scalars


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as PostgreSQL text, or None: a NUL character, or an
    unpaired surrogate (JSON "\\ud800" decodes to one; it has no UTF-8 encoding)."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode text (it contains an unpaired surrogate)"
    return None


def clean_text(field: str, value: Any, *, max_length: int) -> str:
    """`value` if it is text PostgreSQL can store, at most `max_length` characters long."""
    if not isinstance(value, str):
        raise ValidationError({field: [f"must be text, not {type(value).__name__}"]})
    if len(value) > max_length:
        raise ValidationError({field: [f"must be at most {max_length} characters"]})
    problem = text_problem(value)
    if problem:
        raise ValidationError({field: [problem]})
    return value


def clean_title(title: Any) -> str:
    if not isinstance(title, str) or not title.strip():
        raise ValidationError({"title": ["must not be empty"]})
    return clean_text("title", title.strip(), max_length=TITLE_MAX_LENGTH)


def clean_description(description: Any) -> str:
    if description is None:
        return ""
    return clean_text("description", description, max_length=settings.TASK_DESCRIPTION_MAX_LENGTH).strip()


def clean_bool(field: str, value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ValidationError({field: ["must be true or false"]})
    return value


def clean_whole_number(field: str, value: Any, *, low: int, high: int, unit: str = "") -> int:
    # bool is an int subclass, but True is not a count of anything.
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        of_unit = f" of {unit}" if unit else ""
        raise ValidationError({field: [f"must be a whole number{of_unit} from {low} to {high}"]})
    return value


def clean_reminder(minutes: Any) -> int | None:
    if minutes is None:
        return None
    return clean_whole_number("reminder_minutes_before", minutes, low=0, high=MAX_REMINDER_MINUTES, unit="minutes")


def clean_recurrence(recurrence: str | None) -> str | None:
    if isinstance(recurrence, str):
        clean_text("recurrence", recurrence, max_length=RECURRENCE_INPUT_MAX_LENGTH)
    try:
        return normalize_rrule(recurrence)
    except InvalidRecurrence as exc:
        raise ValidationError({"recurrence": [f"invalid recurrence rule: {exc}"]}) from None


def as_list(field: str, values: Any, *, max_items: int = MAX_LIST_ITEMS) -> list:
    # A bare string is one value, not a sequence of characters.
    if isinstance(values, str):
        return [values]
    if not isinstance(values, Iterable):
        raise ValidationError({field: ["must be a list"]})
    items = []
    for value in values:
        if len(items) == max_items:
            raise ValidationError({field: [f"at most {max_items} values"]})
        items.append(value)
    return items


# --------------------------------------------------------------------------- priorities


def clean_priority(priority: Any, *, field: str = "priority") -> str:
    """"p1 " → "P1"; anything else not a Priority is an error naming the value."""
    value = str(priority).strip().upper() if priority is not None else ""
    if value not in Priority.values:
        raise ValidationError({field: [f"{priority!r} is not one of {', '.join(Priority.values)}"]})
    return value


def clean_priorities(priorities: Any, *, field: str = "priority") -> list[str]:
    return [clean_priority(value, field=field) for value in as_list(field, priorities)]


# --------------------------------------------------------------------------- tag names


def tag_name(written: str) -> str:
    """The name a tag is stored and looked up by: "  #Work " → "Work"."""
    return written.strip().lstrip("#").strip()


def distinct_tag_names(names: Iterable[str]) -> list[str]:
    """`names` without case-insensitive repeats, the first spelling winning: tag names are
    compared by casefold, as the database's unique index on lower(name) compares them."""
    seen: set[str] = set()
    distinct = []
    for name in names:
        if name.casefold() not in seen:
            seen.add(name.casefold())
            distinct.append(name)
    return distinct


def clean_tag_names(names: Iterable[str], *, field: str = "tags") -> list[str]:
    """Names to tag a task with: each a string that fits a tag, repeats dropped, at most
    MAX_TAGS_PER_TASK of them."""
    cleaned = []
    for raw in as_list(field, names):
        if not isinstance(raw, str):
            raise ValidationError({field: [f"{raw!r} is not a string"]})
        name = tag_name(clean_text(field, raw, max_length=TAG_INPUT_MAX_LENGTH))
        if not name:
            raise ValidationError({field: ["a tag name must not be empty"]})
        if len(name) > TAG_MAX_LENGTH:
            raise ValidationError({field: [f"tag {name[:20]!r}… is longer than {TAG_MAX_LENGTH} characters"]})
        cleaned.append(name)
    cleaned = distinct_tag_names(cleaned)
    if len(cleaned) > MAX_TAGS_PER_TASK:
        raise ValidationError({field: [f"at most {MAX_TAGS_PER_TASK} tags per task, got {len(cleaned)}"]})
    return cleaned


def clean_tag_filter(tags: Any, *, field: str = "tag") -> list[str]:
    """Names to filter by, written the way tags are entered ("#work")."""
    names = []
    for value in as_list(field, tags):
        name = tag_name(clean_text(field, value, max_length=TAG_FILTER_MAX_LENGTH))
        if not name:
            raise ValidationError({field: ["a tag name must not be empty"]})
        names.append(name)
    return names


# --------------------------------------------------------------------------- date-times


def clean_datetime(field: str, value: Any, zone: tzinfo, *, dates: bool = False) -> datetime:
    """An aware date-time; one without an offset is read in `zone` (the user's).

    With `dates`, a bare date means the start of that day (list filters); a due date
    must say its time."""
    if dates and isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time.min)
    if not isinstance(value, datetime):
        raise ValidationError({field: ["must be an ISO 8601 date-time"]})
    if timezone.is_naive(value):
        return timezone.make_aware(value, zone)
    # Python takes offsets up to ±23:59; PostgreSQL refuses any beyond ±15:59 (a 500, found by
    # Schemathesis).  No place on Earth is past ±14:00.
    if abs(value.utcoffset()) > MAX_UTC_OFFSET:
        raise ValidationError({field: ["the UTC offset must be between -15:59 and +15:59"]})
    return value


MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)


# Due dates far in the past or future are typing mistakes, and would make every recurrence
# computation reason about centuries; the range is checked in UTC.
DUE_AT_RANGE = (datetime(1970, 1, 1, tzinfo=dt_timezone.utc), datetime(3000, 1, 1, tzinfo=dt_timezone.utc))


def clean_due_at(value: Any, zone: tzinfo) -> datetime:
    due_at = clean_datetime("due_at", value, zone)
    low, high = DUE_AT_RANGE
    if not low <= due_at < high:
        raise ValidationError({"due_at": [f"must be between {low:%Y-%m-%d} and {high.year - 1}-12-31"]})
    return due_at
