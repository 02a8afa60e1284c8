"""`make run` (python -m devstack run) brings up everything, answers, stops cleanly, keeps data."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from devstack.servers import free_port

BASE_DIR = Path(__file__).resolve().parents[2]
SERVICE_URLS = ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS")


def fetch(url: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict | str]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read().decode(), exc.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class RunningApp:
    def __init__(self, data_dir: Path, port: int, log_path: Path):
        env = {key: value for key, value in os.environ.items() if key not in SERVICE_URLS}
        self.internal_port = free_port()
        env.update({"DEVSTACK_DATA_DIR": str(data_dir), "PORT": str(port), "INTERNAL_PORT": str(self.internal_port)})
        self.port, self.log_path = port, log_path
        self.log = open(log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "devstack", "run"], cwd=BASE_DIR, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        body: dict | str = {}
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                # The public probe says ok or not; the internal port says what each component does.
                status, body = fetch(f"{self.base}/healthz")
                if status == 200 and body == {"status": "ok"}:
                    status, body = fetch(f"http://127.0.0.1:{self.internal_port}/healthz")
                    if status == 200 and body["status"] == "ok":
                        return body
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"not healthy in {timeout}s: {body}\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def interrupt(self) -> int:
        # What Ctrl-C does in a terminal: SIGINT to the whole foreground process group.
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        finally:
            self.log.close()


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    yield path
    postgres = path / "postgres"
    if postgres.is_symlink():  # as root under a folder `nobody` cannot enter: data lives in /var/tmp
        shutil.rmtree(postgres.resolve().parent, ignore_errors=True)


def test_make_run_starts_everything_and_ctrl_c_stops_it_keeping_the_data(data_dir, tmp_path):
    port = free_port()
    app = RunningApp(data_dir, port, tmp_path / "run1.log")
    try:
        health = app.wait_healthy()
        assert all(component["ok"] for component in health["components"].values()), health
        # The banner follows a healthy /healthz (devstack polls it too): give it a moment.
        deadline = time.monotonic() + 30
        while "devstack: healthy" not in app.output() and time.monotonic() < deadline:
            time.sleep(0.2)
        banner = app.output()
        assert re.search(r"devstack: starting PostgreSQL.* ok \(\d+\.\d s", banner), banner  # says what it starts
        assert f"http://127.0.0.1:{port}/" in banner, banner[-3000:]
        assert "demo / demo" in banner
        assert f"http://127.0.0.1:{app.internal_port}/healthz" in banner  # where the details are
        assert f"http://127.0.0.1:{app.internal_port}/metrics" in banner
        token = re.search(r"API token \(demo\):\s+(\S+)", banner).group(1)

        assert fetch(f"{app.base}/api/docs")[0] == 200
        # Due in a minute with a one-minute reminder: due now, so the demo's reminder email goes out at once.
        due = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
        status, created = fetch(f"{app.base}/api/tasks", token, {"title": "Survives a restart", "priority": "P2",
                                                                 "due_at": due, "reminder_minutes_before": 1})
        assert status == 201, created
        # ...into the local mailbox the banner names (EMAIL_URL unset: the file backend, .data/mail).
        mailbox = data_dir / "mail"
        assert f"{mailbox}/" in banner
        deadline = time.monotonic() + 60
        while not list(mailbox.glob("*.log")) and time.monotonic() < deadline:
            time.sleep(0.2)
        [mail] = list(mailbox.glob("*.log")) or [None]
        assert mail is not None, app.output()[-3000:]
        assert "To: demo@localhost" in mail.read_text() and "Survives a restart" in mail.read_text()
        # The worker counts the jobs this queued in its multiprocess metrics folder (workers/metrics.py).
        metrics_dir = data_dir / "prometheus-worker"
        deadline = time.monotonic() + 30
        while not list(metrics_dir.glob("counter_*.db")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list(metrics_dir.glob("counter_*.db")), app.output()[-3000:]

        # A second terminal's manage.py reaches the same services through .data/devstack.env.
        env_file = (data_dir / "devstack.env").read_text()
        assert all(f"{name}=" in env_file for name in SERVICE_URLS)
        manage_env = {key: value for key, value in os.environ.items() if key not in SERVICE_URLS}
        manage_env["DEVSTACK_DATA_DIR"] = str(data_dir)
        second = subprocess.run([sys.executable, "manage.py", "issue_token", "demo"], cwd=BASE_DIR, env=manage_env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert fetch(f"{app.base}/api/tasks", second.stdout.strip())[1]["count"] == 1

        service_ports = [int(value) for value in json.loads((data_dir / "ports.json").read_text()).values()]
    finally:
        code = app.interrupt()
    assert code in (0, 130), app.output()
    assert "devstack: stopped." in app.output()
    assert not (data_dir / "devstack.env").exists()
    for service_port in [port, app.internal_port, *service_ports]:
        assert not listening(service_port), f"something still listens on {service_port} after Ctrl-C"

    again = RunningApp(data_dir, port, tmp_path / "run2.log")
    try:
        again.wait_healthy()
        status, page = fetch(f"{again.base}/api/tasks", token)
        assert status == 200
        assert [task["title"] for task in page["items"]] == ["Survives a restart"]
    finally:
        again.interrupt()
