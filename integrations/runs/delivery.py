"""Sending a run's output to each target (chat recipients, a GitLab MR note): one Delivery per
target, each in its own Celery task (so a dead recipient never holds up the others), except
that a forge's note is posted by the thread that ran the review (`posted_here`); every try
an attempt row. The run ends succeeded, partially delivered or failed once all are final.

A target is a sender with `build(Message) -> parts` and `post(part) -> Reply`, raising a
HubError (TransportError, GitLabError) decided on its fields: chat recipients are built
from their Recipient row; other kinds (the GitLab note) register a factory here at start-up.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from integrations.channels.base import Message, OptionsError
from integrations.compiled import CompiledQuery
from integrations.errors import HubError
from integrations.models import Delivery, DeliveryAttempt, Recipient, Run
from integrations.runs import combined, dispatch, health, heartbeat, kinds
from integrations.runs.backoff import retry_delay
from integrations.runs.connections import DATABASE_DOWN, release_idle_connections

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: a recipient, or a built-in target such as a GitLab MR note."""

    name: str
    kind: str
    recipient: Recipient | None = None


class TargetGone(Exception):
    """The delivery's target was deleted or disabled since the run started."""


# Delivery kinds that are not chat recipients: kind -> factory(delivery) -> sender.
# `resend_safe`: a send cut off by a dead worker can be repeated without a duplicate (the
# sender finds what it already posted); chat posts cannot, so they are not repeated.
@dataclass(frozen=True)
class BuiltInTarget:
    sender_for: Callable[[Delivery], object]
    resend_safe: bool


_BUILT_IN: dict[str, BuiltInTarget] = {}


def register_target(kind: str, sender_for: Callable[[Delivery], object], *, resend_safe: bool):
    _BUILT_IN[kind] = BuiltInTarget(sender_for, resend_safe)


def resend_safe_kinds() -> list[str]:
    return [kind for kind, target in _BUILT_IN.items() if target.resend_safe]


def begin(run: Run, message: dict, targets: list[Target]) -> None:
    """Succeeded -> delivering, with one Delivery (and one Celery task) per target.

    Called inside the run's final transaction; the tasks are sent after it commits.
    """
    Run.objects.filter(pk=run.pk, status=Run.Status.SUCCEEDED).update(
        status=Run.Status.DELIVERING, message=message, finished_at=None
    )
    run.status, run.message = Run.Status.DELIVERING, message
    deliveries = Delivery.objects.bulk_create(
        Delivery(run=run, recipient=t.recipient, recipient_name=t.name, kind=t.kind)
        for t in targets
    )
    here = _posted_here.get()
    for delivery in deliveries:
        if here is not None and delivery.kind in _BUILT_IN:
            # Posted after the caller's transaction; rolled back, its claim finds no row.
            here.append(delivery.pk)
        else:
            dispatch.deliver(delivery.pk)


# Deliveries begun inside `posted_here()` that the calling thread posts itself afterwards,
# instead of a Celery task each (engine.execute).
_posted_here: ContextVar[list[int] | None] = ContextVar("hub_posted_here", default=None)


@contextmanager
def posted_here() -> Iterator[list[int]]:
    """Within this block, the deliveries a run begins to a built-in target (a forge's note)
    are not sent to the broker but collected into the list yielded, for the caller to post
    with `post_here` once the run's transaction is over.

    Why: a thread that finished a run goes on with the app's next queued run, and so do all
    the others during a fan-out; a note's task would wait in the queue until the whole
    backlog had started (measured: 8 s after its review ended, with 500 reviews queued). The
    forge answered this thread's requests for the same change seconds before. Chat posts
    still get a task each, so a chat service that is down never holds the thread. If the
    worker dies before posting, the delivery stays pending without a message, and the
    recovery sweep sends it (recovery.LOST_AFTER)."""
    collected: list[int] = []
    token = _posted_here.set(collected)
    try:
        yield collected
    finally:
        _posted_here.reset(token)


