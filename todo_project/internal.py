"""The internal port: detailed health and Prometheus metrics, kept off the public port (issue 12).

The web process serves users on PORT (uvicorn, behind the ingress). This small WSGI server runs
in a thread of the same process (started by asgi.py) on INTERNAL_PORT (default 9100):

    GET /healthz   every component (database, Redis, Kafka, Celery) with details: 200 while the
                   database answers, 503 otherwise ("status": "degraded" when another is down)
    GET /metrics   Prometheus exposition of this process: django-prometheus and the app's collector

In the same process so that /metrics sees this process's request counters. With several uvicorn
processes (WEB_CONCURRENCY) each one tries to bind the port and one wins; they all count in
prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by the launchers), and the
winner's /metrics adds up every process's files, so a scrape sees the whole pod. It is bound to
INTERNAL_ADDR: loopback on a laptop; in a pod 0.0.0.0, with a NetworkPolicy that admits only the
monitoring namespace and a Service that no ingress routes to. No Django middleware, no Host check:
nothing here is for users, and each answer costs a Kafka admin client and a worker ping, which is
why it is not on the public port any more.
"""

from __future__ import annotations

import json
import logging
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.db import connections
from prometheus_client import REGISTRY, make_wsgi_app

from workers.metrics import combined_registry, multiprocess_dir

logger = logging.getLogger(__name__)


# Every web process's metrics when several count in multiprocess mode (plus the shared state);
# otherwise this process's default registry (django-prometheus and the shared state are there).
_metrics = make_wsgi_app(combined_registry(single_process=REGISTRY))
_server: WSGIServer | None = None


def _respond(start_response, status: str, body: bytes, content_type: str = "application/json"):
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-store")])
    return [body]


def application(environ, start_response):
    """The internal WSGI app (callable in-process by tests: it keeps the caller's DB connection)."""
    path = environ.get("PATH_INFO") or "/"
    if environ.get("REQUEST_METHOD") not in {"GET", "HEAD"}:
        return _respond(start_response, "405 Method Not Allowed", b'{"detail": "GET only"}')
    if path == "/metrics":
        return _metrics(environ, start_response)
    if path == "/healthz":
        from .health import component_report

        body, status = component_report()
        reason = "200 OK" if status == 200 else "503 Service Unavailable"
        return _respond(start_response, reason, json.dumps(body).encode())
    return _respond(start_response, "404 Not Found", b'{"detail": "not found: /healthz, /metrics"}')


class _Handler(WSGIRequestHandler):
    def handle(self):
        try:
            super().handle()
        finally:
            connections.close_all()  # one thread per request: never leave its connection behind

    def log_message(self, format, *args):  # scrapes every 30 s would drown the log
        logger.debug("internal %s - %s", self.address_string(), format % args)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


def start(port: int, addr: str = "127.0.0.1") -> WSGIServer:
    """Serve `application` on addr:port in a daemon thread; returns the server (shutdown() stops it)."""
    server = make_server(addr, port, application, server_class=_Server, handler_class=_Handler)
    threading.Thread(target=server.serve_forever, name="internal-http", daemon=True).start()
    return server


def start_from_settings() -> WSGIServer | None:
    """Called once by asgi.py: INTERNAL_PORT=0 turns the internal port off."""
    global _server
    if _server is None and settings.INTERNAL_PORT:
        try:
            _server = start(settings.INTERNAL_PORT, settings.INTERNAL_ADDR)
        except OSError as exc:
            if multiprocess_dir() is not None:  # a sibling uvicorn process serves it, for all of them
                logger.debug("internal port %s:%d served by another web process", settings.INTERNAL_ADDR,
                             settings.INTERNAL_PORT)
                return None
            # a second web process on one host (a laptop): say so, keep serving users
            logger.warning("internal port %s:%d not started: %s", settings.INTERNAL_ADDR, settings.INTERNAL_PORT, exc)
            return None
        logger.info("detailed health and metrics on http://%s:%d/healthz and /metrics",
                    settings.INTERNAL_ADDR, settings.INTERNAL_PORT)
    return _server
