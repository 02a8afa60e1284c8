"""`python -m devstack run` — what `make run` does.

Starts PostgreSQL, Redis and the Kafka-protocol broker (unless DATABASE_URL,
REDIS_URL, KAFKA_BOOTSTRAP_SERVERS point elsewhere), migrates, ensures the
demo login, then runs web (uvicorn), a Celery worker and Celery beat until
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
import threading
from pathlib import Path

from .servers import LOCALHOST, ServiceError, Stack, port_is_free, wait_for_port

BASE_DIR = Path(__file__).resolve().parent.parent


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
    stack = Stack(root, durable=True, ports=_saved_ports(ports_file))
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


def _manage(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip()


def _banner(port: int, token: str | None) -> str:
    url = f"http://{LOCALHOST}:{port}/"
    lines = [
        "",
        "=" * 64,
        f"  Todo AI Chatbot is running:   {url}",
        f"  API docs:                     {url}api/docs",
        f"  Health:                       {url}healthz",
    ]
    if token:
        lines += [
            "  Log in as:                    demo / demo",
            f"  API token (demo):             {token}",
            f"  Try:  curl -H 'Authorization: Bearer {token}' {url}api/tasks",
        ]
    lines += ["  Stop with Ctrl-C.", "=" * 64, ""]
    return "\n".join(lines)


def run(port: int) -> int:
    from honcho.manager import Manager

    if not port_is_free(port):
        raise SystemExit(f"port {port} on {LOCALHOST} is in use; choose another with PORT=8001 make run")
    root = data_dir()
    root.mkdir(parents=True, exist_ok=True)
    print(f"devstack: starting services (data in {root}) …", flush=True)
    try:
        stack = start_stack(root)
    except ServiceError as exc:
        raise SystemExit(f"devstack: {exc}") from None
    env = {**os.environ, **stack.env, "DEVSTACK_DATA_DIR": str(root),
           "DJANGO_SETTINGS_MODULE": "todo_project.settings", "PYTHONUNBUFFERED": "1"}
    env.setdefault("ALLOW_SIGNUP", "true")  # a development stack lets you make accounts (off by default otherwise)
    try:
        print("devstack: " + ", ".join(f"{k}={v}" for k, v in stack.env.items()), flush=True)
        _manage("migrate", "--noinput", env=env)
        print("devstack: database migrated.", flush=True)
        token = None
        if env.get("DJANGO_DEBUG", "true").strip().lower() in {"1", "true", "yes", "on"}:
            token = _manage("ensure_demo_user", env=env)
        py = shlex.quote(sys.executable)
        manager = Manager()
        manager.add_process("web", f"{py} -m uvicorn todo_project.asgi:application --host {LOCALHOST} "
                                   f"--port {port} --no-access-log", env=env, cwd=str(BASE_DIR))
        manager.add_process("worker", f"{py} -m celery -A todo_project worker --loglevel=INFO "
                                      f"--concurrency=2 --hostname=worker@%h", env=env, cwd=str(BASE_DIR))
        manager.add_process("beat", f"{py} -m celery -A todo_project beat --loglevel=INFO "
                                    f"--schedule={shlex.quote(str(root / 'celerybeat-schedule'))}",
                            env=env, cwd=str(BASE_DIR))

        def announce():
            try:
                wait_for_port(port, timeout=60, what="web server")
            except ServiceError:
                return
            print(_banner(port, token), flush=True)

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
