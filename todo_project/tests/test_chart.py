"""The Helm chart renders with the real Helm engine for every environment, every object is valid
Kubernetes 1.30, and what keeps production safe holds: one beat, migrations as a hook, probes on
/healthz, secrets only in Secrets, non-root read-only containers, config checksums."""

from __future__ import annotations

import re

import helm_python
import kubernetes_validate
import pytest
import yaml

from .deploy_support import (
    BASE_DIR, CHART_DIR, ENV_VALUES_FILES, KUBERNETES_VERSION, RELEASE, SECRET_KEYS, by_kind,
    container_env, env_values, objects, one, pod_spec, render, values_file,
)

pytestmark = pytest.mark.pure  # no services: runs in the fast tier (make test ARGS='-m pure')

FULLNAME = RELEASE  # release "todo-app" of chart "todo-app": resources are todo-app-web, ...
APP_WORKLOADS = {f"{FULLNAME}-web", f"{FULLNAME}-worker", f"{FULLNAME}-beat"}
# Kinds from the Prometheus Operator: not in the Kubernetes schemas; checked in test_monitoring.py.
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}
STANDARD_LABELS = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                   "app.kubernetes.io/managed-by", "helm.sh/chart"}


@pytest.fixture(scope="module", params=ENV_VALUES_FILES)
def env_render(request):
    values = env_values(request.param)
    return request.param, values, objects(render(values))


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {name: objects(render(env_values(name))) for name in ENV_VALUES_FILES}


def app_pod_templates(docs):
    """(name, pod spec) of every workload running the app image: the Deployments and the migrate Job."""
    return [(doc["metadata"]["name"], pod_spec(doc)) for doc in docs
            if doc["kind"] in {"Deployment", "Job"} and doc["metadata"]["name"].startswith(FULLNAME)
            and doc["metadata"]["labels"]["app.kubernetes.io/component"] in {"web", "worker", "beat", "migrate"}]


# --------------------------------------------------------------------------- engine, lint, schemas


def test_helm_engine_is_the_real_one():
    assert helm_python.helm_sdk_version().startswith("v4."), helm_python.helm_sdk_version()


@pytest.mark.parametrize("values_name", ENV_VALUES_FILES)
def test_chart_lints_strictly_for_kubernetes_1_30(values_name):
    helm_python.disable_logging()
    report = helm_python.lint(CHART_DIR, env_values(values_name), strict=True, kube_version=f"v{KUBERNETES_VERSION}")
    assert report["errors"] == []
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == []


def test_every_object_of_every_environment_is_valid_kubernetes_1_30(env_render):
    name, _, docs = env_render
    kinds = {doc["kind"] for doc in docs}
    assert {"Deployment", "Service", "ConfigMap", "Job", "HorizontalPodAutoscaler", "PodDisruptionBudget",
            "Ingress", "ServiceAccount"} <= kinds, name
    validated = 0
    for doc in docs:
        if doc["kind"] in OPERATOR_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {doc['kind']}/{doc['metadata']['name']} is not valid Kubernetes "
                        f"{KUBERNETES_VERSION}: {exc.message}")
        validated += 1
    assert validated >= 12


def test_validation_really_rejects_a_broken_object():
    """Guard against a validator that accepts anything."""
    docs = objects(render(env_values("values-cloud.yaml")))
    web = one(docs, "Deployment", f"{FULLNAME}-web")
    pod_spec(web)["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES_VERSION, strict=True)


def test_values_schema_rejects_mistakes():
    for bad in ({"beat": {"replicaCount": 2}}, {"webb": {}}, {"extraEnv": {"DATABASE_URL": "postgresql://x"}},
                {"django": {"logLevel": "LOUD"}}, {"secrets": {"databaseUrl": "mysql://root@db/todo"}}):
        with pytest.raises(helm_python.HelmValuesError):
            render(env_values("values-local.yaml", **bad))


def test_base_values_alone_refuse_to_render_without_services_and_say_what_to_set():
    with pytest.raises(helm_python.HelmRenderError, match=r"kafka\.bootstrapServers"):
        render({})
    with pytest.raises(helm_python.HelmRenderError, match=r"secrets\.djangoSecretKey.*existingSecret"):
        render({"kafka": {"bootstrapServers": "kafka:9092"}})
    with pytest.raises(helm_python.HelmRenderError, match=r"secrets\.databaseUrl.*existingSecret"):
        render({"kafka": {"bootstrapServers": "kafka:9092"}, "secrets": {"djangoSecretKey": "k" * 50}})
    docs = objects(render({"kafka": {"bootstrapServers": "kafka:9092"}, "secrets": {"existingSecret": "mine"}}))
    assert not by_kind(docs, "Secret")
    for _, spec in app_pod_templates(docs):
        refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in spec["containers"][0]["env"]
                if "secretKeyRef" in e.get("valueFrom", {})}
        assert refs == {"mine"}


