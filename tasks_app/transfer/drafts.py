"""What a reader makes of one task in a file, before anything is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class ImportFileError(ValueError):
    """The file as a whole cannot be read (wrong format, too large, not text)."""


@dataclass
class Draft:
    row: int  # the 1-based row/line/item in the file, for the error report
    fields: dict[str, Any]  # task_create's arguments
    completed_at: datetime | None = None
    # Only this project's own export carries these: the round trip keeps them.
    source_id: int | None = None
    previous_source_id: int | None = None
    kept: dict[str, Any] = field(default_factory=dict)


class RowError(Exception):
    """One task in the file that cannot be imported: which one, which field, and why."""

    def __init__(self, row: int, field: str | None, message: str):
        super().__init__(message)
        self.row, self.field, self.message = row, field, message

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass
class Reading:
    """A file's drafts and the rows that could not even be read."""

    format: str
    drafts: list[Draft] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
