"""Web Push against a real push service on 127.0.0.1: the message carries a valid VAPID JWT for the
endpoint's origin and decrypts (RFC 8291, http_ece) to the reminder; the push service's answers
decide what happens to the subscription and whether the channel retries; the SSRF guard."""

from types import SimpleNamespace

import pytest
from django.utils import timezone

from tasks_app import services
from tasks_app.channels import push as push_channel
from tasks_app.channels.base import ChannelError
from tasks_app.models import Notification, PushSubscription
from tasks_app.push import services as push
from tasks_app.push import vapid

from .push_service import Browser, PushService


@pytest.fixture
def push_service():
    service = PushService()
    yield service
    service.close()


@pytest.fixture(autouse=True)
def local_push_service(settings):
    """The push service is on 127.0.0.1 over http: allowed only with this test-and-development switch."""
    settings.PUSH_ALLOW_LOOPBACK = True


def subscribe(user, browser: Browser, endpoint: str) -> PushSubscription:
    data = browser.subscription_json(endpoint)
    subscription, _ = push.push_subscription_save(user=user, endpoint=data["endpoint"], keys=data["keys"])
    return subscription


def reminder_for(user, title="Call the dentist") -> Notification:
    task = services.task_create(user=user, title=title, due_at=timezone.now() + timezone.timedelta(hours=1))
    return Notification.objects.create(user=user, task=task, message=f"Reminder: {title} is due in an hour",
                                       due_at=task.due_at)


def delivery_of(notification: Notification):
    """What the delivery log hands a channel: only `.user` and `.notification` are read."""
    return SimpleNamespace(pk=1, user=notification.user, notification=notification)


@pytest.mark.django_db
def test_a_reminder_reaches_the_push_service_signed_and_decrypts_to_the_task(alice, push_service):
    browser = Browser()
    subscription = subscribe(alice, browser, push_service.endpoint("/ok"))
    notification = reminder_for(alice, "Call the dentist")

    assert push_channel.wanted(alice)
    push_channel.deliver(delivery_of(notification))

    [request] = push_service.received
    payload = browser.read(request, server_public_key=vapid.public_key(), audience=push_service.origin)
    assert "Call the dentist" in payload["body"]
    assert (payload["notification_id"], payload["task_id"]) == (notification.pk, notification.task_id)
    assert payload["tag"] == f"notification-{notification.pk}"
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["topic"] == f"notification-{notification.pk}"
    assert headers["urgency"] == "high"
    subscription.refresh_from_db()
    assert subscription.last_success_at is not None


@pytest.mark.django_db
def test_each_browser_of_the_user_gets_its_own_decryptable_copy(alice, bob, push_service):
    phone, laptop, bobs = Browser(), Browser(), Browser()
    subscribe(alice, phone, push_service.endpoint("/ok"))
    subscribe(alice, laptop, push_service.endpoint("/ok"))
    subscribe(bob, bobs, push_service.endpoint("/ok"))

    results = push.push_send_to_user(user=alice, payload={"body": "Water the plants"})

    assert [result.delivered for result in results] == [True, True]
    assert len(push_service.received) == 2  # bob's browser got nothing
    bodies = {request["path"]: request for request in push_service.received}
    for browser, subscription in ((phone, alice.push_subscriptions.all()[0]), (laptop, alice.push_subscriptions.all()[1])):
        request = bodies[subscription.endpoint.removeprefix(push_service.origin)]
        assert browser.read(request, server_public_key=vapid.public_key(),
                            audience=push_service.origin)["body"] == "Water the plants"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/gone", "/missing"])
def test_a_subscription_the_push_service_calls_gone_is_removed_and_not_retried(alice, push_service, path):
    subscribe(alice, Browser(), push_service.endpoint(path))

    with pytest.raises(ChannelError) as failure:
        push_channel.deliver(delivery_of(reminder_for(alice)))

    assert failure.value.retryable is False
    assert "removed" in str(failure.value)
    assert not PushSubscription.objects.filter(user=alice).exists()
    assert not push_channel.wanted(alice)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/fail", "/busy"])
def test_a_push_service_error_or_rate_limit_is_retryable_and_keeps_the_subscription(alice, push_service, path):
    subscribe(alice, Browser(), push_service.endpoint(path))

    with pytest.raises(ChannelError) as failure:
        push_channel.deliver(delivery_of(reminder_for(alice)))

    assert failure.value.retryable is True
    assert "answered" in str(failure.value)
    assert PushSubscription.objects.filter(user=alice).count() == 1


