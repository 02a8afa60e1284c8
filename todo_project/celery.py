"""The Celery app of the project: configured from the CELERY_* block of todo_project/settings.py,
with the jobs of every installed app (workers/tasks.py) discovered.  Workers and beat start it with
`celery -A todo_project worker|beat`; the web process uses it only to dispatch jobs and ping workers.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")

app = Celery("todo_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
