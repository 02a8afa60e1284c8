"""Every read of tasks, tags and notifications for a user, and the background jobs' reads.

Callers pass the user; nothing here takes a user id from a request.  task_list is
the one query surface for lists: the REST API and the chat/MCP tools both call it.
Its arguments are cleaned by the same rules as writes (tasks_app.cleaning); bad
values raise django.core.exceptions.ValidationError naming the parameter
({"sort": [...]}, {"cursor": [...]}), never a database error.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import itemgetter, or_
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchConfig, SearchQuery, SearchRank
from django.core.exceptions import ValidationError
from django.db.models import (
    Count,
    Case,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models.functions import Cast, Lower
from django.utils import timezone

from .cleaning import (
    clean_bool,
    clean_datetime,
    clean_priorities,
    clean_tag_filter,
    clean_text,
    clean_whole_number,
    distinct_tag_names,
    find_timezone,
    user_timezone,
)
from .events import TASK_FIELDS
from .models import (
    SAVED_FILTER_NAME_MAX_LENGTH,
    AuditLog,
    Notification,
    NotificationDelivery,
    OutboxEvent,
    Priority,
    Profile,
    RecurrenceState,
    SavedFilter,
    Tag,
    Task,
)
from .recurrence import InvalidRecurrence, rule_parts
from .recurrence import upcoming as recurrence_upcoming

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_QUERY_LENGTH = 500
MAX_CURSOR_LENGTH = 1000

# Every `sort` value; ties are broken by id in the same direction, so each order is total.
SORTS = ("-created_at", "created_at", "due_at", "-due_at", "priority", "-priority", "title", "-updated_at",
         "updated_at", "relevance")
DEFAULT_SORT = "-created_at"
DEFAULT_SEARCH_SORT = "relevance"

# The text-search configuration the triggers used for the stored vectors (migration
# 0002_search): queries must be stemmed the same way.  An IMMUTABLE function, so
# PostgreSQL folds websearch_to_tsquery(...) to a constant when planning.
SEARCH_CONFIG = SearchConfig(Func(function="tasks_app_search_config", template="%(function)s()"))

# The last word of `q` is also matched as a prefix ("stan" finds "standup") when it is a plain word:
# letters and digits only, so it is one lexeme, not an operator ("or", "-word") nor inside a phrase.
PLAIN_WORD = re.compile(r"[^\W_]+")


# The stored fields of the task's API shape (TaskOut), in its order: what a TaskRow holds besides the
# page's own columns.  `tags` come as `tag_names`; `recurrence_text` is derived from the rule.
ROW_FIELDS = tuple(field.name for field in TASK_FIELDS
                   if field.in_api and field.name not in ("tags", "recurrence_text"))


class TaskRow(namedtuple("TaskRow", (*ROW_FIELDS, "sort_key", "tag_names"))):
    """A listed task as the REST API, the MCP tools and the chat page's panel show it, read straight off
    the page query's row (task_list(rows=True)): no model instance, no per-field descriptors, for callers
    that only read it.  Building a Task per row was a sixth of the list's time at 1M tasks
    (bench/search.py, docs/performance.md)."""

    __slots__ = ()
    pk = property(itemgetter(ROW_FIELDS.index("id")))
    # The model's own property: it reads only `recurrence` and `recurrence_from_completion`.
    recurrence_text = Task.recurrence_text


@dataclass(frozen=True)
class TaskPage:
    items: list[Task] | list[TaskRow]
    next_cursor: str | None
    count: int


def _user_tasks(user) -> QuerySet[Task]:
    # The vector is for the database to search, not for callers: don't ship it to Python.
    # The tags' own user filter matters: without it PostgreSQL may hash every user's tags to join
    # the few links of one page (at a million tasks: 4.5 ms instead of 1 ms, per page).
    # Through the user's own manager: each task comes with `user` set to the caller's (no query to read it).
    return (user.tasks.defer("search_vector")
            .prefetch_related(Prefetch("tags", queryset=Tag.objects.filter(user=user))))


def _tag_names(user) -> ArraySubquery:
    """A listed task's tag names as an array column of the page query (read by
    events.task_tag_names as `tag_names`), instead of a prefetch that builds a Tag instance per
    link and a related manager per task — most of the selector's Python time for a full page.
    It reads one task's links and this user's tags only, unordered: a sort in the subquery would
    be a sort step per row in the page's plan; task_list orders each row's few names instead."""
    return ArraySubquery(Tag.objects.filter(user=user, tasks=OuterRef("pk")).order_by().values("name"))


def task_get(*, user, task_id: int) -> Task:
    """The user's task; Task.DoesNotExist for a missing task or someone else's."""
    return _user_tasks(user).get(pk=task_id)


def task_to_change(*, user, task_id: int) -> Task:
    """task_get without the task's tags, for a write: the services lock the row and read it again with its
    tags (reading them here too was one more query per update, completion or deletion)."""
    return user.tasks.defer("search_vector").get(pk=task_id)


def task_list(
    *,
    user,
    q: str | None = None,
    priorities: list[str] | None = None,
    tags: list[str] | None = None,
    completed: bool | None = None,
    due_before: datetime | None = None,
    due_after: datetime | None = None,
    overdue: bool | None = None,
    has_due: bool | None = None,
    recurring: bool | None = None,
    has_reminder: bool | None = None,
    due_window: str | None = None,
    sort: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    rows: bool = False,
) -> TaskPage:
    """One page of the user's tasks matching every given filter.

    `q` is web-search syntax (`"team meeting"`, `-standup`, `dentist or doctor`) over title,
    description and tag names, stemmed; its last word also matches as a prefix, for search as
    you type ("stan" finds "standup"), and tasks matching it as a whole word rank first.
    `tags` must all be present (case-insensitive).
    `due_after` is inclusive and `due_before` exclusive, so adjacent ranges neither overlap
    nor leave gaps; naive date-times are read in the user's zone.  `overdue` means open
    and due before now.  `recurring` means having a recurrence rule, `has_reminder` having a
    reminder.  `due_window` (DUE_WINDOWS: today, this_week, …) is a due range named relative to now in
    the user's zone, for saved filters that must not go stale.  `sort` defaults to relevance with `q`, else newest first; tasks
    without a due date come last in both due-date orders.  `count` is the number of
    matching tasks (all pages); `next_cursor`, when not None, fetches the page after this
    one with the same arguments, and keeps working while tasks are added (by updated_at, a task
    changed while paging moves, so it may be skipped or shown twice).
    Items are Task instances, each with `tag_names`; with `rows`, TaskRows (the same statement with
    only the API's columns: for callers that serialise the page and change nothing).
    """
    search = _clean_q(q)
    sort = _clean_sort(sort, searching=search is not None)
    limit = clean_whole_number("limit", limit, low=1, high=MAX_PAGE_SIZE)
    after = _decode_cursor(cursor, sort)
    flags = {name: clean_bool(name, value) for name, value in
             (("completed", completed), ("overdue", overdue), ("has_due", has_due),
                                 ("recurring", recurring), ("has_reminder", has_reminder))}

    tasks = Task.objects.filter(user=user).defer("search_vector")
    if search is not None:
        tasks = tasks.filter(search_vector=search.matching)
    if priorities is not None:
        tasks = tasks.filter(priority__in=clean_priorities(priorities))
    if tags is not None:
        tasks = _having_all_tags(tasks, user, clean_tag_filter(tags))
    if flags["completed"] is not None:
        tasks = tasks.filter(completed=flags["completed"])
    if due_before is not None:
        tasks = tasks.filter(due_at__lt=clean_datetime("due_before", due_before, user_timezone(user), dates=True))
    if due_after is not None:
        tasks = tasks.filter(due_at__gte=clean_datetime("due_after", due_after, user_timezone(user), dates=True))
    if flags["overdue"] is not None:
        is_overdue = Q(completed=False, due_at__lt=timezone.now())
        tasks = tasks.filter(is_overdue if flags["overdue"] else ~is_overdue)
    if flags["has_due"] is not None:
        tasks = tasks.filter(due_at__isnull=not flags["has_due"])
    if flags["recurring"] is not None:
        tasks = tasks.filter(recurrence__isnull=not flags["recurring"])
    if flags["has_reminder"] is not None:
        tasks = tasks.filter(reminder_minutes_before__isnull=not flags["has_reminder"])
    if due_window is not None:
        window_after, window_before = due_window_bounds(due_window, user=user)
        tasks = tasks.filter(due_at__gte=window_after, due_at__lt=window_before)

    matching = tasks
    key, descending = _sort_key(sort, search)
    # Only due dates can be NULL; saying NULLS LAST for the others would stop PostgreSQL from
    # reading the (user, -created_at, -id) and (user, -updated_at, -id) indexes in order.
    nullable = sort in ("due_at", "-due_at")
    tasks = tasks.annotate(sort_key=key, tag_names=_tag_names(user))
    if after is not None:
        tasks = tasks.filter(_after(after, descending=descending, nullable=nullable))
    direction = "desc" if descending else "asc"
    ordering = [getattr(F("sort_key"), direction)(nulls_last=nullable or None), getattr(F("id"), direction)()]
    # One row more than asked for tells whether there is a next page.
    page = tasks.order_by(*ordering)[: limit + 1]
    found = list(map(TaskRow._make, page.values_list(*TaskRow._fields))) if rows else list(page)
    items = found[:limit]
    for task in items:
        task.tag_names.sort(key=str.casefold)  # as events.task_tag_names lists them
    next_cursor = _encode_cursor(sort, items[-1]) if len(found) > limit else None
    # A first page that holds every match (most searches) has counted them already.
    count = len(items) if after is None and next_cursor is None else matching.count()
    return TaskPage(items=items, next_cursor=next_cursor, count=count)


def tag_list(*, user) -> QuerySet[Tag]:
    """The user's tags with `task_count`, by name."""
    return Tag.objects.filter(user=user).annotate(task_count=Count("tasks")).order_by(Lower("name"), "id")


def tag_names(*, user) -> list[str]:
    """The names of the user's tags (at most QUOTA_TAGS_PER_USER of them), for reading what they type."""
    return list(Tag.objects.filter(user=user).order_by("id").values_list("name", flat=True)
                [:settings.QUOTA_TAGS_PER_USER])


def tag_get(*, user, name: str) -> Tag:
    """The user's tag called `name` in any case, with `task_count`; Tag.DoesNotExist if none."""
    return tag_list(user=user).get(name__iexact=name)


# --------------------------------------------------------------------------- list arguments


@dataclass(frozen=True)
class _Search:
    matching: Any       # the tsquery a task must match: `q`, its last word as a prefix
    whole_words: Any    # `q` as written; None when it is `matching` (no prefix was added)


class _PrefixPattern(Func):
    """`'word':*` for to_tsquery, quoted by the database (quote_literal): the word is a parameter,
    never spliced into SQL or into tsquery syntax.  `::text` picks quote_literal's IMMUTABLE variant,
    and `||` (not CONCAT, which is only STABLE) keeps the whole tsquery foldable to a constant."""

    template = "quote_literal(%(expressions)s::text) || ':*'"
    output_field = TextField()


def _clean_q(q: Any) -> _Search | None:
    if q is None:
        return None
    text = clean_text("q", q, max_length=MAX_QUERY_LENGTH).strip()
    if not text:
        return None
    whole_words = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
    *words, last = text.split()
    if not PLAIN_WORD.fullmatch(last) or last.lower() == "or" or sum(w.count('"') for w in words) % 2:
        return _Search(matching=whole_words, whole_words=None)
    # websearch_to_tsquery reads `a b or c d` as (a & b) | (c & d).  Split off the words after the
    # last "or" outside quotes (c), so that the prefix joins their group: `before || (group && 'd':*)`.
    # A stop word as the last word gives an empty tsquery, which && and || ignore.
    split, quotes = 0, 0
    for index, word in enumerate(words):
        if word.lower() == "or" and quotes % 2 == 0:
            split = index + 1
        quotes += word.count('"')
    before, group = " ".join(words[: max(split - 1, 0)]), " ".join(words[split:])
    matching = SearchQuery(_PrefixPattern(Value(last)), search_type="raw", config=SEARCH_CONFIG)
    if group:
        matching = SearchQuery(group, search_type="websearch", config=SEARCH_CONFIG) & matching
    if before:
        matching = SearchQuery(before, search_type="websearch", config=SEARCH_CONFIG) | matching
    return _Search(matching=matching, whole_words=whole_words)


def _clean_sort(sort: Any, *, searching: bool) -> str:
    if sort is None or sort == "":
        return DEFAULT_SEARCH_SORT if searching else DEFAULT_SORT
    if sort not in SORTS:
        raise ValidationError({"sort": [f"{sort!r} is not one of {', '.join(SORTS)}"]})
    if sort == "relevance" and not searching:
        raise ValidationError({"sort": ["relevance needs a search query (q)"]})
    return sort


def _having_all_tags(tasks: QuerySet[Task], user, names: list[str]) -> QuerySet[Task]:
    if not names:
        return tasks
    # Case-insensitive, as services.tags_for matches names when tagging.
    matches = reduce(or_, (Q(name__iexact=name) for name in names))
    tag_ids = set(Tag.objects.filter(matches, user=user).values_list("id", flat=True))
    if len(tag_ids) < len(distinct_tag_names(names)):
        return tasks.none()  # a tag the user does not have: no task carries it
    link = Task.tags.through.objects
    for tag_id in tag_ids:
        tasks = tasks.filter(Exists(link.filter(task_id=OuterRef("pk"), tag_id=tag_id)))
    return tasks


# --------------------------------------------------------------------------- sorting and cursors


def _sort_key(sort: str, search: _Search | None):
    """(expression, descending) for a `sort` value."""
    descending = sort.startswith("-") or sort == "relevance"
    name = sort.lstrip("-")
    if name == "relevance":
        # ts_rank with the default weights: a title (A) match outranks description (B) and tags (C).
        # Normalization 32 (rank / (rank + 1)) keeps it below 1, so adding 1 for a task that matches
        # `q` with whole words puts every such task above those matching the last word only as a prefix.
        # As double precision: ts_rank's real reaches Python rounded to its shortest text, and that
        # value, sent back in a cursor, would no longer equal the rank it came from.
        rank = SearchRank(F("search_vector"), search.matching, normalization=32)
        if search.whole_words is not None:
            rank = rank + Case(When(search_vector=search.whole_words, then=Value(1.0)), default=Value(0.0))
        return Cast(rank, FloatField()), descending
    if name == "title":
        return Lower("title"), descending
    # P1 < P2 < P3 < P4 as text, so ascending priority is P1 first.
    return F(name), descending


def _after(after: tuple[Any, int], *, descending: bool, nullable: bool) -> Q:
    """Rows strictly after the cursor's (sort_key, id) in the page order.

    `key <= c AND (key < c OR id < i)` rather than only the OR: the first part
    bounds an index range scan, the second settles ties.  NULL keys (tasks without
    a due date) come last whatever the direction."""
    key, last_id = after
    before, id_before = ("sort_key__lt", "id__lt") if descending else ("sort_key__gt", "id__gt")
    if key is None:
        return Q(sort_key__isnull=True, **{id_before: last_id})
    at_or_past = "sort_key__lte" if descending else "sort_key__gte"
    following = Q(**{at_or_past: key}) & (Q(**{before: key}) | Q(**{id_before: last_id}))
    return following | Q(sort_key__isnull=True) if nullable else following


# A cursor is base64url(JSON [sort, key, id]): opaque to clients, and checked on the way
# back in because it comes from them.


def _encode_cursor(sort: str, task: Task | TaskRow) -> str:
    key = task.sort_key
    if isinstance(key, datetime):
        key = key.isoformat()
    payload = json.dumps([sort, key, task.pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_cursor(cursor: Any, sort: str) -> tuple[Any, int] | None:
    if cursor is None or cursor == "":
        return None
    invalid = ValidationError({"cursor": ["is not a cursor from a previous page of this list"]})
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise invalid from None
    if not isinstance(payload, list) or len(payload) != 3:
        raise invalid
    cursor_sort, key, last_id = payload
    if cursor_sort != sort:
        raise ValidationError({"cursor": [f"was issued for sort={cursor_sort!r}; send the same sort with it"]})
    if isinstance(last_id, bool) or not isinstance(last_id, int) or not 0 < last_id < 2**63:
        raise invalid
    try:
        return _decode_key(sort.lstrip("-"), key), last_id
    except (TypeError, ValueError):
        raise invalid from None


def _decode_key(name: str, key: Any) -> Any:
    if name in ("created_at", "updated_at", "due_at"):
        if key is None and name == "due_at":
            return None
        value = datetime.fromisoformat(key)
        if timezone.is_naive(value):
            raise ValueError("naive date-time in cursor")
        return value
    if name == "priority":
        if key not in Priority.values:
            raise ValueError("unknown priority in cursor")
        return key
    if name == "title":
        if not isinstance(key, str) or "\x00" in key:
            raise ValueError("bad title in cursor")
        return key
    # relevance
    if isinstance(key, bool) or not isinstance(key, (int, float)) or not math.isfinite(key):
        raise ValueError("bad rank in cursor")
    return float(key)


def default_timezone_name() -> str:
    """The zone a new profile starts in: TIME_ZONE, spelled as the tz database spells it."""
    return find_timezone(settings.TIME_ZONE) or "UTC"


def profile_get(*, user) -> Profile:
    """`user`'s preferences: their profile, or (unsaved) the defaults for a user who has none yet."""
    try:
        return user.profile
    except Profile.DoesNotExist:
        return Profile(user=user, timezone=default_timezone_name())


def notification_list(*, user, unread_only: bool = False, limit: int = DEFAULT_PAGE_SIZE) -> QuerySet[Notification]:
    """The user's notifications, newest first."""
    notifications = Notification.objects.filter(user=user)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-id")[:limit]


def notification_delivery_list(*, user, channel: str | None = None, status: str | None = None,
                               notification_id: int | None = None,
                               limit: int = DEFAULT_PAGE_SIZE) -> QuerySet[NotificationDelivery]:
    """The user's delivery log (email, push), newest first (index notif_delivery_user_log)."""
    deliveries = NotificationDelivery.objects.filter(user=user).select_related("notification")
    if channel is not None:
        deliveries = deliveries.filter(channel=channel)
    if status is not None:
        deliveries = deliveries.filter(status=status)
    if notification_id is not None:
        deliveries = deliveries.filter(notification_id=notification_id)
    return deliveries.order_by("-created_at", "-id")[:max(1, min(limit, MAX_PAGE_SIZE))]


# --------------------------------------------------------------------------- for background jobs
# The beat sweeper (workers.tasks.sweep_lost_jobs) re-dispatches what these find.  Both look only at
# rows older than `settled_before`, so a job still on its way is left alone, and newer than `since`
# (the sweep window), so their cost follows recent activity, not the whole history: each is an
# index range scan (tasks_app/tests/test_query_plans.py).


def outbox_events_unaudited(*, settled_before: datetime, since: datetime, limit: int) -> list:
    """Event ids (UUIDs) of outbox rows recorded between `since` and `settled_before` that have no
    AuditLog row, newest first."""
    audited = AuditLog.objects.filter(event_id=OuterRef("event_id"))
    return list(OutboxEvent.objects.filter(created_at__gte=since, created_at__lte=settled_before)
                .filter(~Exists(audited))
                .order_by("-created_at", "-id").values_list("event_id", flat=True)[:limit])


def recurring_tasks_awaiting_next(*, settled_before: datetime, since: datetime, limit: int) -> list[int]:
    """Ids of recurring tasks completed between `since` and `settled_before` whose next occurrence is
    still pending (neither spawned nor ended: Task.recurrence_state), latest first."""
    return list(Task.objects.filter(completed=True, recurrence__isnull=False,
                                    recurrence_state=RecurrenceState.PENDING,
                                    completed_at__gte=since, completed_at__lte=settled_before)
                .order_by("-completed_at").values_list("pk", flat=True)[:limit])



def tasks_matching(*, user, task_ids: list[int] | None = None, limit: int = MAX_PAGE_SIZE,
                   **filters: Any) -> TaskPage:
    """The user's tasks a bulk action would touch, oldest first, at most `limit` (`count` says how
    many match in all): those with `task_ids` (another user's id matches nothing), or those matching
    `filters` (task_list's)."""
    if task_ids is None:
        return task_list(user=user, sort="created_at", limit=limit, **filters)
    if filters:
        raise ValidationError({"task_ids": ["give either task ids or other filters, not both"]})
    matching = _user_tasks(user).filter(pk__in=list(task_ids)[:MAX_PAGE_SIZE + 1])
    items = list(matching.order_by("created_at", "id")[: limit + 1])
    return TaskPage(items=items[:limit], next_cursor=None, count=len(items))

# --------------------------------------------------------------------------- a series' upcoming occurrences

MAX_OCCURRENCES = 50


def task_occurrences(*, user, task_id: int, count: int = 5, now: datetime | None = None) -> tuple[Task, list[datetime]]:
    """The user's recurring task and its next `count` (1–MAX_OCCURRENCES) occurrences in UTC, this open
    occurrence's own due date first: the rule laid out from the series' anchor in the user's zone, as
    completing each in turn would create them (an every! series: as if each is completed when due).
    COUNT and UNTIL end the list early; a one-off task has none."""
    count = clean_whole_number("count", count, low=1, high=MAX_OCCURRENCES)
    task = task_get(user=user, task_id=task_id)
    if not task.recurrence:
        return task, []
    now = now or timezone.now()
    zone = user_timezone(user)
    found = [task.due_at] if task.due_at is not None and not task.completed else []
    start = task.due_at or task.completed_at or now
    if task.recurrence_from_completion:
        anchor, after = start, start
    else:
        anchor = task.series_start or start
        after = max(start, task.rule_due_at) if task.rule_due_at else start
    total = rule_parts(task.recurrence).get("COUNT")
    remaining = None if total is None else int(total) - task.series_position  # after this one
    try:
        found += recurrence_upcoming(task.recurrence, anchor=anchor, after=after, zone=zone,
                                     count=count - len(found), remaining=remaining)
    except InvalidRecurrence:  # a stored rule today's bounds refuse: its series ends (services.next_occurrence_due)
        pass
    return task, found[:count]


# --------------------------------------------------------------------------- what's next (plan for today)

PLAN_DEFAULT_SIZE = 10
PLAN_MAX_SIZE = 50
# Candidates read from the database before ranking: the earliest due, and the most urgent undated or later.
PLAN_CANDIDATES = 200
PRIORITY_WEIGHT = {Priority.P1: 300, Priority.P2: 200, Priority.P3: 100, Priority.P4: 0}


@dataclass(frozen=True)
class PlanItem:
    task: Task
    reason: str
    score: float


def _span(delta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    days = hours // 24
    return f"{days} day{'s' if days != 1 else ''}"


def plan_today(*, user, now: datetime | None = None, limit: int = PLAN_DEFAULT_SIZE) -> list[PlanItem]:
    """What to do next: the user's open tasks ranked by overdue-ness (the longer, the sooner), then due
    today (the earlier, the sooner), then priority and age, each with a one-line reason in the user's
    zone ("overdue by 2 days · P1", "due today at 14:00 · P2", "P1 · no due date · open 12 days").
    Tasks due after today come in only on priority (P1/P2).  At most `limit` (1–PLAN_MAX_SIZE)."""
    limit = clean_whole_number("limit", limit, low=1, high=PLAN_MAX_SIZE)
    now = now or timezone.now()
    zone = user_timezone(user)
    local_now = now.astimezone(zone)
    end_of_today = datetime.combine(local_now.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    open_tasks = _user_tasks(user).filter(completed=False)
    # Two bounded reads, each on an index: (user, completed, due_at, id) for the dated ones.
    due = list(open_tasks.filter(due_at__lt=end_of_today).order_by("due_at", "id")[:PLAN_CANDIDATES])
    urgent = list(open_tasks.filter(Q(due_at__isnull=True) | Q(due_at__gte=end_of_today),
                                    priority__in=[Priority.P1, Priority.P2])
                  .order_by("priority", "created_at", "id")[:PLAN_CANDIDATES])
    items = []
    for task in due + urgent:
        age = now - task.created_at
        score = PRIORITY_WEIGHT.get(task.priority, 0) + min(age.days, 30)
        if task.due_at is not None and task.due_at < now:
            late = now - task.due_at
            score += 10_000 + min(late.total_seconds() / 3600, 24 * 30)
            words = [f"overdue by {_span(late)}", task.priority]
        elif task.due_at is not None and task.due_at < end_of_today:
            score += 5_000 - (task.due_at - now).total_seconds() / 3600 * 10
            words = [f"due today at {task.due_at.astimezone(zone):%H:%M}", task.priority]
        else:
            when = ("no due date" if task.due_at is None
                    else f"due {task.due_at.astimezone(zone):%a %-d %b}")
            words = [task.priority, when] + ([f"open {age.days} days"] if age.days >= 2 else [])
        items.append(PlanItem(task=task, reason=" · ".join(words), score=score))
    items.sort(key=lambda item: (-item.score, item.task.pk))
    return items[:limit]


# --------------------------------------------------------------------------- saved filters


def saved_filter_list(*, user) -> QuerySet[SavedFilter]:
    """The user's saved filters, by name."""
    return SavedFilter.objects.filter(user=user).order_by(Lower("name"), "id")


def saved_filter_get(*, user, ref: str | int) -> SavedFilter:
    """The user's saved filter by id ("12" or 12) or name (any case); SavedFilter.DoesNotExist if none."""
    filters = SavedFilter.objects.filter(user=user)
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit() and len(ref.strip()) < 19):
        found = filters.filter(pk=int(ref)).first()
        if found is not None or isinstance(ref, int):
            if found is None:
                raise SavedFilter.DoesNotExist("no such saved filter")
            return found
    name = clean_text("filter", ref, max_length=SAVED_FILTER_NAME_MAX_LENGTH * 2).strip()
    return filters.get(name__iexact=name)


# The saved parameters are the list's own (GET /api/tasks), named as there; these are task_list's names.
SAVED_PARAM_ARGUMENTS = {"priority": "priorities", "tag": "tags"}


def list_arguments(params: dict[str, Any]) -> dict[str, Any]:
    """Saved list parameters (the REST names) as task_list's keyword arguments."""
    return {SAVED_PARAM_ARGUMENTS.get(name, name): value for name, value in params.items()}


# --------------------------------------------------------------------------- relative due windows

DUE_WINDOWS = ("today", "tomorrow", "this_week", "next_week", "next_7_days")


def due_windows(local_now: datetime, week_start: int) -> dict[str, tuple[datetime, datetime]]:
    """Each of DUE_WINDOWS as [after, before) around `local_now` (aware, in the user's zone), weeks starting
    on ISO weekday `week_start`: the chat's "due this week" and a saved filter's due_window agree."""
    today = datetime.combine(local_now.date(), datetime.min.time(), tzinfo=local_now.tzinfo)
    week = today - timedelta(days=(local_now.isoweekday() - week_start) % 7)
    return {
        "today": (today, today + timedelta(days=1)),
        "tomorrow": (today + timedelta(days=1), today + timedelta(days=2)),
        "this_week": (week, week + timedelta(days=7)),
        "next_week": (week + timedelta(days=7), week + timedelta(days=14)),
        "next_7_days": (local_now, local_now + timedelta(days=7)),
    }


def due_window_bounds(name: str, *, user, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[after, before) of a named due window in the user's zone (due_windows): a saved filter says
    "this week" and means the week it is applied in."""
    if name not in DUE_WINDOWS:
        raise ValidationError({"due_window": [f"{name!r} is not one of {', '.join(DUE_WINDOWS)}"]})
    local = (now or timezone.now()).astimezone(user_timezone(user))
    return due_windows(local, profile_get(user=user).week_start)[name]