@pytest.mark.django_db
def test_a_refused_request_is_final(alice, push_service):
    subscribe(alice, Browser(), push_service.endpoint("/bad"))

    with pytest.raises(ChannelError) as failure:
        push_channel.deliver(delivery_of(reminder_for(alice)))

    assert failure.value.retryable is False
    assert "400" in str(failure.value)


@pytest.mark.django_db
def test_one_browser_accepting_is_a_delivery_and_the_gone_one_is_dropped(alice, push_service):
    subscribe(alice, Browser(), push_service.endpoint("/gone"))
    kept = subscribe(alice, Browser(), push_service.endpoint("/ok"))

    push_channel.deliver(delivery_of(reminder_for(alice)))

    assert list(PushSubscription.objects.filter(user=alice)) == [kept]


@pytest.mark.django_db
def test_no_answer_from_the_push_service_is_retryable(alice, push_service):
    subscription = subscribe(alice, Browser(), push_service.endpoint("/ok"))
    push_service.close()  # nothing listens on that port any more: connection refused

    [result] = push.push_send(subscriptions=[subscription], payload={"body": "x"})

    assert (result.delivered, result.retryable, result.status) == (False, True, None)


@pytest.mark.django_db
def test_a_user_without_subscriptions_does_not_want_push(alice):
    assert not push_channel.wanted(alice)
    with pytest.raises(ChannelError) as failure:
        push_channel.deliver(delivery_of(reminder_for(alice)))
    assert failure.value.retryable is False


@pytest.mark.django_db
def test_an_endpoint_resolving_to_an_internal_address_is_never_posted_to(alice, push_service, settings):
    """A row that slipped past the endpoint check (or a name whose DNS changed since) is refused when
    sending: every address the host resolves to must be public."""
    settings.PUSH_ALLOW_LOOPBACK = False
    data = Browser().subscription_json(f"https://localhost:{push_service.server.server_port}/ok/x")
    subscription = PushSubscription.objects.create(user=alice, endpoint=data["endpoint"], **data["keys"])

    [result] = push.push_send(subscriptions=[subscription], payload={"body": "x"})

    assert (result.delivered, result.retryable) == (False, False)
    assert "refused" in result.error
    assert push_service.received == []


@pytest.mark.django_db
def test_a_payload_too_large_for_a_push_message_is_refused_before_sending(alice, push_service):
    subscription = subscribe(alice, Browser(), push_service.endpoint("/ok"))
    with pytest.raises(ValueError):
        push.push_send(subscriptions=[subscription], payload={"body": "x" * 5000})
    assert push_service.received == []


@pytest.mark.django_db
def test_a_subscription_with_keys_off_the_curve_fails_for_good_without_a_request(alice, push_service):
    data = Browser().subscription_json(push_service.endpoint("/ok"))
    off_curve = "BA" + "A" * 85  # 65 bytes of the right shape: 0x04 and zeros, not a P-256 point
    subscription = PushSubscription.objects.create(user=alice, endpoint=data["endpoint"], p256dh=off_curve,
                                                   auth=data["keys"]["auth"])

    [result] = push.push_send(subscriptions=[subscription], payload={"body": "x"})

    assert (result.delivered, result.retryable) == (False, False)
    assert "unusable" in result.error
    assert push_service.received == []


# --------------------------------------------------------------------------- through the delivery log


@pytest.mark.django_db
def test_a_claimed_reminder_is_pushed_once_through_the_delivery_log(alice, bob, push_service):
    from datetime import timedelta

    from tasks_app.models import NotificationDelivery

    browser = Browser()
    subscribe(alice, browser, push_service.endpoint("/ok"))
    for user in (alice, bob):  # bob has no browser with push: no push delivery for him
        services.task_create(user=user, title=f"Pay {user.username}'s rent",
                             due_at=timezone.now() + timedelta(minutes=30), reminder_minutes_before=30)

    claimed = services.reminders_claim_due(now=timezone.now() + timedelta(seconds=1))
    assert {n.user_id for n in claimed} == {alice.pk, bob.pk}
    [delivery] = NotificationDelivery.objects.all()
    assert (delivery.user_id, delivery.channel, delivery.status) == (alice.pk, "push", "pending")

    for delivery_id in services.deliveries_claim_due(limit=10):
        services.delivery_send(delivery_id=delivery_id)
    assert services.deliveries_claim_due(limit=10) == []  # nothing left to send: never twice

    [request] = push_service.received
    payload = browser.read(request, server_public_key=vapid.public_key(), audience=push_service.origin)
    assert "Pay alice's rent" in payload["body"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)
