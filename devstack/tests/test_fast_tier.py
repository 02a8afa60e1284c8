"""The fast tier: a run of `pure` tests starts no server; a run with any other test starts all three
(devstack.pytest_plugin starts them after collection).  Each case is a pytest run of its own, in a
child process with none of the service URLs set, as `make test` would be."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
PURE_FILE = "tasks_app/tests/test_recurrence_rules.py"


def pytest_run(*args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "DEVSTACK_DATA_DIR"}}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=BASE_DIR,
                          env=env, capture_output=True, text=True, timeout=240)


@pytest.mark.pure
def test_selecting_pure_tests_starts_no_server():
    result = pytest_run("-m", "pure", PURE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "devstack: started nothing" in result.stdout


def test_a_run_with_a_test_that_needs_the_database_starts_the_servers():
    result = pytest_run(PURE_FILE, "tasks_app/tests/test_tasks_api.py::test_create_applies_defaults")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "devstack: started postgres, redis, kafka" in result.stdout