# --------------------------------------------------------------------------- workloads


def test_beat_is_exactly_one_replica_replaced_by_recreate(env_render):
    _, _, docs = env_render
    beat = one(docs, "Deployment", f"{FULLNAME}-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert not [h for h in by_kind(docs, "HorizontalPodAutoscaler")
                if h["spec"]["scaleTargetRef"]["name"] == f"{FULLNAME}-beat"]


def test_each_role_runs_its_command_from_the_one_image(env_render):
    _, values, docs = env_render
    images = set()
    for name, role in ((f"{FULLNAME}-web", "web"), (f"{FULLNAME}-worker", "worker"), (f"{FULLNAME}-beat", "beat")):
        container = pod_spec(one(docs, "Deployment", name))["containers"][0]
        assert container["args"] == [role]
        images.add(container["image"])
    job = one(docs, "Job", f"{FULLNAME}-migrate")
    assert pod_spec(job)["containers"][0]["args"] == ["migrate"]
    images.add(pod_spec(job)["containers"][0]["image"])
    assert len(images) == 1


def test_migrations_run_as_a_hook_job_before_new_pods(env_render):
    name, values, docs = env_render
    job = one(docs, "Job", f"{FULLNAME}-migrate")
    annotations = job["metadata"]["annotations"]
    events = set(annotations["helm.sh/hook"].split(","))
    assert "pre-upgrade" in events
    # An in-cluster database only exists after the first install's resources; external ones before.
    assert events == ({"post-install", "pre-upgrade"} if values.get("postgresql", {}).get("enabled")
                      else {"pre-install", "pre-upgrade"}), name
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1 and job["spec"]["activeDeadlineSeconds"] > 0
    # Its configuration exists when it runs: hook copies with a lower weight, or the existing Secret.
    container = pod_spec(job)["containers"][0]
    config_name = container["envFrom"][0]["configMapRef"]["name"]
    config = one(docs, "ConfigMap", config_name)
    assert config["metadata"]["annotations"]["helm.sh/hook"] == annotations["helm.sh/hook"]
    assert int(config["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(annotations["helm.sh/hook-weight"])
    secret_names = {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"]
                    if "secretKeyRef" in e.get("valueFrom", {})}
    existing = values.get("secrets", {}).get("existingSecret")
    if existing:
        assert secret_names == {existing}
    else:
        (secret_name,) = secret_names
        secret = one(docs, "Secret", secret_name)
        assert secret["metadata"]["annotations"]["helm.sh/hook"] == annotations["helm.sh/hook"]
    # Same settings as the app pods.
    main_config = one(docs, "ConfigMap", FULLNAME)
    assert config["data"] == main_config["data"]


def test_web_probes_ask_healthz_and_liveness_does_not_depend_on_the_database(env_render):
    _, _, docs = env_render
    container = pod_spec(one(docs, "Deployment", f"{FULLNAME}-web"))["containers"][0]
    port_names = {p["name"] for p in container["ports"]}
    for probe in ("startupProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
        assert container[probe]["httpGet"]["port"] in port_names
        # /healthz checks four services with timeouts of up to 5 s (database connect).
        assert container[probe]["timeoutSeconds"] >= 6
    assert "tcpSocket" in container["livenessProbe"]


def test_probes_and_scrapes_by_pod_ip_pass_allowed_hosts(env_render):
    """kubelet and Prometheus send Host: <pod IP>; Django answers 400 to hosts not allowed."""
    _, _, docs = env_render
    for name, spec in app_pod_templates(docs):
        env = spec["containers"][0]["env"]
        names = [e["name"] for e in env]
        assert names.index("POD_IP") < names.index("ALLOWED_HOSTS"), name  # $(POD_IP) expands only then
        assert env[names.index("POD_IP")]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
        assert "$(POD_IP)" in env[names.index("ALLOWED_HOSTS")]["value"].split(",")


def test_worker_exposes_metrics_port_the_app_is_told_about(env_render):
    _, _, docs = env_render
    config_maps = {c["metadata"]["name"]: c for c in by_kind(docs, "ConfigMap")}
    container = pod_spec(one(docs, "Deployment", f"{FULLNAME}-worker"))["containers"][0]
    (port,) = container["ports"]
    assert port["name"] == "metrics"
    assert container_env(container, config_maps)["WORKER_METRICS_PORT"] == str(port["containerPort"]) == "9808"
    service = one(docs, "Service", f"{FULLNAME}-worker-metrics")
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"


def test_web_and_worker_count_in_multiprocess_mode_each_in_its_own_writable_tmp_folder(env_render):
    """The worker's pool processes, and the web pod's uvicorn processes (web.workers), each share a
    PROMETHEUS_MULTIPROC_DIR of their own on the /tmp emptyDir (the root file system is read-only),
    so one scrape of a pod adds up all its processes; beat runs one process and must not have it."""
    _, _, docs = env_render
    config_maps = {c["metadata"]["name"]: c for c in by_kind(docs, "ConfigMap")}
    folders = {}
    for component in ("web", "worker", "beat"):
        spec = pod_spec(one(docs, "Deployment", f"{FULLNAME}-{component}"))
        env = container_env(spec["containers"][0], config_maps)
        if component == "beat":
            assert "PROMETHEUS_MULTIPROC_DIR" not in env, component
            continue
        mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
        assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/") and "tmp" == mounts["/tmp"]
        assert "emptyDir" in next(v for v in spec["volumes"] if v["name"] == "tmp")
        folders[component] = env["PROMETHEUS_MULTIPROC_DIR"]
    assert folders["web"] != folders["worker"]


def test_web_runs_a_process_per_core_of_its_cpu_limit_with_a_connection_pool_each(env_render):
    """web.workers uvicorn processes (WEB_CONCURRENCY), no more than the cores the pod may use, and
    each with DATABASE_POOL_MAX_SIZE connections (the worker keeps plain connections: it forks)."""
    _, values, docs = env_render
    config_maps = {c["metadata"]["name"]: c for c in by_kind(docs, "ConfigMap")}
    web = container_env(pod_spec(one(docs, "Deployment", f"{FULLNAME}-web"))["containers"][0], config_maps)
    worker = container_env(pod_spec(one(docs, "Deployment", f"{FULLNAME}-worker"))["containers"][0], config_maps)
    workers = int(web["WEB_CONCURRENCY"])
    assert workers >= 1 and int(web["DATABASE_POOL_MAX_SIZE"]) >= 1
    cpu_limit = pod_spec(one(docs, "Deployment", f"{FULLNAME}-web"))["containers"][0]["resources"]["limits"]["cpu"]
    cores = float(cpu_limit[:-1]) / 1000 if str(cpu_limit).endswith("m") else float(cpu_limit)
    assert workers <= max(1, round(cores)), (workers, cpu_limit)
    assert "DATABASE_POOL_MAX_SIZE" not in worker


def test_pods_log_json_by_default(env_render):
    _, values, docs = env_render
    config_map = one(docs, "ConfigMap", FULLNAME)
    assert config_map["data"]["LOG_FORMAT"] == values.get("django", {}).get("logFormat", "json")
    assert values_file("values.yaml")["django"]["logFormat"] == "json"


def test_every_container_has_requests_and_limits(env_render):
    name, _, docs = env_render
    for doc in docs:
        if doc["kind"] not in {"Deployment", "StatefulSet", "Job"}:
            continue
        for container in pod_spec(doc)["containers"]:
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), (name, doc["metadata"]["name"])
            assert {"cpu", "memory"} <= set(resources.get("limits", {})), (name, doc["metadata"]["name"])


def test_pods_run_as_non_root_with_read_only_root_and_a_tmp_volume(env_render):
    name, _, docs = env_render
    for doc in docs:
        if doc["kind"] not in {"Deployment", "StatefulSet", "Job"}:
            continue
        spec = pod_spec(doc)
        assert spec["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
        assert spec["securityContext"]["runAsUser"] > 0
        assert spec.get("automountServiceAccountToken") is False
        for container in spec["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False
            assert ctx["capabilities"]["drop"] == ["ALL"]
    for workload, spec in app_pod_templates(docs):
        container = spec["containers"][0]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, workload
        assert spec["securityContext"]["runAsUser"] == 10001  # the image's user (Dockerfile APP_UID)
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert tmp, workload
        volume = next(v for v in spec["volumes"] if v["name"] == tmp[0]["name"])
        assert "emptyDir" in volume


def test_config_and_secret_changes_roll_the_pods():
    # Fixed secrets: offline there is no Secret in a cluster to reuse, so empty ones are generated anew.
    fixed = {"postgresql": {"enabled": True, "password": "p" * 32}}
    base = env_values("values-local.yaml", secrets={"djangoSecretKey": "k" * 60}, **fixed)
    changed_config = env_values("values-local.yaml", secrets={"djangoSecretKey": "k" * 60},
                                django={"logLevel": "WARNING"}, **fixed)
    changed_secret = env_values("values-local.yaml", secrets={"djangoSecretKey": "s" * 60}, **fixed)

    def checksums(values):
        docs = objects(render(values))
        result = {}
        for workload in APP_WORKLOADS:
            annotations = one(docs, "Deployment", workload)["spec"]["template"]["metadata"]["annotations"]
            result[workload] = (annotations["checksum/config"], annotations["checksum/secret"])
        return result

    first, config, secret = checksums(base), checksums(changed_config), checksums(changed_secret)
    assert first == checksums(base)  # stable when nothing changes
    for workload in APP_WORKLOADS:
        assert config[workload][0] != first[workload][0] and config[workload][1] == first[workload][1]
        assert secret[workload][1] != first[workload][1] and secret[workload][0] == first[workload][0]


# --------------------------------------------------------------------------- secrets


def test_secrets_never_reach_configmaps_or_pod_specs():
    sentinels = {"djangoSecretKey": "SENTINEL-django-key-" + "x" * 40,
                 "databaseUrl": "postgresql://todo:SENTINEL-db-pass@db.internal:5432/todo",
                 "redisUrl": "rediss://:SENTINEL-redis-pass@cache.internal:6380/0",
                 "kafkaSaslUsername": "SENTINEL-kafka-user", "kafkaSaslPassword": "SENTINEL-kafka-pass",
                 "openaiApiKey": "SENTINEL-openai-key"}
    values = env_values("values-cloud.yaml", secrets={"existingSecret": "", **sentinels},
                        redis={"password": "SENTINEL-in-cluster-redis-pass"})
    docs = objects(render(values))
    for doc in docs:
        if doc["kind"] == "Secret":
            continue
        text = yaml.safe_dump(doc)
        assert "SENTINEL" not in text, f"a secret value leaked into {doc['kind']}/{doc['metadata']['name']}"
    for config in by_kind(docs, "ConfigMap"):
        assert not SECRET_KEYS & set(config.get("data", {})), config["metadata"]["name"]
    secrets = [s for s in by_kind(docs, "Secret") if s["metadata"]["name"] == FULLNAME]
    assert set(secrets[0]["data"]) == SECRET_KEYS
    for workload, spec in app_pod_templates(docs):
        for entry in spec["containers"][0]["env"]:
            if entry["name"] in SECRET_KEYS:
                assert "secretKeyRef" in entry["valueFrom"], (workload, entry["name"])


def test_secret_key_and_service_passwords_are_shared_within_a_release():
    docs = objects(render(env_values("values-local.yaml")))
    import base64

    def decoded(name):
        return {k: base64.b64decode(v).decode() for k, v in one(docs, "Secret", name)["data"].items()}

    app, hook, pg = decoded(FULLNAME), decoded(f"{FULLNAME}-migrate"), decoded(f"{FULLNAME}-postgresql")
    redis = decoded(f"{FULLNAME}-redis")
    assert app == hook
    assert len(app["DJANGO_SECRET_KEY"]) >= 50
    assert app["DATABASE_URL"] == (f"postgresql://todo:{pg['POSTGRES_PASSWORD']}@{FULLNAME}-postgresql:5432/todo")
    # Redis asks for a password, and the app's URL carries the same one.
    assert redis["REDIS_PASSWORD"]
    assert app["REDIS_URL"] == f"redis://:{redis['REDIS_PASSWORD']}@{FULLNAME}-redis:6379/0"
    container = pod_spec(one(docs, "Deployment", f"{FULLNAME}-redis"))["containers"][0]
    assert container["args"][:3] == ["redis-server", "--requirepass", "$(REDIS_PASSWORD)"]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert env["REDIS_PASSWORD"] == env["REDISCLI_AUTH"] == {"name": f"{FULLNAME}-redis", "key": "REDIS_PASSWORD"}


def test_chart_sets_only_variables_something_reads_and_all_that_production_needs(env_render):
    name, _, docs = env_render
    settings_text = (BASE_DIR / "todo_project" / "settings.py").read_text()
    read_by_settings = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', settings_text))
    entrypoint = (BASE_DIR / "scripts" / "docker-entrypoint.sh").read_text()
    read_by_entrypoint = set(re.findall(r"\$\{([A-Z_]+):-", entrypoint))
    # uvicorn reads FORWARDED_ALLOW_IPS itself; POD_IP feeds ALLOWED_HOSTS.
    others = {"FORWARDED_ALLOW_IPS", "POD_IP"}
    known = read_by_settings | read_by_entrypoint | others
    config_maps = {c["metadata"]["name"]: c for c in by_kind(docs, "ConfigMap")}
    for workload, spec in app_pod_templates(docs):
        env = container_env(spec["containers"][0], config_maps)
        assert set(env) <= known, (name, workload, set(env) - known)
        assert {"DJANGO_DEBUG", "DJANGO_SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL",
                "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL"} <= set(env), (name, workload)
        assert env["DJANGO_DEBUG"] == "false"


def test_managed_kafka_environments_use_sasl_ssl(rendered):
    for name in ("values-cloud.yaml", "values-aks.yaml", "values-gke.yaml"):
        data = one(rendered[name], "ConfigMap", FULLNAME)["data"]
        assert data["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", name
        assert data["KAFKA_SASL_MECHANISM"] in {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}
        assert data["SECURE_SSL_REDIRECT"] == "true" and int(data["SECURE_HSTS_SECONDS"]) >= 31536000


# --------------------------------------------------------------------------- scaling, exposure, labels


def test_web_has_an_hpa_and_a_pdb_that_select_its_pods(env_render):
    _, values, docs = env_render
    web = one(docs, "Deployment", f"{FULLNAME}-web")
    assert "replicas" not in web["spec"]  # the HPA owns the count; a fixed one would fight it on upgrades
    hpa = one(docs, "HorizontalPodAutoscaler", f"{FULLNAME}-web")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{FULLNAME}-web"}
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    pod_labels = web["spec"]["template"]["metadata"]["labels"]
    pdb = one(docs, "PodDisruptionBudget", f"{FULLNAME}-web")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert "maxUnavailable" in pdb["spec"]


def test_ingress_uses_nginx_class_and_routes_to_the_web_service(env_render):
    name, values, docs = env_render
    ingress = one(docs, "Ingress", FULLNAME)
    assert ingress["spec"]["ingressClassName"] == "nginx"
    service = one(docs, "Service", f"{FULLNAME}-web")
    for rule in ingress["spec"]["rules"]:
        backend = rule["http"]["paths"][0]["backend"]["service"]
        assert backend == {"name": service["metadata"]["name"], "port": {"name": "http"}}
    # WebSockets stay open longer than nginx's 60 s default.
    assert int(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    if values["ingress"]["tls"]["enabled"]:
        assert ingress["spec"]["tls"][0]["hosts"] == values["ingress"]["hosts"]
        assert ingress["spec"]["tls"][0]["secretName"]
    else:
        assert "tls" not in ingress["spec"]


def test_tls_is_optional_and_off_by_default_in_the_base_values():
    docs = objects(render({"kafka": {"bootstrapServers": "k:9092"}, "secrets": {"existingSecret": "s"}}))
    ingress = one(docs, "Ingress", FULLNAME)
    assert ingress["spec"]["ingressClassName"] == "nginx" and "tls" not in ingress["spec"]
    docs = objects(render({"kafka": {"bootstrapServers": "k:9092"}, "secrets": {"existingSecret": "s"},
                           "ingress": {"tls": {"enabled": True}}}))
    assert one(docs, "Ingress", FULLNAME)["spec"]["tls"][0]["secretName"] == f"{FULLNAME}-tls"
    assert "https://todo.example.com" in one(docs, "ConfigMap", FULLNAME)["data"]["CSRF_TRUSTED_ORIGINS"]


def test_standard_labels_and_component_on_everything(env_render):
    name, _, docs = env_render
    for doc in docs:
        labels = doc["metadata"]["labels"]
        assert STANDARD_LABELS <= set(labels), (name, doc["kind"], doc["metadata"]["name"])
        assert labels["app.kubernetes.io/instance"] == RELEASE
        if doc["kind"] in {"Deployment", "StatefulSet", "Job", "Service"}:
            assert labels.get("app.kubernetes.io/component"), doc["metadata"]["name"]
    for doc in by_kind(docs, "Deployment") + by_kind(docs, "StatefulSet"):
        assert doc["spec"]["selector"]["matchLabels"].items() <= doc["spec"]["template"]["metadata"]["labels"].items()


def test_every_service_selects_pods_of_the_release(env_render):
    _, _, docs = env_render
    pod_label_sets = [d["spec"]["template"]["metadata"]["labels"] for d in docs
                      if d["kind"] in {"Deployment", "StatefulSet"}]
    for service in by_kind(docs, "Service"):
        selector = service["spec"]["selector"]
        assert any(selector.items() <= labels.items() for labels in pod_label_sets), service["metadata"]["name"]


def test_minikube_runs_its_services_in_the_cluster_and_the_cloud_does_not(rendered):
    local = {(d["kind"], d["metadata"]["name"]) for d in rendered["values-local.yaml"]}
    assert {("StatefulSet", f"{FULLNAME}-postgresql"), ("Deployment", f"{FULLNAME}-redis"),
            ("StatefulSet", f"{FULLNAME}-redpanda")} <= local
    data = one(rendered["values-local.yaml"], "ConfigMap", FULLNAME)["data"]
    assert data["KAFKA_BOOTSTRAP_SERVERS"] == f"{FULLNAME}-redpanda:9092"
    for name in ("values-aks.yaml", "values-gke.yaml"):
        kinds = {d["metadata"]["labels"].get("app.kubernetes.io/component") for d in rendered[name]}
        assert not kinds & {"postgresql", "redis", "redpanda"}, name


def test_oke_always_free_fits_in_4_ocpu_and_24_gb_on_arm64():
    """Requests at the HPA's maximum (plus one surge pod per Deployment) stay well inside the
    free tier, leaving room for system pods and the monitoring stack."""
    values = env_values("values-cloud.yaml")
    docs = objects(render(values))

    def cpu(q):
        return float(q[:-1]) / 1000 if str(q).endswith("m") else float(q)

    def mem(q):
        units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
        return float(q[:-2]) * units[q[-2:]] if q[-2:] in units else float(q)

    total_cpu = total_mem = 0.0
    for doc in docs:
        if doc["kind"] not in {"Deployment", "StatefulSet"}:
            continue
        if doc["metadata"]["name"] == f"{FULLNAME}-web":
            replicas = values["web"]["autoscaling"]["maxReplicas"]
        else:
            replicas = doc["spec"].get("replicas", 1)
        for container in pod_spec(doc)["containers"]:
            total_cpu += cpu(container["resources"]["requests"]["cpu"]) * (replicas + 1)
            total_mem += mem(container["resources"]["requests"]["memory"]) * (replicas + 1)
        assert pod_spec(doc)["nodeSelector"] == {"kubernetes.io/arch": "arm64"}, doc["metadata"]["name"]
    assert total_cpu <= 2.5, total_cpu  # of 4 OCPU
    assert total_mem <= 8 * 2**30, total_mem / 2**30  # of 24 GB
