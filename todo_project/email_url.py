"""EMAIL_URL → Django's email settings, failing loudly on anything it does not understand.

    smtp://user:pass@host:25          plain SMTP (no TLS; a relay on the same host or network)
    smtp+tls://user:pass@host:587     SMTP with STARTTLS (submission)
    smtps://user:pass@host:465        SMTP over implicit TLS
    console://                        print each message on stdout (the worker's log)
    file:///absolute/folder           one .log file per message batch in that folder (`make run`: .data/mail)
    memory://                         kept in django.core.mail.outbox (tests)

User and password are percent-decoded (a "@" in a password is written %40).  Written here rather
than taken from dj-email-url: that package has not had a release since 2022, accepts schemes and
query options it then ignores, and its errors do not name the variable — thirty lines that refuse
what they cannot honour are easier to trust than a dependency for them.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SMTP_SCHEMES = {"smtp": (False, False), "smtp+tls": (True, False), "smtps": (False, True)}
BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "memory": "django.core.mail.backends.locmem.EmailBackend",
}
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def parse(url: str, *, name: str = "EMAIL_URL") -> dict[str, object]:
    """The EMAIL_* settings `url` stands for (EMAIL_BACKEND always; host, port, credentials and TLS
    for SMTP; EMAIL_FILE_PATH for file://)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a URL: {exc}") from None
    scheme = parts.scheme.lower()
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{name}: options after ? or # are not understood; use the scheme "
                                   "(smtp+tls://, smtps://) and EMAIL_TIMEOUT instead")
    if scheme in SMTP_SCHEMES:
        if not parts.hostname:
            raise ImproperlyConfigured(f"{name}={scheme}://… names no host")
        use_tls, use_ssl = SMTP_SCHEMES[scheme]
        return {
            "EMAIL_BACKEND": SMTP_BACKEND,
            "EMAIL_HOST": parts.hostname,
            "EMAIL_PORT": port or (465 if use_ssl else 587 if use_tls else 25),
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_TLS": use_tls,
            "EMAIL_USE_SSL": use_ssl,
        }
    if scheme == "file":
        path = unquote(parts.path)
        if parts.netloc or not path.startswith("/"):
            raise ImproperlyConfigured(f"{name}=file://… needs an absolute folder: file:///var/mail/todo")
        return {"EMAIL_BACKEND": BACKENDS["file"], "EMAIL_FILE_PATH": path}
    if scheme in BACKENDS:
        return {"EMAIL_BACKEND": BACKENDS[scheme]}
    raise ImproperlyConfigured(f"{name}: unknown scheme {scheme!r}; use smtp, smtp+tls, smtps, console, file or memory")
