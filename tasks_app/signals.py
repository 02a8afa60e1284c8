"""Signals sent by tasks_app.services inside the transaction of a change.

Receivers (workers/receivers.py) only hand off to Celery after commit; no
logic lives in them.
"""

from django.dispatch import Signal

# A domain event was written to the outbox.  kwargs: event (OutboxEvent).
event_recorded = Signal()

# A task was marked completed (not sent when it already was).  kwargs: task (Task).
task_completed = Signal()

# Webhook deliveries were written (tasks_app.webhooks) and wait to be sent.  kwargs: count (int).
webhook_deliveries_created = Signal()

# Notification deliveries (email, push) were written by a reminder's claim and wait to be sent.  kwargs: count (int).
notification_deliveries_created = Signal()
