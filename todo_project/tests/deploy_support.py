"""Shared by the deployment tests (chart, monitoring, workflows, production settings).

Renders charts/todo-app with the real Helm engine (helm-python-sdk binds Helm's Go SDK; no
binary, no cluster) and finds the optional command-line checkers (promtool, actionlint).
Not a test module: pytest collects only test_*.py.
"""

from __future__ import annotations

import copy
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

BASE_DIR = Path(__file__).resolve().parents[2]
CHART_DIR = BASE_DIR / "charts" / "todo-app"
ENV_VALUES_FILES = ["values-local.yaml", "values-cloud.yaml", "values-aks.yaml", "values-gke.yaml"]
KUBERNETES_VERSION = "1.30.0"
RELEASE = "todo-app"
NAMESPACE = "todo"

# The Secret keys the app reads; none of them may appear in a ConfigMap.
SECRET_KEYS = {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD",
               "OPENAI_API_KEY"}

# Where scripts/install-check-tools.sh puts promtool and actionlint (the venv `make test` uses).
TOOLS_DIR = Path(os.environ.get("TODO_TOOLS_DIR") or Path(sys.prefix) / "tools")


def deep_merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def values_file(name: str) -> dict:
    return yaml.safe_load((CHART_DIR / name).read_text()) or {}


# What scripts/deploy-local.sh generates once into .data/minikube-secrets.yaml and passes after
# values-local.yaml: the chart never generates a secret itself (renders must be stable).
LOCAL_SECRETS = {"secrets": {"djangoSecretKey": "local-test-" + "k" * 50},
                 "postgresql": {"password": "local-test-postgres-password"},
                 "redis": {"password": "local-test-redis-password"}}


def env_values(name: str, **overrides) -> dict:
    """What `helm -f <name>` passes (the chart's values.yaml is applied by Helm itself); for
    values-local.yaml also the secrets file scripts/deploy-local.sh passes with it."""
    values = values_file(name)
    if name == "values-local.yaml":
        values = deep_merge(values, LOCAL_SECRETS)
    return deep_merge(values, overrides)


def render(values: dict, *, release: str = RELEASE, namespace: str = NAMESPACE) -> dict[str, str]:
    import helm_python

    helm_python.disable_logging()
    with helm_python.Chart.load(CHART_DIR) as chart:
        return chart.render(values, name=release, namespace=namespace, is_install=True)


def objects(rendered: dict[str, str]) -> list[dict]:
    docs = []
    for path, text in sorted(rendered.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                docs.append(doc)
    return docs


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs: list[dict], kind: str, name: str) -> dict:
    found = [doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}: {[d['metadata']['name'] for d in by_kind(docs, kind)]}"
    return found[0]


def pod_spec(doc: dict) -> dict:
    return doc["spec"]["template"]["spec"]


def container_env(container: dict, config_maps: dict[str, dict]) -> dict[str, object]:
    """The container's environment as the kubelet builds it: envFrom ConfigMaps, then env entries."""
    env: dict[str, object] = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]].get("data", {}))
    for entry in container.get("env", []):
        env[entry["name"]] = entry.get("value", entry.get("valueFrom"))
    return env


def find_tool(name: str, *relative: str) -> Path | None:
    """A checker from PATH, else from TOOLS_DIR (scripts/install-check-tools.sh)."""
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    candidate = TOOLS_DIR.joinpath(*relative) if relative else TOOLS_DIR / "bin" / name
    return candidate if candidate.exists() else None


def tool_missing(name: str, fallback: str):
    """Skip with a reason that says what ran instead, or fail when CI demands the real tool."""
    message = (f"{name} is not installed (run `bash scripts/install-check-tools.sh`, or set TODO_TOOLS_DIR); "
               f"{fallback} ran instead")
    if os.environ.get("TODO_REQUIRE_CHECK_TOOLS", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message + " — and TODO_REQUIRE_CHECK_TOOLS is set")
    pytest.skip(message)
