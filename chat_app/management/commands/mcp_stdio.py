"""`manage.py mcp_stdio --user U`: the MCP tools over stdio for desktop MCP clients, every call bound
to one active user named on the command line (never taken from the client)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from chat_app.mcp_server import build_server


class Command(BaseCommand):
    help = ("Serve the todo MCP tools over stdio, acting as USER (for desktop MCP clients). "
            "stdout carries the protocol; logs go to stderr.")

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="the username every tool call acts as")

    def handle(self, *args, user, **options):
        try:
            account = get_user_model().objects.get(username=user, is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no active user named {user!r}") from None
        build_server(user=account).run("stdio")
