"""Saved filters: a user's named lists (any combination of GET /api/tasks's parameters).

The parameters are checked exactly as the list checks them: by its request schema
(tasks_app.schemas.TaskListQuery: types and bounds) and then by running the list's own
selector once (tasks_app.selectors.task_list: sorts, tags, windows), so a filter that
saves is a filter that lists.  Stored as JSON in the list's own names.
"""

from __future__ import annotations

from typing import Any

import pydantic
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from .. import selectors
from ..errors import quota_check
from ..models import MAX_SAVED_FILTERS_PER_USER, SavedFilter


def clean_filter_params(*, user, params: Any) -> dict[str, Any]:
    """The list parameters in `params`, validated, as JSON (date-times as ISO 8601 text)."""
    from ..schemas import SAVED_FILTER_PARAMS, TaskListQuery  # schemas import selectors, as we do

    if not isinstance(params, dict):
        raise ValidationError({"params": ["must be an object of list parameters"]})
    unknown = sorted(str(name)[:40] for name in params if name not in SAVED_FILTER_PARAMS)
    if unknown:
        raise ValidationError({"params": [f"{unknown[0]!r} is not a list parameter; use any of "
                                          + ", ".join(SAVED_FILTER_PARAMS)]})
    given = {name: value for name, value in params.items() if value is not None and value != []}
    try:
        query = TaskListQuery.model_validate(given)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise ValidationError({"params": [f"{where}: {error['msg']}"]}) from None
    cleaned = query.model_dump(mode="json", include=set(given))
    selectors.task_list(user=user, **selectors.list_arguments(cleaned) | {"limit": 1})  # the list's own checks
    return cleaned


def _saved(save) -> SavedFilter:
    try:
        with transaction.atomic():
            return save()
    except IntegrityError:  # the unique (user, lower(name)) index: a concurrent save of the same name too
        raise ValidationError({"name": ["you already have a saved filter with this name"]}) from None


def _clean_name(name: Any) -> str:
    from ..cleaning import clean_text

    text = clean_text("name", name, max_length=SavedFilter._meta.get_field("name").max_length).strip()
    if not text:
        raise ValidationError({"name": ["must not be empty"]})
    return text


@transaction.atomic
def saved_filter_create(*, user, name: str, params: dict[str, Any]) -> SavedFilter:
    quota_check(used=SavedFilter.objects.filter(user=user).count(), limit=MAX_SAVED_FILTERS_PER_USER,
                what="saved filters per user", hint="delete one to save another")
    row = SavedFilter(user=user, name=_clean_name(name), params=clean_filter_params(user=user, params=params))
    return _saved(lambda: (row.save(), row)[1])


@transaction.atomic
def saved_filter_update(*, saved: SavedFilter, name: str | None = None,
                        params: dict[str, Any] | None = None) -> SavedFilter:
    row = SavedFilter.objects.select_for_update().get(pk=saved.pk)
    if name is not None:
        row.name = _clean_name(name)
    if params is not None:
        row.params = clean_filter_params(user=row.user, params=params)
    return _saved(lambda: (row.save(), row)[1])


def saved_filter_delete(*, saved: SavedFilter) -> None:
    saved.delete()
