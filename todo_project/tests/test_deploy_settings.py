"""The production settings the chart sets pass `manage.py check --deploy` (run through the image's
entry point, the way `kubectl exec ... manage check --deploy` would), and a web process started by
the entry point with those settings behaves: probes by pod IP pass, other hosts are refused, HTTP
redirects to HTTPS, HSTS is sent, hashed static files collected as the Dockerfile does are served."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .deploy_support import (
    BASE_DIR, ENV_VALUES_FILES, by_kind, container_env, env_values, objects, one, pod_spec, render,
)

ENTRYPOINT = BASE_DIR / "scripts" / "docker-entrypoint.sh"
POD_IP = "10.244.1.17"
PRODUCTION_FILES = [name for name in ENV_VALUES_FILES if name != "values-local.yaml"]


def image_env() -> dict[str, str]:
    """ENV of the Dockerfile's runtime stage (paths that exist only in the image are replaced by callers)."""
    text = re.sub(r"\\\n\s*", " ", (BASE_DIR / "Dockerfile").read_text())
    runtime = text.split("AS runtime", 1)[1]
    env = {}
    for line in runtime.splitlines():
        if line.startswith("ENV "):
            env.update(dict(re.findall(r"(\w+)=(\S+)", line[4:])))
    return env


def chart_env(values_name: str, *, component: str = "web", overrides: dict | None = None) -> dict[str, str]:
    """The environment a pod of `component` gets from the chart, as the kubelet builds it."""
    docs = objects(render(env_values(values_name)))
    config_maps = {c["metadata"]["name"]: c for c in by_kind(docs, "ConfigMap")}
    deployment = one(docs, "Deployment", f"todo-app-{component}")
    raw = container_env(pod_spec(deployment)["containers"][0], config_maps)
    secret_values = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "KAFKA_SASL_USERNAME": "user",
                     "KAFKA_SASL_PASSWORD": "password"}
    env = {}
    for name, value in raw.items():
        if isinstance(value, dict) and "fieldRef" in value:
            env[name] = POD_IP
        elif isinstance(value, dict) and "secretKeyRef" in value:
            if name in secret_values:
                env[name] = secret_values[name]
        else:
            env[name] = str(value)
    env["ALLOWED_HOSTS"] = env["ALLOWED_HOSTS"].replace("$(POD_IP)", env["POD_IP"])
    env.update(overrides or {})
    return env


@pytest.fixture
def process_env(service_env, tmp_path):
    """Image ENV + what this machine needs to run it; nothing else leaks in from the test process."""
    def build(env: dict[str, str]) -> dict[str, str]:
        base = {key: value for key, value in image_env().items() if key not in {"PATH", "HOME"}}
        base.update({"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "HOME": str(tmp_path),
                     "STATIC_ROOT": str(tmp_path / "static"), "DEVSTACK_DATA_DIR": str(tmp_path / "data"),
                     "LANG": "C.UTF-8"})
        base.update(env)
        # Real services of this test run instead of the cluster's (no traffic leaves the machine).
        base.update({"DATABASE_URL": service_env["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"],
                     "KAFKA_BOOTSTRAP_SERVERS": os.environ["KAFKA_BOOTSTRAP_SERVERS"],
                     "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"})
        for key in ("KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
            base.pop(key, None)
        return base
    return build


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(ENTRYPOINT), "manage", "check", "--deploy", "--database", "default",
                           "--fail-level", "WARNING"], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.django_db
@pytest.mark.parametrize("values_name", PRODUCTION_FILES)
def test_check_deploy_is_clean_with_the_charts_production_settings(values_name, process_env):
    env = process_env(chart_env(values_name))
    assert env["DJANGO_DEBUG"] == "false"
    result = check_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
    # The one silenced check is security.W021: HSTS preload is opt-in (off in every values file).
    assert "System check identified no issues (1 silenced)." in result.stdout


@pytest.mark.parametrize("values_name", ENV_VALUES_FILES)
def test_worker_and_beat_get_the_web_settings(values_name):
    """So the check above holds for every role (only the web's own server knobs differ: port, shutdown,
    processes, connection pool, and its metrics folder)."""
    web = chart_env(values_name)
    web_only = {"PORT", "WEB_GRACEFUL_SHUTDOWN_SECONDS", "WEB_CONCURRENCY", "DATABASE_POOL_MAX_SIZE",
                "PROMETHEUS_MULTIPROC_DIR"}
    for component in ("worker", "beat"):
        other = chart_env(values_name, component=component)
        other.pop("CELERY_BEAT_SCHEDULE", None)
        other.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the worker's metrics folder: worker only, on purpose
        assert {k: v for k, v in web.items() if k not in web_only | {"DJANGO_SECRET_KEY"}} == \
            {k: v for k, v in other.items() if k != "DJANGO_SECRET_KEY"}, component


