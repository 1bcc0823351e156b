"""A run as the outside world sees it: one dict shape for the REST API and `hub runs --json`.

It only reads the objects it is given: runs loaded with `listing.for_presenting` (a page of
runs with their apps and deliveries in two queries) are presented without another query.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from integrations.models import Delivery, Run


def present_run(run: Run) -> dict:
    return {
        "id": run.pk,
        "kind": run.kind,
        "source": run.source,
        "app": run.app.name if run.app_id else None,
        "status": run.status,
        "inputs": run.inputs,
        "outputs": run.outputs,
        "error": present_error(run),
        "workflow_run_id": run.dify_workflow_run_id or None,
        "attempts": run.attempts,
        "total_tokens": run.total_tokens,
        "elapsed": run.elapsed,
        "duration": seconds(run.duration),
        "stop_requested_at": timestamp(run.stop_requested_at),
        "retry_of": run.retry_of_id,
        "created_at": timestamp(run.created_at),
        "started_at": timestamp(run.started_at),
        "finished_at": timestamp(run.finished_at),
        "deliveries": [present_delivery(delivery) for delivery in run.deliveries.all()],
    }


def present_error(run: Run) -> dict | None:
    if not (run.error_code or run.error_message):
        return None
    return {
        "code": run.error_code or None,
        "source": run.error_source or None,
        "message": run.error_message,
    }


def present_delivery(delivery: Delivery) -> dict:
    return {
        "recipient": delivery.recipient_name,
        "kind": delivery.kind,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_http_status": last_http_status(delivery),
        "error": delivery.error or None,
    }


def last_http_status(delivery: Delivery) -> int | None:
    if hasattr(delivery, "last_http_status"):  # annotated by listing.for_presenting
        return delivery.last_http_status
    attempt = delivery.attempt_rows.order_by("-id").first()
    return attempt.http_status if attempt else None


def seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 3)


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as DRF writes datetimes."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
