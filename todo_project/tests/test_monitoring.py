"""Monitoring: the PrometheusRule passes `promtool check rules` and promtool unit tests that show
each alert fires when it should (and not otherwise); the ServiceMonitor scrapes what the pods
expose; the Grafana dashboard loads; every metric named in alerts and dashboard is one the app
really exports (scraped from /metrics and the worker's registry in this test run)."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import textwrap

import prometheus_client
import pytest
import yaml
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from devstack.testing import internal_get

from .deploy_support import (
    CHART_DIR,
    NAMESPACE,
    RELEASE,
    by_kind,
    env_values,
    find_tool,
    objects,
    one,
    pod_spec,
    render,
    tool_missing,
)

DASHBOARD_FILE = CHART_DIR / "dashboards" / "todo.json"
# Metrics the alerts/dashboard use that the app does not export, and who does.
EXTERNAL_METRICS = {
    "up": "Prometheus itself, for every scrape target",
    "kube_pod_container_status_restarts_total": "kube-state-metrics (part of kube-prometheus-stack)",
}
# What the issue asks the alerts to cover: (alert, what it is about).
REQUIRED_ALERTS = {"TodoApiHighErrorRate", "TodoApiHighLatency", "TodoOutboxLagging", "TodoKafkaPublishFailing",
                   "TodoReminderScanStalled", "TodoPodRestarting", "TodoOutboxEventsParked"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or",
                "unless", "inf", "nan", "le", "atan2"}


@pytest.fixture(scope="module")
def monitoring_docs() -> list[dict]:
    return objects(render(env_values("values-cloud.yaml")))


@pytest.fixture(scope="module")
def rule_groups(monitoring_docs) -> list[dict]:
    (rule,) = by_kind(monitoring_docs, "PrometheusRule")
    return rule["spec"]["groups"]


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads(DASHBOARD_FILE.read_text())


def alert_rules(groups):
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard_exprs(dashboard):
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords, label
    names (inside {...}, by (...), on (...)), durations ([5m]) or strings."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", text):
        name = match.group(1)
        if name.lower() not in PROMQL_WORDS:
            names.add(name)
    return names


def test_metric_name_extraction_reads_promql_correctly():
    expr = ('histogram_quantile(0.95, sum by (le, view) (rate(django_http_requests_latency_seconds_by_view_method_bucket'
            '{namespace="$namespace", view!~"healthz|x"}[$__rate_interval]))) > 1 and on (job) up == 0 '
            'or absent(todo_outbox_unpublished_events{job="a"}) / time()')
    assert metric_names(expr) == {"django_http_requests_latency_seconds_by_view_method_bucket", "up",
                                  "todo_outbox_unpublished_events"}


# --------------------------------------------------------------------------- alert rules


def test_alerts_cover_what_operators_need(rule_groups):
    rules = alert_rules(rule_groups)
    assert REQUIRED_ALERTS <= {rule["alert"] for rule in rules}
    for rule in rules:
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert "{{" not in rule["expr"], f"unrendered template in {rule['alert']}"
        for open_, close in ("()", "[]", "{}"):
            assert rule["expr"].count(open_) == rule["expr"].count(close), rule["alert"]


def test_alerts_only_look_at_this_release(rule_groups):
    for rule in alert_rules(rule_groups):
        assert f'namespace="{NAMESPACE}"' in rule["expr"], rule["alert"]
        assert RELEASE in rule["expr"], rule["alert"]


def test_monitoring_is_off_without_the_operator_and_on_in_the_cloud():
    assert not by_kind(objects(render(env_values("values-local.yaml"))), "PrometheusRule")
    for name in ("values-cloud.yaml", "values-aks.yaml", "values-gke.yaml"):
        kinds = {d["kind"] for d in objects(render(env_values(name)))}
        assert {"ServiceMonitor", "PrometheusRule"} <= kinds, name


def _write_rules(tmp_path, rule_groups):
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": rule_groups}, sort_keys=False))
    return path


def test_promtool_check_rules(tmp_path, rule_groups):
    promtool = find_tool("promtool")
    if promtool is None:
        tool_missing("promtool", "test_alerts_cover_what_operators_need (structure, brackets, for/severity)")
    rules = _write_rules(tmp_path, rule_groups)
    result = subprocess.run([str(promtool), "check", "rules", str(rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len([r for g in rule_groups for r in g['rules']])} rules found" in result.stdout


W = f'namespace="{NAMESPACE}", job="{RELEASE}-web"'
K = f'namespace="{NAMESPACE}", job="{RELEASE}-worker-metrics"'
RESPONSES = "django_http_responses_total_by_status_view_method_total"
LATENCY = "django_http_requests_latency_seconds_by_view_method_bucket"

# promtool unit tests: each alert fires on a synthetic history that should trigger it, stays quiet on
# one that should not (including other namespaces' and releases' series), with readable annotations.
PROMTOOL_TESTS = f"""
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - name: 5xx ratio above 5% fires; other namespaces do not count
    interval: 1m
    input_series:
      - series: '{RESPONSES}{{{W}, status="500", view="task-list", method="GET"}}'
        values: '0+10x30'
      - series: '{RESPONSES}{{{W}, status="200", view="task-list", method="GET"}}'
        values: '0+50x30'
      - series: '{RESPONSES}{{namespace="other", job="{RELEASE}-web", status="500", view="v", method="GET"}}'
        values: '0+1000x30'
    alert_rule_test:
      - eval_time: 3m
        alertname: TodoApiHighErrorRate
        exp_alerts: []
      - eval_time: 15m
        alertname: TodoApiHighErrorRate
        exp_alerts:
          - exp_labels: {{severity: critical}}
            exp_annotations:
              summary: More than 5% of API responses are 5xx
              description: 16.67% of responses from {RELEASE}-web in {NAMESPACE} were 5xx over 5 minutes.
  - name: healthy traffic raises nothing
    interval: 1m
    input_series:
      - series: '{RESPONSES}{{{W}, status="200", view="task-list", method="GET"}}'
        values: '0+50x30'
      - series: '{RESPONSES}{{namespace="other", job="{RELEASE}-web", status="500", view="v", method="GET"}}'
        values: '0+1000x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: TodoApiHighErrorRate
        exp_alerts: []
  - name: p95 above 1.5 s fires; slow health checks are ignored
    interval: 1m
    input_series:
      - series: '{LATENCY}{{{W}, view="task-list", method="GET", le="0.5"}}'
        values: '0+1x30'
      - series: '{LATENCY}{{{W}, view="task-list", method="GET", le="1.0"}}'
        values: '0+2x30'
      - series: '{LATENCY}{{{W}, view="task-list", method="GET", le="2.5"}}'
        values: '0+10x30'
      - series: '{LATENCY}{{{W}, view="task-list", method="GET", le="+Inf"}}'
        values: '0+10x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: TodoApiHighLatency
        exp_alerts:
          - exp_labels: {{severity: warning}}
            exp_annotations:
              summary: API p95 latency above 1.5s
              description: p95 request latency of {RELEASE}-web is 2.406s (health and metrics endpoints excluded).
  - name: slow /healthz alone is not API latency
    interval: 1m
    input_series:
      - series: '{LATENCY}{{{W}, view="healthz", method="GET", le="1.0"}}'
        values: '0x30'
      - series: '{LATENCY}{{{W}, view="healthz", method="GET", le="+Inf"}}'
        values: '0+10x30'
      - series: '{LATENCY}{{{W}, view="task-list", method="GET", le="0.5"}}'
        values: '0+10x30'
      - series: '{LATENCY}{{{W}, view="task-list", method="GET", le="+Inf"}}'
        values: '0+10x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: TodoApiHighLatency
        exp_alerts: []
  - name: outbox lag, backlog and Kafka failures
    interval: 1m
    input_series:
      - series: 'todo_outbox_oldest_unpublished_age_seconds{{{K}, pod="w1"}}'
        values: '600x30'
      - series: 'todo_outbox_unpublished_events{{{K}, pod="w1"}}'
        values: '5000x30'
      - series: 'todo_kafka_publish_failures_total{{{K}, pod="w1"}}'
        values: '0+1x30'
    alert_rule_test:
      - eval_time: 8m
        alertname: TodoOutboxLagging
        exp_alerts:
          - exp_labels: {{severity: warning}}
            exp_annotations:
              summary: Task events wait in the outbox for more than 300s
              description: 'The oldest unpublished outbox event is 10m 0s old: the Kafka sink is not keeping up or cannot publish.'
      - eval_time: 12m
        alertname: TodoOutboxBacklog
        exp_alerts:
          - exp_labels: {{severity: warning}}
            exp_annotations:
              summary: More than 1000 task events are waiting to be published
              description: 5000 outbox events are unpublished.
      - eval_time: 20m
        alertname: TodoKafkaPublishFailing
        exp_alerts:
          - exp_labels: {{severity: critical}}
            exp_annotations:
              summary: Publishing task events to Kafka keeps failing
              description: '10 publish failures in the last 10 minutes, for 15 minutes: check the broker, credentials (SASL) and topics.'
  - name: a single Kafka failure and a small, fresh outbox raise nothing
    interval: 1m
    input_series:
      - series: 'todo_outbox_oldest_unpublished_age_seconds{{{K}, pod="w1"}}'
        values: '5x30'
      - series: 'todo_outbox_unpublished_events{{{K}, pod="w1"}}'
        values: '3x30'
      - series: 'todo_kafka_publish_failures_total{{{K}, pod="w1"}}'
        values: '0 1x30'
    alert_rule_test:
      - eval_time: 25m
        alertname: TodoOutboxLagging
        exp_alerts: []
      - eval_time: 25m
        alertname: TodoOutboxBacklog
        exp_alerts: []
      - eval_time: 25m
        alertname: TodoKafkaPublishFailing
        exp_alerts: []
  - name: publish failures of every worker pod are added up (each pod counts its own)
    interval: 1m
    input_series:
      - series: 'todo_kafka_publish_failures_total{{{K}, pod="w1"}}'
        values: '0+1x30'
      - series: 'todo_kafka_publish_failures_total{{{K}, pod="w2"}}'
        values: '0+1x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: TodoKafkaPublishFailing
        exp_alerts:
          - exp_labels: {{severity: critical}}
            exp_annotations:
              summary: Publishing task events to Kafka keeps failing
              description: '20 publish failures in the last 10 minutes, for 15 minutes: check the broker, credentials (SASL) and topics.'
  - name: a parked outbox event fires within minutes; none parked, or another namespace's, does not
    interval: 1m
    input_series:
      - series: 'todo_outbox_parked_events{{{K}, pod="w1"}}'
        values: '0 0 0 2x20'
      - series: 'todo_outbox_parked_events{{{K}, pod="w2"}}'
        values: '0 0 0 2x20'
      - series: 'todo_outbox_parked_events{{namespace="other", job="{RELEASE}-worker-metrics", pod="w9"}}'
        values: '7x30'
    alert_rule_test:
      - eval_time: 3m
        alertname: TodoOutboxEventsParked
        exp_alerts: []
      - eval_time: 6m
        alertname: TodoOutboxEventsParked
        exp_alerts:
          - exp_labels: {{severity: warning}}
            exp_annotations:
              summary: Task events were parked as undeliverable to Kafka
              description: '2 outbox events are parked (too large, or rejected by Kafka): consumers will not see them. Admin, Outbox events, filter Parked at: the last error says why; fix the cause, then run the action Retry parked events.'
  - name: reminder scan that never succeeds fires; one that succeeds every minute does not
    interval: 1m
    input_series:
      - series: 'todo_reminder_scan_last_success_timestamp_seconds{{{K}, pod="w1"}}'
        values: '0x40'
    alert_rule_test:
      - eval_time: 30m
        alertname: TodoReminderScanStalled
        exp_alerts:
          - exp_labels: {{severity: critical}}
            exp_annotations:
              summary: The reminder scan has not completed for more than 600s
              description: 'No successful reminder scan recently: is celery beat ({RELEASE}-beat) running, and are workers consuming?'
  - name: reminder scan keeping up
    interval: 1m
    input_series:
      - series: 'todo_reminder_scan_last_success_timestamp_seconds{{{K}, pod="w1"}}'
        values: '0+60x40'
    alert_rule_test:
      - eval_time: 30m
        alertname: TodoReminderScanStalled
        exp_alerts: []
  - name: reminder scan metric missing entirely (beat or worker metrics gone)
    interval: 1m
    input_series:
      - series: 'up{{{K}, pod="w1"}}'
        values: '1x30'
    alert_rule_test:
      - eval_time: 15m
        alertname: TodoReminderScanStalled
        exp_alerts:
          - exp_labels: {{severity: critical, namespace: {NAMESPACE}}}
            exp_annotations:
              summary: The reminder scan has not completed for more than 600s
              description: 'No successful reminder scan recently: is celery beat ({RELEASE}-beat) running, and are workers consuming?'
  - name: failing Celery task, down target, restarting pod; other releases ignored
    interval: 1m
    input_series:
      - series: 'todo_celery_tasks_total{{{K}, pod="w1", task="workers.tasks.publish_outbox", state="failure"}}'
        values: '0+5x30'
      - series: 'todo_celery_tasks_total{{{K}, pod="w1", task="workers.tasks.publish_outbox", state="success"}}'
        values: '0+5x30'
      - series: 'up{{{K}, pod="{RELEASE}-worker-abc"}}'
        values: '0x30'
      - series: 'kube_pod_container_status_restarts_total{{namespace="{NAMESPACE}", pod="{RELEASE}-worker-abc", container="worker"}}'
        values: '0+1x60'
      - series: 'kube_pod_container_status_restarts_total{{namespace="{NAMESPACE}", pod="someone-else-web-abc", container="web"}}'
        values: '0+1x60'
    alert_rule_test:
      - eval_time: 15m
        alertname: TodoCeleryTaskFailures
        exp_alerts:
          - exp_labels: {{severity: warning, task: workers.tasks.publish_outbox}}
            exp_annotations:
              summary: Celery task workers.tasks.publish_outbox fails often
              description: 50% of workers.tasks.publish_outbox runs failed over 10 minutes.
      - eval_time: 10m
        alertname: TodoScrapeTargetDown
        exp_alerts:
          - exp_labels: {{severity: warning, namespace: {NAMESPACE}, job: {RELEASE}-worker-metrics, pod: {RELEASE}-worker-abc}}
            exp_annotations:
              summary: A todo-app metrics endpoint cannot be scraped
              description: {RELEASE}-worker-abc ({RELEASE}-worker-metrics) has not answered Prometheus for 5 minutes.
      - eval_time: 30m
        alertname: TodoPodRestarting
        exp_alerts:
          - exp_labels: {{severity: warning, namespace: {NAMESPACE}, pod: {RELEASE}-worker-abc, container: worker}}
            exp_annotations:
              summary: Pod {RELEASE}-worker-abc restarts repeatedly
              description: Container worker of {RELEASE}-worker-abc restarted 30 times in the last hour.
