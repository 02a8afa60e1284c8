from django.apps import AppConfig


class TasksAppConfig(AppConfig):
    name = "tasks_app"
    verbose_name = "Tasks"

    def ready(self):
        # Database limits by kind of process (web, migrate, Celery worker).
        from todo_project import database

        database.connect_receivers()
