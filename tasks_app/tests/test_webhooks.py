"""Webhooks against a real local HTTP receiver that verifies each delivery with the `standardwebhooks`
library: signing and secret rotation, exactly-once deliveries, retry/backoff/Retry-After, disabling
after repeated failures, the SSRF guard, timeouts and size caps, isolation, and end to end through a
real Celery worker."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tasks_app import services
from tasks_app.models import Notification, OutboxEvent, WebhookDelivery, WebhookEndpoint
from tasks_app.webhooks import network
from tasks_app.webhooks import services as webhooks

Status = WebhookDelivery.Status


class Receiver:
    """An HTTP server on 127.0.0.1 whose paths answer as a test needs; it records what it got."""

    def __init__(self):
        self.received: list[dict] = []
        self.retry_after = "120"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                path = self.path.split("?")[0]
                if path == "/slow":
                    time.sleep(3)
                status = {"/ok": 200, "/fail": 500, "/bad": 400, "/timeout": 408, "/busy": 429, "/slow": 200,
                          "/big": 200, "/redirect": 302}.get(path, 404)
                self.send_response(status)
                if path == "/busy":
                    self.send_header("Retry-After", receiver.retry_after)
                if path == "/redirect":
                    self.send_header("Location", "/ok")
                payload = b"x" * 300_000 if path == "/big" else b"{}"
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender stopped reading (size cap)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def local_webhooks(settings):
    """The receiver is on 127.0.0.1 over http: allowed here, as in development."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_REQUIRE_HTTPS = False
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10


def verify(endpoint_secret: str, request: dict) -> dict:
    return Webhook(endpoint_secret).verify(request["body"], request["headers"])


def make_deliveries() -> None:
    """What the audit job does after commit: audit rows and webhook deliveries of every event so far."""
    services.audit_record_many(event_ids=list(OutboxEvent.objects.values_list("event_id", flat=True)))


def send_due(now=None) -> dict:
    return webhooks.deliveries_send(delivery_ids=webhooks.deliveries_claim_due(now=now, limit=50))


def make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


# --------------------------------------------------------------------------- signing and delivery


@pytest.mark.django_db
def test_a_task_event_reaches_the_endpoint_signed_per_standard_webhooks(alice, alice_api, receiver):
    created = alice_api.post("/api/webhooks", {"url": receiver.url("/ok"), "description": "mine"},
                             content_type="application/json")
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    task = services.task_create(user=alice, title="Hook me", tags=["work"])
    make_deliveries()

    assert send_due() == {"succeeded": 1}
    [request] = receiver.received
    event = verify(secret, request)
    assert (event["type"], event["data"]["task"]["title"], event["subject"]) == ("todo.task.created", "Hook me",
                                                                               str(task.pk))
    assert request["headers"]["webhook-id"] == event["id"]
    assert abs(int(request["headers"]["webhook-timestamp"]) - time.time()) < 60
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(request["body"], request["headers"])

    [delivery] = alice_api.get(f"/api/webhooks/{created.json()['id']}/deliveries").json()
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("succeeded", 1, 200)
    assert delivery["last_response_ms"] is not None and delivery["delivered_at"] is not None
    assert "secret" not in alice_api.get(f"/api/webhooks/{created.json()['id']}").json()


@pytest.mark.django_db
def test_each_event_is_delivered_once_and_only_the_chosen_types(alice, receiver):
    everything = webhooks.webhook_create(user=alice, url=receiver.url("/ok"))
    completions = webhooks.webhook_create(user=alice, url=receiver.url("/ok?only=completed"),
                                          event_types=["todo.task.completed"])
    task = services.task_create(user=alice, title="Once")
    services.task_complete(task=task)
    make_deliveries()
    make_deliveries()  # a redelivered audit job, a sweep: nothing twice
    assert WebhookDelivery.objects.filter(endpoint=everything).count() == 2
    assert list(WebhookDelivery.objects.filter(endpoint=completions).values_list("event_type", flat=True)) == [
        "todo.task.completed"]
    send_due()
    send_due()
    assert len(receiver.received) == 3
    assert sorted(json.loads(r["body"])["type"] for r in receiver.received) == [
        "todo.task.completed", "todo.task.completed", "todo.task.created"]


