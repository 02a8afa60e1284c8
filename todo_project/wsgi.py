"""WSGI entry point, for tools that want one; the app is served over ASGI (todo_project.asgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
application = get_wsgi_application()
