"""Every secret can come from a file (`<NAME>_FILE`, as Kubernetes mounts Secrets), an unreadable
file stops the process naming the variable, and the managed-Kafka settings (SASL over SSL) reach
the client configuration every producer, consumer and admin client is built from.

Settings are read once per process, so each case loads them in a child process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from todo_project.tests.deploy_support import SECRET_KEYS

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.pure

READ = """
import json, django
django.setup()
from django.conf import settings
from workers import kafka
config = kafka.client_config()
kafka.new_producer()  # librdkafka accepts the configuration (it connects lazily, in the background)
print(json.dumps({"settings": {name: getattr(settings, name) for name in (
    "SECRET_KEY", "REDIS_URL", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "OPENAI_API_KEY")},
    "database": settings.DATABASES["default"]["NAME"], "kafka": config}))
"""


def run(env_overrides: dict, tmp_path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("DJANGO_") and key.removesuffix("_FILE") not in SECRET_KEYS}
    env.update({"DJANGO_SETTINGS_MODULE": "todo_project.settings", "DEVSTACK_DATA_DIR": str(tmp_path),
                "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    env.update(env_overrides)
    return subprocess.run([sys.executable, "-c", READ], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=120)


def test_every_secret_is_read_from_its_file_and_sasl_reaches_the_kafka_client(tmp_path):
    values = {"DJANGO_SECRET_KEY": "k" * 50, "DATABASE_URL": "postgresql://todo:pw@127.0.0.1:1/fromsecretfile",
              "REDIS_URL": "redis://127.0.0.1:2/0", "KAFKA_SASL_USERNAME": "todo-app",
              "KAFKA_SASL_PASSWORD": "sasl-pass-from-file", "OPENAI_API_KEY": "sk-from-file"}
    assert set(values) == SECRET_KEYS, "a secret added to the chart needs a case here"
    env = {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"}
    for name, value in values.items():
        path = tmp_path / name.lower()
        path.write_text(value + "\n")  # as `kubectl create secret --from-file` often leaves it
        env[f"{name}_FILE"] = str(path)
        env[name] = "the-plain-variable-must-lose"

    result = run(env, tmp_path)

    assert result.returncode == 0, result.stderr
    read = json.loads(result.stdout.strip().splitlines()[-1])
    assert read["settings"] == {"SECRET_KEY": values["DJANGO_SECRET_KEY"], "REDIS_URL": values["REDIS_URL"],
                                "KAFKA_SASL_USERNAME": "todo-app", "KAFKA_SASL_PASSWORD": "sasl-pass-from-file",
                                "OPENAI_API_KEY": "sk-from-file"}
    assert read["database"] == "fromsecretfile"
    assert {key: read["kafka"][key] for key in ("security.protocol", "sasl.mechanism", "sasl.username",
                                                 "sasl.password")} == {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "todo-app",
        "sasl.password": "sasl-pass-from-file"}


def test_a_local_broker_gets_no_sasl_settings(tmp_path):
    result = run({"DATABASE_URL": "postgresql://todo@127.0.0.1:1/todo"}, tmp_path)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout.strip().splitlines()[-1])["kafka"]
    assert config["security.protocol"] == "PLAINTEXT"
    assert not {key for key in config if key.startswith("sasl.")}


@pytest.mark.parametrize("name", sorted(SECRET_KEYS))
def test_an_unreadable_secret_file_stops_the_process_naming_the_variable(tmp_path, name):
    missing = tmp_path / "not-mounted"
    result = run({"DATABASE_URL": "postgresql://todo@127.0.0.1:1/todo", f"{name}_FILE": str(missing)}, tmp_path)
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name}_FILE={str(missing)!r} cannot be read" in result.stderr