@pytest.mark.django_db
def test_another_users_events_never_reach_my_endpoint(alice, bob, receiver):
    webhooks.webhook_create(user=alice, url=receiver.url("/ok"))
    services.task_create(user=bob, title="bob's")
    make_deliveries()
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_after_rotation_both_secrets_verify_until_the_overlap_ends(alice, alice_api, receiver, settings):
    endpoint = webhooks.webhook_create(user=alice, url=receiver.url("/ok"))
    old_secret = endpoint.secret
    rotated = alice_api.post(f"/api/webhooks/{endpoint.pk}/rotate-secret")
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != old_secret
    services.task_create(user=alice, title="Rotated")
    make_deliveries()
    send_due()
    verify(old_secret, receiver.received[0])  # a receiver not yet switched over
    verify(new_secret, receiver.received[0])  # one already switched

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
    services.task_create(user=alice, title="After the overlap")
    make_deliveries()
    send_due()
    verify(new_secret, receiver.received[1])
    with pytest.raises(WebhookVerificationError):
        verify(old_secret, receiver.received[1])


# --------------------------------------------------------------------------- failures and retries


@pytest.mark.django_db
def test_server_errors_are_retried_with_growing_jittered_backoff_then_given_up(alice, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    webhooks.webhook_create(user=alice, url=receiver.url("/fail"))
    services.task_create(user=alice, title="Flaky")
    make_deliveries()
    delivery = WebhookDelivery.objects.get()
    delays = []
    for attempt in (1, 2):
        before = timezone.now()
        send_due()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.PENDING, attempt, 500)
        delays.append((delivery.next_attempt_at - before).total_seconds())
        assert send_due() == {}  # not due yet: nothing is sent early
        make_due(delivery)
    assert 5 - 1 <= delays[0] <= 10 + 1 and 10 - 1 <= delays[1] <= 20 + 1  # base·2^(n-1), half of it jittered
    send_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (Status.FAILED, 3, "HTTP 500")
    assert len(receiver.received) == 3


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "retried"), [("/bad", False), ("/redirect", False), ("/timeout", True),
                                               ("/busy", True)])
def test_client_errors_are_not_retried_except_408_and_429(alice, receiver, path, retried):
    webhooks.webhook_create(user=alice, url=receiver.url(path))
    services.task_create(user=alice, title="4xx")
    make_deliveries()
    send_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == (Status.PENDING if retried else Status.FAILED)
    assert [r["path"] for r in receiver.received] == [path]  # a redirect is not followed


@pytest.mark.django_db
def test_retry_after_is_honoured(alice, receiver):
    webhooks.webhook_create(user=alice, url=receiver.url("/busy"))
    services.task_create(user=alice, title="Busy")
    make_deliveries()
    before = timezone.now()
    send_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.next_attempt_at - before >= timedelta(seconds=119)

    receiver.retry_after = (timezone.now() + timedelta(minutes=10)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    make_due(delivery)
    before = timezone.now()
    send_due()
    delivery.refresh_from_db()
    assert delivery.next_attempt_at - before >= timedelta(seconds=590)


@pytest.mark.django_db
def test_an_endpoint_failing_again_and_again_is_disabled_and_its_owner_told_once(alice, alice_api, receiver,
                                                                                 settings):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    endpoint = webhooks.webhook_create(user=alice, url=receiver.url("/bad"))
    for number in range(4):
        services.task_create(user=alice, title=f"Task {number}")
    make_deliveries()
    send_due()
    endpoint.refresh_from_db()
    assert endpoint.is_active is False and "disabled after 3 failed deliveries" in endpoint.disabled_reason
    [note] = Notification.objects.filter(user=alice, kind=Notification.Kind.WEBHOOK_DISABLED)
    assert receiver.url("/bad") in note.message
    assert len(receiver.received) == 4  # sent side by side in one run; the endpoint is off after it

    services.task_create(user=alice, title="While off")
    make_deliveries()
    assert not WebhookDelivery.objects.filter(endpoint=endpoint, payload__data__task__title="While off").exists()

    # Turned on again (at a working URL): counting starts over, and a success keeps it at zero.
    answer = alice_api.patch(f"/api/webhooks/{endpoint.pk}", {"is_active": True, "url": receiver.url("/ok")},
                             content_type="application/json")
    assert answer.status_code == 200 and answer.json()["consecutive_failures"] == 0
    failed = WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.FAILED).first()
    redone = alice_api.post(f"/api/webhooks/deliveries/{failed.pk}/redeliver")
    assert redone.status_code == 200 and redone.json()["status"] == "pending"
    send_due()
    failed.refresh_from_db()
    assert failed.status == Status.SUCCEEDED and failed.attempts == 1
    assert Notification.objects.filter(kind=Notification.Kind.WEBHOOK_DISABLED).count() == 1


