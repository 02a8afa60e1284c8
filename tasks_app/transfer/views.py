"""The settings page's import upload and export download (signed-in browser, not a bearer token)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from ..cleaning import user_timezone
from .drafts import ImportFileError
from .exporting import tasks_export
from .importing import tasks_import
from .readers import FORMATS, read_file

MAX_ERRORS_SHOWN = 20


class ImportForm(forms.Form):
    file = forms.FileField()
    format = forms.ChoiceField(choices=[("", "guess from the file")] + [(name, name) for name in FORMATS],
                               required=False)
    dry_run = forms.BooleanField(required=False)
    skip_errors = forms.BooleanField(required=False)


@login_required
@require_POST
def import_upload(request):
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Import: choose a file to import.")
        return redirect("account_settings")
    options = form.cleaned_data
    try:
        reading = read_file(options["file"].read(), zone=user_timezone(request.user), format=options["format"] or None)
    except ImportFileError as exc:
        messages.error(request, f"Import: {exc}.")
        return redirect("account_settings")
    report = tasks_import(user=request.user, reading=reading, dry_run=options["dry_run"],
                          skip_errors=options["skip_errors"])
    for error in report.errors[:MAX_ERRORS_SHOWN]:
        where = f"{error.field}: " if error.field else ""
        messages.warning(request, f"Row {error.row}: {where}{error.message}")
    if len(report.errors) > MAX_ERRORS_SHOWN:
        messages.warning(request, f"… and {len(report.errors) - MAX_ERRORS_SHOWN} more rows with errors.")
    if report.committed:
        messages.success(request, f"Imported {report.created} of {report.total} tasks ({report.format}).")
    elif report.dry_run:
        messages.info(request, f"Dry run: {report.created} of {report.total} tasks would be imported; nothing "
                               "was written.")
    else:
        messages.error(request, f"Nothing was imported: {len(report.errors)} of {report.total} rows have errors "
                                "(fix them, or tick “skip rows with errors”).")
    return redirect("account_settings")


def export_response(user) -> HttpResponse:
    """The JSON export as a download, for the API and the settings page alike."""
    response = HttpResponse(json.dumps(tasks_export(user=user), ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="tasks-{timezone.now():%Y%m%d-%H%M%S}.json"'
    return response


@login_required
@require_GET
def export_download(request):
    return export_response(request.user)
