"""Sending a run's output to each target (chat recipients, a GitLab MR note): one Delivery per
target, each in its own Celery task (so a dead recipient never holds up the others), every try
an attempt row. The run ends succeeded, partially delivered or failed once all are final.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from integrations.channels.base import Message, TransportError
from integrations.models import Delivery, DeliveryAttempt, Recipient, Run
from integrations.runs.backoff import retry_delay
from integrations.runs.connections import release_idle_connections

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: a recipient, or a built-in target such as a GitLab MR note."""

    name: str
    kind: str
    recipient: Recipient | None = None


# Delivery kinds that are not chat recipients: kind -> function(delivery) -> a sender with
# build(Message) -> parts and post(part) -> Reply, raising TransportError like a transport.
BUILT_IN_TARGETS: dict[str, str] = {
    "gitlab_note": "integrations.gitlab.note.sender_for",
}


def begin(run: Run, message: dict, targets: list[Target]) -> None:
    """Succeeded -> delivering, with one Delivery (and one Celery task) per target.

    Called inside the run's final transaction; the tasks are sent after it commits.
    """
    from integrations.tasks import deliver

    Run.objects.filter(pk=run.pk, status=Run.Status.SUCCEEDED).update(
        status=Run.Status.DELIVERING, message=message, finished_at=None
    )
    run.status, run.message = Run.Status.DELIVERING, message
    for target in targets:
        delivery = Delivery.objects.create(
            run=run, recipient=target.recipient, recipient_name=target.name, kind=target.kind
        )
        deliver.delay_on_commit(delivery.pk)


def recipient_targets(recipients) -> list[Target]:
    return [Target(name=r.name, kind=r.kind, recipient=r) for r in recipients]


def deliver_one(delivery_id: int) -> float | None:
    """Send one delivery's remaining parts. Returns a retry delay in seconds, or None when done."""
    try:
        return _deliver(delivery_id)
    except Exception as exc:  # a bug must fail the delivery visibly, not strand it "sending"
        log.exception("delivery %s: unexpected error", delivery_id)
        delivery = Delivery.objects.filter(pk=delivery_id).first()
        if delivery is not None and delivery.status == Delivery.Status.SENDING:
            _finish(delivery, Delivery.Status.FAILED, f"Unexpected error in the hub: {exc}")
        return None


def _deliver(delivery_id: int) -> float | None:
    if not Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now()
    ):
        return None  # delivered, failed, or another worker has it
    delivery = Delivery.objects.select_related("run", "recipient").get(pk=delivery_id)
    recipient = delivery.recipient
    try:
        transport = _sender(delivery)
    except TargetGone as exc:
        _finish(delivery, Delivery.Status.FAILED, str(exc))
        return None
    parts = delivery.parts
    if not parts:
        parts = transport.build(Message(**(delivery.run.message or {"text": ""})))
        delivery.parts, delivery.parts_total = parts, len(parts)
        Delivery.objects.filter(pk=delivery.pk).update(parts=parts, parts_total=len(parts))
    for index in range(delivery.parts_sent, len(parts)):
        started = timezone.now()
        release_idle_connections()
        clock = time.monotonic()
        try:
            reply = transport.post(parts[index])
        except TransportError as exc:
            _record_attempt(delivery, index, started, clock, exc=exc)
            return _after_error(delivery, exc)
        _record_attempt(delivery, index, started, clock, status=reply.status, body=reply.body)
        delivery.parts_sent = index + 1
        Delivery.objects.filter(pk=delivery.pk).update(
            parts_sent=delivery.parts_sent, parts_total=delivery.parts_total
        )
    _finish(delivery, Delivery.Status.DELIVERED, "")
    if recipient is not None:
        Recipient.objects.filter(pk=recipient.pk).update(last_success_at=timezone.now())
    return None


class TargetGone(Exception):
    """The delivery's target was deleted or disabled since the run started."""


def _sender(delivery: Delivery):
    if delivery.kind in BUILT_IN_TARGETS:
        return import_string(BUILT_IN_TARGETS[delivery.kind])(delivery)
    recipient = delivery.recipient
    if recipient is None or not recipient.enabled:
        why = "was deleted" if recipient is None else "is disabled"
        raise TargetGone(f"Recipient '{delivery.recipient_name}' {why}.")
    return recipient.transport()


def _after_error(delivery: Delivery, exc: TransportError) -> float | None:
    error = str(exc)
    log.warning(
        "delivery %s to %s, attempt %s: %s error: %s",
        delivery.pk,
        delivery.recipient_name,
        delivery.attempts,
        "permanent" if exc.permanent else "transient",
        error,
    )
    if delivery.recipient_id is not None:
        Recipient.objects.filter(pk=delivery.recipient_id).update(
            last_error=error, last_error_at=timezone.now()
        )
    if exc.permanent or delivery.attempts >= settings.HUB_DELIVERY_MAX_ATTEMPTS:
        if not exc.permanent:
            error = f"Gave up after {delivery.attempts} attempts; {error}"
        _finish(delivery, Delivery.Status.FAILED, error)
        return None
    delay = retry_delay(
        delivery.attempts,
        base=settings.HUB_RETRY_BASE_SECONDS,
        cap=settings.HUB_RETRY_MAX_SECONDS,
        retry_after=exc.retry_after,
    )
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.PENDING,
        error=f"Attempt {delivery.attempts} failed, retrying in {delay:.0f} s: {error}",
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        parts_total=delivery.parts_total,
        updated_at=timezone.now(),
    )
    return delay


def _record_attempt(delivery, index, started, clock, *, status=None, body="", exc=None) -> None:
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        part=index + 1,
        started_at=started,
        duration_ms=int((time.monotonic() - clock) * 1000),
        http_status=exc.status if exc is not None else status,
        response_body=(exc.body if exc is not None else body)[:1000],
        error=str(exc) if exc is not None else "",
        permanent=bool(exc is not None and exc.permanent),
    )


def _finish(delivery: Delivery, status: str, error: str) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status,
        error=error,
        finished_at=timezone.now(),
        next_attempt_at=None,
        parts_total=delivery.parts_total,
        updated_at=timezone.now(),
    )
    settle(delivery.run_id)


def settle(run_id: int) -> str | None:
    """When every delivery of a run is final, give the run its final status."""
    with transaction.atomic():
        run = Run.objects.select_for_update(no_key=True).filter(pk=run_id).first()
        if run is None or run.status != Run.Status.DELIVERING:
            return None
        statuses = list(run.deliveries.values_list("status", flat=True))
        if any(status not in Delivery.FINAL for status in statuses):
            return None
        delivered = statuses.count(Delivery.Status.DELIVERED)
        if delivered == len(statuses):
            final, message = Run.Status.SUCCEEDED, ""
        elif delivered:
            final = Run.Status.PARTIALLY_DELIVERED
            message = f"Delivered to {delivered} of {len(statuses)} recipients."
        else:
            final, message = Run.Status.FAILED, "No recipient received the message."
        Run.objects.filter(pk=run.pk).update(
            status=final,
            error_code="" if final == Run.Status.SUCCEEDED else "delivery_failed",
            error_message=message,
            finished_at=timezone.now(),
        )
        return final


def settle_now(run: Run, status: str, code: str, message: str) -> None:
    """End a succeeded run that has nothing to deliver (no output, no recipients)."""
    Run.objects.filter(pk=run.pk).update(
        status=status, error_code=code, error_message=message, finished_at=timezone.now()
    )
    run.status, run.error_code, run.error_message = status, code, message
