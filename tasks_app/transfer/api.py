"""GET /api/export and POST /api/import: thin doors over exporting.py and importing.py."""

from __future__ import annotations

import json
from typing import Literal

from django.http import HttpResponse
from django.utils import timezone
from ninja import File, Query, Router, Schema
from ninja.files import UploadedFile

from ..cleaning import user_timezone
from ..schemas import ErrorOut
from .drafts import ImportFileError
from .exporting import tasks_export
from .importing import tasks_import
from .readers import read_file

router = Router(tags=["import and export"])


class RowErrorOut(Schema):
    row: int
    field: str | None
    message: str


class ImportReportOut(Schema):
    format: str
    total: int
    created: int
    dry_run: bool
    committed: bool
    errors: list[RowErrorOut]


class ImportRefusedOut(Schema):
    detail: str
    report: ImportReportOut


class ImportQuery(Schema):
    format: Literal["todoist", "ics", "json"] | None = None
    dry_run: bool = False
    skip_errors: bool = False


@router.get("/export", summary="Export every task as JSON (this app's import format)")
def export_tasks(request):
    document = tasks_export(user=request.auth)
    response = HttpResponse(json.dumps(document, ensure_ascii=False), content_type="application/json")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="tasks-{stamp}.json"'
    return response


@router.post("/import", response={200: ImportReportOut, 422: ImportRefusedOut | ErrorOut},
             summary="Import tasks from Todoist CSV, iCalendar VTODO or this app's JSON export")
def import_tasks(request, query: Query[ImportQuery], file: File[UploadedFile]):
    """All or nothing: when any row cannot be imported nothing is, and the 422 lists each row and
    why, unless `skip_errors` (the good rows are imported and the bad ones listed). `dry_run`
    checks the file and reports what would be created without writing anything."""
    try:
        reading = read_file(file.read(), zone=user_timezone(request.auth), format=query.format)
    except ImportFileError as exc:
        return 422, {"detail": str(exc)}
    report = tasks_import(user=request.auth, reading=reading, dry_run=query.dry_run,
                         skip_errors=query.skip_errors)
    if report.errors and not (query.dry_run or query.skip_errors):
        count = len(report.errors)
        return 422, {"detail": f"{count} row{'s' if count != 1 else ''} cannot be imported, so nothing was; "
                               "fix them or import with skip_errors",
                     "report": report.as_dict()}
    return 200, report.as_dict()
