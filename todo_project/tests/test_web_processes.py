"""Several uvicorn processes (WEB_CONCURRENCY) serve the web role, each with a connection pool,
and one scrape of the internal port counts the requests of all of them."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request

import pytest

from devstack.servers import LOCALHOST, free_port, stop_process, wait_for_port
from todo_project.tests.test_container import BASE_DIR

REQUESTS = 40


def _get(url: str) -> tuple[int, str]:
    # A new connection each time (no keep-alive), so the kernel hands requests to either process.
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Connection": "close"}), timeout=20) as response:
        return response.status, response.read().decode()


def _get_requests_counted(metrics: str) -> float:
    return sum(float(value) for value in re.findall(
        r'^django_http_requests_total_by_method_total\{method="GET"\} ([0-9.e+]+)$', metrics, re.M))


@pytest.mark.django_db(transaction=True)
def test_two_web_processes_answer_and_one_scrape_counts_the_requests_of_both(service_env, tmp_path):
    port, internal_port = free_port(), free_port()
    metrics_dir = tmp_path / "prometheus-web"
    metrics_dir.mkdir()
    env = {**service_env, "WEB_CONCURRENCY": "2", "DATABASE_POOL_MAX_SIZE": "2",
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "INTERNAL_PORT": str(internal_port),
           "INTERNAL_ADDR": LOCALHOST, "HOME": str(tmp_path)}
    log_path = tmp_path / "uvicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "todo_project.asgi:application", "--host", LOCALHOST,
             "--port", str(port), "--workers", "2", "--log-level", "warning"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, timeout=60, process=process, what="uvicorn")
        wait_for_port(internal_port, timeout=60, process=process, what="internal port")
        # Probes are answered in front of Django (not counted), each with a connection from its process's
        # pool of 2 and handed back: 40 in a row would wait out the pool's timeout otherwise.
        probes = [_get(f"http://{LOCALHOST}:{port}/healthz")[0] for _ in range(REQUESTS)]
        assert probes == [200] * REQUESTS, log_path.read_text()
        statuses = [_get(f"http://{LOCALHOST}:{port}/api/docs")[0] for _ in range(REQUESTS)]
        assert statuses == [200] * REQUESTS, log_path.read_text()

        # Both processes count in the shared folder: one set of files per process id.
        pids = {match.group(1) for path in metrics_dir.glob("*.db")
                if (match := re.search(r"_(\d+)\.db$", path.name))}
        assert len(pids) >= 2, sorted(path.name for path in metrics_dir.iterdir())
        status, metrics = _get(f"http://{LOCALHOST}:{internal_port}/metrics")
        assert status == 200
        # Every request is counted, whichever process answered it (and whichever serves the port).
        assert _get_requests_counted(metrics) >= REQUESTS, metrics[:2000]
    finally:
        stop_process(process)
