"""The ASGI application uvicorn serves: a request-body limit outermost, /mcp in front, then Django for
HTTP and Channels for the live-update WebSocket; it also starts the internal health/metrics port."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")

from todo_project.handler import get_one_hop_asgi_application  # noqa: E402

# Django for HTTP, its middleware chain and view in one hand-off to the request's thread (see there).
django_application = get_one_hop_asgi_application()

# Imported after setup.  /mcp (MCP tools over streamable HTTP) is answered in front of Django.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from chat_app.asgi import with_mcp  # noqa: E402
from tasks_app.routing import websocket_urlpatterns  # noqa: E402
from todo_project.body_limit import BodySizeLimit  # noqa: E402
from todo_project.health import HealthProbe  # noqa: E402

# WebSockets (live updates at /ws/tasks/) go to Channels with the Django session; see tasks_app/consumers.py.
# A body over REQUEST_BODY_MAX_BYTES is refused (413) before anything reads it.  Outermost, the public
# health probe (GET /healthz: one database round trip, no middleware; todo_project/health.py).
application = HealthProbe(BodySizeLimit(with_mcp(ProtocolTypeRouter({
    "http": django_application,
    "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
})), settings.REQUEST_BODY_MAX_BYTES))

# Detailed health and /metrics on INTERNAL_PORT, in a thread of this process (never the public port).
from todo_project.internal import start_from_settings  # noqa: E402

start_from_settings()
