"""Celery jobs: thin wrappers that take ids, fetch, and call a service.

Which are safe to run twice decides their acknowledgement: the idempotent ones
(DB-enforced) ack late, so a worker killed mid-job has it redelivered; the
periodic ones expire instead of piling up while no worker runs.

Every job has a soft and a hard time limit of its own (LIMITS), each a few times its
normal run time and well below the broker's visibility timeout; where a job can stop
cleanly on the soft limit (between batches, after a partial sweep) it does, and the
next beat run carries on.  Queues: settings.CELERY_TASK_ROUTES.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import redis
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from tasks_app import live, selectors, services

from . import dispatch, metrics, outbox

logger = logging.getLogger(__name__)

IDEMPOTENT = {"acks_late": True, "reject_on_worker_lost": True}
TRANSIENT = {"autoretry_for": (OperationalError,), "retry_backoff": True, "retry_backoff_max": 60,
             "max_retries": 8}


def limits(soft: int, hard: int) -> dict[str, int]:
    return {"soft_time_limit": soft, "time_limit": hard}


# (soft, hard) seconds.  The sink stops itself after 50 s (outbox.publish_pending) plus a
# final flush of up to KAFKA_DELIVERY_TIMEOUT_SECONDS + 5; retention stops itself between
# batches (RETENTION_MAX_SECONDS) well before its soft limit.
LIMITS = {
    "sink": limits(90, 120),
    "audit": limits(60, 90),
    "recurrence": limits(30, 45),
    "live": limits(15, 30),
    "reminders": limits(45, 60),
    "sweep": limits(45, 60),
    "retention": limits(270, 300),
}
RETENTION_MAX_SECONDS = 240
# The lost-job sweep waits while the default queue holds more jobs than this.
SWEEP_BACKLOG_LIMIT = 200


@shared_task(name="workers.publish_outbox", ignore_result=True, **LIMITS["sink"])
def publish_outbox() -> int:
    """Forward unpublished outbox rows to Kafka (after each commit, and every few seconds from beat).

    The sink's kick stays claimed while this run publishes, so commits meanwhile queue no further
    run (this one's next round reads their rows); it is released after each round, however it ended,
    just before the look for rows that came in meanwhile, so a commit after that look kicks again.
    A run that finds another holding the sink's lock leaves the kick to it.  On the soft limit the
    sink's own cleanup runs (rows acknowledged so far are marked, the advisory lock released, the
    kick too) and the rest waits for the next run."""
    try:
        return outbox.publish_pending(after_round=dispatch.sink_started).published
    except SoftTimeLimitExceeded:
        logger.warning("kafka sink stopped at its time limit; the next run carries on")
        return 0


def kick_sink() -> None:
    """After a commit: queue one sink run unless one is already queued (workers.dispatch)."""
    if dispatch.claim_sink_kick():
        publish_outbox.delay()


@shared_task(name="workers.record_audit", ignore_result=True, **IDEMPOTENT, **TRANSIENT, **LIMITS["audit"])
def record_audit(event_id: str) -> None:
    services.audit_record(event_id=event_id)


@shared_task(name="workers.record_audit_batch", ignore_result=True, **IDEMPOTENT, **TRANSIENT, **LIMITS["audit"])
def record_audit_batch(event_ids: list[str]) -> int:
    """The audit rows of one transaction's events (or of a sweep's), in one job."""
    return services.audit_record_many(event_ids=event_ids)


def dispatch_audit(event_ids: list[str]) -> None:
    for chunk in dispatch.chunks(event_ids):
        record_audit_batch.delay(chunk)


# The audit drain runs this long after the commit that kicked it, so that the commits of that half
# second share one job even when the worker is idle: nobody waits for an audit row, and one job per
# commit was a third of the worker's CPU for a create (bench/load.py, docs/performance.md).
AUDIT_DRAIN_DELAY_SECONDS = 0.5


def feed_audit(event_ids: list[str]) -> None:
    """After a commit: its events' audit rows, by the audit feed's drain (workers.dispatch.feed)."""
    dispatch.feed("audit", event_ids, drain_audit, fallback=dispatch_audit, delay=AUDIT_DRAIN_DELAY_SECONDS)


# A drain stops taking more after this long and leaves the rest to a fresh job of its own, well
# inside its soft limit.
DRAIN_SECONDS = {"audit": 20, "live": 5}


def drain(name: str, work, job) -> int:
    """Take feed `name` in chunks and hand each to `work(items)` until it is empty (or DRAIN_SECONDS
    pass: then `job` is queued for the rest).  Items whose work failed go back to the feed first.

    The feed's kick stays claimed while the drain finds items, so commits meanwhile queue no other
    drain (this one takes their items); once the feed looks empty the kick is released and the feed
    looked at once more, so an item fed after that look kicks a drain of its own."""
    done, deadline = 0, time.monotonic() + DRAIN_SECONDS[name]
    try:
        while True:
            items = dispatch.take(name, dispatch.CHUNK_SIZE)
            if not items:
                dispatch.kick_started(name)
                items = dispatch.take(name, dispatch.CHUNK_SIZE)
                if not items:
                    return done
            try:
                done += work(items)
            except BaseException:
                dispatch.give_back(name, items)
                raise
            if time.monotonic() >= deadline:
                job.delay()  # the rest in a fresh job (this one's kick is still claimed, or released)
                return done
    except BaseException:
        dispatch.kick_started(name)  # failed: the next commit kicks again (a retry may come first)
        raise


@shared_task(name="workers.drain_audit", ignore_result=True, **TRANSIENT, **LIMITS["audit"])
def drain_audit() -> int:
    """The audit rows of every event fed since the last drain, a chunk at a time (one job for many
    commits while the worker is busy).  A retry after a database error takes the same events again."""
    return drain("audit", lambda event_ids: services.audit_record_many(event_ids=event_ids), drain_audit)


@shared_task(name="workers.spawn_next_occurrence", ignore_result=True, **IDEMPOTENT, **TRANSIENT,
             **LIMITS["recurrence"])
def spawn_next_occurrence(task_id: int) -> int | None:
    task = services.task_spawn_next_occurrence(task_id=task_id)
    return task.pk if task else None


@shared_task(name="workers.scan_reminders", ignore_result=True, **LIMITS["reminders"])
def scan_reminders() -> int:
    """The safety net: claim every reminder already due, then arm a precise job for each one
    coming up before the next scan (with a margin, so that a late beat still finds them armed)."""
    # Batch after batch, each its own transaction (committed, and its notices pushed, before the
    # next), so that a backlog — precise jobs lost, workers down for a while — is sent in one scan
    # rather than REMINDER_CLAIM_BATCH per scan interval.  Bounded in time, well inside the soft
    # limit; a soft limit inside a claim rolls back only that batch, which the next scan claims.
    # One `now` for the claims and the look-ahead: a reminder falling due while the claims run is
    # armed (its eta already past, so it runs at once), not left between the two for the next scan.
    now = timezone.now()
    claimed, deadline = 0, time.monotonic() + REMINDER_SCAN_MAX_SECONDS
    while True:
        batch = len(services.reminders_claim_due(now=now, limit=REMINDER_CLAIM_BATCH))
        claimed += batch
        if batch < REMINDER_CLAIM_BATCH or time.monotonic() >= deadline:
            break
    horizon = now + timedelta(seconds=settings.REMINDER_SCAN_INTERVAL + settings.REMINDER_SCHEDULE_MARGIN)
    schedule_reminders(services.reminders_coming_up(now=now, until=horizon))
    metrics.record_reminder_scan()
    return claimed


@shared_task(name="workers.fire_reminders", ignore_result=True, **IDEMPOTENT, **TRANSIENT, **LIMITS["reminders"])
def fire_reminders(task_ids: list[int]) -> int:
    """Run at the reminders' own time (an `eta` job): claim those of `task_ids` that are due.

    The claim re-checks everything under the row lock, so a task completed, deleted, moved or
    snoozed since this was armed is not sent (a moved or snoozed one was armed again for its new
    time, or waits for the scan), and one the scan or another job already sent is not sent again.
    A reminder not due yet (this job ran early: a clock a little ahead of the database's) is armed
    again for its time; one skipped because its row was locked, a moment later."""
    claimed = len(services.reminders_claim_due(task_ids=task_ids))
    now = timezone.now()
    horizon = now + timedelta(seconds=settings.REMINDER_SCAN_INTERVAL + settings.REMINDER_SCHEDULE_MARGIN)
    # Still pending: not due yet (this ran early), or due but skipped because another transaction held
    # its row (an edit under way).  Armed again, a moment later for the latter; one due for longer than
    # the margin is left to the scan, so a row locked for long does not keep a job spinning.
    since = now - timedelta(seconds=settings.REMINDER_SCHEDULE_MARGIN)
    schedule_reminders(services.reminders_coming_up(now=since, until=horizon, task_ids=task_ids),
                       not_before=now + timedelta(seconds=REMINDER_RETRY_SECONDS))
    return claimed


# The scan claims due reminders this many per transaction, for up to this long per run.
REMINDER_CLAIM_BATCH = 500
REMINDER_SCAN_MAX_SECONDS = 20
# Reminders whose times fall in the same slice share one eta job, run at the slice's end: a
# minute with 10,000 reminders is 60 jobs, not 10,000, and none fires more than this late.
# Not shorter: an eta job waits in the `events` queue until the worker fetches it, one message per
# free pool slot in turn with the other queues, and the sink runs and the next scan wait behind it.
# At 0.25 s slices (240 jobs a minute, each followed by an audit and a live job) a busy minute's jobs
# were fetched more slowly than they fell due: the scan behind them expired unfetched, its window was
# never armed, and reminders waited for the scan after it (bench/reminders.py, docs/performance.md).
REMINDER_SLICE_SECONDS = 1.0
# A precise job that found its reminder's row locked by another transaction tries again this much later.
REMINDER_RETRY_SECONDS = 0.5


def schedule_reminders(coming: list[tuple[int, datetime]], *, not_before: datetime | None = None) -> int:
    """Arm one `fire_reminders` job per REMINDER_SLICE_SECONDS slice of reminder times; returns the jobs sent.

    Arming one twice (the scan's windows overlap by the margin; a change armed it too) costs a
    claim that finds nothing: the claim, not this, is what keeps a reminder from firing twice."""
    slices: dict[int, list[int]] = {}
    for task_id, remind_at in coming:
        slices.setdefault(math.ceil(remind_at.timestamp() / REMINDER_SLICE_SECONDS), []).append(task_id)
    sent = 0
    for slice_end, task_ids in sorted(slices.items()):
        eta = datetime.fromtimestamp(slice_end * REMINDER_SLICE_SECONDS, tz=dt_timezone.utc)
        if not_before is not None and eta < not_before:
            eta = not_before  # already due (its row was locked): not at once, or it would spin
        for chunk in dispatch.chunks(task_ids):
            fire_reminders.apply_async((chunk,), eta=eta)
            sent += 1
    return sent


def arm_reminders(items: list[tuple[int, str]]) -> None:
    """After a commit that set reminders due before the next scan ((task id, ISO time) pairs,
    workers.receivers): arm their precise jobs."""
    schedule_reminders([(task_id, datetime.fromisoformat(when)) for task_id, when in items])


@shared_task(name="workers.sweep_lost_jobs", ignore_result=True, **LIMITS["sweep"])
def sweep_lost_jobs(limit: int = 500) -> dict[str, int]:
    """Re-dispatch audit and recurrence jobs whose after-commit dispatch was lost
    (Redis down at that moment, a worker killed before acking) within the last
    JOB_SWEEP_WINDOW_SECONDS.  Both jobs are idempotent, so a job that was merely
    slow does no harm when sent again; a series that has spawned or ended is not
    looked at again.  The unaudited events go as one batched job."""
    now = timezone.now()
    settled = now - timezone.timedelta(seconds=settings.JOB_SWEEP_GRACE_SECONDS)
    since = now - timezone.timedelta(seconds=settings.JOB_SWEEP_WINDOW_SECONDS)
    swept = {"audit": 0, "recurrence": 0}
    backlog = dispatch.queue_length(settings.CELERY_TASK_DEFAULT_QUEUE)
    try:
        fed = dispatch.feed_length("audit")
        if fed and dispatch.claim_kick("audit"):
            drain_audit.delay()  # a feed whose drain was lost (no commit since to kick another)
    except redis.RedisError:
        fed = 0
    if backlog > SWEEP_BACKLOG_LIMIT or fed > SWEEP_BACKLOG_LIMIT:
        # Work not yet done is mostly work still queued: re-sending it every sweep would only
        # add to the backlog it waits in (a storm feeding itself).  Sweep once it drains.
        logger.info("lost-job sweep skipped: %d jobs queued, %d events in the audit feed", backlog, fed)
        return swept
    try:
        unaudited = selectors.outbox_events_unaudited(settled_before=settled, since=since, limit=limit)
        if unaudited:
            dispatch_audit([str(event_id) for event_id in unaudited])
        swept["audit"] = len(unaudited)
        unspawned = selectors.recurring_tasks_awaiting_next(settled_before=settled, since=since, limit=limit)
        for task_id in unspawned:
            spawn_next_occurrence.delay(task_id)
            swept["recurrence"] += 1
    except SoftTimeLimitExceeded:
        logger.warning("lost-job sweep stopped at its time limit after %s; the next sweep carries on", swept)
    return swept


@shared_task(name="workers.prune_retention", ignore_result=True, **LIMITS["retention"])
def prune_retention() -> dict[str, int]:
    """Delete what is past its retention window (tasks_app.services.retention, chat_app.retention)."""
    from chat_app import retention as chat_retention

    deadline = time.monotonic() + RETENTION_MAX_SECONDS
    pruned: dict[str, int] = {}
    try:
        pruned.update(services.retention_prune(deadline=deadline))
        pruned["conversations"] = chat_retention.conversations_prune(deadline=deadline)
    except SoftTimeLimitExceeded:
        # Each batch commits on its own: what was deleted stays deleted, the batch under way rolls back.
        logger.warning("retention stopped at its time limit after %s; the next run carries on", pruned)
    logger.info("retention pruned %s", pruned)
    return pruned


@shared_task(name="workers.push_live_updates", ignore_result=True, expires=60, **LIMITS["live"])
def push_live_updates(event_ids: list[str]) -> int:
    """Send a transaction's events to their users' open pages, in one job per transaction (workers.dispatch)."""
    return live.live_push_many(event_ids=event_ids)


def dispatch_live(event_ids: list[str]) -> None:
    for chunk in dispatch.chunks(event_ids):
        push_live_updates.delay(chunk)


# The live feed holds at most this many events (the newest): a push is a hint, and a backlog
# larger than this is older than any page would still want.
LIVE_FEED_MAX = 50_000
# A push older than this is dropped: a page reloads its list on the next push it gets and whenever
# its socket reconnects (as `expires` does for push_live_updates).
LIVE_PUSH_MAX_AGE = timedelta(seconds=60)


def feed_live(event_ids: list[str]) -> None:
    """After a commit: its events to their users' open pages, by the live feed's drain."""
    dispatch.feed("live", event_ids, drain_live, fallback=dispatch_live, keep=LIVE_FEED_MAX)


@shared_task(name="workers.drain_live", ignore_result=True, expires=60, **LIMITS["live"])
def drain_live() -> int:
    """Push every event fed since the last drain to its user's open pages, in commit order."""
    since = timezone.now() - LIVE_PUSH_MAX_AGE
    return drain("live", lambda event_ids: live.live_push_many(event_ids=event_ids, since=since), drain_live)


@shared_task(name="workers.push_live_update", ignore_result=True, expires=60, **LIMITS["live"])
def push_live_update(event_id: str) -> bool:
    """Send one event to its user's open pages (WebSocket group).  Not retried, and dropped when
    a minute late (a backlog after an outage): a page reloads its whole list on the next push it
    gets and whenever its socket reconnects, so a lost push heals itself."""
    return live.live_push(event_id=event_id)


# A run sends WEBHOOK_CONCURRENCY deliveries at a time, each bounded by WEBHOOK_TOTAL_TIMEOUT, and
# claims no more after WEBHOOK_RUN_SECONDS: well inside its soft limit however slow receivers are.
WEBHOOK_CONCURRENCY = 8
WEBHOOK_RUN_SECONDS = 30


@shared_task(name="workers.deliver_webhooks", ignore_result=True, expires=60, soft_time_limit=60, time_limit=90)
def deliver_webhooks() -> dict[str, int]:
    """Send the webhook deliveries that are due (after a commit that made some, and from beat for retries)."""
    from tasks_app.webhooks import services as webhooks

    dispatch.webhooks_started()
    deadline = time.monotonic() + WEBHOOK_RUN_SECONDS
    sent: dict[str, int] = {}
    while time.monotonic() < deadline:
        claimed = webhooks.deliveries_claim_due(limit=WEBHOOK_CONCURRENCY)
        if not claimed:
            break
        try:
            for status, count in webhooks.deliveries_send(delivery_ids=claimed).items():
                sent[status] = sent.get(status, 0) + count
        except SoftTimeLimitExceeded:
            webhooks.deliveries_release(delivery_ids=claimed)
            break
    return sent


def kick_webhooks() -> None:
    """After a commit that wrote deliveries: one delivery run unless one is already queued."""
    if dispatch.claim_kick("webhooks"):
        deliver_webhooks.delay()


# A run claims this many deliveries at a time (each send bounded by EMAIL_TIMEOUT per SMTP step) and
# claims no more after NOTIFICATION_RUN_SECONDS: well inside its soft limit.
NOTIFICATION_BATCH = 10
NOTIFICATION_RUN_SECONDS = 30


@shared_task(name="workers.deliver_notifications", ignore_result=True, expires=60, soft_time_limit=60, time_limit=90)
def deliver_notifications() -> dict[str, int]:
    """Send the notification deliveries (email, push) that are due: after a reminder's claim commits,
    and from beat for retries (tasks_app.services.deliveries)."""
    dispatch.kick_started("notifications")
    deadline = time.monotonic() + NOTIFICATION_RUN_SECONDS
    outcome: dict[str, int] = {}
    while time.monotonic() < deadline:
        claimed = services.deliveries_claim_due(limit=NOTIFICATION_BATCH)
        if not claimed:
            break
        for position, delivery_id in enumerate(claimed):
            try:
                status = services.delivery_send(delivery_id=delivery_id)
            except SoftTimeLimitExceeded:
                # The one under way stays `sending` until its lease runs out (it may have gone out).
                services.deliveries_release(delivery_ids=claimed[position + 1:])
                return outcome
            if status:
                outcome[status] = outcome.get(status, 0) + 1
    return outcome


def kick_notifications() -> None:
    """After a commit that queued deliveries: one delivery run unless one is already queued."""
    if dispatch.claim_kick("notifications"):
        deliver_notifications.delay()
