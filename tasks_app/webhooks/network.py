"""Outgoing requests to URLs users choose (webhooks, Web Push endpoints): only to public addresses,
with strict timeouts and a size cap.

A user chooses the URL, so a naive POST is a server-side request forgery: it could reach the
cluster's own services, the cloud metadata address or loopback.  The host is resolved here, every
address it resolves to must be public (unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES, for development),
and the connection goes to the address that was checked (pinned), so a DNS answer that changes
between the check and the connect (rebinding) cannot redirect it.  Redirects are not followed.

A `Policy` says where requests may go and how long they may take; webhooks use the WEBHOOK_*
settings (the default), Web Push its own (tasks_app.push.services.push_policy).
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


class AddressRefused(WebhookURLError):
    """The host resolves to an address the policy forbids."""


@dataclass
class Answer:
    status: int | None  # None: no HTTP answer (refused, timed out, reset)
    elapsed_ms: int
    error: str = ""
    retry_after: str | None = None
    refused: bool = False  # the URL's host led to an address the policy forbids; nothing was sent
    body_start: bytes = b""  # the first bytes of the answer's body (push services explain errors there)


@dataclass(frozen=True)
class Policy:
    schemes: tuple[str, ...]
    allow_private: bool  # any address at all (development)
    connect_timeout: float
    read_timeout: float
    total_timeout: float
    max_response_bytes: int
    allow_loopback: bool = False  # loopback addresses only, besides public ones (tests)


def webhook_policy() -> Policy:
    return Policy(schemes=("https",) if settings.WEBHOOK_REQUIRE_HTTPS else ("https", "http"),
                  allow_private=settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES,
                  connect_timeout=settings.WEBHOOK_CONNECT_TIMEOUT, read_timeout=settings.WEBHOOK_READ_TIMEOUT,
                  total_timeout=settings.WEBHOOK_TOTAL_TIMEOUT, max_response_bytes=settings.WEBHOOK_MAX_RESPONSE_BYTES)


def _ip(address: str):
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip


def _allowed_address(address: str, policy: Policy | None = None) -> bool:
    policy = policy or webhook_policy()
    ip = _ip(address)
    if policy.allow_private or (policy.allow_loopback and ip.is_loopback):
        return True
    return ip.is_global and not ip.is_multicast


def check_url(url: str, policy: Policy | None = None) -> str:
    """`url` if it is an absolute http(s) URL a webhook may use; WebhookURLError naming why not.

    Checks the shape only (and literal addresses); where a host name leads is checked when a
    request is sent, since DNS can change in between."""
    if not isinstance(url, str) or not url.strip():
        raise WebhookURLError("must not be empty")
    policy = policy or webhook_policy()
    url = url.strip()
    parts = urlsplit(url)
    schemes = policy.schemes
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
    if literal is not None and not _allowed_address(str(literal), policy):
        raise WebhookURLError(f"must not point at a private, loopback or reserved address ({literal})")
    if parts.hostname.lower() in ("localhost", "localhost.localdomain") and not (policy.allow_private
                                                                                 or policy.allow_loopback):
        raise WebhookURLError("must not point at localhost")
    return url


def _resolve(host: str, port: int, policy: Policy) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise WebhookURLError(f"cannot resolve {host}: {exc.strerror}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not policy.allow_private:
        refused = [address for address in addresses if not _allowed_address(address, policy)]
        if refused:
            raise AddressRefused(f"{host} resolves to a private, loopback or reserved address ({refused[0]}); refused")
    return addresses[0]


def post(url: str, body: bytes, headers: dict[str, str], policy: Policy | None = None) -> Answer:
    """POST `body` to `url`; never raises for network trouble: the Answer says what happened."""
    policy = policy or webhook_policy()
    started = time.monotonic()

    def answer(status=None, error="", retry_after=None, refused=False, body_start=b"") -> Answer:
        return Answer(status, int((time.monotonic() - started) * 1000), error[:500], retry_after, refused, body_start)

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = _resolve(parts.hostname, port, policy)
    except WebhookURLError as exc:
        return answer(error=str(exc), refused=isinstance(exc, AddressRefused))
    timeout = urllib3.Timeout(connect=policy.connect_timeout, read=policy.read_timeout)
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
            body_start = _drain(response, deadline=started + policy.total_timeout, limit=policy.max_response_bytes)
        finally:
            response.release_conn()
        return answer(response.status, retry_after=response.headers.get("Retry-After"), body_start=body_start)
    except ResponseTooLarge:
        return answer(error=f"the response was larger than {policy.max_response_bytes} bytes")
    except urllib3.exceptions.HTTPError as exc:
        return answer(error=f"{type(exc).__name__}: {exc}")
    finally:
        pool.close()


class ResponseTooLarge(Exception):
    pass


BODY_START_BYTES = 300


def _drain(response, *, deadline: float, limit: int) -> bytes:
    """Read the answer's body, at most `limit` bytes and until `deadline` (a receiver that drips its
    answer cannot hold a worker); keep its first BODY_START_BYTES."""
    received, start = 0, b""
    while True:
        if time.monotonic() > deadline:
            raise urllib3.exceptions.ReadTimeoutError(None, None, "the whole answer took too long")
        chunk = response.read(8192)
        if not chunk:
            return start
        if len(start) < BODY_START_BYTES:
            start += chunk[:BODY_START_BYTES - len(start)]
        received += len(chunk)
        if received > limit:
            raise ResponseTooLarge