"""


def test_alerts_fire_on_the_histories_they_describe_promtool_unit_tests(tmp_path, rule_groups):
    promtool = find_tool("promtool")
    if promtool is None:
        tool_missing("promtool", "test_alerts_cover_what_operators_need (structure only; no evaluation)")
    _write_rules(tmp_path, rule_groups)
    tests = tmp_path / "tests.yml"
    tests.write_text(textwrap.dedent(PROMTOOL_TESTS))
    result = subprocess.run([str(promtool), "test", "rules", str(tests)], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


# --------------------------------------------------------------------------- scraping


def test_service_monitor_scrapes_the_ports_the_pods_expose(monitoring_docs):
    (monitor,) = by_kind(monitoring_docs, "ServiceMonitor")
    spec = monitor["spec"]
    assert spec["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    selected = [s for s in by_kind(monitoring_docs, "Service")
                if spec["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
                and all(s["metadata"]["labels"].get(e["key"]) in e["values"]
                        for e in spec["selector"]["matchExpressions"])]
    endpoints = {e["port"]: e for e in spec["endpoints"]}
    assert set(endpoints) == {"internal", "metrics"}  # never the public http port
    for endpoint in spec["endpoints"]:
        assert endpoint["path"] == "/metrics"
        assert re.fullmatch(r"\d+s", endpoint["interval"]) and re.fullmatch(r"\d+s", endpoint["scrapeTimeout"])
    # Which Service each endpoint scrapes (a port of that name), and the pods behind it.
    scraped = {name: [s for s in selected if name in {p["name"] for p in s["spec"]["ports"]}] for name in endpoints}
    assert [s["metadata"]["name"] for s in scraped["internal"]] == [f"{RELEASE}-web-internal"]
    assert [s["metadata"]["name"] for s in scraped["metrics"]] == [f"{RELEASE}-worker-metrics"]
    for name, (service,) in scraped.items():
        port = next(p for p in service["spec"]["ports"] if p["name"] == name)
        component = service["metadata"]["labels"]["app.kubernetes.io/component"]
        deployment = one(monitoring_docs, "Deployment", f"{RELEASE}-{component}")
        container_ports = {p["name"]: p["containerPort"] for p in pod_spec(deployment)["containers"][0]["ports"]}
        assert container_ports[port["targetPort"]] == port["port"]
    # The rules and the dashboard know the web's series as job="<release>-web".
    assert endpoints["internal"]["relabelings"] == [{"targetLabel": "job", "replacement": f"{RELEASE}-web"}]
    public = one(monitoring_docs, "Service", f"{RELEASE}-web")
    assert {p["name"] for p in public["spec"]["ports"]} == {"http"}


def test_rules_and_dashboard_are_shipped_for_the_operator_and_sidecar(monitoring_docs, dashboard):
    (rule,) = by_kind(monitoring_docs, "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    config_map = one(monitoring_docs, "ConfigMap", f"{RELEASE}-dashboard")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    (payload,) = config_map["data"].values()
    assert json.loads(payload) == dashboard


# --------------------------------------------------------------------------- dashboard


def test_dashboard_is_a_well_formed_grafana_dashboard(dashboard):
    assert dashboard["uid"] == "todo-app" and dashboard["title"] and dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["namespace"]["type"] == "query"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip()
            for open_, close in ("()", "[]", "{}"):
                assert target["expr"].count(open_) == target["expr"].count(close), panel["title"]
            if not {"up", "kube_pod_container_status_restarts_total"} & metric_names(target["expr"]) \
                    or "namespace" in target["expr"]:
                assert 'namespace="$namespace"' in target["expr"], panel["title"]


def test_dashboard_shows_every_signal_the_alerts_watch(rule_groups, dashboard):
    alerted = set().union(*(metric_names(rule["expr"]) for rule in alert_rules(rule_groups))) - {"up"}
    shown = set().union(*(metric_names(expr) for expr in dashboard_exprs(dashboard)))
    assert alerted <= shown, alerted - shown


# --------------------------------------------------------------------------- the app really exports them


def exported_metric_names(exposition: str) -> set[str]:
    names = set()
    suffixes = {"counter": ["_total", "_created"], "histogram": ["_bucket", "_count", "_sum", "_created"],
                "summary": ["", "_count", "_sum", "_created"], "gauge": [""], "info": ["_info"],
                "stateset": [""], "gaugehistogram": ["_bucket", "_gcount", "_gsum"], "unknown": [""]}
    for family in text_string_to_metric_families(exposition):
        names.update(family.name + suffix for suffix in suffixes.get(family.type, [""]))
        names.update(sample.name for sample in family.samples)
    return names


@pytest.fixture
def web_exposition(db) -> str:
    """What Prometheus gets from the internal port of a web pod that has served a request (the
    app's collector reads the outbox from the database)."""
    assert Client().get("/healthz").status_code == 200
    status, body = internal_get("/metrics")
    assert status == 200
    return body


def test_web_metrics_endpoint_serves_django_prometheus(web_exposition):
    names = exported_metric_names(web_exposition)
    assert "django_http_requests_total_by_view_transport_method_total" in names
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in names
    # Counted, not only declared: the fixture's GET /healthz is in both (by view and method).
    samples = [sample for family in text_string_to_metric_families(web_exposition) for sample in family.samples
               if sample.labels.get("view") == "healthz" and sample.labels.get("method") == "GET"]
    counted = {sample.name: sample.value for sample in samples
               if sample.name in {"django_http_requests_total_by_view_transport_method_total",
                                  "django_http_requests_latency_seconds_by_view_method_count"}}
    assert counted and all(value >= 1 for value in counted.values()) and len(counted) == 2, counted


def test_every_metric_in_alerts_and_dashboard_is_exported_by_the_app(rule_groups, dashboard, web_exposition):
    """Scrape the web /metrics through Django and read the worker's metrics registry; every metric
    the alerts and the dashboard use must be among them (or come from Prometheus/kube-state-metrics)."""
    referenced = set()
    for rule in alert_rules(rule_groups):
        referenced |= metric_names(rule["expr"])
    for expr in dashboard_exprs(dashboard):
        referenced |= metric_names(expr)
    assert {"todo_outbox_unpublished_events", "todo_kafka_publish_failures_total",
            "django_http_responses_total_by_status_view_method_total"} <= referenced  # the extraction found them

    exported = exported_metric_names(web_exposition)
    # The worker serves its own registry on WORKER_METRICS_PORT; read the same registry here.
    worker_metrics = importlib.import_module("workers.metrics")
    registry = getattr(worker_metrics, "REGISTRY", None) or getattr(worker_metrics, "registry", None) \
        or prometheus_client.REGISTRY
    exported |= exported_metric_names(prometheus_client.generate_latest(registry).decode())

    missing = referenced - exported - set(EXTERNAL_METRICS)
    assert not missing, f"alerts/dashboard use metrics nobody exports: {sorted(missing)}"
