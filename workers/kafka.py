"""The Kafka client: cluster configuration (local broker or managed SASL_SSL), the idempotent
producer the sink sends with, topic creation and the reachability check /healthz reports.
Which topics exist and what goes on them is defined once, in tasks_app.events (TOPICS and the
message shapes); partitions and replication come from settings.
"""

from __future__ import annotations

from django.conf import settings


def client_config(**overrides) -> dict:
    """librdkafka settings for the configured cluster (plain local broker or SASL_SSL cloud)."""
    config = {
        "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
        "security.protocol": settings.KAFKA_SECURITY_PROTOCOL,
        "client.id": "todo-app",
    }
    if settings.KAFKA_SASL_MECHANISM:
        config["sasl.mechanism"] = settings.KAFKA_SASL_MECHANISM
        config["sasl.username"] = settings.KAFKA_SASL_USERNAME or ""
        config["sasl.password"] = settings.KAFKA_SASL_PASSWORD or ""
    config.update(overrides)
    return config


def broker_reachable(timeout: float = 2.0) -> tuple[bool, str]:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(client_config(**{"socket.connection.setup.timeout.ms": int(timeout * 1000)}))
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        return False, str(exc.args[0]) if exc.args else "unreachable"
    return True, f"{len(metadata.brokers)} broker(s)"


def topic_config() -> dict[str, str]:
    """Per-topic settings given when the app creates a topic (an existing topic is left as it is)."""
    config = {}
    if settings.KAFKA_TOPIC_RETENTION_MS is not None:
        config["retention.ms"] = str(settings.KAFKA_TOPIC_RETENTION_MS)
    return config


def ensure_topics(timeout: float = 10.0, names: tuple[str, ...] | None = None) -> list[str]:
    """Create the app's topics (or `names`) with the configured partition count and
    retention; return those created.

    Done explicitly at start-up (and whenever the sink reconnects): a topic the
    broker auto-creates on first write gets the broker's default partition count.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    from tasks_app.events import TOPICS

    admin = AdminClient(client_config())
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [name for name in (names or TOPICS) if name not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=settings.KAFKA_TOPIC_PARTITIONS,
                  replication_factor=settings.KAFKA_TOPIC_REPLICATION_FACTOR, config=topic_config())
         for name in missing],
        operation_timeout=timeout, request_timeout=timeout,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            if exc.args and exc.args[0].name() == "TOPIC_ALREADY_EXISTS":
                continue  # another process created it meanwhile
            raise
    return created


def new_producer():
    """An idempotent producer: acks=all, retries without duplicates or reordering per partition."""
    from confluent_kafka import Producer

    return Producer(client_config(**{
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "compression.type": "lz4",
        # Give up on a message after this long, so a dead broker surfaces as delivery
        # errors that the sink can act on instead of an endless wait.
        "message.timeout.ms": settings.KAFKA_DELIVERY_TIMEOUT_SECONDS * 1000,
        # The sink checks each message against this limit before producing it (workers.outbox).
        "message.max.bytes": settings.KAFKA_MESSAGE_MAX_BYTES,
        # Bytes waiting for acknowledgement: bounded (librdkafka's default is 1 GB), so a slow broker
        # cannot make the worker hold the whole backlog; room for at least two largest messages.
        "queue.buffering.max.kbytes": queue_buffer_kbytes(),
    }))


def queue_buffer_kbytes() -> int:
    return max(16 * settings.OUTBOX_BATCH_MAX_BYTES, 2 * settings.KAFKA_MESSAGE_MAX_BYTES) // 1024
