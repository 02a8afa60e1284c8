"""Reminders by email, against a real SMTP server (aiosmtpd) on 127.0.0.1: the message itself (recipient,
subject, the task's title, escaped HTML), retries with backoff while the server refuses or is down, a final
failure after the last attempt, a refused address failing at once, two senders never sending one delivery
twice, the preference (off: no delivery row), the log through the API (yours only), the settings page and
the admin, and end to end through a real Celery worker."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone

from devstack.servers import free_port
from tasks_app import services
from tasks_app.models import Notification, NotificationDelivery, Task
from todo_project import email_url

Status = NotificationDelivery.Status
HOSTILE_TITLE = 'Pay <b>rent</b> & "bills" <script>alert(1)</script>'


class SmtpHandler:
    """What the server answers: accept everything, or refuse the data (4xx/5xx) or the recipient."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []
        self.data_reply: str | None = None
        self.rcpt_reply: str | None = None
        self.received = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd hook)
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook)
        if self.data_reply:
            return self.data_reply
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.received.set()
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    handler = SmtpHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def mail_settings(settings, smtp_server):
    """Django's SMTP backend pointed at the test server, as EMAIL_URL=smtp://127.0.0.1:PORT sets it."""
    for name, value in email_url.parse(f"smtp://127.0.0.1:{smtp_server.port}").items():
        setattr(settings, name, value)
    settings.EMAIL_ENABLED = True
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "Todo reminders <todo@example.test>"
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 30
    settings.NOTIFICATION_RETRY_MAX_SECONDS = 3600
    return settings


def wants_email(user, address="ann@example.test"):
    services.profile_update(user=user, email=address, email_reminders=True)
    return get_user_model().objects.get(pk=user.pk)


def reminder_due_now(user, title="Call Sam") -> Task:
    return services.task_create(user=user, title=title, due_at=timezone.now() + timedelta(minutes=30),
                                reminder_minutes_before=30)


def send_due(now=None) -> dict[str, int]:
    """What workers.deliver_notifications does in one round: claim, then send each."""
    outcome: dict[str, int] = {}
    for delivery_id in services.deliveries_claim_due(now=now, limit=50):
        status = services.delivery_send(delivery_id=delivery_id)
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


# --------------------------------------------------------------------------- the message


@pytest.mark.django_db
def test_a_due_reminder_reaches_the_smtp_server_once_with_the_title_and_no_html_injection(alice, mail_settings,
                                                                                         smtp_server):
    alice = wants_email(alice)
    reminder_due_now(alice, title=HOSTILE_TITLE)
    [notification] = services.reminders_claim_due()
    [delivery] = NotificationDelivery.objects.filter(notification=notification)
    assert (delivery.channel, delivery.status, delivery.user_id) == ("email", "pending", alice.pk)

    assert send_due() == {"sent": 1}
    assert send_due() == {}, "sent once: nothing left to send"

    [message] = smtp_server.messages
    assert smtp_server.envelopes[0].rcpt_tos == ["ann@example.test"]
    assert message["To"] == "ann@example.test"
    assert message["From"] == "Todo reminders <todo@example.test>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert HOSTILE_TITLE in message["Subject"]
    assert "\n" not in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert HOSTILE_TITLE in text
    assert "<script>" not in html and "<b>rent</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;rent&lt;/b&gt;" in html
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, "")
    assert delivery.sent_at is not None and delivery.next_attempt_at is None


@pytest.mark.django_db
def test_the_due_time_is_written_in_the_users_own_zone(alice, mail_settings, smtp_server):
    alice = wants_email(alice)
    services.profile_update(user=alice, timezone="Asia/Tokyo")
    task = reminder_due_now(alice)
    services.reminders_claim_due()
    send_due()
    local = task.due_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert f"{local:%H:%M} (Asia/Tokyo)" in smtp_server.messages[0].get_body(("plain",)).get_content()


# --------------------------------------------------------------------------- failures and retries


@pytest.mark.django_db
def test_a_server_that_is_down_is_retried_with_growing_waits_then_the_delivery_fails(alice, mail_settings):
    mail_settings.EMAIL_PORT = free_port()  # nothing listens there: connection refused
    alice = wants_email(alice)
    reminder_due_now(alice)
    services.reminders_claim_due()
    delivery = NotificationDelivery.objects.get(user=alice)

    waits = []
    for attempt in (1, 2):
        before = timezone.now()
        assert send_due(now=delivery.next_attempt_at) == {"pending": 1}
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("pending", attempt)
        assert "refused" in delivery.last_error.lower(), delivery.last_error
        waits.append((delivery.next_attempt_at - before).total_seconds())
        assert send_due() == {}, "not tried again before its backoff"
    # Base 30 s doubled per attempt, half of it random: 15–30 s, then 30–60 s.
    assert 15 <= waits[0] <= 31 and 30 <= waits[1] <= 61

    assert send_due(now=delivery.next_attempt_at) == {"failed": 1}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    assert "refused" in delivery.last_error.lower()
    assert send_due(now=timezone.now() + timedelta(days=1)) == {}, "a failed delivery is never tried again"


