"""`manage.py import_tasks --user U FILE`: Todoist CSV, iCalendar VTODO or this app's JSON export."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from tasks_app.cleaning import user_timezone
from tasks_app.transfer.drafts import ImportFileError
from tasks_app.transfer.importing import tasks_import
from tasks_app.transfer.readers import FORMATS, read_file


class Command(BaseCommand):
    help = ("Import tasks for a user from Todoist's CSV export, an iCalendar file (VTODO) or this app's JSON "
            "export. All or nothing unless --skip-errors; --dry-run writes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", required=True, help="the username who will own the tasks")
        parser.add_argument("--format", choices=FORMATS, help="default: guessed from the file's content")
        parser.add_argument("--dry-run", action="store_true", help="check the file and report; write nothing")
        parser.add_argument("--skip-errors", action="store_true",
                            help="import the good rows and report the bad ones (default: nothing if any row fails)")

    def handle(self, *args, file: Path, user: str, format, dry_run: bool, skip_errors: bool, **options):
        try:
            owner = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {user!r}") from None
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        try:
            reading = read_file(data, zone=user_timezone(owner), format=format)
        except ImportFileError as exc:
            raise CommandError(f"{file}: {exc}") from None
        with tqdm(total=len(reading.drafts), unit="task", desc="importing", file=self.stderr,
                  disable=not self.stderr.isatty()) as bar:
            report = tasks_import(user=owner, reading=reading, dry_run=dry_run, skip_errors=skip_errors,
                                 progress=bar.update)
        for error in report.errors:
            where = f"{error.field}: " if error.field else ""
            self.stderr.write(f"{file}: row {error.row}: {where}{error.message}")
        if report.committed:
            skipped = f", {len(report.errors)} skipped" if report.errors else ""
            self.stdout.write(f"imported {report.created} of {report.total} tasks ({report.format}){skipped}")
        elif dry_run:
            self.stdout.write(f"dry run: {report.created} of {report.total} tasks would be imported "
                              f"({report.format}), {len(report.errors)} with errors; nothing was written")
        else:
            raise CommandError(f"{len(report.errors)} of {report.total} rows cannot be imported, so nothing was "
                               "(fix them, or use --skip-errors)")