def post_here(delivery_ids: list[int]) -> None:
    """Post these deliveries in this thread; a retry is queued as a task would queue it."""
    for delivery_id in delivery_ids:
        delay = deliver_one(delivery_id)
        if delay is not None:
            dispatch.deliver(delivery_id, countdown=delay)


def recipient_targets(recipients) -> list[Target]:
    return [Target(name=r.name, kind=r.kind, recipient=r) for r in recipients]


_WITH_TARGET = CompiledQuery(
    lambda delivery_id: Delivery.objects.select_related(
        "run", "run__review_endpoint", "recipient"
    ).filter(pk=delivery_id),
    delivery_id=int,
)


def deliver_one(delivery_id: int) -> float | None:
    """Send one delivery's remaining parts. Returns a retry delay in seconds, or None when done."""
    try:
        with heartbeat.working("deliveries", delivery_id):
            return _deliver(delivery_id)
    except DATABASE_DOWN:
        raise  # nothing can be recorded now; the recovery sweep settles it afterwards
    except Exception as exc:  # a bug must fail the delivery visibly, not strand it "sending"
        log.exception("delivery %s: unexpected error", delivery_id)
        delivery = Delivery.objects.filter(pk=delivery_id).first()
        if delivery is not None and delivery.status == Delivery.Status.SENDING:
            finish(delivery, Delivery.Status.FAILED, f"The hub: unexpected error: {exc}", "hub")
        return None


def _deliver(delivery_id: int) -> float | None:
    now = timezone.now()
    if not Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SENDING,
        attempts=F("attempts") + 1,
        holder=heartbeat.identity(),
        updated_at=now,
    ):
        return None  # delivered, failed, or another worker has it
    # One read for everything the sender needs (the run's message, the recipient, the
    # GitLab endpoint of a review note).
    delivery = _WITH_TARGET.first(delivery_id=delivery_id)
    if delivery is None:
        return None  # deleted with its run since the claim
    try:
        sender = _sender(delivery)
    except TargetGone as exc:
        finish(delivery, Delivery.Status.FAILED, f"The hub: {exc}", "hub")
        return None
    parts = delivery.parts
    if not parts:
        message = Message(**(delivery.run.message or {"text": ""}), key=message_key(delivery))
        parts = sender.build(message)
        delivery.parts, delivery.parts_total = parts, len(parts)
        if len(parts) > 1:
            # Stored before the first part goes out, so a retry resumes after the last part
            # sent instead of repeating it; a single part is stored when the delivery ends.
            Delivery.objects.filter(pk=delivery.pk).update(parts=parts, parts_total=len(parts))
    attempt = None  # the last part's try, stored by finish() with the delivery's end
    for index in range(delivery.parts_sent, len(parts)):
        started = timezone.now()
        release_idle_connections()
        clock = time.monotonic()
        try:
            reply = sender.post(parts[index])
        except HubError as exc:
            _record_attempt(delivery, index, started, clock, exc=exc)
            return _after_error(delivery, exc)
        attempt = _attempt(delivery, index, started, clock, status=reply.status, body=reply.body)
        delivery.parts_sent = index + 1
        if delivery.parts_sent < len(parts):
            combined.insert_and_update(
                attempt, Delivery.objects.filter(pk=delivery.pk), parts_sent=delivery.parts_sent
            )
    finish(
        delivery,
        Delivery.Status.DELIVERED,
        "",
        "",
        attempt=attempt,
        parts=parts,
        parts_total=len(parts),
        parts_sent=len(parts),
    )
    return None


def message_key(delivery: Delivery) -> str:
    """The delivery's idempotency key: the same for every retry of it (a Matrix transaction
    id, a LINE retry key), and not repeated by a reinstalled hub that numbers from 1 again."""
    return str(uuid.uuid5(_KEYS, f"{delivery.pk}:{delivery.created_at.isoformat()}"))


