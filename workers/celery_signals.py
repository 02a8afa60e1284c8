"""Worker lifecycle: topics at start-up, a metrics endpoint, job timings."""

from __future__ import annotations

import logging
import time

from celery import signals
from django.conf import settings

from . import metrics

logger = logging.getLogger(__name__)
_started: dict[str, float] = {}


@signals.worker_ready.connect
def on_worker_ready(sender=None, **kwargs):
    from . import kafka

    try:
        created = kafka.ensure_topics()
        if created:
            logger.info("created Kafka topics: %s", ", ".join(created))
    except Exception as exc:  # the sink creates them when the broker is back
        logger.warning("could not create Kafka topics now (%s); the sink will retry", exc)
    if settings.WORKER_METRICS_PORT:
        from prometheus_client import start_http_server

        try:
            start_http_server(settings.WORKER_METRICS_PORT, addr=settings.WORKER_METRICS_ADDR)
            logger.info("worker metrics on :%d/metrics", settings.WORKER_METRICS_PORT)
        except OSError as exc:  # e.g. a second worker on one host: the first one serves the same data
            logger.warning("worker metrics endpoint not started: %s", exc)


@signals.worker_process_init.connect
def on_worker_process_init(**kwargs):
    # Connect each pool process's producer now, not on the first event after a commit.
    from . import outbox

    try:
        outbox.warm_up()
    except Exception as exc:  # the broker may be down; the sink connects when it is back
        logger.warning("kafka producer not connected at start-up: %s", exc)


@signals.task_prerun.connect
def on_task_prerun(task_id=None, **kwargs):
    _started[task_id] = time.monotonic()


@signals.task_postrun.connect
def on_task_postrun(task_id=None, task=None, state=None, **kwargs):
    started = _started.pop(task_id, None)
    seconds = time.monotonic() - started if started is not None else None
    metrics.record_task(task.name, (state or "unknown").lower(), seconds)
