"""Reminders by email, through Django's email framework (settings from EMAIL_URL, todo_project/email_url.py).

One plain-text part and an HTML alternative; every piece of user text (the task title is in the
notice's message) is escaped in the HTML and stripped of line breaks in the subject, so a title
cannot inject markup or headers.  The Message-ID is derived from the delivery, so a retry after an
ambiguous failure (the server took the message, then the connection dropped) carries the same id
and the receiving side can drop the copy.

Errors: a recipient refused with a 5xx (no such mailbox, domain refused) is final; everything else
(server down, a timeout, a 4xx, a 5xx to the sender or the data: often the server's or our
configuration's problem, fixed by an operator) is retried with backoff by the delivery service.
"""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.utils.html import format_html

from .. import selectors
from ..cleaning import user_timezone
from .base import ChannelError

SUBJECT_MAX_LENGTH = 150


def wanted(user) -> bool:
    """The server sends email, the user has an address and turned email reminders on."""
    return bool(settings.EMAIL_ENABLED and user.email and selectors.profile_get(user=user).email_reminders)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def message_for(delivery) -> EmailMultiAlternatives:
    notification, user = delivery.notification, delivery.user
    text = _one_line(notification.message)
    due = ""
    if notification.due_at is not None:
        local = notification.due_at.astimezone(user_timezone(user))
        due = f"{local:%A %d %B %Y, %H:%M} ({local.tzinfo})"
    body = "\n".join(filter(None, [
        text,
        f"Due: {due}" if due else "",
        "",
        "You get this because email reminders are on in your settings; turn them off there to stop these.",
    ])) + "\n"
    html = format_html(
        "<p>{}</p>{}<p style=\"color:#666\">You get this because email reminders are on in your settings; "
        "turn them off there to stop these.</p>",
        text, format_html("<p>Due: {}</p>", due) if due else "")
    message = EmailMultiAlternatives(
        subject=text[:SUBJECT_MAX_LENGTH], body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email],
        headers={"Message-ID": f"<reminder-{notification.pk}.{delivery.pk}@{DNS_NAME}>",
                 # RFC 3834: an automatic message; auto-responders must not answer it.
                 "Auto-Submitted": "auto-generated"})
    message.attach_alternative(html, "text/html")
    return message


def deliver(delivery) -> None:
    if not delivery.user.email:
        raise ChannelError("the user has no email address any more", retryable=False)
    message = message_for(delivery)
    try:
        # Django's SMTP backend applies EMAIL_TIMEOUT to the connection and every command.
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()), (0, b""))
        reply = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        raise ChannelError(f"recipient refused: {code} {reply}", retryable=not 500 <= code < 600) from None
    except smtplib.SMTPResponseException as exc:
        reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise ChannelError(f"SMTP {exc.smtp_code} {reply}") from None
    except (smtplib.SMTPException, OSError) as exc:  # OSError: refused, unreachable, timed out, TLS
        raise ChannelError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from None
