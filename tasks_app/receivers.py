"""Receivers of Django's auth signals: each hands one fact to tasks_app.throttling or .live.

Connected in TasksAppConfig.ready().  A failed sign-in anywhere (login page, admin,
POST /api/auth/token: all go through django.contrib.auth.authenticate) counts toward
the lockout; a logout closes the WebSockets opened with that session.
"""

from django.contrib.auth.signals import user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from . import live, throttling


@receiver(user_login_failed, dispatch_uid="tasks_app.count_failed_login")
def count_failed_login(sender, credentials, request=None, **kwargs):
    throttling.login_failed(request, credentials.get("username"))


@receiver(user_logged_out, dispatch_uid="tasks_app.close_session_sockets")
def close_session_sockets(sender, request=None, user=None, **kwargs):
    if request is not None and request.session.session_key:
        transaction.on_commit(lambda key=request.session.session_key: live.sockets_close(live.session_group(key)),
                              robust=True)