@pytest.mark.django_db
def test_a_server_answering_4xx_is_retried_and_the_message_goes_out_when_it_accepts(alice, mail_settings,
                                                                                    smtp_server):
    alice = wants_email(alice)
    reminder_due_now(alice)
    services.reminders_claim_due()
    smtp_server.data_reply = "451 4.3.0 Mail server temporarily rejected message"

    assert send_due() == {"pending": 1}
    delivery = NotificationDelivery.objects.get(user=alice)
    assert delivery.last_error.startswith("SMTP 451") and delivery.attempts == 1

    smtp_server.data_reply = None
    assert send_due(now=delivery.next_attempt_at) == {"sent": 1}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db
def test_a_refused_address_fails_at_once_without_retries(alice, mail_settings, smtp_server):
    alice = wants_email(alice)
    reminder_due_now(alice)
    services.reminders_claim_due()
    smtp_server.rcpt_reply = "550 5.1.1 No such user here"

    assert send_due() == {"failed": 1}
    delivery = NotificationDelivery.objects.get(user=alice)
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "550" in delivery.last_error and "No such user" in delivery.last_error
    assert smtp_server.messages == []


@pytest.mark.django_db
def test_a_delivery_left_sending_by_a_dead_worker_is_given_up_not_sent_again(alice, mail_settings, smtp_server):
    alice = wants_email(alice)
    reminder_due_now(alice)
    services.reminders_claim_due()
    assert len(services.deliveries_claim_due()) == 1  # a worker claims it, then dies before sending

    later = timezone.now() + timedelta(seconds=mail_settings.NOTIFICATION_SENDING_LEASE_SECONDS + 1)
    assert services.deliveries_claim_due(now=later) == []
    delivery = NotificationDelivery.objects.get(user=alice)
    assert delivery.status == "failed" and "may have gone out" in delivery.last_error
    assert smtp_server.messages == []


# --------------------------------------------------------------------------- never twice


@pytest.mark.django_db(transaction=True)
def test_two_senders_racing_never_send_one_delivery_twice(alice, mail_settings, smtp_server):
    alice = wants_email(alice)
    for number in range(30):
        reminder_due_now(alice, title=f"Reminder {number}")
    services.reminders_claim_due()
    assert NotificationDelivery.objects.filter(status=Status.PENDING).count() == 30

    start = threading.Barrier(2)
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    errors = []

    def sender(name):
        try:
            start.wait()
            while ids := services.deliveries_claim_due(limit=2):
                claimed[name].extend(ids)
                for delivery_id in ids:
                    services.delivery_send(delivery_id=delivery_id)
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender, args=(name,)) for name in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    assert not set(claimed["a"]) & set(claimed["b"]), "no delivery claimed by both"
    assert len(claimed["a"]) + len(claimed["b"]) == 30
    assert len(smtp_server.messages) == 30
    assert len({message["Message-ID"] for message in smtp_server.messages}) == 30
    assert sorted(message["Subject"] for message in smtp_server.messages) == sorted(
        f"Reminder: Reminder {number} is due in 30 min" for number in range(30))
    assert set(NotificationDelivery.objects.values_list("status", "attempts")) == {("sent", 1)}


@pytest.mark.django_db
def test_a_notice_has_at_most_one_delivery_per_channel(alice, mail_settings):
    from django.db import IntegrityError, transaction

    alice = wants_email(alice)
    reminder_due_now(alice)
    [notification] = services.reminders_claim_due()
    assert services.deliveries_create(notifications=[notification]) == 1  # ignored: already there
    assert NotificationDelivery.objects.filter(notification=notification).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        NotificationDelivery.objects.create(notification=notification, user=alice, channel="email",
                                            next_attempt_at=timezone.now())


@pytest.mark.django_db
def test_queuing_deliveries_costs_the_same_few_queries_for_one_user_or_many(mail_settings, django_user_model):
    from django.test.utils import CaptureQueriesContext

    def queued_queries(count: int, prefix: str) -> int:
        notifications = []
        for number in range(count):
            user = wants_email(django_user_model.objects.create_user(f"{prefix}{number}"), f"{prefix}{number}@x.test")
            notifications.append(Notification.objects.create(user=user, message="Reminder: x"))
        with CaptureQueriesContext(connection) as queries:
            assert services.deliveries_create(notifications=notifications) == count
        return len(queries)

    assert queued_queries(1, "one") == queued_queries(25, "many") == 2  # the users with profiles; one INSERT


