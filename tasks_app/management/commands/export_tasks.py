"""`manage.py export_tasks --user U [-o FILE]`: the user's tasks as this app's JSON export."""

import json
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from tasks_app.transfer.exporting import tasks_export


class Command(BaseCommand):
    help = "Write a user's tasks as JSON (every field, tags, recurrence, reminders, completion history)."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True)
        parser.add_argument("-o", "--output", help="a file to write (default: standard output)")

    def handle(self, *args, user: str, output: str | None, **options):
        try:
            owner = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {user!r}") from None
        document = tasks_export(user=owner)
        text = json.dumps(document, ensure_ascii=False, indent=1)
        if output:
            with open(output, "w", encoding="utf-8") as stream:
                stream.write(text + "\n")
            self.stderr.write(f"exported {len(document['tasks'])} tasks to {output}")
        else:
            sys.stdout.write(text + "\n")