_KEYS = uuid.UUID("5f0f4c52-8d0e-4a8e-9d59-1c1b0e7f4b21")  # dify-hub's namespace for them


def _sender(delivery: Delivery):
    if delivery.kind in _BUILT_IN:
        return _BUILT_IN[delivery.kind].sender_for(delivery)
    recipient = delivery.recipient
    if recipient is None or not recipient.enabled:
        why = "was deleted" if recipient is None else "is disabled"
        raise TargetGone(f"recipient '{delivery.recipient_name}' {why}.")
    try:
        return recipient.transport()
    except OptionsError as exc:  # saved before a rule changed, or EMAIL_URL since removed
        raise TargetGone(
            f"recipient '{delivery.recipient_name}' cannot be sent to: {exc}."
        ) from None


def _after_error(delivery: Delivery, exc: HubError) -> float | None:
    error = str(exc)
    log.warning(
        "delivery %s to %s, attempt %s: %s error: %s",
        delivery.pk,
        delivery.recipient_name,
        delivery.attempts,
        "transient" if exc.retryable else "permanent",
        error,
    )
    this_round = delivery.attempts - delivery.attempts_before
    final = not exc.retryable or this_round >= settings.HUB_DELIVERY_MAX_ATTEMPTS
    if delivery.recipient_id is not None:
        health.record_error(delivery.recipient_id, error, final=final)
    if final:
        if exc.retryable:
            error = f"Gave up after {this_round} attempts; {error}"
        finish(delivery, Delivery.Status.FAILED, error, exc.source)
        if delivery.recipient_id is not None:
            health.turn_off_if_failing(delivery.recipient_id, delivery.recipient_name)
        return None
    delay = retry_delay(
        this_round,
        base=settings.HUB_RETRY_BASE_SECONDS,
        cap=settings.HUB_RETRY_MAX_SECONDS,
        retry_after=exc.retry_after,
    )
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.PENDING,
        parts_total=len(delivery.parts or []),
        error=f"Attempt {delivery.attempts} failed, retrying in {delay:.0f} s: {error}",
        error_source=exc.source,
        next_attempt_at=now + timedelta(seconds=delay),
        holder="",
        updated_at=now,
    )
    return delay


def _record_attempt(delivery, index, started, clock, *, status=None, body="", exc=None) -> None:
    _attempt(delivery, index, started, clock, status=status, body=body, exc=exc).save()


def _attempt(
    delivery, index, started, clock, *, status=None, body="", exc=None
) -> DeliveryAttempt:
    """The row of one part's try (unsaved)."""
    return DeliveryAttempt(
        delivery=delivery,
        number=delivery.attempts,
        part=index + 1,
        started_at=started,
        duration_ms=int((time.monotonic() - clock) * 1000),
        http_status=exc.status if exc is not None else status,
        response_body=(exc.body if exc is not None else body)[:1000],
        error=str(exc) if exc is not None else "",
        permanent=bool(exc is not None and not exc.retryable),
    )


def finish(
    delivery: Delivery,
    status: str,
    error: str,
    source: str,
    *,
    attempt: DeliveryAttempt | None = None,
    **fields,
) -> bool:
    """sending -> delivered or failed (only from sending), then settle the run. `attempt`:
    the last part's try, stored with the same statement; `fields`: what else the delivery's
    last UPDATE stores (its parts)."""
    now = timezone.now()
    sending = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING)
    values = {
        "status": status,
        "error": error,
        "error_source": source,
        "finished_at": now,
        "next_attempt_at": None,
        "holder": "",
        "updated_at": now,
        **fields,
    }
    if attempt is not None:
        done = combined.insert_and_update(attempt, sending, **values)
    else:
        done = sending.update(**values)
    if done:
        settle(delivery.run_id)
    return bool(done)