# --------------------------------------------------------------------------- preferences


@pytest.mark.django_db
def test_a_user_with_email_reminders_off_gets_no_delivery_row(alice, bob, mail_settings):
    services.profile_update(user=bob, email="bob@example.test")  # an address, but reminders by email off
    reminder_due_now(bob)
    reminder_due_now(alice)  # no address, nothing turned on
    notifications = services.reminders_claim_due()
    assert len(notifications) == 2
    assert NotificationDelivery.objects.count() == 0


@pytest.mark.django_db
def test_email_reminders_are_off_by_default_and_need_an_address(alice_api, mail_settings):
    me = alice_api.get("/api/me").json()
    assert me["email"] == "" and me["profile"]["email_reminders"] is False

    refused = alice_api.patch("/api/me", {"email_reminders": True}, content_type="application/json")
    assert refused.status_code == 422 and "email_reminders" in refused.content.decode()
    bad = alice_api.patch("/api/me", {"email": "not an address"}, content_type="application/json")
    assert bad.status_code == 422 and "email" in bad.content.decode()

    on = alice_api.patch("/api/me", {"email": "ann@example.test", "email_reminders": True},
                         content_type="application/json")
    assert on.status_code == 200, on.content
    assert (on.json()["email"], on.json()["profile"]["email_reminders"]) == ("ann@example.test", True)
    cleared = alice_api.patch("/api/me", {"email": ""}, content_type="application/json")
    assert cleared.status_code == 422, "the address cannot go while email reminders are on"
    off = alice_api.patch("/api/me", {"email": None, "email_reminders": False}, content_type="application/json")
    assert off.status_code == 200 and off.json()["email"] == ""


@pytest.mark.django_db
def test_a_server_without_email_refuses_to_turn_email_reminders_on(alice_api, settings):
    settings.EMAIL_ENABLED = False
    answer = alice_api.patch("/api/me", {"email": "ann@example.test", "email_reminders": True},
                             content_type="application/json")
    assert answer.status_code == 422 and "does not send email" in answer.content.decode()


# --------------------------------------------------------------------------- the log


@pytest.mark.django_db
def test_the_delivery_log_lists_your_deliveries_only(alice, bob, alice_api, bob_api, mail_settings):
    alice, bob = wants_email(alice), wants_email(bob, "bob@example.test")
    reminder_due_now(alice, title="Alice's secret")
    reminder_due_now(bob, title="Bob's thing")
    services.reminders_claim_due()
    send_due()

    [mine] = alice_api.get("/api/notifications/deliveries").json()
    assert (mine["channel"], mine["status"], mine["attempts"]) == ("email", "sent", 1)
    assert "Alice's secret" in mine["message"] and mine["sent_at"]
    alice_notification = mine["notification_id"]

    bobs = bob_api.get("/api/notifications/deliveries").json()
    assert [entry["message"] for entry in bobs] == ["Reminder: Bob's thing is due in 30 min"]
    assert bob_api.get(f"/api/notifications/deliveries?notification_id={alice_notification}").json() == []
    assert alice_api.get("/api/notifications/deliveries?status=failed").json() == []
    assert len(alice_api.get("/api/notifications/deliveries?channel=email&status=sent").json()) == 1


@pytest.mark.django_db
def test_the_delivery_log_refuses_bad_filters_by_name(alice_api):
    for query in ("status=lost", "channel=fax", "limit=0", "limit=100000", "notification_id=-1"):
        answer = alice_api.get(f"/api/notifications/deliveries?{query}")
        assert answer.status_code == 422, query
        assert answer["Content-Type"].startswith("application/problem+json")


@pytest.mark.django_db
def test_the_settings_page_turns_email_on_and_shows_recent_deliveries(client, alice, mail_settings):
    mail_settings.EMAIL_PORT = free_port()  # down: the log shows the error
    client.force_login(alice)
    saved = client.post("/settings/preferences", {"timezone": "UTC", "default_reminder_minutes": "60",
                                                  "week_start": "1", "email": "ann@example.test",
                                                  "email_reminders": "on"}, follow=True)
    assert saved.status_code == 200
    alice = get_user_model().objects.get(pk=alice.pk)
    assert alice.email == "ann@example.test" and alice.profile.email_reminders is True
    reminder_due_now(alice, title="<i>Water</i> plants")
    services.reminders_claim_due()
    send_due()

    page = client.get("/settings/").content.decode()
    assert "Reminder deliveries" in page and 'name="email_reminders" type="checkbox" checked' in page
    assert "&lt;i&gt;Water&lt;/i&gt; plants" in page and "<i>Water</i>" not in page
    assert "pending" in page and "refused" in page.lower()

    refused = client.post("/settings/preferences", {"timezone": "UTC", "week_start": "1", "email": "",
                                                    "email_reminders": "on"})
    assert refused.status_code == 422 and "email reminders" in refused.content.decode()


