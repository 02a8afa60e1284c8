"""Every job has its queue and its time limits, and every place that starts a worker consumes every queue."""

import re
from pathlib import Path

import yaml
from django.conf import settings

import conftest
from devstack import __main__ as make_run
from todo_project.celery import app

ROOT = Path(__file__).resolve().parents[2]
QUEUES = {queue.name for queue in settings.CELERY_TASK_QUEUES}


def names(text: str) -> set[str]:
    return {name.strip() for name in text.split(",") if name.strip()}


def test_every_worker_command_consumes_every_queue():
    assert QUEUES == {"events", "default", "live", "maintenance", "webhooks"}
    assert names(conftest.WORKER_QUEUES) == QUEUES
    assert names(make_run.WORKER_QUEUES) == QUEUES
    entrypoint = (ROOT / "scripts" / "docker-entrypoint.sh").read_text()
    [default] = re.findall(r'-Q "\$\{CELERY_WORKER_QUEUES:-([^}]*)\}"', entrypoint)
    assert names(default) == QUEUES
    values = yaml.safe_load((ROOT / "charts" / "todo-app" / "values.yaml").read_text())
    assert set(values["worker"]["queues"]) == QUEUES
    helpers = (ROOT / "charts" / "todo-app" / "templates" / "_helpers.tpl").read_text()
    assert 'CELERY_WORKER_QUEUES: {{ join "," .Values.worker.queues | quote }}' in helpers


def test_every_job_is_routed_to_a_known_queue_with_its_own_time_limits():
    app.loader.import_default_modules()
    jobs = {name: task for name, task in app.tasks.items() if name.startswith("workers.")}
    assert {"workers.publish_outbox", "workers.record_audit_batch", "workers.push_live_updates",
            "workers.drain_audit", "workers.drain_live",
            "workers.prune_retention", "workers.scan_reminders", "workers.sweep_lost_jobs",
            "workers.spawn_next_occurrence"} <= set(jobs)
    for name, task in jobs.items():
        assert settings.CELERY_TASK_ROUTES[name]["queue"] in QUEUES, name
        assert task.soft_time_limit and task.time_limit and task.soft_time_limit < task.time_limit, name
        if task.acks_late:  # a late-acked job must end before the broker redelivers it
            assert task.time_limit < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"], name
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in jobs and entry["options"]["expires"]
    assert settings.CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS is True