@pytest.mark.django_db
def test_a_slow_or_oversized_answer_is_cut_off(alice, receiver, settings):
    settings.WEBHOOK_READ_TIMEOUT = 1
    settings.WEBHOOK_MAX_RESPONSE_BYTES = 64 * 1024
    slow = network.post(receiver.url("/slow"), b"{}", {})
    assert slow.status is None and "Timeout" in slow.error and slow.elapsed_ms < 2900
    big = network.post(receiver.url("/big"), b"{}", {})
    assert big.status is None and f"larger than {64 * 1024} bytes" in big.error


@pytest.mark.django_db
def test_one_users_busy_endpoint_does_not_hold_back_another_users(alice, bob, receiver, settings):
    settings.WEBHOOK_MAX_PER_ENDPOINT_PER_RUN = 2
    webhooks.webhook_create(user=alice, url=receiver.url("/ok?alice"))
    webhooks.webhook_create(user=bob, url=receiver.url("/ok?bob"))
    for number in range(10):
        services.task_create(user=alice, title=f"alice {number}")
    services.task_create(user=bob, title="bob's one")
    make_deliveries()
    claimed = WebhookDelivery.objects.filter(pk__in=webhooks.deliveries_claim_due(limit=50))
    assert sorted(claimed.values_list("endpoint__user__username", flat=True)) == ["alice", "alice", "bob"]
    # Leased: a second worker claims the others, never the same ones.
    again = set(webhooks.deliveries_claim_due(limit=50))
    assert again and not again & set(claimed.values_list("pk", flat=True))


# --------------------------------------------------------------------------- the SSRF guard and input


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://127.0.0.1/hook", "https://10.1.2.3/", "https://169.254.169.254/latest",
                                 "https://[::1]:8443/", "https://localhost/hook", "https://[::ffff:127.0.0.1]/",
                                 "https://192.168.0.10/", "https://0.0.0.0/"])
def test_private_and_loopback_addresses_are_refused_in_production(alice_api, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    answer = alice_api.post("/api/webhooks", {"url": url}, content_type="application/json")
    assert answer.status_code == 422
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_a_host_name_that_resolves_to_loopback_is_refused_when_sending(receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    port = receiver.server.server_port
    # "localhost" is refused by name when registering; here the check at send time is on its own,
    # as for a public name whose DNS answer changed to 127.0.0.1 after it was registered.
    answer = network.post(f"http://localhost:{port}/ok", b"{}", {})
    assert answer.status is None and "private, loopback or reserved address" in answer.error
    assert receiver.received == []


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "problem"), [
    ({"url": "ftp://example.com/x"}, "must start with"),
    ({"url": "https://user:pw@example.com/x"}, "user name or password"),
    ({"url": "https:///nohost"}, "must name a host"),
    ({"url": "https://example.com/x", "event_types": ["todo.task.exploded"]}, "unknown event type"),
    ({"url": "https://example.com/" + "x" * 2001}, "url"),
    ({"url": "https://example.com/\x00"}, "url"),
])
def test_bad_webhook_input_is_a_422_naming_it(alice_api, body, problem):
    answer = alice_api.post("/api/webhooks", body, content_type="application/json")
    assert answer.status_code == 422
    assert problem in json.dumps(answer.json())


