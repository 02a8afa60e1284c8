"""A worker creates the app's topics on a broker that has none (the shared test broker has them
from earlier tests, so a check there proves nothing), and a claimed reminder's `todo.reminder.due`
event really arrives on the `reminders` topic."""

from datetime import timedelta

from confluent_kafka.admin import AdminClient
from django.conf import settings
from django.utils import timezone

from devstack.servers import Kafka
from devstack.testing import read_topic, wait_until
from tasks_app import services
from tasks_app.events import TOPICS
from tasks_app.models import Notification, OutboxEvent


def partition_counts(bootstrap_servers: str) -> dict[str, int]:
    topics = AdminClient({"bootstrap.servers": bootstrap_servers}).list_topics(timeout=10).topics
    return {name: len(topics[name].partitions) for name in TOPICS if name in topics}


def test_a_worker_creates_every_topic_on_an_empty_broker_with_the_configured_partitions(celery_processes, tmp_path):
    broker = Kafka(tmp_path / "fresh-kafka").start()
    try:
        assert partition_counts(broker.bootstrap_servers) == {}, "the fresh broker already has our topics"
        # 5, not the default 3: a topic auto-created by a producer (or left from before) would not have it.
        celery_processes.worker({"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers, "KAFKA_TOPIC_PARTITIONS": "5"})
        counts = wait_until(lambda: (found := partition_counts(broker.bootstrap_servers)) and
                            len(found) == len(TOPICS) and found, timeout=30, message="the worker's topics")
        assert counts == {name: 5 for name in TOPICS}
    finally:
        broker.stop()


def test_a_due_reminder_event_is_published_to_the_reminders_topic(celery_worker_process, alice):
    task = services.task_create(user=alice, title="Call the bank", reminder_minutes_before=30,
                                due_at=timezone.now() + timedelta(minutes=20))
    # Due 10 minutes ago: the worker's precise reminder job (armed on commit) may claim it first.
    services.reminders_claim_due()
    event = wait_until(lambda: OutboxEvent.objects.filter(task_id=task.pk, type="todo.reminder.due").first(),
                       message="the reminder claimed")
    notification = Notification.objects.get(task_id=task.pk)
    wait_until(lambda: OutboxEvent.objects.filter(pk=event.pk, published_at__isnull=False).exists(),
               message="the reminder event published")
    wanted = str(event.event_id)
    messages = read_topic(settings.KAFKA_BOOTSTRAP_SERVERS, "reminders",
                          until=lambda got: any(value["id"] == wanted for *_, value in got))
    [(_, _, key, value)] = [message for message in messages if message[3]["id"] == wanted]
    assert key == str(task.pk)
    assert value["type"] == "todo.reminder.due"
    assert value["data"]["notification_id"] == notification.pk
