import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
django_application = get_asgi_application()

# /mcp (MCP tools over streamable HTTP) is answered in front of Django; imported after setup.
from chat_app.asgi import with_mcp  # noqa: E402

application = with_mcp(django_application)