def settle(run_id: int) -> str | None:
    """When every delivery of a run is final, give the run its final status.

    One conditional UPDATE, run after the delivery's own commit: it matches only while the
    run is delivering and none of its deliveries is still open, so of two deliveries ending
    at once the later commit settles the run, and a second settle finds nothing to do. The
    last delivery then stamps the recipients that got the message, or names those that did
    not."""
    now = timezone.now()
    stamps = connection.vendor != "postgresql"  # there the settle statement stamps them
    settled = _settle_statement(run_id, now)
    if settled is None:
        return None
    final, kind = settled
    if final == Run.Status.SUCCEEDED:
        if stamps:
            _stamp_recipients(run_id, now)
        return final
    rows = list(
        Delivery.objects.filter(run_id=run_id).values_list(
            "status", "recipient_name", "error_source"
        )
    )
    failed = [(name, source) for status, name, source in rows if status != "delivered"]
    if final == Run.Status.PARTIALLY_DELIVERED:
        names = ", ".join(name for name, _ in failed)
        message = (
            f"Delivered to {len(rows) - len(failed)} of {len(rows)} recipients; not to {names}."
        )
    else:
        message = "No recipient received the message."
    Run.objects.filter(pk=run_id).update(
        error_message=message, error_source=(failed[0][1] if failed else "") or "hub"
    )
    if final == Run.Status.PARTIALLY_DELIVERED and stamps:
        _stamp_recipients(run_id, now)
    kinds.after_trouble(run_id, kind)
    return final


# RETURNING (PostgreSQL; SQLite 3.35+) tells the settling worker the outcome in the same
# round trip; the ORM's update() only says how many rows matched.
_SETTLE = """
UPDATE {run} SET
    status = CASE
        WHEN NOT EXISTS (SELECT 1 FROM {delivery} d WHERE d.run_id = {run}.id
                         AND d.status <> %(delivered)s) THEN %(succeeded)s
        WHEN EXISTS (SELECT 1 FROM {delivery} d WHERE d.run_id = {run}.id
                     AND d.status = %(delivered)s) THEN %(partial)s
        ELSE %(failed)s END,
    error_code = CASE
        WHEN NOT EXISTS (SELECT 1 FROM {delivery} d WHERE d.run_id = {run}.id
                         AND d.status <> %(delivered)s) THEN ''
        ELSE 'delivery_failed' END,
    error_message = '',
    error_source = '',
    finished_at = %(now)s
WHERE id = %(run_id)s AND status = %(delivering)s
  AND NOT EXISTS (SELECT 1 FROM {delivery} d WHERE d.run_id = {run}.id
                  AND d.status NOT IN (%(delivered)s, %(failed_delivery)s))
RETURNING status, kind
"""

# On PostgreSQL the recipients' last-success stamp rides along (a data-modifying CTE): the
# recipients this run reached, once the settle above has ended it with something delivered.
_SETTLE_AND_STAMP = """
WITH settled AS ({settle}),
stamped AS (
    UPDATE {recipient} SET last_success_at = %(now)s, consecutive_failures = 0
    WHERE id IN (SELECT d.recipient_id FROM {delivery} d WHERE d.run_id = %(run_id)s
                 AND d.status = %(delivered)s AND d.recipient_id IS NOT NULL)
      AND EXISTS (SELECT 1 FROM settled WHERE settled.status IN (%(succeeded)s, %(partial)s))
)
SELECT status, kind FROM settled
"""


