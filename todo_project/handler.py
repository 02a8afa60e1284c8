"""Django's ASGI handler with the middleware chain and the view run in one hand-off to a thread.

Django's own ASGIHandler runs the chain in async mode: each sync-only step (the view, and the
`process_request`/`process_response` of every MiddlewareMixin middleware: sessions, CSRF, auth,
messages, django-prometheus…) is its own `sync_to_async` hop between the event loop and the
request's thread, five per request here, each a future, a cross-thread wake-up and a context copy.
Every middleware in MIDDLEWARE can run sync and every view is sync, so here the chain is built
sync and handed to the request's thread once (thread_sensitive, as Django would: the same
thread as the request_started and request_finished receivers, which take and return the
database connection).  Measured in docs/performance.md (Requests).
"""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class OneHopASGIHandler(ASGIHandler):
    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)


def get_one_hop_asgi_application() -> OneHopASGIHandler:
    """django.core.asgi.get_asgi_application with OneHopASGIHandler."""
    import django

    django.setup(set_prefix=False)
    return OneHopASGIHandler()
