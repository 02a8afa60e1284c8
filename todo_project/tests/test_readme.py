"""The README's API walkthrough, run as written (bash + curl + python3) against the app under uvicorn."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from devstack.testing import uvicorn_server

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the walkthrough uses curl")


def walkthrough() -> str:
    readme = (BASE_DIR / "README.md").read_text()
    section = readme[readme.index("## Walk through the API"):]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_readme_walkthrough_works_as_written(transactional_db, service_env, tmp_path):
    script = walkthrough()
    assert "/tasks/1" not in script, "use the id the API returned"
    with uvicorn_server(service_env, tmp_path) as server:
        # The only change: the address of this test's server instead of make run's.
        script = script.replace("http://127.0.0.1:8000", server.url)
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True,
                                timeout=120, check=False)
    output = result.stdout
    assert result.returncode == 0, output + result.stderr
    task_id = re.search(r"created task (\d+)", output).group(1)
    assert f'{{"id": {task_id}, "title": "Standup"' in output  # the If-Match edit went through
    assert output.rstrip().splitlines()[-2:] == ["412", "204"], output  # the stale edit did not; then deleted
