"""Kafka client configuration shared by the sink, the topic set-up and health checks."""

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
