"""GET /healthz reports the state of every component, from real connections."""

import pytest


def test_healthz_reports_every_component_up_with_a_worker_running(client, celery_worker_process):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok", body
    assert {name for name, state in body["components"].items() if state["ok"]} == {
        "database", "redis", "kafka", "celery"}


@pytest.mark.django_db
def test_healthz_is_degraded_but_serving_when_no_worker_answers(client):
    body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert body["components"]["celery"]["ok"] is False
    assert body["components"]["database"]["ok"] is True


@pytest.mark.django_db
def test_healthz_reports_an_unreachable_broker(client, settings):
    from devstack.servers import free_port

    settings.KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{free_port()}"
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    body = client.get("/healthz").json()
    assert body["components"]["kafka"]["ok"] is False
    assert body["components"]["redis"]["ok"] is False
    assert body["components"]["celery"]["ok"] is False
