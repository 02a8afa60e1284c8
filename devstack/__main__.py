"""`python -m devstack run` — what `make run` does.

Starts PostgreSQL, Redis and the Kafka-protocol broker (unless DATABASE_URL,
REDIS_URL, KAFKA_BOOTSTRAP_SERVERS point elsewhere), migrates, ensures the
demo login, then runs web (uvicorn, one process per core), a Celery worker and Celery beat until
Ctrl-C, and stops everything it started.

`python -m devstack services` starts only the services and prints their URLs.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from .servers import LOCALHOST, ServiceError, Stack, free_port, port_is_free, wait_for_port

BASE_DIR = Path(__file__).resolve().parent.parent
# The worker consumes every Celery queue (todo_project/settings.py CELERY_TASK_QUEUES).
WORKER_QUEUES = "events,default,live,maintenance,webhooks"


def data_dir() -> Path:
    return Path(os.environ.get("DEVSTACK_DATA_DIR") or BASE_DIR / ".data").absolute()


def _saved_ports(path: Path) -> dict[str, int]:
    try:
        return {key: int(value) for key, value in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def start_stack(root: Path) -> Stack:
    """Start the services keeping their data in `root` (ports reused across runs when free)."""
    ports_file = root / "ports.json"
    stack = Stack(root, durable=True, ports=_saved_ports(ports_file), verbose=True)
    stack.start(os.environ)
    ports = {name: service.port for name, service in (("postgres", stack.postgres), ("redis", stack.redis),
                                                      ("kafka", stack.kafka)) if service is not None}
    ports_file.write_text(json.dumps(ports))
    env_file = root / "devstack.env"
    env_file.write_text(
        "# Written by `make run` so that `python manage.py …` in another terminal reaches the same\n"
        "# services. Removed when `make run` stops.\n"
        + "".join(f"{key}={value}\n" for key, value in stack.env.items())
    )
    return stack


class _Manage:
    """A manage.py command in a child process, saying what it does and how long it took.

    Started with `start()` before honcho starts its processes and waited for with `finish()`
    (from any thread): honcho forks a Python process per program, and a fork made while a
    subprocess is being started keeps that start's internal pipe open, so the start would hang
    until web, worker and beat exit.  Output goes to files for the same reason.
    """

    def __init__(self, *args: str, env: dict[str, str], what: str):
        self.args, self.env, self.what = args, env, what

    def start(self) -> _Manage:
        self.began = time.monotonic()
        # Closed by finish(), which may run in another thread.
        self.out, self.err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.process = subprocess.Popen([sys.executable, "manage.py", *self.args], cwd=BASE_DIR, env=self.env,
                                        stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.err)
        return self

    def finish(self) -> str:
        returncode = self.process.wait()
        self.out.seek(0)
        self.err.seek(0)
        stdout, stderr = self.out.read(), self.err.read()
        self.out.close()
        self.err.close()
        if returncode != 0:
            print(f"devstack: {self.what} … failed", flush=True)
            raise SystemExit(f"manage.py {' '.join(self.args)} failed:\n{stdout}{stderr}")
        # One line at the end: other processes may be printing meanwhile.
        print(f"devstack: {self.what} … ok ({time.monotonic() - self.began:.1f} s)", flush=True)
        return stdout.strip()


def _manage(*args: str, env: dict[str, str], what: str) -> str:
    return _Manage(*args, env=env, what=what).start().finish()


def _url(port: int) -> str:
    return f"http://{LOCALHOST}:{port}/"


def _wait_healthy(port: int, *, timeout: float) -> str:
    """Poll /healthz until it reports "ok"; return the last status seen."""
    status = "unreachable"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{_url(port)}healthz", timeout=5) as response:
                status = json.loads(response.read()).get("status", "unknown")
        except urllib.error.HTTPError as exc:
            status = f"HTTP {exc.code}"
        except (OSError, ValueError):
            status = "unreachable"
        if status == "ok":
            return status
        time.sleep(0.25)
    return status


def _banner(port: int, token: str | None, internal_port: int = 0, mailbox: Path | None = None) -> str:
    url = _url(port)
    lines = [
        "",
        "=" * 64,
        f"  Todo AI Chatbot is running:   {url}",
        f"  API docs:                     {url}api/docs",
        f"  Health (probe):               {url}healthz",
    ]
    if internal_port:  # the internal port (todo_project/internal.py): never published in production
        internal = f"http://{LOCALHOST}:{internal_port}/"
        lines += [
            f"  Health (every component):     {internal}healthz",
            f"  Metrics (Prometheus):         {internal}metrics",
        ]
    if token:
        lines += [
            "  Log in as:                    demo / demo",
            f"  API token (demo):             {token}",
            f"  Try:  curl -H 'Authorization: Bearer {token}' {url}api/tasks",
        ]
    if mailbox is not None:  # EMAIL_URL unset: reminder emails are files here (todo_project/settings.py)
        lines += [f"  Mail (email reminders):       {mailbox}/  (one .log file per message; demo's go there)"]
    lines += ["  Stop with Ctrl-C.", "=" * 64, ""]
    return "\n".join(lines)


def web_environment(env: dict[str, str], root: Path) -> dict[str, str]:
    """What the web processes run with, as the image's entrypoint sets it: one uvicorn process per
    core (WEB_CONCURRENCY), a database connection pool in each (DATABASE_POOL_MAX_SIZE), and their
    request metrics added up in prometheus_client's multiprocess mode (a folder emptied here: files
    of an earlier run would count twice)."""
    metrics_dir = root / "prometheus-web"
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink(missing_ok=True)
    return {**env,
            "WEB_CONCURRENCY": env.get("WEB_CONCURRENCY") or str(len(os.sched_getaffinity(0))),
            "DATABASE_POOL_MAX_SIZE": env.get("DATABASE_POOL_MAX_SIZE") or "8",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}


def run(port: int) -> int:
    from honcho.manager import Manager

    if not port_is_free(port):
        raise SystemExit(f"port {port} on {LOCALHOST} is in use; choose another with PORT=8001 make run")
    began = time.monotonic()
    root = data_dir()
    root.mkdir(parents=True, exist_ok=True)
    print(f"devstack: starting services (data in {root}) …", flush=True)
    try:
        stack = start_stack(root)
    except ServiceError as exc:
        raise SystemExit(f"devstack: {exc}") from None
    env = {**os.environ, **stack.env, "DEVSTACK_DATA_DIR": str(root),
           "DJANGO_SETTINGS_MODULE": "todo_project.settings", "PYTHONUNBUFFERED": "1"}
    # Detailed health and metrics live on the internal port (9100 unless taken or INTERNAL_PORT says).
    internal_port = int(os.environ.get("INTERNAL_PORT") or 9100)
    if internal_port and not port_is_free(internal_port):
        internal_port = free_port()
    env["INTERNAL_PORT"] = str(internal_port)
    env.setdefault("ALLOW_SIGNUP", "true")  # a development stack lets you make accounts (off by default otherwise)
    try:
        print("devstack: " + ", ".join(f"{k}={v}" for k, v in stack.env.items()), flush=True)
        _manage("migrate", "--noinput", env=env, what="migrating the database")
        demo = None
        if env.get("DJANGO_DEBUG", "true").strip().lower() in {"1", "true", "yes", "on"}:
            # Made while web, worker and beat start (a Django start-up of its own: seconds saved).
            demo = _Manage("ensure_demo_user", env=env, what="ensuring the demo login").start()
        web_env = web_environment(env, root)
        print(f"devstack: starting web (uvicorn, {web_env['WEB_CONCURRENCY']} processes), Celery worker and "
              "Celery beat …", flush=True)
        py = shlex.quote(sys.executable)
        # The worker's and beat's own lines (a job received, a job done) follow LOG_LEVEL, as in the image.
        level = shlex.quote(env.get("LOG_LEVEL") or "INFO")
        manager = Manager()
        manager.add_process("web", f"{py} -m uvicorn todo_project.asgi:application --host {LOCALHOST} "
                                   f"--port {port} --workers {web_env['WEB_CONCURRENCY']} --no-access-log",
                            env=web_env, cwd=str(BASE_DIR))
        # The worker alone counts its jobs in prometheus_client's multiprocess mode (workers/metrics.py);
        # it empties the folder when it starts.
        worker_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(root / "prometheus-worker")}
        manager.add_process("worker", f"{py} -m celery -A todo_project worker --loglevel={level} "
                                      f"--concurrency=2 -Q {WORKER_QUEUES} --hostname=worker@%h", env=worker_env,
                            cwd=str(BASE_DIR))
        manager.add_process("beat", f"{py} -m celery -A todo_project beat --loglevel={level} "
                                    f"--schedule={shlex.quote(str(root / 'celerybeat-schedule'))}",
                            env=env, cwd=str(BASE_DIR))

        def announce():
            # The banner once /healthz says every component is up (the worker answers a ping),
            # so "running" means usable; after a minute it is shown anyway.
            token = None
            if demo is not None:
                try:
                    token = demo.finish()
                except SystemExit as exc:  # the app still runs; say why there is no demo login
                    print(f"devstack: {exc}", flush=True)
            try:
                wait_for_port(port, timeout=60, what="web server")
            except ServiceError:
                return
            status = _wait_healthy(port, timeout=60)
            debug = env.get("DJANGO_DEBUG", "true").strip().lower() in {"1", "true", "yes", "on"}
            mailbox = root / "mail" if debug and not env.get("EMAIL_URL") else None
            print(_banner(port, token, internal_port, mailbox), flush=True)
            if status == "ok":
                print(f"devstack: healthy {time.monotonic() - began:.1f} s after start.", flush=True)
            else:
                print(f"devstack: /healthz still reports {status!r}; see {_url(port)}healthz", flush=True)

        threading.Thread(target=announce, daemon=True).start()
        manager.loop()
        return manager.returncode or 0
    finally:
        print("devstack: stopping services …", flush=True)
        (root / "devstack.env").unlink(missing_ok=True)
        stack.stop()
        print("devstack: stopped.", flush=True)


def services() -> int:
    root = data_dir()
    root.mkdir(parents=True, exist_ok=True)
    stack = start_stack(root)
    print("\n".join(f"{key}={value}" for key, value in stack.env.items()), flush=True)
    print("devstack: services up; Ctrl-C stops them.", file=sys.stderr, flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    try:
        stopped.wait()
    finally:
        (root / "devstack.env").unlink(missing_ok=True)
        stack.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="services + migrate + web, worker and beat")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    commands.add_parser("services", help="only the services; print their URLs")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.port)
    return services()


if __name__ == "__main__":
    sys.exit(main())