@pytest.mark.django_db
def test_the_admin_lists_deliveries_read_only_with_status_and_channel_filters(client, alice, mail_settings,
                                                                              smtp_server):
    operator = get_user_model().objects.create_superuser("operator", "op@example.com", "op-Password-1")
    client.force_login(operator)
    alice = wants_email(alice)
    reminder_due_now(alice)
    services.reminders_claim_due()
    smtp_server.rcpt_reply = "550 5.1.1 No such user here"
    send_due()
    delivery = NotificationDelivery.objects.get()

    listing = client.get("/admin/tasks_app/notificationdelivery/")
    assert listing.status_code == 200 and b"No such user" in listing.content
    assert b"alice" in client.get("/admin/tasks_app/notificationdelivery/?status__exact=failed").content
    assert b"alice" not in client.get("/admin/tasks_app/notificationdelivery/?status__exact=sent").content
    assert client.get("/admin/tasks_app/notificationdelivery/?channel__exact=email").status_code == 200
    assert client.get("/admin/tasks_app/notificationdelivery/add/").status_code == 403
    change = client.post(f"/admin/tasks_app/notificationdelivery/{delivery.pk}/change/", {"status": "sent"})
    assert change.status_code in (200, 403)
    delivery.refresh_from_db()
    assert delivery.status == "failed", "read-only: the post changed nothing"


# --------------------------------------------------------------------------- EMAIL_URL


def test_email_url_reads_each_scheme_and_refuses_what_it_cannot_honour():
    assert email_url.parse("smtp+tls://ann%40corp:p%40ss@mail.example.com") == {
        "EMAIL_BACKEND": email_url.SMTP_BACKEND, "EMAIL_HOST": "mail.example.com", "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "ann@corp", "EMAIL_HOST_PASSWORD": "p@ss", "EMAIL_USE_TLS": True, "EMAIL_USE_SSL": False}
    assert email_url.parse("smtps://mail.example.com")["EMAIL_PORT"] == 465
    assert email_url.parse("smtp://127.0.0.1:1025")["EMAIL_PORT"] == 1025
    assert email_url.parse("file:///var/mail/todo") == {"EMAIL_BACKEND": email_url.BACKENDS["file"],
                                                        "EMAIL_FILE_PATH": "/var/mail/todo"}
    assert email_url.parse("console://")["EMAIL_BACKEND"].endswith("console.EmailBackend")
    for bad in ("smtp://", "imap://mail.example.com", "file://relative/mail", "smtp://h?tls=true",
                "smtp://h:notaport"):
        with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
            email_url.parse(bad)


@pytest.mark.django_db
def test_the_development_mailbox_keeps_each_reminder_as_a_file(alice, settings, tmp_path):
    """`make run` without EMAIL_URL: the file backend writes into .data/mail (here a temporary folder)."""
    for name, value in email_url.parse(f"file://{tmp_path / 'mail'}").items():
        setattr(settings, name, value)
    settings.EMAIL_ENABLED = True
    alice = wants_email(alice)
    reminder_due_now(alice, title="Read me in the mailbox")
    services.reminders_claim_due()

    assert send_due() == {"sent": 1}
    [saved] = (tmp_path / "mail").iterdir()
    content = saved.read_text()
    assert "To: ann@example.test" in content and "Read me in the mailbox" in content


# --------------------------------------------------------------------------- end to end


def test_a_reminder_is_emailed_by_a_real_celery_worker_after_the_claim_commits(celery_processes, smtp_server,
                                                                                alice):
    celery_processes.worker(env={"EMAIL_URL": f"smtp://127.0.0.1:{smtp_server.port}",
                                 "DEFAULT_FROM_EMAIL": "todo@example.test"})
    services.profile_update(user=alice, email="ann@example.test", email_reminders=True)
    reminder_due_now(alice, title="Worker-sent")
    [notification] = services.reminders_claim_due()  # commits: the kick goes to the worker

    assert smtp_server.received.wait(timeout=60), "the worker sent no email"
    assert "Worker-sent" in smtp_server.messages[0]["Subject"]
    deadline = time.monotonic() + 30
    while NotificationDelivery.objects.get(notification=notification).status != Status.SENT:
        assert time.monotonic() < deadline, "the delivery was not recorded as sent"
        time.sleep(0.1)
    assert Notification.objects.filter(user=alice).count() == 1
