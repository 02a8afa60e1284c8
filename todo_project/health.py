"""Health: the public probe and the detailed report.

`healthz` (public port, GET /healthz): liveness/readiness for kubelet and the ingress. One round
trip to the database, 200 {"status": "ok"} or 503 {"status": "unavailable"}, never an error detail.
Under ASGI (uvicorn) `HealthProbe` answers it in front of Django's middleware.

`component_report` (internal port, todo_project/internal.py): the state of every component the app
depends on.  HTTP 200 while the web tier can serve (the database answers), 503 when it cannot; a
degraded broker, Redis or worker shows in the body ("status": "degraded").
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.http.request import split_domain_port, validate_host

from workers.kafka import broker_reachable

logger = logging.getLogger(__name__)


def _database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, connection.vendor
    except Exception as exc:  # any failure is the answer we report
        return False, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    finally:
        connection.close()  # this runs in a helper thread; do not leak its connection


def _redis() -> tuple[bool, str]:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        client.ping()
        return True, "ping ok"
    except redis.RedisError as exc:
        return False, str(exc)


def _celery() -> tuple[bool, str]:
    from todo_project.celery import app

    redis_ok, detail = _redis()
    if not redis_ok:
        return False, f"broker unreachable: {detail}"
    # limit=1: return on the first answer instead of waiting out the timeout.
    replies = app.control.ping(timeout=1.0, limit=1)
    if not replies:
        return False, "no worker answered a ping within 1s"
    return True, f"worker {next(iter(replies[0]))} answered"


CHECKS = {"database": _database, "redis": _redis, "kafka": broker_reachable, "celery": _celery}


def component_report() -> tuple[dict, int]:
    """(body, HTTP status) of the detailed check; served only on the internal port."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(CHECKS)) as pool:
        futures = {name: pool.submit(check) for name, check in CHECKS.items()}
        results = {}
        for name, future in futures.items():
            try:
                ok, detail = future.result()
            except Exception as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            results[name] = {"ok": ok, "detail": detail}
    all_ok = all(result["ok"] for result in results.values())
    body = {
        "status": "ok" if all_ok else "degraded",
        "components": results,
        "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
    }
    return body, 200 if results["database"]["ok"] else 503


HEALTHZ_PATH = "/healthz"
# (status, body) of the public probe by whether the database answered.
PROBE_ANSWERS = {True: (200, {"status": "ok"}), False: (503, {"status": "unavailable"})}


def database_answers() -> bool:
    """The public probe's check: one round trip to the database, False (logged) when it fails."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.warning("healthz: the database does not answer", exc_info=True)
        return False
    return True


def healthz(request):
    """The public probe: cheap (no Kafka client, no worker ping) and silent about why it fails.
    The Django view serves WSGI and the test client; under ASGI HealthProbe answers first."""
    status, body = PROBE_ANSWERS[database_answers()]
    return JsonResponse(body, status=status, headers={"Cache-Control": "no-store"})


def _probe_in_a_thread() -> bool:
    try:
        return database_answers()
    finally:
        connection.close()  # a thread of the loop's executor, not a request's: hand it back (to the pool) now


def _host_allowed(scope) -> bool:
    """The request's Host is one Django would accept (HttpRequest.get_host's check, without
    X-Forwarded-Host: with USE_X_FORWARDED_HOST on, a probe is left to Django)."""
    if getattr(settings, "USE_X_FORWARDED_HOST", False):
        return False
    hosts = [value for name, value in scope["headers"] if name == b"host"]
    if len(hosts) != 1:
        return False
    domain, _port = split_domain_port(hosts[0].decode("latin-1"))
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # as HttpRequest.get_host allows under DEBUG
    return bool(domain) and validate_host(domain, allowed)


class HealthProbe:
    """ASGI: `GET`/`HEAD /healthz` answered in front of Django, with the view's check and answer.

    Kubelet and load balancers call it every few seconds on every web process, and through Django
    it cost the whole middleware chain (sessions, auth, CSRF, metrics, request id, the access log)
    for one `SELECT 1`: ~3 ms of CPU against ~1 ms here (docs/performance.md).  So probes are not in
    the request metrics or the access log (the latency alert left them out already).  The Host
    header is checked as Django checks it (the chart puts the pod IP in ALLOWED_HOSTS for probes);
    any other Host, or a forwarded one, goes on to Django, which refuses it as for every path."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or scope["path"] != HEALTHZ_PATH or scope["method"] not in ("GET", "HEAD")
                or not _host_allowed(scope)):
            return await self.app(scope, receive, send)
        status, body = PROBE_ANSWERS[await sync_to_async(_probe_in_a_thread, thread_sensitive=False)()]
        payload = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else payload})
