"""`manage.py issue_token USER`: an API token for scripts and MCP clients (tasks_app.accounts)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from tasks_app import accounts


class Command(BaseCommand):
    help = "Print a new API token for USER (use it as `Authorization: Bearer <token>`)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="a label to tell tokens apart in the admin")

    def handle(self, *args, username, name, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {username!r}") from None
        self.stdout.write(accounts.api_token_issue(user=user, name=name))
