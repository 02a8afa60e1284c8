"""Which hosts may reach the ASGI entry points that Django's own checks do not cover.

Django validates the Host header of ordinary HTTP requests (ALLOWED_HOSTS); the
MCP mount (chat_app/asgi.py, ahead of Django) and the live-updates WebSocket
(tasks_app/consumers.py, where a browser's cookies must not be usable from
another site) read the raw ASGI scope instead.  Both ask here, so they apply one
rule: the name must match ALLOWED_HOSTS with Django's own matching (wildcards,
leading dots, ports ignored), and a development setup without ALLOWED_HOSTS
accepts localhost only.
"""

from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings
from django.http.request import split_domain_port, validate_host

# Used when DEBUG is on and ALLOWED_HOSTS is empty (Django's own development fallback).
DEVELOPMENT_HOSTS = [".localhost", "127.0.0.1", "[::1]"]


def host_allowed(scope) -> bool:
    """Whether the request's Host header names one of ALLOWED_HOSTS."""
    return name_allowed(_header(scope, b"host"))


def origin_allowed(scope) -> bool:
    """Whether the Origin header (a browser's page) names one of ALLOWED_HOSTS, as Channels'
    AllowedHostsOriginValidator decides; a request without one is refused."""
    return name_allowed(urlparse(_header(scope, b"origin")).netloc)


def name_allowed(host: str) -> bool:
    """Whether `host` ("name" or "name:port") matches ALLOWED_HOSTS."""
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = DEVELOPMENT_HOSTS
    return bool(domain) and validate_host(domain, allowed)


def _header(scope, name: bytes) -> str:
    return next((value.decode("latin-1") for key, value in scope.get("headers", []) if key == name), "")
