"""Worker lifecycle: topics at start-up, a metrics endpoint, job timings, and the request id
carried from the publisher to the job (todo_project/request_id.py)."""

from __future__ import annotations

import logging
import os
import time

from celery import signals
from django.conf import settings

from todo_project import request_id

from . import metrics

logger = logging.getLogger(__name__)
_started: dict[str, float] = {}
# The context token of each running job's request id, reset when the job ends (a pool process
# runs one job at a time, a thread pool several: keyed by the job's id).
_request_tokens: dict[str, object] = {}
# The message header (protocol 2 puts custom headers on task.request as attributes).
REQUEST_ID_HEADER = "request_id"


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
            start_http_server(settings.WORKER_METRICS_PORT, addr=settings.WORKER_METRICS_ADDR,
                              registry=metrics.combined_registry())
            logger.info("worker metrics on :%d/metrics", settings.WORKER_METRICS_PORT)
        except OSError as exc:  # e.g. a second worker on one host (make run beside the tests)
            logger.warning("worker metrics endpoint not started: %s", exc)


@signals.worker_init.connect
def on_worker_init(**kwargs):
    # In the main process, before the pool forks: this run's counters start from the pool's files alone.
    removed = metrics.clear_multiprocess_dir()
    if removed:
        logger.info("removed %d metric files of an earlier worker run", removed)


@signals.worker_process_shutdown.connect
def on_worker_process_shutdown(pid=None, **kwargs):
    metrics.mark_process_dead(pid or os.getpid())


@signals.worker_process_init.connect
def on_worker_process_init(**kwargs):
    # Connect each pool process's producer now, not on the first event after a commit.
    from . import outbox

    try:
        outbox.warm_up()
    except Exception as exc:  # the broker may be down; the sink connects when it is back
        logger.warning("kafka producer not connected at start-up: %s", exc)


@signals.before_task_publish.connect
def on_before_task_publish(headers=None, **kwargs):
    # Published during a request (or a job that carries one): the job runs under the same id.
    current = request_id.current()
    if current and headers is not None and REQUEST_ID_HEADER not in headers:
        headers[REQUEST_ID_HEADER] = current


@signals.task_prerun.connect
def on_task_prerun(task_id=None, task=None, **kwargs):
    _started[task_id] = time.monotonic()
    # Whatever a message claims, only a sane id is logged (the broker is ours, but the rule is one).
    carried = getattr(task.request, REQUEST_ID_HEADER, None) if task is not None else None
    _request_tokens[task_id] = request_id.set_current(request_id.accepted(carried) if carried else None)


@signals.task_postrun.connect
def on_task_postrun(task_id=None, task=None, state=None, **kwargs):
    token = _request_tokens.pop(task_id, None)
    if token is not None:
        try:
            request_id.reset(token)
        except ValueError:  # set in another context (a pool that switched threads): clear it instead
            request_id.set_current(None)
    started = _started.pop(task_id, None)
    seconds = time.monotonic() - started if started is not None else None
    metrics.record_task(task.name, (state or "unknown").lower(), seconds)
