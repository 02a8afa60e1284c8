from django.core.management.base import BaseCommand, CommandError

from tasks_app import services


class Command(BaseCommand):
    help = "Create (or reset) the development login demo/demo and print an API token for it."

    def handle(self, *args, **options):
        try:
            user = services.demo_user_ensure()
        except PermissionError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(services.api_token_issue(user=user, name="make run"))
