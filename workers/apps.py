"""The workers app: Celery jobs, the signal receivers that hand off to them, the Kafka sink and
the worker metrics.  `ready()` connects the receivers and registers the metrics collector."""

from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "workers"
    verbose_name = "Background workers"

    def ready(self):
        from . import celery_signals, metrics, receivers  # noqa: F401  (connects the receivers)

        metrics.register()
