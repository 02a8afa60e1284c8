"""Files → drafts: Todoist's CSV export, iCalendar VTODO and this project's own JSON export.

A reader checks the file's shape and each row's own syntax (dates, priorities); the task rules
(title length, tag count, recurrence bounds) are left to the service layer, which reports them
per row when the drafts are imported.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone

from ..models import Priority
from .drafts import Draft, ImportFileError, Reading, RowError

FORMATS = ("todoist", "ics", "json")
EXPORT_FORMAT = "todo-tasks"
EXPORT_VERSION = 1

# A date without a time of day is due at the hour the assistant uses for "tomorrow".
DEFAULT_DUE_TIME = time(9, 0)


def read_file(data: bytes, *, zone: tzinfo, format: str | None = None, now: datetime | None = None) -> Reading:
    """The drafts in `data`; `format` is guessed from the content when not given."""
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise ImportFileError(f"the file is larger than {settings.IMPORT_MAX_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"the file is not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise ImportFileError("the file contains NUL characters; it is not a text export")
    format = format or guess_format(text)
    if format not in FORMATS:
        raise ImportFileError(f"unknown format {format!r}: choose one of {', '.join(FORMATS)}")
    now = now or timezone.now()
    reader = {"todoist": read_todoist_csv, "ics": read_ics, "json": read_json_export}[format]
    reading = reader(text, zone=zone, now=now)
    if len(reading.drafts) > settings.IMPORT_MAX_ROWS:
        raise ImportFileError(f"the file holds {len(reading.drafts)} tasks; at most {settings.IMPORT_MAX_ROWS} "
                              "can be imported at once")
    return reading


def guess_format(text: str) -> str:
    start = text.lstrip()[:200]
    if start.startswith("{"):
        return "json"
    if start.upper().startswith("BEGIN:VCALENDAR"):
        return "ics"
    if start.upper().startswith("TYPE,") or start.upper().startswith('"TYPE"'):
        return "todoist"
    raise ImportFileError("cannot tell the file's format: expected Todoist's CSV export (a TYPE,CONTENT,… header), "
                          "an iCalendar file (BEGIN:VCALENDAR) or this app's JSON export")


# --------------------------------------------------------------------------- Todoist CSV

# Todoist numbers priorities the other way round: 4 is its red "priority 1".
TODOIST_PRIORITIES = {"4": Priority.P1, "3": Priority.P2, "2": Priority.P3, "1": Priority.P4}
TODOIST_REQUIRED_COLUMNS = ("TYPE", "CONTENT")
_LABEL = re.compile(r"(?<!\S)@([\w-]+)")


def read_todoist_csv(text: str, *, zone: tzinfo, now: datetime) -> Reading:
    """Todoist's template/backup CSV: TYPE (task, note, section, meta), CONTENT with @labels,
    DESCRIPTION, PRIORITY (4 = P1), DATE in Todoist's words ("every monday 9am", "Dec 5"),
    TIMEZONE. A note belongs to the task above it and is appended to its description."""
    reading = Reading(format="todoist")
    rows = csv.DictReader(io.StringIO(text, newline=""))
    columns = [name.strip().upper() for name in rows.fieldnames or []]
    missing = [name for name in TODOIST_REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ImportFileError(f"not a Todoist CSV export: no {', '.join(missing)} column")
    rows.fieldnames = columns
    last_task: Draft | None = None
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        kind = (row.get("TYPE") or "").strip().lower()
        if kind == "note":
            note = (row.get("CONTENT") or "").strip()
            if last_task is None:
                reading.errors.append(RowError(line, "CONTENT", "a note before any task"))
            elif note:
                description = last_task.fields.get("description", "")
                last_task.fields["description"] = f"{description}\n\n{note}" if description else note
            continue
        if kind != "task":
            continue  # sections, view settings and blank separator rows carry no task
        try:
            last_task = Draft(row=line, fields=_todoist_fields(row, zone=zone, now=now))
        except RowError as error:
            error.row = line
            reading.errors.append(error)
            last_task = None
            continue
        reading.drafts.append(last_task)
    return reading


def _todoist_fields(row: dict[str, Any], *, zone: tzinfo, now: datetime) -> dict[str, Any]:
    content = row.get("CONTENT") or ""
    labels = _LABEL.findall(content)
    fields: dict[str, Any] = {"title": re.sub(r"\s{2,}", " ", _LABEL.sub("", content)).strip(),
                              "description": (row.get("DESCRIPTION") or "").strip()}
    if labels:
        fields["tags"] = list(dict.fromkeys(labels))
    priority = (row.get("PRIORITY") or "").strip()
    if priority:
        if priority not in TODOIST_PRIORITIES:
            raise RowError(0, "PRIORITY", f"{priority!r} is not a Todoist priority (1–4)")
        fields["priority"] = TODOIST_PRIORITIES[priority]
    row_zone = zone
    zone_name = (row.get("TIMEZONE") or "").strip()
    if zone_name:
        try:
            row_zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise RowError(0, "TIMEZONE", f"unknown time zone {zone_name[:60]!r}") from None
    date_words = (row.get("DATE") or "").strip()
    if date_words:
        fields.update(todoist_date(date_words, now=now.astimezone(row_zone)))
    return fields


def todoist_date(words: str, *, now: datetime) -> dict[str, Any]:
    """Todoist's DATE column through the assistant's own date and recurrence grammar.

    "every!" (repeat from the completion date) sets recurrence_from_completion.  Words
    left over that the grammar does not know make the row an error rather than
    a task with a silently different date.  A recurring task is due at its first occurrence from
    now, as in Todoist: "every sunday at 18:00" on a Friday is due on Sunday, "every day" today."""
    from chat_app.offline import phrases  # the one grammar for dates and rules in this project

    from_completion = re.search(r"\bevery!", words, re.I) is not None
    text = re.sub(r"\bevery!", "every", words, flags=re.I)
    text = re.sub(r"\bwork\s?days?\b", "weekday", text, flags=re.I)
    rule, rest = phrases.take_recurrence(text)
    when, rest = phrases.take_when(rest, now)
    leftover = re.sub(r"\b(?:at|on|from|starting)\b|[,.]", " ", rest).strip()
    if leftover or (rule is None and when is None):
        raise RowError(0, "DATE", f"cannot read the date {words[:80]!r}")
    fields: dict[str, Any] = {}
    due = when.at if when else None
    if rule:
        fields["recurrence"] = rule
        if from_completion:
            fields["recurrence_from_completion"] = True
        if due is None:  # "every day": from today at the default time (tomorrow once it has passed)
            due = datetime.combine(now.date(), DEFAULT_DUE_TIME, tzinfo=now.tzinfo)
            due = due if due > now else due + timedelta(days=1)
        due = phrases.first_fitting_day(due, rule) or due  # "every sunday" read on a Friday: Sunday
    if due is not None:
        fields["due_at"] = due
    return fields


# --------------------------------------------------------------------------- iCalendar VTODO

def read_ics(text: str, *, zone: tzinfo, now: datetime) -> Reading:
    import icalendar

    reading = Reading(format="ics")
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError as exc:
        raise ImportFileError(f"not a readable iCalendar file: {str(exc)[:200]}") from None
    for number, todo in enumerate(calendar.walk("VTODO"), start=1):
        try:
            reading.drafts.append(_vtodo_draft(number, todo, zone=zone))
        except RowError as error:
            error.row = number
            reading.errors.append(error)
        except (ValueError, TypeError) as exc:
            reading.errors.append(RowError(number, None, f"unreadable VTODO: {str(exc)[:200]}"))
    return reading


def _ics_priority(value: Any) -> str:
    """RFC 5545: 1 is the highest, 5 medium, 9 the lowest, 0 undefined."""
    number = int(value)
    if not 0 <= number <= 9:
        raise RowError(0, "PRIORITY", f"{number} is not an iCalendar priority (0–9)")
    if number == 0:
        return Priority.P3
    return Priority.P1 if number <= 2 else Priority.P2 if number <= 4 else Priority.P3 if number == 5 else Priority.P4


def _ics_moment(value: date | datetime, zone: tzinfo) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, DEFAULT_DUE_TIME, tzinfo=zone)
    return value if value.tzinfo else value.replace(tzinfo=zone)  # floating time: the user's clock


def _vtodo_draft(number: int, todo, *, zone: tzinfo) -> Draft:
    fields: dict[str, Any] = {"title": str(todo.get("SUMMARY", "")),
                              "description": str(todo.get("DESCRIPTION", ""))}
    if todo.get("PRIORITY") is not None:
        fields["priority"] = _ics_priority(todo.get("PRIORITY"))
    categories = todo.get("CATEGORIES")
    if categories is not None:
        groups = categories if isinstance(categories, list) else [categories]
        fields["tags"] = [str(name) for group in groups for name in group.cats]
    due = todo.get("DUE")
    if due is not None:
        fields["due_at"] = _ics_moment(due.dt, zone)
    rule = todo.get("RRULE")
    if rule is not None:
        fields["recurrence"] = rule.to_ical().decode()
    reminder = _vtodo_reminder(todo)
    if reminder is not None:
        fields["reminder_minutes_before"] = reminder
    completed_at = None
    if todo.get("COMPLETED") is not None:
        completed_at = _ics_moment(todo.get("COMPLETED").dt, zone)
    elif str(todo.get("STATUS", "")).upper() == "COMPLETED":
        completed_at = timezone.now()
    return Draft(row=number, fields=fields, completed_at=completed_at)


def _vtodo_reminder(todo) -> int | None:
    """The first VALARM whose trigger is a lead before the task's time, in minutes."""
    for alarm in todo.walk("VALARM"):
        trigger = alarm.get("TRIGGER")
        if trigger is None or not isinstance(trigger.dt, timedelta):
            continue  # an absolute trigger is not a lead time
        if trigger.dt <= timedelta(0):
            return int(-trigger.dt.total_seconds() // 60)
    return None


# --------------------------------------------------------------------------- this app's JSON export

_KEPT_MOMENTS = ("created_at", "updated_at", "reminder_sent_at", "series_start")


def read_json_export(text: str, *, zone: tzinfo, now: datetime) -> Reading:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise ImportFileError(f"not this app's export: expected {{\"format\": \"{EXPORT_FORMAT}\", …}}")
    if document.get("version") != EXPORT_VERSION:
        raise ImportFileError(f"export version {document.get('version')!r} is not supported (expected {EXPORT_VERSION})")
    items = document.get("tasks")
    if not isinstance(items, list):
        raise ImportFileError('"tasks" must be a list')
    reading = Reading(format="json")
    for number, item in enumerate(items, start=1):
        try:
            reading.drafts.append(_json_draft(number, item))
        except RowError as error:
            error.row = number
            reading.errors.append(error)
    return reading


def _moment(item: dict[str, Any], name: str) -> datetime | None:
    value = item.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise RowError(0, name, "must be an ISO 8601 time with its UTC offset")
    return moment


def _optional_id(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RowError(0, name, "must be a task id (a whole number)")
    return value


def _json_draft(number: int, item: Any) -> Draft:
    if not isinstance(item, dict):
        raise RowError(0, None, "each task must be an object")
    fields = {name: item[name] for name in ("title", "description", "priority", "tags", "recurrence",
                                            "reminder_minutes_before") if item.get(name) is not None}
    if item.get("recurrence_from_completion") is True:
        fields["recurrence_from_completion"] = True
    due_at = _moment(item, "due_at")
    if due_at is not None:
        fields["due_at"] = due_at
    completed_at = _moment(item, "completed_at")
    if item.get("completed") is True and completed_at is None:
        raise RowError(0, "completed_at", "a completed task needs its completion time")
    kept: dict[str, Any] = {name: _moment(item, name) for name in _KEPT_MOMENTS}
    position = item.get("series_position", 1)
    if isinstance(position, bool) or not isinstance(position, int) or position < 1:
        raise RowError(0, "series_position", "must be a whole number from 1")
    kept["series_position"] = position
    kept["recurrence_state"] = item.get("recurrence_state")
    return Draft(row=number, fields=fields, completed_at=completed_at if item.get("completed") else None,
                 source_id=_optional_id(item, "id"), previous_source_id=_optional_id(item, "previous_occurrence"),
                 kept=kept)