@pytest.mark.django_db
def test_minikube_settings_differ_only_by_plain_http(process_env):
    """values-local.yaml serves http://localhost (port-forward): exactly the HTTPS checks warn."""
    result = check_deploy(process_env(chart_env("values-local.yaml")))
    warned = set(re.findall(r"\(security\.(W\d+)\)", result.stdout + result.stderr))
    assert warned == {"W004", "W008"}, result.stdout + result.stderr  # no HSTS, no SSL redirect


@pytest.mark.django_db
def test_check_deploy_really_fails_on_an_unsafe_setting(process_env):
    env = process_env(chart_env("values-cloud.yaml", overrides={"SECURE_SSL_REDIRECT": "false"}))
    result = check_deploy(env)
    assert result.returncode != 0 and "security.W008" in result.stdout + result.stderr


# --------------------------------------------------------------------------- the web role, for real


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, host: str, headers: dict | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    connection.request("GET", path, headers={"Host": host, **(headers or {})})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


@pytest.fixture
def web_server(transactional_db, process_env, tmp_path):
    """`docker-entrypoint.sh web` with values-cloud.yaml's settings, static files collected exactly
    as the Dockerfile's build step does."""
    dockerfile = re.sub(r"\\\n\s*", " ", (BASE_DIR / "Dockerfile").read_text())
    build_line = next(line for line in dockerfile.splitlines() if "collectstatic" in line and line.startswith("RUN "))
    build_env = dict(re.findall(r"(\w+)=(\S+)", build_line.split("python manage.py collectstatic")[0]))
    static_root = tmp_path / "static"
    collect_env = {**process_env({}), **build_env, "STATIC_ROOT": str(static_root)}
    collected = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=BASE_DIR,
                               env=collect_env, capture_output=True, text=True, timeout=180)
    assert collected.returncode == 0, collected.stdout + collected.stderr

    port, internal_port = _free_port(), _free_port()
    env = process_env(chart_env("values-cloud.yaml", overrides={"PORT": str(port),
                                                                "INTERNAL_PORT": str(internal_port),
                                                                "INTERNAL_ADDR": "127.0.0.1"}))
    log = tmp_path / "web.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(ENTRYPOINT), "web", "--host", "127.0.0.1"], cwd=BASE_DIR, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"web exited with {process.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"web did not listen:\n{log.read_text()}")
    env["_INTERNAL_PORT"] = str(internal_port)
    yield port, static_root, env
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_web_role_under_production_settings(web_server):
    port, static_root, env = web_server
    pod = f"{POD_IP}:8000"
    # kubelet probes and Prometheus scrapes: Host is the pod IP, plain HTTP, no redirect.
    health = _get(port, "/healthz", pod)
    assert health.status == 200, health.body
    assert json.loads(health.body) == {"status": "ok"}
    # Details and metrics only on the internal port (what the ServiceMonitor scrapes); 404 publicly.
    assert _get(port, "/metrics", pod).status == 404
    internal_port = int(env["_INTERNAL_PORT"])
    assert json.loads(_get(internal_port, "/healthz", pod).body)["components"]["database"]["ok"] is True
    # Probes are answered in front of Django (todo_project/health.HealthProbe): a Django request
    # is what the request metrics count.
    assert _get(port, "/api/docs", pod, {"X-Forwarded-Proto": "https"}).status == 200
    metrics = _get(internal_port, "/metrics", pod)
    assert metrics.status == 200 and b"django_http_requests_total_by_view_transport_method_total" in metrics.body
    # Any other host is refused.
    assert _get(port, "/healthz", "attacker.example").status == 400
    # Browsers on plain HTTP are sent to HTTPS; over HTTPS (at the ingress) HSTS is set.
    redirect = _get(port, "/", "todo.example.com")
    assert redirect.status == 301 and redirect.getheader("Location") == "https://todo.example.com/"
    secure = _get(port, "/accounts/login/", "todo.example.com", {"X-Forwarded-Proto": "https"})
    assert secure.status == 200
    assert secure.getheader("Strict-Transport-Security") == "max-age=31536000; includeSubDomains"  # preload: opt-in
    assert secure.getheader("X-Frame-Options") == "DENY"
    assert "secure" in (secure.getheader("Set-Cookie") or "").lower()  # csrftoken is Secure
    # Hashed static files from the build step, served by WhiteNoise with a far-future cache.
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["admin/css/base.css"]
    asset = _get(port, f"/static/{hashed}", "todo.example.com", {"X-Forwarded-Proto": "https"})
    assert asset.status == 200 and b"body" in asset.body
    assert "immutable" in asset.getheader("Cache-Control", "")
