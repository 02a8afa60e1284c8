"""Outgoing webhook requests: only to public addresses, with strict timeouts and a size cap.

A user chooses the URL, so a naive POST is a server-side request forgery: it could reach the
cluster's own services, the cloud metadata address or loopback.  The host is resolved here, every
address it resolves to must be public (unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES, for development),
and the connection goes to the address that was checked (pinned), so a DNS answer that changes
between the check and the connect (rebinding) cannot redirect it.  Redirects are not followed.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings


class WebhookURLError(ValueError):
    """A URL that may not be used for a webhook (its shape, or where it leads)."""


@dataclass
class Answer:
    status: int | None  # None: no HTTP answer (refused, timed out, reset)
    elapsed_ms: int
    error: str = ""
    retry_after: str | None = None


def _allowed_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> str:
    """`url` if it is an absolute http(s) URL a webhook may use; WebhookURLError naming why not.

    Checks the shape only (and literal addresses); where a host name leads is checked when a
    request is sent, since DNS can change in between."""
    if not isinstance(url, str) or not url.strip():
        raise WebhookURLError("must not be empty")
    url = url.strip()
    parts = urlsplit(url)
    schemes = ("https",) if settings.WEBHOOK_REQUIRE_HTTPS else ("https", "http")
    if parts.scheme not in schemes:
        raise WebhookURLError(f"must start with {' or '.join(s + '://' for s in schemes)}")
    if not parts.hostname:
        raise WebhookURLError("must name a host")
    if parts.username or parts.password:
        raise WebhookURLError("must not carry a user name or password; sign-in is by the webhook signature")
    try:
        parts.port  # noqa: B018 — raises on a port out of range
    except ValueError:
        raise WebhookURLError("has an invalid port") from None
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None and not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES and not _allowed_address(str(literal)):
        raise WebhookURLError(f"must not point at a private, loopback or reserved address ({literal})")
    if parts.hostname.lower() in ("localhost", "localhost.localdomain") and not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        raise WebhookURLError("must not point at localhost")
    return url


def _resolve(host: str, port: int) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise WebhookURLError(f"cannot resolve {host}: {exc.strerror}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        refused = [address for address in addresses if not _allowed_address(address)]
        if refused:
            raise WebhookURLError(f"{host} resolves to a private, loopback or reserved address ({refused[0]}); refused")
    return addresses[0]


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url`; never raises for network trouble: the Answer says what happened."""
    started = time.monotonic()

    def answer(status=None, error="", retry_after=None) -> Answer:
        return Answer(status, int((time.monotonic() - started) * 1000), error[:500], retry_after)

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = _resolve(parts.hostname, port)
    except WebhookURLError as exc:
        return answer(error=str(exc))
    timeout = urllib3.Timeout(connect=settings.WEBHOOK_CONNECT_TIMEOUT, read=settings.WEBHOOK_READ_TIMEOUT)
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1,
                                           server_hostname=parts.hostname, assert_hostname=parts.hostname,
                                           cert_reqs="CERT_REQUIRED")
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    try:
        response = pool.urlopen("POST", path, body=body, headers={**headers, "Host": host_header},
                                redirect=False, preload_content=False, assert_same_host=False)
        try:
            _drain(response, deadline=started + settings.WEBHOOK_TOTAL_TIMEOUT)
        finally:
            response.release_conn()
        return answer(response.status, retry_after=response.headers.get("Retry-After"))
    except ResponseTooLarge:
        return answer(error=f"the response was larger than {settings.WEBHOOK_MAX_RESPONSE_BYTES} bytes")
    except urllib3.exceptions.HTTPError as exc:
        return answer(error=f"{type(exc).__name__}: {exc}")
    finally:
        pool.close()


class ResponseTooLarge(Exception):
    pass


def _drain(response, *, deadline: float) -> None:
    """Read (and drop) the answer's body, at most WEBHOOK_MAX_RESPONSE_BYTES and until `deadline`:
    a receiver that drips its answer cannot hold a worker."""
    received = 0
    while True:
        if time.monotonic() > deadline:
            raise urllib3.exceptions.ReadTimeoutError(None, None, "the whole answer took too long")
        chunk = response.read(8192)
        if not chunk:
            return
        received += len(chunk)
        if received > settings.WEBHOOK_MAX_RESPONSE_BYTES:
            raise ResponseTooLarge
