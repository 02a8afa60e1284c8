"""The live drain's pushes go through one kept Redis connection per worker process, not one per job."""

import asyncio
import os

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from tasks_app import live, services
from tasks_app.models import OutboxEvent

PUSHES = 20


def connections_received() -> int:
    return redis.Redis.from_url(settings.REDIS_URL).info("stats")["total_connections_received"]


@pytest.mark.django_db
def test_each_jobs_pushes_reach_the_page_over_one_kept_redis_connection(alice):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(live.user_group(alice.pk), channel)
    event_ids = [str(OutboxEvent.objects.get(task_id=services.task_create(user=alice, title=f"Task {n}").pk).event_id)
                 for n in range(PUSHES)]
    live.live_push_many(event_ids=event_ids[:1])  # the first push opens this process's connection

    opened_before = connections_received()
    for event_id in event_ids[1:]:
        assert live.live_push_many(event_ids=[event_id]) == 1  # one drain job each
    # (The count also sees this test's own INFO connections: one before, one after.)
    assert connections_received() - opened_before <= 3, "a push per job should not open a connection per job"

    async def receive_all():  # in one event loop: the layer's receive buffer belongs to the loop that reads it
        return [await layer.receive(channel) for _ in event_ids]

    received = async_to_sync(receive_all)()
    assert [message["update"]["event_id"] for message in received] == event_ids
    assert {message["type"] for message in received} == {live.MESSAGE_TYPE}


@pytest.mark.pure
def test_a_forked_pool_process_sends_on_a_loop_of_its_own():
    """Celery's prefork pool forks after the parent may have sent: the child cannot use the parent's loop,
    whose thread it did not inherit (its sends would wait for nothing until they time out)."""
    parent_loop = live._sender_loop()
    live._send(lambda: asyncio.sleep(0))
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit code
        try:
            live._send(lambda: asyncio.sleep(0))
            code = 0 if live._sender_loop() is not parent_loop else 2
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert live._sender_loop() is parent_loop, "the parent keeps its own loop"


def client_ids() -> set[int]:
    return {client["id"] for client in redis.Redis.from_url(settings.REDIS_URL).client_list()}


@pytest.mark.django_db
def test_a_push_after_redis_dropped_the_kept_connection_still_goes_through(alice, monkeypatch):
    """Kept connections go stale when Redis restarts or drops them: the next push reconnects and is sent,
    rather than failing once per worker process (CHANNEL_LAYERS' retry_on_error)."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(live.user_group(alice.pk), channel)
    event_ids = [str(OutboxEvent.objects.get(task_id=services.task_create(user=alice, title=f"Task {n}").pk).event_id)
                 for n in range(2)]
    monkeypatch.setattr(live, "_sender", None)  # a fresh sender loop: its connection is opened below, seen here
    live._sender_loop()
    before = client_ids()
    assert live.live_push_many(event_ids=event_ids[:1]) == 1
    opened = client_ids() - before  # the sender loop's connection (and this look's own, gone by now)
    killed = sum(redis.Redis.from_url(settings.REDIS_URL).client_kill_filter(_id=client_id) for client_id in opened)
    assert killed >= 1, "the sender's connection should have been found and dropped"

    assert live.live_push_many(event_ids=event_ids[1:]) == 1

    async def receive_all():
        return [await layer.receive(channel) for _ in event_ids]

    assert [message["update"]["event_id"] for message in async_to_sync(receive_all)()] == event_ids