@pytest.mark.django_db
def test_https_is_required_unless_development_allows_http(alice_api, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    answer = alice_api.post("/api/webhooks", {"url": "http://example.com/hook"}, content_type="application/json")
    assert answer.status_code == 422 and "https://" in json.dumps(answer.json())


@pytest.mark.django_db
def test_webhooks_per_user_are_limited(alice_api, settings):
    settings.QUOTA_WEBHOOKS_PER_USER = 1
    assert alice_api.post("/api/webhooks", {"url": "https://example.com/a"},
                          content_type="application/json").status_code == 201
    second = alice_api.post("/api/webhooks", {"url": "https://example.com/b"}, content_type="application/json")
    assert second.status_code == 403 and "webhooks per user" in second.json()["detail"]


@pytest.mark.django_db
def test_users_cannot_see_or_touch_each_others_webhooks(alice, bob_api, receiver):
    endpoint = webhooks.webhook_create(user=alice, url=receiver.url("/ok"))
    services.task_create(user=alice, title="private")
    make_deliveries()
    delivery = WebhookDelivery.objects.get()
    assert bob_api.get("/api/webhooks").json() == []
    for method, path in [("get", f"/api/webhooks/{endpoint.pk}"), ("patch", f"/api/webhooks/{endpoint.pk}"),
                         ("delete", f"/api/webhooks/{endpoint.pk}"),
                         ("post", f"/api/webhooks/{endpoint.pk}/rotate-secret"),
                         ("get", f"/api/webhooks/{endpoint.pk}/deliveries"),
                         ("post", f"/api/webhooks/deliveries/{delivery.pk}/redeliver")]:
        answer = getattr(bob_api, method)(path, {} if method == "patch" else None, content_type="application/json")
        assert answer.status_code == 404, (method, path)
    endpoint.refresh_from_db()
    assert endpoint.is_active and WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


# --------------------------------------------------------------------------- end to end


@pytest.mark.django_db(transaction=True)
def test_a_change_through_the_api_is_delivered_by_the_worker(alice, alice_api, receiver, celery_worker_process):
    secret = alice_api.post("/api/webhooks", {"url": receiver.url("/ok")},
                            content_type="application/json").json()["secret"]
    created = alice_api.post("/api/tasks", {"title": "Through the worker"}, content_type="application/json")
    assert created.status_code == 201
    deadline = time.monotonic() + 30
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert receiver.received, "the worker delivered nothing within 30 s"
    event = verify(secret, receiver.received[0])
    assert (event["type"], event["data"]["task"]["id"]) == ("todo.task.created", created.json()["id"])
    connection.close()


@pytest.mark.django_db
def test_finished_deliveries_are_pruned_after_their_retention_window(alice, receiver, settings):
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    webhooks.webhook_create(user=alice, url=receiver.url("/ok"))
    services.task_create(user=alice, title="Old")
    services.task_create(user=alice, title="Old but still pending")
    make_deliveries()
    send_due()  # both succeed
    old = timezone.now() - timedelta(days=31)
    WebhookDelivery.objects.update(created_at=old)
    pending = WebhookDelivery.objects.filter(payload__data__task__title="Old but still pending")
    pending.update(status=Status.PENDING)
    pruned = services.retention_prune()
    assert pruned["webhook_deliveries"] == 1
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == [Status.PENDING]


@pytest.mark.django_db
def test_the_settings_page_adds_rotates_turns_off_and_deletes_webhooks(alice, bob, client, receiver):
    client.force_login(alice)
    added = client.post("/settings/webhooks", {"url": receiver.url("/ok"), "event_types": ["todo.task.created"]},
                        follow=True)
    endpoint = WebhookEndpoint.objects.get(user=alice)
    assert endpoint.event_types == ["todo.task.created"]
    assert f"Its signing secret (shown once): {endpoint.secret}".encode() in added.content
    refused = client.post("/settings/webhooks", {"url": "ftp://nope"}, follow=True)
    assert b"Webhook: url: must start with" in refused.content and WebhookEndpoint.objects.count() == 1

    services.task_create(user=alice, title="Shown in the log")
    make_deliveries()
    send_due()
    page = client.get("/settings/")
    assert b"todo.task.created" in page.content and b"succeeded" in page.content

    old = endpoint.secret
    client.post(f"/settings/webhooks/{endpoint.pk}/rotate")
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    client.post(f"/settings/webhooks/{endpoint.pk}/toggle", {"is_active": "off"})
    endpoint.refresh_from_db()
    assert endpoint.is_active is False

    client.force_login(bob)
    assert client.post(f"/settings/webhooks/{endpoint.pk}/delete").status_code == 404
    client.force_login(alice)
    client.post(f"/settings/webhooks/{endpoint.pk}/delete")
    assert not WebhookEndpoint.objects.exists()
