"""The feed's calendar, written with `icalendar`: one VTODO (or VEVENT) per open dated task.

Times are in the owner's zone with its VTIMEZONE, so a calendar app lays a series out as the app
does (09:00 stays 09:00 across daylight saving).  A recurring task carries its rule spelled out from
the series' anchor (tasks_app.recurrence.rule_spelled_out) with the task's own due date as DTSTART:
the app's next occurrences are the rule's, month-end clamping included, and occurrences already
completed are not shown again.  Nothing here depends on the time of the request: the calendar is
a function of what feed_fingerprint hashes, which is therefore its ETag, known without building it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, date, timedelta, tzinfo

import icalendar
from django.conf import settings

from ..cleaning import user_timezone
from ..models import Priority, Task
from ..recurrence import InvalidRecurrence, normalize_rrule, rule_parts, rule_spelled_out

KINDS = ("todo", "event")
# RFC 5545 PRIORITY: 1 highest, 9 lowest; 1-4 read as "high", 5 "medium", 6-9 "low" by most apps.
ICAL_PRIORITY = {Priority.P1: 1, Priority.P2: 3, Priority.P3: 5, Priority.P4: 9}
# A task has a due moment, not a length: as an event it is shown this long from that moment.
EVENT_LENGTH = timedelta(minutes=30)
PRODID = "-//Todo AI Chatbot//Calendar feed//EN"
# The VTIMEZONE covers the feed's dates and this many years past the latest, for repeating tasks.
TIMEZONE_YEARS_AHEAD = 5


def task_uid(task: Task) -> str:
    """Stable for a task (an edit keeps it; each occurrence of a series is a task of its own)."""
    return f"task-{task.pk}@todo-ai-chatbot"


def feed_tasks(*, user) -> list[Task]:
    """The tasks the feed shows: `user`'s open tasks with a due date, soonest first, at most
    CALENDAR_FEED_MAX_TASKS (the index task_user_open_due serves it in that order)."""
    tasks = (Task.objects.filter(user=user, completed=False, due_at__isnull=False)
             .order_by("due_at", "id").prefetch_related("tags"))
    return list(tasks[:settings.CALENDAR_FEED_MAX_TASKS])


# Part of the fingerprint: change it when feed_calendar writes the same tasks differently.
FEED_FORMAT = 1


def feed_fingerprint(*, user, tasks: Sequence[Task], kind: str) -> str:
    """A strong ETag (quoted) for feed_calendar(user=user, tasks=tasks, kind=kind): a hash of everything
    the calendar is made from, so a refresh that would get the same bytes is answered 304 without
    writing them (writing 2,000 tasks takes seconds; this, milliseconds)."""
    state = [FEED_FORMAT, icalendar.__version__, kind, str(user_timezone(user)), user.get_username(),
             settings.CALENDAR_FEED_MAX_AGE_SECONDS]
    for task in tasks:
        state.append([task.pk, task.title, task.description, task.priority, sorted(tag.name for tag in task.tags.all()),
                      task.due_at.isoformat(), task.recurrence, task.reminder_minutes_before,
                      task.series_start.isoformat() if task.series_start else None, task.series_position,
                      task.created_at.isoformat(), task.updated_at.isoformat()])
    digest = hashlib.sha256(json.dumps(state, separators=(",", ":")).encode()).hexdigest()
    return f'"{digest[:32]}"'


def _rrule(task: Task, zone: tzinfo) -> icalendar.vRecur | None:
    """The task's rule as the calendar should expand it from the task's due date, or None for a
    one-off task (or a stored rule today's bounds refuse: the app ends such a series too)."""
    if not task.recurrence:
        return None
    try:
        rule = normalize_rrule(task.recurrence)
    except InvalidRecurrence:
        return None
    parts = rule_spelled_out(rule, anchor=task.series_start or task.due_at, zone=zone)
    count = rule_parts(rule).get("COUNT")
    if count is not None:
        # COUNT counts the series from its first occurrence; this one is number series_position.
        parts["COUNT"] = str(max(int(count) - task.series_position + 1, 1))
    until = parts.get("UNTIL")
    if until is not None and "T" not in until:
        # A date UNTIL is read by the app as that day's start in UTC; with a DTSTART that has a
        # zone RFC 5545 wants a UTC date-time.
        parts["UNTIL"] = f"{until}T000000Z"
    return icalendar.vRecur.from_ical(";".join(f"{name}={value}" for name, value in parts.items()))


def _component(task: Task, *, kind: str, zone: tzinfo) -> icalendar.Component:
    due = task.due_at.astimezone(zone)
    component = icalendar.Todo() if kind == "todo" else icalendar.Event()
    component.add("uid", task_uid(task))
    # Without a METHOD, DTSTAMP is when the information last changed (RFC 5545 §3.8.7.2).
    component.add("dtstamp", task.updated_at.astimezone(UTC))
    component.add("last-modified", task.updated_at.astimezone(UTC))
    component.add("created", task.created_at.astimezone(UTC))
    component.add("summary", task.title)
    if task.description:
        component.add("description", task.description)
    component.add("priority", ICAL_PRIORITY.get(task.priority, 0))
    tags = [tag.name for tag in task.tags.all()]
    if tags:
        component.add("categories", tags)
    rule = _rrule(task, zone)
    if kind == "todo":
        component.add("status", "NEEDS-ACTION")
        if rule is not None:  # a repeating VTODO is expanded from its DTSTART (RFC 5545 §3.8.5.3)
            component.add("dtstart", due)
        component.add("due", due)
    else:
        component.add("dtstart", due)
        component.add("dtend", due + EVENT_LENGTH)
    if rule is not None:
        component.add("rrule", rule)
    if task.reminder_minutes_before is not None:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", task.title)
        # A VTODO's alarm is set from its DUE (its END), an event's from its start: both the due time.
        alarm.add("trigger", timedelta(minutes=-task.reminder_minutes_before),
                  parameters={"RELATED": "END"} if kind == "todo" else {})
        component.add_component(alarm)
    return component


def feed_calendar(*, user, tasks: Sequence[Task], kind: str = "todo") -> bytes:
    """The iCalendar text of `tasks` (user's, from feed_tasks) as VTODOs or VEVENTs."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    zone = user_timezone(user)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Tasks of {user.get_username()}")
    calendar.add("x-wr-timezone", str(zone))
    # A hint to subscribing apps (Apple, Outlook) of how often to refresh.
    refresh = timedelta(seconds=max(settings.CALENDAR_FEED_MAX_AGE_SECONDS, 60))
    calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", refresh)
    for task in tasks:
        calendar.add_component(_component(task, kind=kind, zone=zone))
    if tasks:
        first = min(task.due_at for task in tasks).astimezone(zone).date() - timedelta(days=1)
        last = max(task.due_at for task in tasks).astimezone(zone).date()
        calendar.add_missing_timezones(first_date=first, last_date=date(min(last.year + TIMEZONE_YEARS_AHEAD, 9999),
                                                                       1, 1))
    return calendar.to_ical()
