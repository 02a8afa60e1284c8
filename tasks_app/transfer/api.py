"""GET /api/export and POST /api/import: thin doors over exporting.py and importing.py."""

from __future__ import annotations

from typing import Literal

from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from todo_project.problems import JSON_BODY, SIGNED_IN, SIGNED_IN_WRITE, ProblemDetails, documented, validation_problem

from ..cleaning import user_timezone
from .drafts import ImportFileError
from .importing import tasks_import
from .readers import read_file
from .views import export_response

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


class ImportRefusedProblem(ProblemDetails):
    """A 422 problem; when rows were refused, `report` is what an import would have done."""

    report: ImportReportOut | None = None


class ImportQuery(Schema):
    format: Literal["todoist", "ics", "json"] | None = None
    dry_run: bool = False
    skip_errors: bool = False


@router.get("/export", response=documented({200: None}, SIGNED_IN), operation_id="tasks_export",
            summary="Export every task as JSON (this app's import format)")
def export_tasks(request):
    return export_response(request.auth)


@router.post("/import", response={**documented(ImportReportOut, SIGNED_IN_WRITE, JSON_BODY), 422: ImportRefusedProblem},
             operation_id="tasks_import", summary="Import tasks from Todoist CSV, iCalendar VTODO or this app's JSON export")
def import_tasks(request, query: Query[ImportQuery], file: File[UploadedFile]):
    """All or nothing: when any row cannot be imported nothing is, and the 422 lists each row and
    why, unless `skip_errors` (the good rows are imported and the bad ones listed). `dry_run`
    checks the file and reports what would be created without writing anything."""
    try:
        reading = read_file(file.read(), zone=user_timezone(request.auth), format=query.format)
    except ImportFileError as exc:
        return validation_problem([{"location": "body", "field": "file", "message": str(exc)}])
    report = tasks_import(user=request.auth, reading=reading, dry_run=query.dry_run,
                         skip_errors=query.skip_errors)
    if report.errors and not (query.dry_run or query.skip_errors):
        count = len(report.errors)
        refused = report.as_dict()
        return validation_problem(
            [{"location": "body", "field": f"file.row {error['row']}" + (f".{error['field']}" if error["field"] else ""),
              "message": error["message"]} for error in refused["errors"]],
            detail=f"{count} row{'s' if count != 1 else ''} cannot be imported, so nothing was; "
                   "fix them or import with skip_errors",
            extensions={"report": refused})
    return Status(200, report.as_dict())
