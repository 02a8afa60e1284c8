"""Health, from real connections: the public /healthz is a cheap database probe that tells an
outsider nothing; every component's state (and /metrics) is on the internal port only."""

import json
import urllib.error
import urllib.request

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from devstack.servers import free_port
from devstack.testing import uvicorn_server
from todo_project import internal


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def internal_url():
    """The internal server on a free port, in this process (as asgi.py starts it in the web's)."""
    server = internal.start(free_port())
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


# --------------------------------------------------------------------------- detailed, internal port


def test_internal_healthz_reports_every_component_up_with_a_worker_running(internal_url, celery_worker_process):
    status, text = get(f"{internal_url}/healthz")
    assert status == 200
    body = json.loads(text)
    assert body["status"] == "ok", body
    assert {name for name, state in body["components"].items() if state["ok"]} == {
        "database", "redis", "kafka", "celery"}


@pytest.mark.django_db
def test_internal_healthz_is_degraded_but_serving_when_no_worker_answers(internal_url):
    body = json.loads(get(f"{internal_url}/healthz")[1])
    assert body["status"] == "degraded"
    assert body["components"]["celery"]["ok"] is False
    assert body["components"]["database"]["ok"] is True


def test_internal_healthz_reports_an_unreachable_broker(internal_url, settings, celery_worker_process):
    # A worker is running (and answers on the real Redis): "celery not ok" here is the probe
    # failing to reach the broker it is configured with, not the absence of a worker.
    settings.KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{free_port()}"
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    body = json.loads(get(f"{internal_url}/healthz")[1])
    assert body["components"]["kafka"]["ok"] is False
    assert body["components"]["redis"]["ok"] is False
    assert body["components"]["celery"]["ok"] is False


@pytest.mark.django_db
def test_internal_port_serves_metrics_and_nothing_else(internal_url):
    status, text = get(f"{internal_url}/metrics")
    assert status == 200 and "todo_outbox_unpublished_events" in text
    assert get(f"{internal_url}/api/tasks")[0] == 404
    assert get(f"{internal_url}/")[0] == 404


# --------------------------------------------------------------------------- public port


@pytest.mark.django_db
def test_public_healthz_is_one_database_round_trip_and_no_details(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT 1"]


@pytest.mark.django_db
def test_public_port_has_no_metrics_and_no_component_report(client):
    assert client.get("/metrics").status_code == 404
    assert "components" not in client.get("/healthz").json()


def test_under_uvicorn_public_port_hides_and_internal_port_shows(service_env, tmp_path, django_db_setup):
    """The real web process: asgi.py starts the internal port beside uvicorn's public one."""
    internal_port = free_port()
    env = {**service_env, "INTERNAL_PORT": str(internal_port)}
    with uvicorn_server(env, tmp_path) as web:
        assert get(f"{web.url}/healthz") == (200, '{"status": "ok"}')
        assert get(f"{web.url}/metrics")[0] == 404
        status, text = get(f"http://127.0.0.1:{internal_port}/metrics")
        assert status == 200 and "django_http_requests_total_by_view_transport_method_total" in text
        assert json.loads(get(f"http://127.0.0.1:{internal_port}/healthz")[1])["components"]["database"]["ok"]


def test_public_healthz_says_503_and_nothing_more_when_the_database_is_down(service_env, tmp_path):
    secret = "pw-SENTINEL-do-not-leak"
    dead = f"postgresql://todo:{secret}@127.0.0.1:{free_port()}/todo"
    internal_port = free_port()
    env = {**service_env, "DATABASE_URL": dead, "INTERNAL_PORT": str(internal_port)}
    with uvicorn_server(env, tmp_path) as web:
        assert get(f"{web.url}/healthz") == (503, '{"status": "unavailable"}')
        # Operators see why, on the internal port.
        status, text = get(f"http://127.0.0.1:{internal_port}/healthz")
        report = json.loads(text)
        assert status == 503 and report["components"]["database"]["ok"] is False
        assert report["components"]["database"]["detail"]


# --------------------------------------------------------------------------- public port, under ASGI


def _asgi_get(path: str, *, method: str = "GET", host: str = "localhost"):
    import httpx2
    from asgiref.sync import async_to_sync

    from todo_project.asgi import application

    async def send():
        transport = httpx2.ASGITransport(app=application)
        async with httpx2.AsyncClient(transport=transport, base_url="http://probe") as client:
            return await client.request(method, path, headers={"Host": host})

    return async_to_sync(send)()


@pytest.mark.django_db(transaction=True)
def test_asgi_probe_answers_in_front_of_django_with_the_views_answer(client, settings):
    """Under ASGI the probe skips the middleware (no request id, no security headers) and its answer
    is byte for byte the view's: the probe is not another, looser check."""
    settings.ALLOWED_HOSTS = ["todo.example.com", "10.1.2.3"]  # the chart adds the pod IP for probes
    probed = _asgi_get("/healthz", host="10.1.2.3:8000")
    assert probed.status_code == 200 and probed.content == b'{"status": "ok"}'
    assert probed.headers["cache-control"] == "no-store" and probed.headers["content-type"] == "application/json"
    assert "x-request-id" not in probed.headers  # Django's middleware did not run
    assert probed.content == client.get("/healthz", HTTP_HOST="todo.example.com").content
    # With the database down it says 503: test_public_healthz_says_503_and_nothing_more_when_the_database_is_down
    # (uvicorn serves this same ASGI application).
    head = _asgi_get("/healthz", method="HEAD", host="todo.example.com")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == "16"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("host", ["attacker.example", "10.1.2.4:8000", "todo.example.com.attacker.example",
                                  "todo.example.com@attacker.example", "[::1"])
def test_asgi_probe_refuses_a_host_django_refuses(settings, host):
    """The fast path keeps Django's Host check: any Host outside ALLOWED_HOSTS gets Django's 400,
    on /healthz as on every other path."""
    settings.ALLOWED_HOSTS = ["todo.example.com", "10.1.2.3"]
    refused = _asgi_get("/healthz", host=host)
    assert refused.status_code == 400 and b"ok" not in refused.content
    assert _asgi_get("/api/docs", host=host).status_code == 400

