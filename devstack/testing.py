"""Helpers for tests that talk to the real services."""

from __future__ import annotations

import json
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value (returned) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def read_topic(bootstrap_servers: str, topic: str, *, until=None, timeout: float = 30, idle: float = 1.0) -> list:
    """Every message of `topic` from the beginning, in partition order, as
    (partition, offset, key, value-as-JSON).  Stops when `until(messages)` holds
    (then after `idle` seconds of silence, to catch repeats) or after `timeout`."""
    consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": f"test-reader-{time.monotonic_ns()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in metadata.partitions])
        messages: list = []
        deadline = time.monotonic() + timeout
        satisfied_at = time.monotonic() if until is None else None
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None or message.error():
                if satisfied_at is not None and time.monotonic() - satisfied_at >= idle:
                    break
                continue
            messages.append((message.partition(), message.offset(), message.key().decode(),
                             json.loads(message.value())))
            if until is not None and satisfied_at is None and until(messages):
                satisfied_at = time.monotonic()
            elif satisfied_at is not None:
                satisfied_at = time.monotonic()
        return messages
    finally:
        consumer.close()
