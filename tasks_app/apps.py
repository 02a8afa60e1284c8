"""The tasks app: tasks, tags, events, notifications and accounts — the domain every surface calls."""

from django.apps import AppConfig


class TasksAppConfig(AppConfig):
    name = "tasks_app"
    verbose_name = "Tasks"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the auth signal receivers)
        # Database limits by kind of process (web, migrate, Celery worker).
        from todo_project import database

        database.connect_receivers()
