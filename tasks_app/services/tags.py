"""Writing tags: finding or creating them for a task, renaming (and merging), deleting.

A tag is the user's own and is matched in any case ("Work" and "work" are one tag,
which a unique index on lower(name) enforces).  Renaming or deleting a tag changes
the tag lists of many tasks at once; each of those tasks gets its own
todo.task.updated event, so consumers see every task as it now is.

Locks are taken in one order by every write here: the tags concerned, by id, then
their tasks, by id.  Two merges in opposite directions (A→B and B→A) then queue
behind each other instead of deadlocking.  Tags are locked FOR NO KEY UPDATE, which
does not conflict with the key-share locks that tagging a task takes on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from .. import events
from ..cleaning import TAG_INPUT_MAX_LENGTH, clean_tag_names, tag_name, text_problem
from ..errors import quota_check
from ..models import Tag, Task
from .changes import change_group, change_record, task_state


def tags_for(user, names: Iterable[str]) -> list[Tag]:
    """The user's tags called `names` (cleaned), created as needed.

    One query when they all exist; otherwise the quota count, one INSERT … ON CONFLICT DO NOTHING
    for all the missing ones (a tag a concurrent request created first is simply read back) and the
    query again.  Names are matched by the database (lower(name), its unique index), not in Python."""
    cleaned = clean_tag_names(names)
    if not cleaned:
        return []
    found = _tags_named(user, cleaned)
    missing = [name for name, tag in zip(cleaned, found, strict=True) if tag is None]
    if missing:
        # As if each new tag were checked before it is made: the last one must still fit.
        quota_check(used=Tag.objects.filter(user=user).count() + len(missing) - 1,
                    limit=settings.QUOTA_TAGS_PER_USER, what="tags per user", hint="delete unused tags to add new ones")
        Tag.objects.bulk_create([Tag(user=user, name=name) for name in missing], ignore_conflicts=True)
        found = _tags_named(user, cleaned)
        if None in found:  # deleted by a concurrent request between the insert and the read: rare, retry once
            return tags_for(user, cleaned)
    unique = {tag.pk: tag for tag in found}  # two spellings the database holds to be one name: one tag
    return list(unique.values())


def _tags_named(user, names: list[str]) -> list[Tag | None]:
    """For each of `names`, in order, the user's tag of that name in any case, or None; one query
    through the unique index on (user, lower(name))."""
    table = Tag._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id, t.name, t.created_at FROM unnest(%s::text[]) WITH ORDINALITY AS wanted(name, position) "
            f"LEFT JOIN {connection.ops.quote_name(table)} t "
            f"ON t.user_id = %s AND lower(t.name) = lower(wanted.name) ORDER BY wanted.position",
            [names, user.pk],
        )
        rows = cursor.fetchall()
    return [None if pk is None else Tag(pk=pk, user=user, name=name, created_at=created_at)
            for pk, name, created_at in rows]


def _lookup_name(name) -> str:
    """`name` as tags are looked up ('#' and spaces dropped); "" for a value no tag can be
    called (not text, too long, or text PostgreSQL cannot hold), which matches no tag."""
    if not isinstance(name, str) or len(name) > TAG_INPUT_MAX_LENGTH or text_problem(name):
        return ""
    return tag_name(name)


def _lock_tags(user, *names) -> list[int]:
    """Lock the user's tags called `names` (any case) in id order; their ids.  A tag deleted by
    the transaction this one waited for is skipped."""
    wanted = [name for name in map(_lookup_name, names) if name]
    if not wanted:
        return []
    matches = Q()
    for name in wanted:
        matches |= Q(name__iexact=name)
    locked = Tag.objects.select_for_update(no_key=True).filter(matches, user=user).order_by("pk")
    return list(locked.values_list("pk", flat=True))


def _tag_for_update(user, name) -> Tag:
    """The user's tag called `name` (any case, '#' optional), locked; Tag.DoesNotExist if none."""
    locked = _lock_tags(user, name)
    return Tag.objects.get(pk__in=locked, name__iexact=_lookup_name(name))


@transaction.atomic
def tag_rename(*, user, name: str, new_name: str) -> Tag:
    [cleaned_new_name] = clean_tag_names([new_name], field="name")
    # Both tags locked in id order before any task: see the module docstring.
    locked = _lock_tags(user, name, cleaned_new_name)
    tag = Tag.objects.get(pk__in=locked, name__iexact=_lookup_name(name))
    with _recording_tag_changes(locked):
        return _tag_rename(user=user, tag=tag, new_name=cleaned_new_name)


def _tag_rename(*, user, tag: Tag, new_name: str) -> Tag:
    """Rename the user's tag `name` to `new_name`, on all their tasks.

    When they already have another tag called `new_name` in any case, the two
    merge: its tasks and this tag's tasks end up with one tag, spelt `new_name`.
    The tasks' search vectors follow through database triggers."""
    [new_name] = clean_tag_names([new_name], field="name")
    survivor = (Tag.objects.select_for_update(no_key=True).filter(user=user, name__iexact=new_name)
                .exclude(pk=tag.pk).first())
    if survivor is None:
        try:
            with transaction.atomic():
                Tag.objects.filter(pk=tag.pk).update(name=new_name)
        except IntegrityError:
            # Another request created `new_name` since the lookup above (the unique index noticed).
            survivor = Tag.objects.select_for_update(no_key=True).get(user=user, name__iexact=new_name)
        else:
            tag.name = new_name
            return tag
    links = Task.tags.through.objects
    task_ids = links.filter(tag_id=tag.pk).values_list("task_id", flat=True)
    # A task that had both tags keeps one link (the through table's unique constraint).
    links.bulk_create([links.model(task_id=task_id, tag_id=survivor.pk) for task_id in task_ids],
                      ignore_conflicts=True)
    tag.delete()
    if survivor.name != new_name:
        survivor.name = new_name
        survivor.save(update_fields=["name"])
    return survivor


@transaction.atomic
def tag_delete(*, user, name: str) -> None:
    """Remove the user's tag `name` (any case) from all their tasks and delete it."""
    tag = _tag_for_update(user, name)
    with _recording_tag_changes([tag.pk]):
        tag.delete()


@contextmanager
def _recording_tag_changes(tag_ids: list[int]):
    """Lock the tasks carrying these tags; after the change, record a
    todo.task.updated event for each task whose tag list changed."""
    links = Task.tags.through.objects.filter(tag_id__in=tag_ids).values("task_id")
    tasks = Task.objects.select_for_update().filter(pk__in=links).order_by("pk")
    states = {task.pk: task_state(task) for task in tasks.prefetch_related("tags")}
    before = {task_id: state["tags"] for task_id, state in states.items()}
    yield
    with change_group():  # one action for undo: every task the rename or delete touched
        for task in Task.objects.filter(pk__in=list(before)).prefetch_related("tags").order_by("pk"):
            after = events.task_snapshot(task)
            if after["tags"] != before[task.pk]:
                events.record(events.TASK_UPDATED, task, snapshot=after,
                              changes={"tags": {"old": before[task.pk], "new": after["tags"]}})
                change_record(kind="updated", task=task, before=states[task.pk])
