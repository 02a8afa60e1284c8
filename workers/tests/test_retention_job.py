"""The retention beat job, run by a real worker on its `maintenance` queue, prunes what is past its window."""

from datetime import timedelta

from django.utils import timezone

from devstack.testing import wait_until
from tasks_app.models import Notification
from workers import tasks as jobs


def test_the_retention_job_prunes_read_notifications_past_their_window(celery_worker_process, alice):
    old = Notification.objects.create(user=alice, message="read long ago")
    kept = Notification.objects.create(user=alice, message="read today")
    Notification.objects.filter(pk=old.pk).update(read_at=timezone.now() - timedelta(days=31))
    Notification.objects.filter(pk=kept.pk).update(read_at=timezone.now())
    jobs.prune_retention.delay()
    wait_until(lambda: not Notification.objects.filter(pk=old.pk).exists(), message="the old notification pruned")
    assert Notification.objects.filter(pk=kept.pk).exists()
