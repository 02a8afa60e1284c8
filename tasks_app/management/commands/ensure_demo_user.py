"""`manage.py ensure_demo_user`: the development login that `make run` prints (tasks_app.accounts)."""

from django.core.management.base import BaseCommand, CommandError

from tasks_app import accounts


class Command(BaseCommand):
    help = "Create (or reset) the development login demo/demo and print an API token for it."

    def handle(self, *args, **options):
        try:
            user = accounts.demo_user_ensure()
        except PermissionError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(accounts.api_token_issue(user=user, name="make run"))
