"""Rate limits and sign-in lockout, counted in Redis so that every web pod shares them.

A limit is (count, seconds) from settings (THROTTLE_*; None when off), counted in a fixed
window: the first event starts a key that expires after `seconds`; `Retry-After` is what
is left of it.  Two ways to count:

- `hit(...)`: every request counts (chat, MCP tool calls, sign-up); past the limit it
  raises Throttled.
- `login_check(...)` before a password check, `login_failed(...)` after a wrong one
  (from Django's user_login_failed signal, so the login page, the admin and
  POST /api/auth/token count alike): once a username or a client IP has used up its
  failures, further attempts are refused *before* any user lookup or password hash, so a
  locked-out attempt costs the same (next to nothing) for known and unknown usernames.
  Django's ModelBackend already hashes the password of an unknown username once, so a
  wrong password costs the same for both too.

Redis unreachable: the limits are not applied (logged), rather than locking everyone out;
the rest of the app (Celery, live updates) needs Redis anyway.
"""

from __future__ import annotations

import hashlib
import logging
import math
from datetime import UTC, datetime, time, timedelta
from functools import cache, wraps

import redis
from django.conf import settings
from django.http import HttpResponse
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

KEY_PREFIX = "throttle:"


class Throttled(Exception):
    """Too many requests; `retry_after` seconds until the window ends.  Shown as a 429 with Retry-After."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message, self.retry_after = message, retry_after


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def _digest(value: str) -> str:
    # Usernames and IPs as fixed-length keys: no user input in Redis key names.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _key(scope: str, ident: str) -> str:
    return f"{KEY_PREFIX}{scope}:{_digest(ident)}"


def _seconds(milliseconds: int, fallback: int) -> int:
    return max(1, math.ceil(milliseconds / 1000)) if milliseconds > 0 else fallback


def _count(key: str, window: int) -> tuple[int, int]:
    """Add one to `key`'s window; (count so far, seconds left)."""
    pipe = redis_client().pipeline(transaction=True)
    pipe.set(key, 0, ex=window, nx=True)
    pipe.incr(key)
    pipe.pttl(key)
    _, count, ttl = pipe.execute()
    return count, _seconds(ttl, window)


def _peek(key: str, window: int) -> tuple[int, int]:
    pipe = redis_client().pipeline(transaction=False)
    pipe.get(key)
    pipe.pttl(key)
    count, ttl = pipe.execute()
    return int(count or 0), _seconds(ttl, window)


def hit(scope: str, ident: str | int, limit: tuple[int, int] | None, what: str) -> None:
    """Count one `what` (e.g. "chat messages") for `ident`; Throttled past `limit`."""
    if limit is None:
        return
    count_limit, window = limit
    try:
        count, left = _count(_key(scope, str(ident)), window)
    except RedisError:
        logger.warning("rate limit %s not applied: Redis unreachable", scope, exc_info=True)
        return
    if count > count_limit:
        raise Throttled(f"rate limit: at most {count_limit} {what} per {_duration(window)}; "
                        f"try again in {left} s", left)


def daily_budget_spend(scope: str, ident: str | int, limit: int, what: str) -> None:
    """Count one `what` against `ident`'s budget for the current UTC day; Throttled (until
    midnight UTC) once `limit` of them have been spent today."""
    now = datetime.now(UTC)
    left = int((datetime.combine(now.date() + timedelta(days=1), time(), UTC) - now).total_seconds()) + 1
    key = f"{KEY_PREFIX}{scope}:{now:%Y%m%d}:{_digest(str(ident))}"
    try:
        count, _ = _count(key, 2 * 86400)
    except RedisError:
        logger.warning("daily budget %s not applied: Redis unreachable", scope, exc_info=True)
        return
    if count > limit:
        raise Throttled(f"daily budget used up: at most {limit} {what} per day; it renews at midnight UTC, "
                        f"in {left} s", left)


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            amount = seconds // size
            return unit if amount == 1 else f"{amount} {unit}s"
    return f"{seconds} seconds"


def client_ip(request) -> str:
    """REMOTE_ADDR: behind a proxy, uvicorn sets it from X-Forwarded-For when the proxy is
    trusted (FORWARDED_ALLOW_IPS); a header the client sends itself is never read here."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def _username(username) -> str:
    return str(username or "").strip().lower()


def _login_keys(request, username) -> list[tuple[str, tuple[int, int] | None, str]]:
    keys = [(_key("login-user", _username(username)), settings.THROTTLE_LOGIN_FAILURES_PER_USERNAME,
             "this username")]
    if request is not None:  # authenticate() called without a request (a script) has no address
        keys.append((_key("login-ip", client_ip(request)), settings.THROTTLE_LOGIN_FAILURES_PER_IP, "your address"))
    return keys


def login_check(request, username) -> None:
    """Throttled when `username` or the client's IP has used up its failed sign-ins."""
    for key, limit, who in _login_keys(request, username):
        if limit is None:
            continue
        try:
            count, left = _peek(key, limit[1])
        except RedisError:
            logger.warning("sign-in lockout not applied: Redis unreachable", exc_info=True)
            return
        if count >= limit[0]:
            raise Throttled(f"too many failed sign-ins for {who}; try again in {left} s", left)


def login_failed(request, username) -> None:
    """Count a failed sign-in against `username` and the client's IP."""
    for key, limit, _ in _login_keys(request, username):
        if limit is None:
            continue
        try:
            _count(key, limit[1])
        except RedisError:
            logger.warning("failed sign-in not counted: Redis unreachable", exc_info=True)
            return


def signup_check(request, username) -> None:
    """Count a sign-up attempt against the client's IP and the username asked for."""
    hit("signup-ip", client_ip(request), settings.THROTTLE_SIGNUP_PER_IP, "sign-ups from one address")
    hit("signup-user", _username(username), settings.THROTTLE_SIGNUP_PER_USERNAME, "sign-ups for one username")


def throttled_response(exc: Throttled) -> HttpResponse:
    response = HttpResponse(exc.message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(exc.retry_after)
    return response


def login_throttled(view):
    """Wrap a login page (ours, the admin's): a POST for a locked-out username or IP is a 429,
    answered before the form runs any password check.  Failures are counted by the signal."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST":
            try:
                login_check(request, request.POST.get("username"))
            except Throttled as exc:
                return throttled_response(exc)
        return view(request, *args, **kwargs)

    return wrapper
