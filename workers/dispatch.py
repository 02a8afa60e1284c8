"""After-commit dispatch, coalesced per transaction: one job per kind of work, not one per event.

A transaction that records 2,000 events (a tag renamed on 2,000 tasks) would otherwise queue
6,000 jobs.  Here the receivers of one transaction share a pending batch per key: the first
event registers one `on_commit` callback, later ones only add their id to it.  When the
transaction commits, the callback sends the whole list as one job (or a few, in chunks).

A batch lives as long as its callback is still registered on the connection: after a commit
or a rollback (of the transaction, or of the savepoint the callback was registered in) the
next event starts a new one, so nothing is ever appended to a batch that will not be sent.

The Kafka sink is kicked at most once per commit, and not at all while a kick is already
queued (a short Redis key, released by the sink after each of its rounds).  Losing a kick loses no
event: the beat runs the sink every OUTBOX_SWEEP_INTERVAL seconds whatever happens.

Audit and live pushes are fed the same way (`feed`): a commit appends its event ids to a Redis
list and queues the list's drain job unless one is already queued, in one round trip.  While the
worker is busy, many commits share one job instead of queueing one each (each job costs the worker
more CPU in Celery than most of them spend on their own work).  What a lost drain leaves in a list
is drained by the next commit's; the audit rows of events it never reaches are written by the
lost-job sweep (workers.tasks.sweep_lost_jobs), and a live push is only ever a hint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.db import connection, transaction

from .metrics import redis_client

logger = logging.getLogger(__name__)

# Set while a sink kick is queued and not yet started.
SINK_PENDING_KEY = "todo:sink:kick-pending"
# Ids per message of a batched job: a few tens of kilobytes of JSON.
CHUNK_SIZE = 2000


@dataclass
class _Pending:
    send: Callable[[list], None]
    items: list = field(default_factory=list)

    def flush(self) -> None:
        self.send(self.items)


def _registered(callback) -> bool:
    return any(entry[1] is callback for entry in connection.run_on_commit)


def collect(key: str, item, send: Callable[[list], None]) -> None:
    """Add `item` to this transaction's batch `key`; `send(items)` runs once, after commit.

    Outside a transaction (autocommit) the batch is sent at once, as on_commit would."""
    if not connection.in_atomic_block:
        send([item] if item is not None else [])
        return
    batches: dict[str, _Pending] = connection.__dict__.setdefault("_todo_batches", {})
    if not connection.run_on_commit:
        batches.clear()  # every earlier batch was sent or rolled back
    pending = batches.get(key)
    if pending is None or not _registered(pending.callback):
        pending = batches[key] = _Pending(send)
        pending.callback = pending.flush
        transaction.on_commit(pending.callback, robust=True)
    if item is not None:
        pending.items.append(item)


def once(key: str, send: Callable[[], None]) -> None:
    """Run `send()` once after this transaction commits, however many times this is called."""
    collect(key, None, lambda _items: send())


def chunks(items: list, size: int = CHUNK_SIZE):
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --------------------------------------------------------------------------- the sink kick

def claim_sink_kick() -> bool:
    """True when no kick is queued (the caller queues one); the key expires by itself, so a
    kick lost with a dead worker blocks new kicks for at most one sweep interval."""
    try:
        return bool(redis_client().set(SINK_PENDING_KEY, 1, nx=True, ex=max(settings.OUTBOX_SWEEP_INTERVAL, 5)))
    except redis.RedisError:
        return True  # cannot tell: kick (the dispatch itself may fail too; beat covers it)


# A kick left behind by a job that never ran (a worker killed before it fetched it) blocks the next
# kick for at most this long.
KICK_SECONDS = 10


def kick_key(name: str) -> str:
    """Set while coalesced job `name` is queued (or, for a drain, still finding work)."""
    return f"todo:{name}:kick-pending"


def claim_kick(name: str) -> bool:
    """claim_sink_kick for another coalesced job (kick_key(name))."""
    try:
        return bool(redis_client().set(kick_key(name), 1, nx=True, ex=KICK_SECONDS))
    except redis.RedisError:
        return True


def webhooks_started() -> None:
    try:
        redis_client().delete("todo:webhooks:kick-pending")
    except redis.RedisError:
        logger.debug("webhook kick key not cleared", exc_info=True)


def kick_started(name: str) -> None:
    """webhooks_started for another coalesced job: a commit after this point kicks again."""
    try:
        redis_client().delete(kick_key(name))
    except redis.RedisError:
        logger.debug("%s kick key not cleared", name, exc_info=True)


def sink_started() -> None:
    """Called by the sink before it reads the outbox: a commit after this point kicks again."""
    try:
        redis_client().delete(SINK_PENDING_KEY)
    except redis.RedisError:
        logger.debug("sink kick key not cleared", exc_info=True)


# --------------------------------------------------------------------------- feeds: coalesced jobs with a list of work

# The feeds workers.tasks drains, each with its own kick (kick_key).
FEEDS = ("audit", "live")


def feed_key(name: str) -> str:
    return f"todo:{name}:items"


def feed(name: str, items: list[str], drain, *, fallback=None, keep: int | None = None,
         delay: float = 0) -> None:
    """Append `items` to feed `name` and queue `drain` (a job that takes no arguments) unless one is
    queued already: one Redis round trip, and one Celery message however many commits feed it
    while it waits.  `keep`: the feed holds at most this many items, the newest (for work that may
    be dropped).  `delay`: the drain runs this many seconds later (an `eta` job, held by the worker's
    consumer, not a pool process), so that the commits of that time share it.  Redis refusing:
    `fallback(items)` sends them as a job of their own."""
    if not items:
        return
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.rpush(feed_key(name), *items)
        if keep:
            pipe.ltrim(feed_key(name), -keep, -1)
        pipe.set(kick_key(name), 1, nx=True, ex=KICK_SECONDS)
        kick = pipe.execute()[-1]
    except redis.RedisError:
        logger.warning("feed %s unavailable; sending %d items as a job of their own", name, len(items))
        if fallback is not None:
            fallback(items)
        return
    if kick:
        drain.apply_async(countdown=delay) if delay else drain.delay()


def take(name: str, count: int) -> list[str]:
    """Up to `count` items from the head of feed `name` (removed from it)."""
    taken = redis_client().lpop(feed_key(name), count) or []
    return [item.decode() if isinstance(item, bytes) else item for item in taken]


def give_back(name: str, items: list[str]) -> None:
    """Put `items` back at the head of feed `name`, in their order (a drain that failed on them)."""
    if items:
        try:
            redis_client().lpush(feed_key(name), *reversed(items))
        except redis.RedisError:
            logger.warning("feed %s: %d items not given back", name, len(items), exc_info=True)


def feed_length(name: str) -> int:
    return int(redis_client().llen(feed_key(name)))


def queue_length(name: str) -> int:
    """Jobs waiting in Celery queue `name` (a Redis list); 0 when Redis cannot tell."""
    try:
        return int(redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1,
                                        socket_connect_timeout=1).llen(name))
    except redis.RedisError:
        return 0
