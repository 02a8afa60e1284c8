from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "workers"
    verbose_name = "Background workers"

    def ready(self):
        from . import celery_signals, metrics, receivers  # noqa: F401  (connects the receivers)

        metrics.register()
