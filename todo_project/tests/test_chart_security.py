"""What makes the chart safe to expose (issue 12), on the real Helm engine's output: NetworkPolicies
that select the right pods and admit the right peers, the internal port never behind the ingress,
secrets that do not change between renders, a `helm test` hook that really checks the web Service,
HTTPS settings that agree with the ingress, trusted proxies limited, sign-up off in production."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import re
import subprocess
import sys

import helm_python
import pytest

from devstack.servers import free_port
from devstack.testing import uvicorn_server

from .deploy_support import (
    CHART_DIR, ENV_VALUES_FILES, NAMESPACE, RELEASE, by_kind, env_values, objects, one, pod_spec, render,
    values_file,
)

PRODUCTION_FILES = [name for name in ENV_VALUES_FILES if name != "values-local.yaml"]
APP_COMPONENTS = ("web", "worker", "beat")


@pytest.fixture(scope="module", params=ENV_VALUES_FILES)
def env_docs(request):
    values = env_values(request.param)
    return request.param, values, objects(render(values))


def matches(selector: dict, labels: dict) -> bool:
    """Kubernetes label-selector semantics (matchLabels + matchExpressions)."""
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def pod_labels(docs, name: str) -> dict:
    workload = next(d for d in docs if d["kind"] in {"Deployment", "StatefulSet"} and d["metadata"]["name"] == name)
    return workload["spec"]["template"]["metadata"]["labels"]


def policies_for(docs, labels: dict) -> list[dict]:
    return [p for p in by_kind(docs, "NetworkPolicy") if matches(p["spec"]["podSelector"], labels)]


def admitted(policies: list[dict], port: str, *, namespace: str, labels: dict) -> bool:
    """Would a connection from a pod (namespace, labels) to the named port be allowed?"""
    for policy in policies:
        for rule in policy["spec"].get("ingress") or []:
            if port not in [p["port"] for p in rule.get("ports", [])]:
                continue
            for peer in rule["from"]:
                ns_selector, selector = peer.get("namespaceSelector"), peer.get("podSelector")
                in_namespace = (matches(ns_selector, {"kubernetes.io/metadata.name": namespace}) if ns_selector
                                else namespace == NAMESPACE)
                if in_namespace and (selector is None or matches(selector, labels)):
                    return True
    return False


INGRESS_POD = ("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
PROMETHEUS_POD = ("monitoring", {"app.kubernetes.io/name": "prometheus"})
STRANGER_POD = (NAMESPACE, {"app": "something-else"})
OTHER_NAMESPACE_POD = ("default", {"app.kubernetes.io/name": "todo-app", "app.kubernetes.io/instance": RELEASE,
                                   "app.kubernetes.io/component": "web"})


# --------------------------------------------------------------------------- network policies


def test_every_app_pod_is_isolated_by_a_network_policy(env_docs):
    name, _, docs = env_docs
    for component in APP_COMPONENTS:
        policies = policies_for(docs, pod_labels(docs, f"{RELEASE}-{component}"))
        assert policies and all("Ingress" in p["spec"]["policyTypes"] for p in policies), (name, component)
        for policy in policies:
            for rule in policy["spec"].get("ingress") or []:
                assert rule.get("from"), f"{policy['metadata']['name']}: a rule without 'from' admits everyone"
                assert rule.get("ports"), f"{policy['metadata']['name']}: a rule without ports admits every port"


def test_web_is_reachable_from_the_ingress_controller_only_and_its_internal_port_from_monitoring(env_docs):
    name, _, docs = env_docs
    web = policies_for(docs, pod_labels(docs, f"{RELEASE}-web"))
    assert [p["metadata"]["name"] for p in web] == [f"{RELEASE}-web"]
    assert admitted(web, "http", namespace=INGRESS_POD[0], labels=INGRESS_POD[1])
    assert not admitted(web, "internal", namespace=INGRESS_POD[0], labels=INGRESS_POD[1])
    assert admitted(web, "internal", namespace=PROMETHEUS_POD[0], labels=PROMETHEUS_POD[1])
    assert not admitted(web, "http", namespace=PROMETHEUS_POD[0], labels=PROMETHEUS_POD[1])
    for stranger in (STRANGER_POD, OTHER_NAMESPACE_POD, (NAMESPACE, pod_labels(docs, f"{RELEASE}-worker"))):
        for port in ("http", "internal"):
            assert not admitted(web, port, namespace=stranger[0], labels=stranger[1]), (name, stranger, port)
    # The named ports exist on the web container (a NetworkPolicy names the container's ports).
    ports = {p["name"] for p in pod_spec(one(docs, "Deployment", f"{RELEASE}-web"))["containers"][0]["ports"]}
    assert ports == {"http", "internal"}


def test_worker_and_beat_accept_nothing_but_the_workers_metrics_scrape(env_docs):
    name, values, docs = env_docs
    worker = policies_for(docs, pod_labels(docs, f"{RELEASE}-worker"))
    beat = policies_for(docs, pod_labels(docs, f"{RELEASE}-beat"))
    assert [p["spec"]["ingress"] for p in beat] == [[]]
    for peer in (INGRESS_POD, STRANGER_POD, (NAMESPACE, pod_labels(docs, f"{RELEASE}-web"))):
        for port in ("metrics", "http", "internal"):
            assert not admitted(worker, port, namespace=peer[0], labels=peer[1]), (name, peer, port)
    assert admitted(worker, "metrics", namespace=PROMETHEUS_POD[0], labels=PROMETHEUS_POD[1])


def test_in_cluster_services_are_reachable_only_from_the_apps_pods():
    docs = objects(render(env_values("values-local.yaml")))
    migrate_labels = one(docs, "Job", f"{RELEASE}-migrate")["spec"]["template"]["metadata"]["labels"]
    app_pods = [pod_labels(docs, f"{RELEASE}-{c}") for c in APP_COMPONENTS] + [migrate_labels]
    for service, port in (("postgresql", "postgresql"), ("redis", "redis"), ("redpanda", "kafka")):
        policies = policies_for(docs, pod_labels(docs, f"{RELEASE}-{service}"))
        assert [p["metadata"]["name"] for p in policies] == [f"{RELEASE}-{service}"]
        for labels in app_pods:
            assert admitted(policies, port, namespace=NAMESPACE, labels=labels), (service, labels)
        other_release = {**app_pods[0], "app.kubernetes.io/instance": "someone-else"}
        for namespace, labels in (INGRESS_POD, PROMETHEUS_POD, STRANGER_POD, OTHER_NAMESPACE_POD,
                                  (NAMESPACE, other_release)):
            assert not admitted(policies, port, namespace=namespace, labels=labels), (service, namespace, labels)


def test_network_policy_peers_follow_the_values():
    docs = objects(render(env_values("values-aks.yaml", networkPolicy={
        "ingressController": {"namespace": "app-routing-system", "podLabels": {"app": "nginx"}},
        "monitoring": {"namespace": "prometheus"}})))
    web = policies_for(docs, pod_labels(docs, f"{RELEASE}-web"))
    assert admitted(web, "http", namespace="app-routing-system", labels={"app": "nginx"})
    assert not admitted(web, "http", namespace="app-routing-system", labels={"app": "other"})
    assert not admitted(web, "http", namespace=INGRESS_POD[0], labels=INGRESS_POD[1])
    assert admitted(web, "internal", namespace="prometheus", labels={})
    off = objects(render(env_values("values-aks.yaml", networkPolicy={"enabled": False})))
    assert not by_kind(off, "NetworkPolicy")


# --------------------------------------------------------------------------- the internal port


def test_no_ingress_path_leads_to_the_internal_port(env_docs):
    name, _, docs = env_docs
    services = {s["metadata"]["name"]: s for s in by_kind(docs, "Service")}
    web_ports = {p["name"]: p for p in pod_spec(one(docs, "Deployment", f"{RELEASE}-web"))["containers"][0]["ports"]}
    for ingress in by_kind(docs, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = services[backend["name"]]
                port = next(p for p in service["spec"]["ports"] if p["name"] == backend["port"]["name"])
                assert port["targetPort"] == "http", (name, backend)
                assert web_ports[port["targetPort"]]["containerPort"] != web_ports["internal"]["containerPort"]
    # Only the headless internal Service carries it, so no Service type can publish it.
    carrying = [s for s in services.values() if any(p["targetPort"] == "internal" for p in s["spec"]["ports"])]
    assert [s["metadata"]["name"] for s in carrying] == [f"{RELEASE}-web-internal"]
    assert carrying[0]["spec"]["clusterIP"] == "None" and "type" not in carrying[0]["spec"]


def test_a_load_balancer_web_service_still_does_not_publish_the_internal_port():
    docs = objects(render(env_values("values-gke.yaml", web={"service": {"type": "LoadBalancer"}})))
    public = one(docs, "Service", f"{RELEASE}-web")
    assert public["spec"]["type"] == "LoadBalancer"
    assert [p["targetPort"] for p in public["spec"]["ports"]] == ["http"]


def test_the_app_is_told_the_internal_port_the_container_declares(env_docs):
    _, _, docs = env_docs
    data = one(docs, "ConfigMap", RELEASE)["data"]
    ports = {p["name"]: p["containerPort"] for p in pod_spec(one(docs, "Deployment", f"{RELEASE}-web"))["containers"][0]["ports"]}
    assert data["INTERNAL_PORT"] == str(ports["internal"]) == "9100"
    assert data["INTERNAL_ADDR"] == "0.0.0.0"  # scrapable by pod IP; the NetworkPolicy limits who


# --------------------------------------------------------------------------- secrets


TEMPLATE_RANDOMNESS = re.compile(r"\b(randAlphaNum|randAlpha|randNumeric|randAscii|randBytes|randInt|uuidv4|"
                                 r"genPrivateKey|genCA|genSelfSignedCert|genSignedCert|now|date)\b")


def test_no_template_draws_randomness_or_time():
    for path in sorted((CHART_DIR / "templates").rglob("*")):
        if path.is_file():
            found = TEMPLATE_RANDOMNESS.findall(re.sub(r"\{\{/\*.*?\*/\}\}", "", path.read_text(), flags=re.S))
            assert not found, f"{path.relative_to(CHART_DIR)} uses {found}: renders would differ each time"


@pytest.mark.parametrize("values_name", ENV_VALUES_FILES)
def test_two_renders_are_identical(values_name):
    """What Argo CD (helm template) and Flux compare: nothing may change between renders."""
    values = env_values(values_name)
    assert render(values) == render(values)


def test_without_secrets_or_an_existing_secret_rendering_stops_and_says_what_to_set():
    with pytest.raises(helm_python.HelmRenderError, match=r"set secrets\.djangoSecretKey.*secrets\.existingSecret"):
        render(values_file("values-local.yaml"))
    partial = env_values("values-local.yaml", redis={"password": ""})
    with pytest.raises(helm_python.HelmRenderError, match=r"set redis\.password.*REDIS_PASSWORD"):
        render(partial)
    partial = env_values("values-local.yaml", postgresql={"password": ""})
    with pytest.raises(helm_python.HelmRenderError, match=r"set postgresql\.password.*POSTGRES_PASSWORD"):
        render(partial)


def test_existing_secret_feeds_the_app_and_the_in_cluster_services():
    values = {**values_file("values-local.yaml"), "secrets": {"existingSecret": "todo-secrets"}}
    docs = objects(render(values))
    assert not by_kind(docs, "Secret")  # nothing secret rendered, nothing to generate
    for service, key in (("postgresql", "POSTGRES_PASSWORD"), ("redis", "REDIS_PASSWORD")):
        workload = next(d for d in docs if d["kind"] in {"Deployment", "StatefulSet"}
                        and d["metadata"]["name"] == f"{RELEASE}-{service}")
        refs = [e["valueFrom"]["secretKeyRef"] for e in pod_spec(workload)["containers"][0]["env"]
                if "secretKeyRef" in e.get("valueFrom", {})]
        assert refs and all(ref == {"name": "todo-secrets", "key": key} for ref in refs), service


def test_passwords_with_special_characters_are_escaped_in_the_urls():
    docs = objects(render(env_values("values-local.yaml", redis={"password": "a/b@c:d"})))
    url = base64.b64decode(one(docs, "Secret", RELEASE)["data"]["REDIS_URL"]).decode()
    assert url == f"redis://:a%2Fb%40c%3Ad@{RELEASE}-redis:6379/0"


# --------------------------------------------------------------------------- helm test hook


def hook_pod(docs) -> dict:
    pods = [d for d in by_kind(docs, "Pod") if d["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"]
    assert len(pods) == 1
    return pods[0]


def test_a_helm_test_hook_asks_the_web_service_for_healthz(env_docs):
    name, values, docs = env_docs
    pod = hook_pod(docs)
    assert "templates/tests/" in next(k for k, v in render(values).items() if "kind: Pod" in v)
    assert pod["spec"]["restartPolicy"] == "Never"
    assert "hook-succeeded" in pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    service = one(docs, "Service", f"{RELEASE}-web")
    assert env["WEB_URL"] == f"http://{RELEASE}-web:{service['spec']['ports'][0]['port']}"
    assert env["WEB_HOST"] in one(docs, "Deployment", f"{RELEASE}-web")["spec"]["template"]["spec"][
        "containers"][0]["env"][1]["value"].split(",")  # an allowed host
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    # The web NetworkPolicy lets it in.
    web = policies_for(docs, pod_labels(docs, f"{RELEASE}-web"))
    assert admitted(web, "http", namespace=NAMESPACE, labels=pod["metadata"]["labels"])


def _run_hook(pod: dict, url: str, host: str) -> subprocess.CompletedProcess:
    container = pod["spec"]["containers"][0]
    assert container["command"][:2] == ["python", "-c"]
    return subprocess.run([sys.executable, "-c", container["command"][2]], env={"WEB_URL": url, "WEB_HOST": host},
                          capture_output=True, text=True, timeout=60)


def test_the_hooks_check_passes_against_a_real_web_process_and_fails_without_one(service_env, tmp_path,
                                                                                  django_db_setup):
    pod = hook_pod(objects(render(env_values("values-cloud.yaml"))))
    with uvicorn_server({**service_env, "INTERNAL_PORT": "0"}, tmp_path) as web:
        passed = _run_hook(pod, web.url, "localhost")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "GET /healthz -> 200" in passed.stdout and "GET /metrics -> 404" in passed.stdout
    failed = _run_hook(pod, f"http://127.0.0.1:{free_port()}", "localhost")
    assert failed.returncode != 0


# --------------------------------------------------------------------------- HTTPS, proxies, sign-up


def test_https_settings_follow_ingress_tls(env_docs):
    name, values, docs = env_docs
    data = one(docs, "ConfigMap", RELEASE)["data"]
    tls = values["ingress"]["enabled"] and values["ingress"]["tls"]["enabled"]
    assert data["SECURE_SSL_REDIRECT"] == ("true" if tls else "false"), name
    assert (int(data["SECURE_HSTS_SECONDS"]) >= 31536000) if tls else data["SECURE_HSTS_SECONDS"] == "0"
    assert data["SECURE_HSTS_PRELOAD"] == "false"  # opt-in
    nginx_redirect_off = one(docs, "Ingress", RELEASE)["metadata"]["annotations"].get(
        "nginx.ingress.kubernetes.io/ssl-redirect") == "false"
    assert nginx_redirect_off == (not tls)


@pytest.mark.parametrize("django, message", [
    ({"secureSslRedirect": True}, r"secureSslRedirect=true but the ingress serves plain HTTP"),
    ({"hstsSeconds": 3600}, r"hstsSeconds > 0 but the ingress serves plain HTTP"),
    ({"hstsPreload": True}, r"hstsPreload needs HTTPS"),
])
def test_https_settings_that_contradict_a_plain_http_ingress_do_not_render(django, message):
    with pytest.raises(helm_python.HelmRenderError, match=message):
        render(env_values("values-local.yaml", django=django))


def test_preload_is_opt_in_and_needs_a_year_of_hsts():
    data = one(objects(render(env_values("values-cloud.yaml", django={"hstsPreload": True}))), "ConfigMap",
               RELEASE)["data"]
    assert data["SECURE_HSTS_PRELOAD"] == "true"
    with pytest.raises(helm_python.HelmRenderError, match="hstsPreload needs"):
        render(env_values("values-cloud.yaml", django={"hstsPreload": True, "hstsSeconds": 86400}))


def test_tls_ended_before_a_disabled_ingress_can_be_declared_explicitly():
    values = env_values("values-gke.yaml", ingress={"enabled": False},
                        django={"secureSslRedirect": True, "hstsSeconds": 31536000})
    data = one(objects(render(values)), "ConfigMap", RELEASE)["data"]
    assert (data["SECURE_SSL_REDIRECT"], data["SECURE_HSTS_SECONDS"]) == ("true", "31536000")


def test_forwarded_headers_are_trusted_only_from_private_addresses_never_everyone(env_docs):
    name, _, docs = env_docs
    value = one(docs, "ConfigMap", RELEASE)["data"]["FORWARDED_ALLOW_IPS"]
    assert "*" not in value
    networks = [ipaddress.ip_network(item) for item in value.split(",")]
    assert all(network.is_private for network in networks), name


def test_uvicorn_understands_the_forwarded_allow_ips_value():
    """uvicorn's own middleware with the chart's value: the ingress's X-Forwarded-For is believed
    from a pod address, ignored from anywhere else."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    value = one(objects(render(env_values("values-cloud.yaml"))), "ConfigMap", RELEASE)["data"]["FORWARDED_ALLOW_IPS"]

    async def client_seen(peer: str) -> tuple[str, str]:
        seen = {}

        async def app(scope, receive, send):
            seen["client"], seen["scheme"] = scope["client"][0], scope["scheme"]

        middleware = ProxyHeadersMiddleware(app, trusted_hosts=value)
        scope = {"type": "http", "scheme": "http", "client": (peer, 40000),
                 "headers": [(b"x-forwarded-for", b"198.51.100.7"), (b"x-forwarded-proto", b"https")]}
        await middleware(scope, None, None)
        return seen["client"], seen["scheme"]

    assert asyncio.run(client_seen("10.244.1.9")) == ("198.51.100.7", "https")
    assert asyncio.run(client_seen("203.0.113.5")) == ("203.0.113.5", "http")


def test_values_schema_refuses_trusting_every_proxy():
    with pytest.raises(helm_python.HelmValuesError):
        render(env_values("values-cloud.yaml", web={"forwardedAllowIps": ["*"]}))


def test_signup_is_off_in_production_values_and_on_for_minikube(env_docs):
    name, _, docs = env_docs
    expected = "true" if name == "values-local.yaml" else "false"
    assert one(docs, "ConfigMap", RELEASE)["data"]["ALLOW_SIGNUP"] == expected
    base = objects(render({"kafka": {"bootstrapServers": "k:9092"}, "secrets": {"existingSecret": "s"}}))
    assert one(base, "ConfigMap", RELEASE)["data"]["ALLOW_SIGNUP"] == "false"