def _settle_statement(run_id: int, now: datetime) -> tuple[str, str] | None:
    tables = {"run": Run._meta.db_table, "delivery": Delivery._meta.db_table}
    sql = _SETTLE.format(**tables)
    if connection.vendor == "postgresql":
        sql = _SETTLE_AND_STAMP.format(
            settle=sql.strip(), recipient=Recipient._meta.db_table, **tables
        )
    params = {
        "run_id": run_id,
        "now": connection.ops.adapt_datetimefield_value(now),
        "delivered": Delivery.Status.DELIVERED,
        "failed_delivery": Delivery.Status.FAILED,
        "delivering": Run.Status.DELIVERING,
        "succeeded": Run.Status.SUCCEEDED,
        "partial": Run.Status.PARTIALLY_DELIVERED,
        "failed": Run.Status.FAILED,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def _stamp_recipients(run_id: int, now: datetime) -> None:
    """Each recipient this run reached: its last success is now (one UPDATE per run)."""
    reached = Delivery.objects.filter(
        run_id=run_id, status=Delivery.Status.DELIVERED, recipient__isnull=False
    ).values("recipient_id")
    Recipient.objects.filter(pk__in=reached).update(last_success_at=now, consecutive_failures=0)


def undeliverable(run: Run, targets: list[Target], problem: str) -> None:
    """A succeeded run with no output to send: Dify is never run again for it. The run stays
    succeeded, each target gets a failed delivery saying why, and once the settings are
    fixed a retry of the deliveries alone sends the output."""
    now = timezone.now()
    error = (
        f"The hub: Dify succeeded, but nothing was sent: {problem}. Then retry the delivery; "
        "Dify is not run again."
    )
    Delivery.objects.bulk_create(
        Delivery(
            run=run,
            recipient=target.recipient,
            recipient_name=target.name,
            kind=target.kind,
            status=Delivery.Status.FAILED,
            error=error,
            error_source="hub",
            finished_at=now,
        )
        for target in targets
    )
    settle_now(run, Run.Status.SUCCEEDED, "no_output", error)
    kinds.after_trouble(run.pk, run.kind)


def settle_now(run: Run, status: str, code: str, message: str, source: str = "hub") -> None:
    """End a succeeded run that has nothing to deliver (no recipients, say)."""
    Run.objects.filter(pk=run.pk).update(
        status=status,
        error_code=code,
        error_message=message,
        error_source=source,
        finished_at=timezone.now(),
    )
    run.status, run.error_code, run.error_message = status, code, message
    if status == Run.Status.FAILED:
        kinds.after_trouble(run.pk, run.kind)


def orphaned(now: datetime, live: dict) -> int:
    """Deliveries left `sending` by a worker that stopped beating or dropped them (or,
    without a holder, for ten minutes). What can be repeated safely (a GitLab note, found
    again by its marker) is sent again; a chat post is failed with the reason, since the
    recipient may already have it and a second copy is worse than a visible failure."""
    sending = Delivery.objects.filter(status=Delivery.Status.SENDING)
    stale = [
        d
        for d in sending.exclude(holder="")
        if d.holder not in live or live[d.holder].dropped("deliveries", d.pk, d.updated_at)
    ]
    stale += list(sending.filter(holder="", updated_at__lt=now - timedelta(minutes=10)))
    count = 0
    for delivery in stale:
        if delivery.kind in resend_safe_kinds():
            count += Delivery.objects.filter(pk=delivery.pk, status="sending").update(
                status=Delivery.Status.PENDING,
                error="The worker stopped while sending; sending again.",
                next_attempt_at=None,
                holder="",
                updated_at=now - timedelta(minutes=10),  # so the sweep resends it at once
            )
        elif finish(
            delivery,
            Delivery.Status.FAILED,
            "The hub: the worker stopped while sending; the recipient may or may not have the "
            "message, so it was not sent again.",
            "hub",
        ):
            count += 1
    return count


def lost(now: datetime, after: timedelta) -> list[int]:
    """Pending deliveries whose message never arrived (due `after` ago, not picked up)."""
    cutoff = now - after
    pending = Delivery.objects.filter(status=Delivery.Status.PENDING)
    overdue = pending.filter(next_attempt_at__lt=cutoff) | pending.filter(
        next_attempt_at__isnull=True, updated_at__lt=cutoff
    )
    return list(overdue.values_list("pk", flat=True)[:1000])
